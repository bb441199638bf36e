"""`anbi export`: CSV (plain and Dutch) and XLSX on both databases, filters, the
donors that must be left out, bad options, and memory that does not grow with the
number of rows."""
from __future__ import annotations

import csv
import datetime as dt
import io
import tracemalloc
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert
from sqlalchemy.orm import Session

from anbi.core.clock import utcnow
from exports.registers.tabular import Filters, export
from fundraising.models import Donation
from tests.factories import (
    make_adjustment, make_agreement, make_campaign, make_donation, make_donor, make_fund, grant_toml,
)

D = dt.date


def seed(engine):
    with Session(engine) as session:
        spring = make_campaign(session, code="VOORJAAR", name="Voorjaar")
        fund = make_fund(session, code="NOOD", name="Noodhulp")
        anna = make_donor(session, ref="D1", first_name="Anna", prefix="van der", last_name="Berg", iban="NL91ABNA0417164300")
        firm = make_donor(session, ref="D2", kind="organisation", organisation_name="Bakkerij B.V.")
        gone = make_donor(session, ref="D3", last_name="Weg", restricted_at=utcnow())
        merged = make_donor(session, ref="D4", last_name="Dubbel", merged_into_id=anna.id)
        big = make_donation(session, donor=anna, reference="G1", date="2025-03-01", amount="1234.56", campaign=spring, fund=fund)
        make_adjustment(session, big, amount="34.56", date="2025-03-20", reference="RF1")
        make_donation(session, donor=firm, reference="G2", date="2024-12-31", amount="500.00")
        make_donation(session, donor=None, donor_id=None, reference="G3", date="2025-06-01", amount="5.00", kind="gift")
        make_donation(session, donor=gone, reference="G4", date="2025-04-01", amount="10.00")
        make_agreement(session, donor=anna, number="PG-2024-0001", annual_amount="600.00", start_date="2024-01-01", years=5)
        make_agreement(session, donor=gone, number="PG-2024-0002")
        session.commit()
        return merged.ref


def read_csv(path, delimiter=",", encoding="utf-8"):
    return list(csv.DictReader(io.StringIO(path.read_text(encoding=encoding)), delimiter=delimiter))


