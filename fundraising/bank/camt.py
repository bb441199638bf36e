"""Reading bank statements (camt.053, versions .001.02 to .001.08) into plain values.

A statement file is checked whole before anything is read from it: it must be
well-formed XML, a camt.053 of a supported version, and valid against that
version's ISO 20022 schema (shipped in `fundraising/camt_schemas/`). A file that
fails gets an error naming its line and element, and nothing is imported.

The entries are read with lxml along direct child paths. pycamt (the maintained
camt reader) was the first choice, but its `get_transactions` searches the whole
statement for every entry, which is quadratic: 3,000 entries took 4.5 s and 100,000
did not finish. It stays in the test suite as an independent reader that our lines
are checked against. Beyond what pycamt reads we keep the return reason of an
R-transaction (`RtrInf/Rsn/Cd`), exact amounts per transaction of a batch booking,
the batch's payment-information id, and the balances. Each transaction of a batch
booking becomes its own line, so a collection batch the bank booked as one amount
is split into the gifts it carried.

This module reads files; matching lines to donors and gifts is `fundraising.bank.booking`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from lxml import etree

from anbi.core.clock import AMSTERDAM
from anbi.core.errors import InvalidInput, Problem

SCHEMA_DIR = Path(__file__).parent / "camt_schemas"
SUPPORTED_VERSIONS = ("02", "03", "04", "05", "06", "07", "08")
_NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(\d\d)$")
_MAX_PROBLEMS = 20


@dataclass(slots=True)
class CamtLine:
    """One transaction on a statement: an entry, or one transaction of a batch entry.

    `amount_cents` is positive; `direction` says which way the money went. Not
    frozen only because a frozen dataclass sets each field through
    `object.__setattr__`, which doubles the cost of reading a 100,000-line statement;
    nothing changes a line after it is read."""

    key: str                      # stable identity for idempotent import
    account_iban: str
    booking_date: dt.date
    value_date: dt.date | None
    amount_cents: int
    currency: str
    direction: str                # "credit" (money in) or "debit" (money out)
    reversal: bool                # RvslInd: this entry reverses an earlier one
    status: str                   # BOOK, PDNG, INFO
    bank_code: str                # Domain/Family/SubFamily, e.g. PMNT/RCDT/ESCT
    entry_ref: str | None = None  # the bank's reference for the entry (AcctSvcrRef)
    end_to_end_id: str | None = None
    mandate_ref: str | None = None
    counterparty_name: str | None = None
    counterparty_iban: str | None = None
    remittance: str | None = None
    creditor_reference: str | None = None   # structured remittance (Strd/CdtrRefInf/Ref)
    return_reason: str | None = None        # RtrInf/Rsn/Cd: AM04, AC04, MD06, MD07, ...
    additional_info: str | None = None
    batch_payment_info_id: str | None = None
    batch_size: int = 1
    entry_number: int = 0
    transaction_number: int = 0

    @property
    def family(self) -> str:
        parts = self.bank_code.split("/")
        return parts[1] if len(parts) > 1 else ""

    @property
    def text(self) -> str:
        """Everything a person wrote on the transfer, for finding references in it."""
        if self.creditor_reference is None and self.additional_info is None:
            return self.remittance or ""   # most lines: only the unstructured text
        return " ".join(p for p in (self.remittance, self.creditor_reference, self.additional_info) if p)


@dataclass(frozen=True)
class CamtStatement:
    statement_ref: str
    account_iban: str
    currency: str | None
    created_at: dt.datetime | None
    from_date: dt.date | None
    to_date: dt.date | None
    opening_cents: int | None
    closing_cents: int | None
    lines: list[CamtLine] = field(default_factory=list)


@dataclass(frozen=True)
class CamtFile:
    version: str                 # "02" .. "08"
    message_id: str
    sha256: str
    statements: list[CamtStatement]

    @property
    def lines(self) -> list[CamtLine]:
        return [line for statement in self.statements for line in statement.lines]


# --------------------------------------------------------------------------- checking


@lru_cache(maxsize=len(SUPPORTED_VERSIONS))
def schema(version: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / f"camt.053.001.{version}.xsd")))


def load(data: bytes, *, name: str = "statement") -> tuple[etree._Element, str]:
    """Parse and schema-check a camt.053 document; the root element and its version.

    Raises InvalidInput naming the line and element of what is wrong."""
    if not data.strip():
        raise InvalidInput([Problem(None, None, "the file is empty")], name)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        hint = " (is the file truncated?)" if _looks_truncated(exc, data) else ""
        raise InvalidInput([Problem(line, None, f"not well-formed XML: {exc.msg}{hint}")], name) from None
    namespace = etree.QName(root).namespace or ""
    match = _NAMESPACE.match(namespace)
    if etree.QName(root).localname != "Document" or not match:
        raise InvalidInput(
            [Problem(root.sourceline, etree.QName(root).localname,
                     f"not a camt.053 bank statement (namespace {namespace or 'none'!r})")],
            name,
        )
    version = match.group(1)
    if version not in SUPPORTED_VERSIONS:
        raise InvalidInput(
            [Problem(root.sourceline, "Document",
                     f"camt.053.001.{version} is not supported; supported are .001.02 to .001.08")],
            name,
        )
    xsd = schema(version)
    if not xsd.validate(root):
        problems = []
        for error in list(xsd.error_log)[:_MAX_PROBLEMS]:
            element = _element_name(error.message)
            problems.append(Problem(error.line, element, f"fails the camt.053.001.{version} schema: {_short(error.message)}"))
        raise InvalidInput(problems, name)
    return root, version


def _looks_truncated(exc: etree.XMLSyntaxError, data: bytes) -> bool:
    """An error at the very end of a document that began as XML: it was cut off."""
    text = (exc.msg or "").lower()
    if "premature end" in text or "end of data" in text or "not closed" in text:
        return True
    started_as_xml = data.lstrip()[:1] == b"<"
    last_line = data.rstrip().count(b"\n") + 1
    return started_as_xml and exc.lineno is not None and exc.lineno >= last_line


def _element_name(message: str) -> str | None:
    match = re.search(r"Element '(?:\{[^}]*\})?([^']+)'", message or "")
    return match.group(1) if match else None


def _short(message: str) -> str:
    # lxml repeats the element's full namespace: keep the local name only.
    return re.sub(r"\{urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.\d\d\}", "", message)


# --------------------------------------------------------------------------- reading


def read_file(path: str | Path) -> CamtFile:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput([Problem(None, None, f"cannot read the file: {exc.strerror}")], path.name) from None
    return parse(data, name=path.name)


def parse(data: bytes, *, name: str = "statement") -> CamtFile:
    """Check and read a camt.053 file into statements and their lines."""
    root, version = load(data, name=name)
    namespace = etree.QName(root).namespace
    assert namespace is not None  # load() checked the document against its camt.053 schema
    t = _Tags(namespace)
    problems: list[Problem] = []
    statements: list[CamtStatement] = []
    report = root.find(t.BkToCstmrStmt)
    assert report is not None  # the schema requires it
    document = _index(report)
    for stmt in report.iterfind(t.Stmt):
        fields = _index(stmt)
        iban = _account(fields, t)
        seen: Counter[str] = Counter()
        lines: list[CamtLine] = []
        entry_number = 0
        for child in stmt:
            if child.tag != t.Ntry:
                continue
            entry_number += 1
            for values in _lines(child, entry_number, t, problems):
                values["account_iban"] = iban
                lines.append(CamtLine(key=_key(values, seen), **values))
        period = _index(fields.get(t.FrToDt))
        statements.append(CamtStatement(
            statement_ref=_text(fields.get(t.Id)) or "",
            account_iban=iban,
            currency=_text(_index(fields.get(t.Acct)).get(t.Ccy)),
            created_at=_timestamp(_text(fields.get(t.CreDtTm))),
            from_date=_date_of(_text(period.get(t.FrDtTm))),
            to_date=_date_of(_text(period.get(t.ToDtTm))),
            opening_cents=_balance(stmt, ("OPBD", "PRCD"), t),
            closing_cents=_balance(stmt, ("CLBD",), t),
            lines=lines,
        ))
    if problems:
        raise InvalidInput(problems[:_MAX_PROBLEMS], name)
    return CamtFile(
        version=version,
        message_id=_text(_index(document.get(t.GrpHdr)).get(t.MsgId)) or "",
        sha256=hashlib.sha256(data).hexdigest(),
        statements=statements,
    )


class _Tags:
    """Namespace-qualified tag names of one camt version.

    Lookups go child by child through `_index` rather than through path searches:
    ElementPath costs microseconds a call, and `.//` searches make a 100,000-entry
    statement quadratic."""

    def __init__(self, namespace: str):
        self.ns = namespace

    def __getattr__(self, local: str) -> str:
        value = f"{{{self.ns}}}{local}"
        setattr(self, local, value)
        return value


_EMPTY: dict = {}


def _index(element) -> dict:
    """An element's children by tag (the repeated ones are walked, never looked up)."""
    if element is None:
        return _EMPTY
    return {child.tag: child for child in element}


