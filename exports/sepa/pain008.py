"""The pain.008.001.02 file that asks the bank to collect the direct debits due
(`exports.sepa.due` decides which): built with sepaxml, completed with what sepaxml
does not write (amendments, our message id), and checked against the ISO 20022
schema that sepaxml ships before anyone writes it to disk, so a file we hand to the
bank is never one it would refuse. Plain values in, bytes out: no database.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lxml import etree

from anbi.core.errors import InvalidInput, Problem
from exports.sepa.due import SEPA_ID, Amendment, Creditor, DueCollection

PAIN_SCHEMA = "pain.008.001.02"
PAIN_NS = f"urn:iso:std:iso:20022:tech:xsd:{PAIN_SCHEMA}"


class SepaSchemaError(InvalidInput):
    """Our own pain.008 output failed the ISO schema: a bug or a bad value, never sent."""


@dataclass(frozen=True)
class Instruction:
    """One collection as it goes into the file."""

    end_to_end_id: str          # our donation reference
    amount_cents: int
    mandate_id: str
    mandate_signed_on: dt.date
    debtor_name: str
    debtor_iban: str
    debtor_bic: str | None
    sequence_type: str
    remittance: str
    amendment: Amendment | None = None


def build_pain008(
    creditor: Creditor,
    collection_date: dt.date,
    instructions: list[Instruction],
    *,
    message_id: str,
    created_at: dt.datetime,
) -> bytes:
    """The pain.008.001.02 document for these collections, validated against the schema.

    sepaxml builds the message; the amendment details (which sepaxml does not write)
    and our own message id and timestamp are set on the result, and the whole is
    checked against the ISO schema before it is returned."""
    from sepaxml import SepaDD

    if not instructions:
        raise ValueError("a SEPA file needs at least one collection")
    problems = []
    for number, item in enumerate(instructions, start=1):
        if item.amount_cents <= 0:
            problems.append(Problem(number, "amount", f"collection {item.end_to_end_id} has no positive amount"))
        if not SEPA_ID.match(item.end_to_end_id):
            problems.append(Problem(number, "end_to_end_id", f"{item.end_to_end_id!r} is not a SEPA identifier"))
    if problems:
        raise InvalidInput(problems, "SEPA batch")

    config = {
        "name": creditor.name,
        "IBAN": creditor.iban,
        "BIC": creditor.bic,
        "batch": True,
        "creditor_id": creditor.creditor_id,
        "currency": "EUR",
    }
    document = SepaDD(config, schema=PAIN_SCHEMA, clean=True)
    for item in instructions:
        payment = {
            "name": item.debtor_name or "Onbekend",
            "IBAN": item.debtor_iban,
            "amount": item.amount_cents,
            "type": item.sequence_type,
            "collection_date": collection_date,
            "mandate_id": item.mandate_id,
            "mandate_date": item.mandate_signed_on,
            "description": item.remittance,
            "endtoend_id": item.end_to_end_id,
        }
        if item.debtor_bic:
            payment["BIC"] = item.debtor_bic
        document.add_payment(payment)
    raw = document.export(validate=False)
    del document   # sepaxml's tree is the largest thing held: let it go before lxml reads the bytes
    tree = etree.fromstring(raw, parser=etree.XMLParser(huge_tree=True))
    del raw
    _finish(tree, creditor, message_id=message_id, created_at=created_at,
            amendments={i.end_to_end_id: i.amendment for i in instructions if i.amendment})
    validate_pain008(tree)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def _q(tag: str) -> str:
    return f"{{{PAIN_NS}}}{tag}"


def _finish(tree, creditor: Creditor, *, message_id: str, created_at: dt.datetime,
            amendments: Mapping[str, Amendment]) -> None:
    header = tree.find(f"{_q('CstmrDrctDbtInitn')}/{_q('GrpHdr')}")
    header.find(_q("MsgId")).text = message_id
    header.find(_q("CreDtTm")).text = created_at.strftime("%Y-%m-%dT%H:%M:%S")
    # Payment information ids follow the message id, so a bank's reply can be traced.
    for number, info in enumerate(tree.iter(_q("PmtInf")), start=1):
        info.find(_q("PmtInfId")).text = f"{message_id}-{number}"[:35]
    if not amendments:
        return
    for tx in tree.iter(_q("DrctDbtTxInf")):
        e2e = tx.find(f"{_q('PmtId')}/{_q('EndToEndId')}").text
        amendment = amendments.get(e2e)
        if amendment is None:
            continue
        related = tx.find(f"{_q('DrctDbtTx')}/{_q('MndtRltdInf')}")
        signed = related.find(_q("DtOfSgntr"))
        indicator = etree.Element(_q("AmdmntInd"))
        indicator.text = "true"
        details = etree.Element(_q("AmdmntInfDtls"))
        if amendment.other_bank:
            agent = etree.SubElement(details, _q("OrgnlDbtrAgt"))
            other = etree.SubElement(etree.SubElement(agent, _q("FinInstnId")), _q("Othr"))
            etree.SubElement(other, _q("Id")).text = "SMNDA"
        else:
            account = etree.SubElement(details, _q("OrgnlDbtrAcct"))
            etree.SubElement(etree.SubElement(account, _q("Id")), _q("IBAN")).text = amendment.original_iban
        signed.addnext(indicator)
        indicator.addnext(details)


@lru_cache(maxsize=1)
def pain008_schema() -> etree.XMLSchema:
    import sepaxml

    path = Path(sepaxml.__file__).parent / "schemas" / f"{PAIN_SCHEMA}.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


def validate_pain008(tree) -> None:
    """Raise SepaSchemaError naming the first problems when the document fails the ISO schema."""
    schema = pain008_schema()
    if schema.validate(tree):
        return
    problems = [Problem(error.line, None, error.message) for error in list(schema.error_log)[:20]]
    raise SepaSchemaError(problems, "pain.008 output (not written)")


def instruction_for(item: DueCollection, *, end_to_end_id: str, remittance: str) -> Instruction:
    m = item.mandate
    return Instruction(
        end_to_end_id=end_to_end_id,
        amount_cents=item.gift.amount_cents,
        mandate_id=m.mandate_id,
        mandate_signed_on=m.signed_on,
        debtor_name=item.gift.donor_name,
        debtor_iban=m.iban,
        debtor_bic=m.bic or None,
        sequence_type=item.sequence_type,
        remittance=remittance,
        amendment=item.amendment,
    )
