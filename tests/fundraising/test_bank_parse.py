"""Reading camt.053 files, without a database: real bank samples, every supported
version, and the files that must be refused. pycamt reads the same files as an
independent check of the fields both readers know."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pycamt.parser import Camt053Parser

from anbi.core.errors import InvalidInput
from fundraising.bank import camt as bank, camt_writer

FIXTURES = Path(__file__).parents[1] / "fixtures" / "camt"
SHARED = Path(__file__).parents[3] / "shared" / "fixtures" / "camt"
D = dt.date


def shared(name: str) -> Path:
    """An AGPL sample: read from ../shared, never copied into the repository."""
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"{name} (AGPL-3.0 OCA sample) is read from {SHARED}, which is not present")
    return path


def test_dutch_statement_with_a_returned_direct_debit_batch():
    statement_file = bank.read_file(shared("oca_test-camt053.camt053.001.02.xml"))
    assert (statement_file.version, statement_file.message_id) == ("02", "TESTBANK/NL/1420561226673")
    [statement] = statement_file.statements
    assert (statement.account_iban, statement.statement_ref) == ("NL77ABNA0574908765", "1234Test/1")
    assert (statement.opening_cents, statement.closing_cents) == (1556827, 1512112)
    debit, first, second, credit = statement.lines
    assert (debit.direction, debit.amount_cents, debit.bank_code, debit.reversal) == ("debit", 75425, "PMNT/RDDT/ESDD", False)
    # The batch entry of 664.05 is split into its two returned collections.
    assert [(x.amount_cents, x.direction, x.reversal, x.return_reason, x.batch_size) for x in (first, second)] == [
        (56405, "debit", True, "AC06", 2), (10000, "debit", True, "AC06", 2)]
    assert first.end_to_end_id == "TESTBANK/NL/20141229/01206408"
    assert first.mandate_ref == "NL22ZZZ524885430000-C0125.1"
    assert first.batch_payment_info_id == "2018/125-20141229-NORM"
    assert (credit.direction, credit.amount_cents, credit.counterparty_iban, credit.counterparty_name) == (
        "credit", 140531, "NL69ABNA0522123643", "3rd party Media")
    assert credit.booking_date == D(2014, 1, 5)
    assert len({line.key for line in statement.lines}) == 4


def test_version_08_reads_the_account_from_othr_and_books_the_entry_amount():
    [statement] = bank.read_file(FIXTURES / "genkgo_camt053.v8.xml").statements
    assert statement.account_iban == "NL26VAYB8060476890"
    [line] = statement.lines
    # The entry is EUR 8.85; the transaction details say SEK 0 (the original currency).
    assert (line.amount_cents, line.currency, line.direction) == (885, "EUR", "credit")
    assert line.booking_date == D(2014, 12, 31)  # from <DtTm>2014-12-31T13:15:00+01:00</DtTm>
    assert line.creditor_reference == "4654654654654654"
    assert line.counterparty_name == "NAME NAME"
    assert line.status == "BOOK"


def test_two_statements_in_one_file():
    statement_file = bank.read_file(FIXTURES / "genkgo_camt053.v2.multi.statement.xml")
    assert [s.statement_ref for s in statement_file.statements] == ["253EURNL26VAYB8060476890", "254EURNL26VAYB8060476890"]
    assert [(line.direction, line.amount_cents) for line in statement_file.lines] == [("credit", 885), ("debit", 700)]


@pytest.mark.parametrize("path", [
    FIXTURES / "genkgo_camt053.v8.xml",
    FIXTURES / "genkgo_camt053.v2.multi.statement.xml",
    "oca_test-camt053.camt053.001.02.xml",
])
def test_our_reader_agrees_with_pycamt(path):
    if isinstance(path, str):
        path = shared(path)
    ours = bank.read_file(path).lines
    theirs = Camt053Parser.from_file(path).get_transactions()
    assert len(ours) == len(theirs)
    for line, row in zip(ours, theirs):
        assert line.end_to_end_id == row.get("EndToEndId")
        assert line.mandate_ref == row.get("MandateId")
        assert line.booking_date.isoformat() == row["BookingDate"][:10]
        assert line.reversal == (row.get("ReversalIndicator") == "true")
        assert line.bank_code == "/".join(x for x in (row.get("BankTransactionCode"), row.get("TransactionFamilyCode"),
                                                      row.get("TransactionSubFamilyCode")) if x)
        party = row.get("DebtorIBAN") if line.direction == "credit" else row.get("CreditorIBAN")
        assert line.counterparty_iban == (party or row.get("DebtorIBAN") or row.get("CreditorIBAN"))


@pytest.mark.parametrize("version", camt_writer.VERSIONS)
def test_every_supported_version_is_checked_and_read(version):
    spec = camt_writer.StatementSpec("NL91ABNA0417164300", "2025-03", 10000, [
        camt_writer.transfer(D(2025, 3, 3), 2500, name="A. Jansen", iban="NL20INGB0001234567", remittance="gift D000001"),
        camt_writer.collection_batch(D(2025, 3, 5), "PI-1", [
            camt_writer.Transaction(1000, "SDD-1", "MDT-1", "B. de Vries", "NL02ABNA0123456789", "gift"),
            camt_writer.Transaction(1250, "SDD-2", "MDT-2", "C. Bakker", "NL69INGB0123456789", "gift"),
        ]),
        camt_writer.returned(D(2025, 3, 7), camt_writer.Transaction(1000, "SDD-1", "MDT-1", "B. de Vries", "NL02ABNA0123456789", None, "AM04")),
    ])
    statement_file = bank.parse(camt_writer.render(spec, version=version))
    assert statement_file.version == version
    assert [(x.direction, x.amount_cents, x.end_to_end_id, x.return_reason, x.counterparty_name) for x in statement_file.lines] == [
        ("credit", 2500, None, None, "A. Jansen"),
        ("credit", 1000, "SDD-1", None, "B. de Vries"),
        ("credit", 1250, "SDD-2", None, "C. Bakker"),
        ("debit", 1000, "SDD-1", "AM04", "B. de Vries"),
    ]
    assert statement_file.statements[0].closing_cents == 10000 + 2500 + 2250 - 1000


def test_the_same_file_gives_the_same_keys_and_equal_transactions_different_ones():
    twice = camt_writer.transfer(D(2025, 3, 3), 1000, name="A", iban="NL20INGB0001234567", remittance="gift")
    spec = camt_writer.StatementSpec("NL91ABNA0417164300", "S", 0, [twice, twice])
    first, second = bank.parse(camt_writer.render(spec)).lines
    assert first.key != second.key
    assert [x.key for x in bank.parse(camt_writer.render(spec)).lines] == [first.key, second.key]


def test_a_file_failing_its_schema_is_refused_naming_line_and_element():
    with pytest.raises(InvalidInput) as caught:
        bank.read_file(shared("oca_test-camt053-txdtls.camt053.001.04.xml"))
    problems = caught.value.problems
    assert [(p.line, p.field) for p in problems] == [(106, "Ctry"), (171, "Ctry")]
    assert "fails the camt.053.001.04 schema" in problems[1].reason and "'CH2'" in problems[1].reason


def test_a_missing_required_element_is_refused():
    data = (FIXTURES / "genkgo_camt053.v8.xml").read_bytes().replace(b"<CdtDbtInd>CRDT</CdtDbtInd>\n                <Sts>", b"<Sts>", 1)
    with pytest.raises(InvalidInput) as caught:
        bank.parse(data, name="broken.xml")
    assert caught.value.source == "broken.xml"
    assert caught.value.problems[0].field == "Sts"


def test_a_truncated_file_is_refused():
    data = (FIXTURES / "genkgo_camt053.v8.xml").read_bytes()
    with pytest.raises(InvalidInput) as caught:
        bank.parse(data[: len(data) // 2], name="half.xml")
    assert "not well-formed XML" in str(caught.value) and "truncated" in str(caught.value)
    assert caught.value.problems[0].line is not None


@pytest.mark.parametrize("data, message", [
    (b"", "the file is empty"),
    (b"Datum;Bedrag\n2025-03-01;12,50\n", "not well-formed XML"),
    (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"/>', "not a camt.053 bank statement"),
    (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.09"/>', "camt.053.001.09 is not supported"),
])
def test_other_files_are_refused(data, message):
    with pytest.raises(InvalidInput, match=message):
        bank.parse(data)


def test_the_fields_a_bank_may_add_are_read_from_where_the_schema_puts_them():
    """What camt_writer never writes: the creditor of money out as the other side, more
    than one Ustrd, a structured reference, transaction info over entry info, the
    payment-information id in Refs, a value date as a timestamp."""
    entry = (
        '<Ntry><Amt Ccy="EUR">12.34</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>'
        "<BookgDt><Dt>2025-03-03</Dt></BookgDt><ValDt><DtTm>2025-03-04T09:30:00</DtTm></ValDt>"
        "<AcctSvcrRef> BANKREF-1 </AcctSvcrRef>"
        "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
        "<NtryDtls><TxDtls><Refs><PmtInfId>PI-9</PmtInfId><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
        "<RltdPties><Dbtr><Nm>Stichting Voorbeeld</Nm></Dbtr><DbtrAcct><Id><IBAN>NL91ABNA0417164300</IBAN></Id></DbtrAcct>"
        "<Cdtr><Nm>Drukkerij Jansen</Nm></Cdtr><CdtrAcct><Id><IBAN>NL86INGB0002445588</IBAN></Id></CdtrAcct></RltdPties>"
        "<RmtInf><Ustrd> factuur </Ustrd><Ustrd>  </Ustrd><Ustrd>2025-12</Ustrd>"
        "<Strd><CdtrRefInf><Ref>RF18539007547034</Ref></CdtrRefInf></Strd></RmtInf>"
        "<AddtlTxInf>drukwerk voorjaar</AddtlTxInf></TxDtls></NtryDtls>"
        "<AddtlNtryInf>entry info</AddtlNtryInf></Ntry>"
    )
    spec = camt_writer.StatementSpec("NL91ABNA0417164300", "S", 0, [
        camt_writer.transfer(D(2025, 3, 3), 1234, name="X", iban="NL20INGB0001234567")])
    data = camt_writer.render(spec).decode()
    start, end = data.index("<Ntry>"), data.index("</Ntry>") + len("</Ntry>")
    [line] = bank.parse((data[:start] + entry + data[end:]).encode()).lines
    assert (line.direction, line.amount_cents, line.booking_date, line.value_date) == ("debit", 1234, D(2025, 3, 3), D(2025, 3, 4))
    assert (line.counterparty_name, line.counterparty_iban) == ("Drukkerij Jansen", "NL86INGB0002445588")
    assert (line.remittance, line.creditor_reference, line.additional_info) == ("factuur 2025-12", "RF18539007547034", "drukwerk voorjaar")
    assert (line.entry_ref, line.end_to_end_id, line.batch_payment_info_id, line.bank_code) == (
        "BANKREF-1", None, "PI-9", "PMNT/ICDT/ESCT")