def _at(element, t: _Tags, *steps: str):
    """The first child along a path of tags, for the statement's own elements (the
    entries are read in `_lines`)."""
    for step in steps:
        if element is None:
            return None
        element = next(element.iterchildren(getattr(t, step)), None)
    return element


def _child(element, tag: str):
    """One step of `_at`, for the lookups made for every entry. The elements stepped
    through have one to three children: walking them costs half of setting up a
    tag-matching iterator."""
    if element is not None:
        for child in element:
            if child.tag == tag:
                return child
    return None


def _lines(entry, entry_number: int, t: _Tags, problems: list[Problem]) -> list[dict]:
    # One pass over the entry's children (and over each transaction's, in _tx_facts)
    # rather than a dict of them and lookups: a fifth of the reading time. The schema
    # allows each of these children once, so the order of the tests does not matter.
    amount_element = indicator = booked = valued = reversal_element = status_element = codes = None
    entry_ref = entry_info = batch_id = None
    details = []
    for child in entry:
        tag = child.tag
        if tag == t.NtryDtls:
            for item in child:
                item_tag = item.tag
                if item_tag == t.TxDtls:
                    details.append(item)
                elif item_tag == t.Btch and batch_id is None:
                    batch_id = _text(_child(item, t.PmtInfId))
        elif tag == t.Amt:
            amount_element = child
        elif tag == t.CdtDbtInd:
            indicator = child.text
        elif tag == t.BookgDt:
            booked = child
        elif tag == t.ValDt:
            valued = child
        elif tag == t.Sts:
            status_element = child
        elif tag == t.BkTxCd:
            codes = child
        elif tag == t.AcctSvcrRef:
            entry_ref = child.text
        elif tag == t.RvslInd:
            reversal_element = child
        elif tag == t.AddtlNtryInf:
            entry_info = child.text
    entry_amount, currency = _amount(amount_element)
    entry_direction = _direction(indicator)
    if entry_amount is None:
        problems.append(Problem(entry.sourceline, "Amt", "entry amount is not a number with at most two decimals"))
        return []
    booking = _day(booked, t)
    if booking is None:
        problems.append(Problem(entry.sourceline, "BookgDt", "entry has no booking date"))
        return []
    value_date = _day(valued, t)
    reversal = (_text(reversal_element) or "").lower() == "true"
    status = (_text(_child(status_element, t.Cd)) or _text(status_element) or "BOOK") if status_element is not None else "BOOK"
    domain = _child(codes, t.Domn)
    bank_code = ""
    if domain is not None:
        family = _child(domain, t.Fmly)
        bank_code = "/".join(
            x for x in (_text(_child(domain, t.Cd)), _text(_child(family, t.Cd)), _text(_child(family, t.SubFmlyCd))) if x
        )
    entry_ref = entry_ref and (entry_ref.strip() or None)
    entry_info = entry_info and (entry_info.strip() or None)
    size = max(len(details), 1)
    result = []
    for index, tx in enumerate(details or [None]):
        values = {
            "booking_date": booking, "value_date": value_date, "amount_cents": entry_amount,
            "currency": currency or "EUR", "direction": entry_direction, "reversal": reversal, "status": status,
            "bank_code": bank_code, "entry_ref": entry_ref, "additional_info": entry_info,
            "batch_payment_info_id": batch_id, "batch_size": size, "entry_number": entry_number,
            "transaction_number": index + 1,
        }
        if tx is not None and not _tx_facts(tx, values, t, batch=size > 1):
            problems.append(Problem(tx.sourceline, "TxDtls", "batch transaction without an amount"))
            continue
        result.append(values)
    return result