def test_donations_csv(cli, engine, tmp_path):
    seed(engine)
    out = tmp_path / "donations.csv"
    result = cli("export", "donations", "--format", "csv", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"Wrote 3 donations to {out}."
    rows = read_csv(out)
    assert [r["reference"] for r in rows] == ["G2", "G1", "G3"]   # by date; the restricted donor's G4 is left out
    g1 = rows[1]
    assert (g1["donor_ref"], g1["date"], g1["amount"], g1["refunded"], g1["campaign"], g1["fund"], g1["status"]) == (
        "D1", "2025-03-01", "1234.56", "34.56", "VOORJAAR", "NOOD", "paid")
    assert rows[2]["donor_ref"] == "" and rows[2]["amount"] == "5.00"


def test_donations_csv_for_dutch_excel_with_year_and_campaign(cli, engine, tmp_path):
    seed(engine)
    out = tmp_path / "giften.csv"
    assert cli("export", "donations", "--format", "csv", "--out", str(out), "--dutch", "--year", "2025").exit_code == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = read_csv(out, delimiter=";", encoding="utf-8-sig")
    assert [(r["reference"], r["amount"], r["refunded"]) for r in rows] == [("G1", "1234,56", "34,56"), ("G3", "5,00", "0,00")]
    cli("export", "donations", "--format", "csv", "--out", str(out), "--campaign", "VOORJAAR")
    assert [r["reference"] for r in read_csv(out)] == ["G1"]


def test_donations_xlsx_has_numbers_and_dates(cli, engine, tmp_path):
    seed(engine)
    out = tmp_path / "donations.xlsx"
    assert cli("export", "donations", "--format", "xlsx", "--out", str(out), "--year", "2025").exit_code == 0
    sheet = load_workbook(out, read_only=True)["donations"]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    first = dict(zip(header, rows[1]))
    assert isinstance(first["date"], dt.datetime)  # a date cell reads back as a datetime
    assert (first["reference"], first["date"].date(), first["donor_ref"]) == ("G1", D(2025, 3, 1), "D1")
    assert Decimal(str(first["amount"])) == Decimal("1234.56") and Decimal(str(first["refunded"])) == Decimal("34.56")
    assert len(rows) == 3


def test_donors_leave_out_merged_restricted_and_filter_by_year(cli, engine, tmp_path):
    seed(engine)
    out = tmp_path / "donors.csv"
    assert cli("export", "donors", "--format", "csv", "--out", str(out)).exit_code == 0
    rows = read_csv(out)
    assert sorted(r["ref"] for r in rows) == ["D1", "D2"]
    anna = next(r for r in rows if r["ref"] == "D1")
    assert (anna["name"], anna["iban"], anna["prefix"]) == ("Anna van der Berg", "NL91ABNA0417164300", "van der")
    cli("export", "donors", "--format", "csv", "--out", str(out), "--year", "2024")
    assert [r["ref"] for r in read_csv(out)] == ["D2"]


def test_agreements_and_grants(cli, engine, tmp_path):
    seed(engine)
    from subsidies.grants import add_grant, parse_grant_file

    with Session(engine) as session:
        add_grant(session, parse_grant_file(grant_toml(reference="G-NPL", title="Taalmaatjes", awarded="25000.00",
                                                       start="2025-01-01", end="2026-06-30")), actor="tester")
        session.commit()
    out = tmp_path / "agreements.csv"
    assert cli("export", "agreements", "--format", "csv", "--out", str(out)).exit_code == 0
    assert [(r["number"], r["annual_amount"], r["years"]) for r in read_csv(out)] == [("PG-2024-0001", "600.00", "5")]
    grants = tmp_path / "grants.xlsx"
    assert cli("export", "grants", "--format", "xlsx", "--out", str(grants), "--year", "2026").exit_code == 0
    rows = list(load_workbook(grants, read_only=True)["grants"].iter_rows(values_only=True))
    record = dict(zip(rows[0], rows[1]))
    assert (record["reference"], record["title"], Decimal(str(record["awarded"]))) == ("G-NPL", "Taalmaatjes", Decimal("25000"))
    cli("export", "grants", "--format", "csv", "--out", str(tmp_path / "g.csv"), "--year", "2024")
    assert read_csv(tmp_path / "g.csv") == []


@pytest.mark.parametrize("args, message", [
    (("donations", "--format", "csv", "--campaign", "NOPE"), "--campaign: campaign 'NOPE' does not exist"),
    (("grants", "--format", "csv", "--campaign", "VOORJAAR"), "--campaign: applies to donors and donations, not grants"),
    (("donations", "--format", "xlsx", "--dutch"), "--dutch: applies to CSV only"),
    (("donations", "--format", "csv", "--year", "25"), "--year: 25 is not a year"),
])
def test_bad_options_write_nothing(cli, engine, tmp_path, args, message):
    seed(engine)
    out = tmp_path / "out.file"
    result = cli("export", *args, "--out", str(out))
    assert result.exit_code == 1 and message in result.stderr
    assert not out.exists() and not out.with_name("out.file.partial").exists()


def test_memory_does_not_grow_with_the_number_of_rows(engine, tmp_path):
    """20,000 rows take about the memory of 2,000 to export: rows are streamed, not kept."""
    with Session(engine) as session:
        donor_id = make_donor(session, ref="MANY").id
        session.commit()

    def add(start: int, stop: int) -> None:
        with Session(engine) as session:
            session.execute(insert(Donation), [
                dict(source="import", reference=f"M{n:06d}", donor_id=donor_id, received_on=D(2025, 1, 1) + dt.timedelta(days=n % 365),
                     amount_cents=1000 + n, currency="EUR", method="bank_transfer", kind="gift", consideration_cents=0,
                     status="paid") for n in range(start, stop)])
            session.commit()

    def peak(expected: int) -> int:
        with Session(engine) as session:
            tracemalloc.start()
            written = export(session, "donations", "csv", tmp_path / f"{expected}.csv", filters=Filters())
            peak_bytes = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        assert written == expected
        return peak_bytes

    add(0, 2000)
    small = peak(2000)
    add(2000, 20000)
    large = peak(20000)
    assert large < 2 * small, (small, large)   # ten times the rows, not ten times the memory