def _day(element, t: _Tags) -> dt.date | None:
    """The day of a BookgDt or ValDt: its Dt, or else the date part of its DtTm."""
    return _date_of(_text(_child(element, t.Dt)) or _text(_child(element, t.DtTm)))


def _tx_facts(tx, values: dict, t: _Tags, *, batch: bool) -> bool:
    """Add what a transaction's details say to `values`; False when a batch
    transaction has no amount. Only a batch needs the per-transaction amount: for a
    single transaction the entry amount is the booked one (some banks put the
    original currency in TxDtls, e.g. SEK 0 against EUR 8.85)."""
    amount_element = amounts = indicator = refs = parties = remittance = returned = info = None
    for child in tx:
        tag = child.tag
        if tag == t.RltdPties:
            parties = child
        elif tag == t.RmtInf:
            remittance = child
        elif tag == t.Refs:
            refs = child
        elif tag == t.Amt:
            amount_element = child
        elif tag == t.AmtDtls:
            amounts = child
        elif tag == t.CdtDbtInd:
            indicator = child
        elif tag == t.RtrInf:
            returned = child
        elif tag == t.AddtlTxInf:
            info = child
    if batch:
        holder = amount_element
        if holder is None:
            holder = _child(_child(amounts, t.TxAmt), t.Amt)
            if holder is None:
                holder = _child(_child(amounts, t.InstdAmt), t.Amt)
        amount, currency = _amount(holder)
        if amount is None:
            return False
        values["amount_cents"] = amount
        values["currency"] = currency or values["currency"]
        tx_direction = _text(indicator)
        if tx_direction:
            values["direction"] = _direction(tx_direction)
    # References and parties have few children, each once: looked up by tag.
    ids = _index(refs)
    values["end_to_end_id"] = _clean_ref(_text(ids.get(t.EndToEndId)))
    values["mandate_ref"] = _text(ids.get(t.MndtId))
    if values["batch_payment_info_id"] is None:
        values["batch_payment_info_id"] = _text(ids.get(t.PmtInfId))
    name = iban = None
    if parties is not None:
        sides = _index(parties)
        # The other side: the debtor of money in, the creditor of money out.
        pairs = ((sides.get(t.Dbtr), sides.get(t.DbtrAcct)), (sides.get(t.Cdtr), sides.get(t.CdtrAcct)))
        for party, account in pairs if values["direction"] == "credit" else pairs[::-1]:
            if party is not None and not name:
                name = _text(_child(party, t.Nm)) or _text(_child(_child(party, t.Pty), t.Nm))
            if not iban:
                iban = _text(_child(_child(account, t.Id), t.IBAN))
    values["counterparty_name"] = name
    values["counterparty_iban"] = iban.replace(" ", "").upper() if iban else None
    unstructured = reference = None
    if remittance is not None:
        texts = []
        structured = None
        for child in remittance:
            tag = child.tag
            if tag == t.Ustrd:
                text = child.text
                if text and text.strip():
                    texts.append(text.strip())
            elif tag == t.Strd and structured is None:
                structured = child
        unstructured = " ".join(texts) or None
        reference = _text(_child(_child(structured, t.CdtrRefInf), t.Ref))
    values["remittance"] = unstructured
    values["creditor_reference"] = reference
    values["return_reason"] = _text(_child(_child(returned, t.Rsn), t.Cd))
    values["additional_info"] = _text(info) or values["additional_info"]
    return True


def _clean_ref(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    # NOTPROVIDED is how SEPA says "the payer gave no end-to-end id".
    return None if not value or value.upper() == "NOTPROVIDED" else value


_KEY_FIELDS = (
    "booking_date", "direction", "amount_cents", "currency", "reversal", "entry_ref", "end_to_end_id",
    "mandate_ref", "counterparty_iban", "remittance", "creditor_reference", "return_reason", "bank_code",
    "batch_payment_info_id",
)


def _key(values: dict, seen: Counter) -> str:
    """A key that is the same every time the same transaction is read.

    It hashes what the bank says about the transaction; identical transactions on one
    statement (two equal gifts from one person on one day) are told apart by their
    occurrence number, so importing the file again finds every line again."""
    identity = repr((values["account_iban"], *map(values.get, _KEY_FIELDS)))
    seen[identity] += 1
    return hashlib.sha256(f"{identity}|{seen[identity]}".encode()).hexdigest()


def _account(fields: dict, t: _Tags) -> str:
    account_id = _at(fields.get(t.Acct), t, "Id")
    iban = _text(_at(account_id, t, "IBAN")) or _text(_at(account_id, t, "Othr", "Id")) or ""
    return iban.replace(" ", "").upper()


def _text(element) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def _amount(element) -> tuple[int | None, str | None]:
    if element is None or element.text is None:
        return None, None
    try:
        value = Decimal(element.text.strip())
    except InvalidOperation:
        return None, element.get("Ccy")
    cents = value * 100
    if not cents.is_finite() or cents != cents.to_integral_value() or value < 0:
        return None, element.get("Ccy")
    return int(cents), element.get("Ccy")


def _direction(indicator: str | None) -> str:
    return "debit" if (indicator or "").strip().upper() == "DBIT" else "credit"


def _balance(stmt, codes: tuple[str, ...], t: _Tags) -> int | None:
    for balance in stmt.iterchildren(t.Bal):
        if _text(_at(balance, t, "Tp", "CdOrPrtry", "Cd")) in codes:
            cents, _ = _amount(_at(balance, t, "Amt"))
            if cents is None:
                return None
            return -cents if _text(_at(balance, t, "CdtDbtInd")) == "DBIT" else cents
    return None


def _timestamp(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=AMSTERDAM)
    return moment.astimezone(dt.UTC)


def _date_of(text: str | None) -> dt.date | None:
    """A day as the bank wrote it: a date, or the date part of a local timestamp."""
    if not text or len(text) < 10:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None
