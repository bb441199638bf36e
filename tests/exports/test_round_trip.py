"""A register exported, opened in a spreadsheet and saved, comes back in through its
import (issue 16, item 4): donors, periodic gift agreements and donations exported
from one database and imported into a fresh one give the same records — the second
database exports the same files — as CSV (plain and Dutch) and as XLSX, on both
databases. Every column an export writes is one its import reads or accepts.

The data goes in through the imports, as a charity's does; the campaign is made in
both databases (campaigns are not a register that is exported)."""
from __future__ import annotations

import shutil

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from anbi.core.db import make_engine
from donors.models import Donor
from fundraising.models import Donation, DonationAdjustment, PeriodicAgreement
from tests.conftest import POSTGRES_URL, Cli, _create_from_template, _drop, _with_database

DONORS = """ref,kind,initials,first_name,prefix,last_name,organisation,organisation_type,street,house_number,house_number_suffix,postcode,city,country,email,phone,iban,language,deceased_on
D1,person,A.,Anna,van der,Berg,,,Keizersgracht,162,2 hoog,1017GC,Amsterdam,,anna@example.nl,06 12345678,NL91ABNA0417164300,nl,
D2,organisation,,,,,Bakkerij B.V.,foundation,Dorpsstraat,1,,3511 AB,Utrecht,NL,info@bakkerij.nl,,,en,
D3,person,,Hans,,Müller,,,Hauptstraße,5,,10115,Berlin,DE,,+49 30 1234567,,,
D4,person,,'=1+1,,'@Kaya,,,,,,,'s-Hertogenbosch,,,,,,
D5,person,J.,Jan,,Jansen,,,,,,,,,,,,,2024-05-01
"""
AGREEMENTS = """number,donor_ref,annual_amount,start_date,years,signed_on,end_date,end_reason
PG-1,D1,600.00,2024-01-01,5,2023-12-15,,
PG-2,D5,120,2020-01-01,,2019-12-01,2024-05-01,death
"""
DONATIONS = """reference,donor_ref,date,amount,currency,method,kind,consideration,campaign,fund,agreement,refunded,fee
G1,D1,2025-03-01,1234.56,,bank_transfer,,,VOORJAAR,NOOD,PG-1,34.56,
G2,D2,2024-12-31,500,,ideal,,,,,,,0.29
G3,,2025-06-01,5.00,,cash,,,,,,,
G4,D3,2025-02-02,10.00,USD,card,,,,,,,0.59
G5,D1,2025-04-04,75.00,,ideal,purchase,40.00,VOORJAAR,,,,
G6,D4,2025-05-05,20.00,,ideal,,,,,,20.00,
"""
REGISTERS = ("donors", "agreements", "donations")


@pytest.fixture
def fresh_db_url(database, tmp_path):
    """A second fresh, migrated database of the same backend."""
    if database.backend == "sqlite":
        path = tmp_path / "fresh.db"
        shutil.copyfile(database.template, path)
        yield f"sqlite:///{path}"
        return
    name = _create_from_template(str(database.template))
    yield _with_database(POSTGRES_URL, name)
    _drop(name)


DONOR_COLUMNS = ("ref", "kind", "initials", "first_name", "prefix", "last_name", "organisation_name", "organisation_type",
                 "street", "house_number", "house_number_suffix", "postcode", "city", "country", "email", "phone", "iban",
                 "language", "deceased_on", "sort_name", "search_name")


def records(url: str) -> dict[str, list[tuple]]:
    """The stored donors, agreements, donations and their refunds, by their keys."""
    from fundraising.models import Campaign, Fund

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return {
                "donors": [tuple(getattr(d, c) for c in DONOR_COLUMNS)
                           for d in session.scalars(select(Donor).order_by(Donor.ref))],
                "agreements": [(a.number, a.donor.ref, a.annual_amount_cents, a.currency, a.start_date, a.years,
                                a.signed_on, a.end_date, a.end_reason, a.status)
                               for a in session.scalars(select(PeriodicAgreement).order_by(PeriodicAgreement.number))],
                "donations": [(g.reference, g.donor.ref if g.donor else None, g.received_on, g.amount_cents, g.currency,
                               g.method, g.kind, g.consideration_cents, g.status, g.fee_cents, g.flag,
                               session.get(Campaign, g.campaign_id).code if g.campaign_id else None,
                               session.get(Fund, g.fund_id).code if g.fund_id else None,
                               g.agreement.number if g.agreement else None)
                              for g in session.scalars(select(Donation).order_by(Donation.reference))],
                "refunds": [(g.reference, r.kind, r.amount_cents, r.taken_back_cents) for r, g in session.execute(
                    select(DonationAdjustment, Donation).join(Donation, Donation.id == DonationAdjustment.donation_id)
                    .order_by(Donation.reference))],
            }
    finally:
        engine.dispose()


def ok(result):
    assert result.exit_code == 0, result.stderr
    return result


def seed(cli, tmp_path):
    ok(cli("campaigns", "add", "VOORJAAR", "--name", "Voorjaar"))
    for register, content in (("donors", DONORS), ("agreements", AGREEMENTS), ("donations", DONATIONS)):
        path = tmp_path / f"seed-{register}.csv"
        path.write_text(content, encoding="utf-8")
        ok(cli(register, "import", str(path)))


def export_all(cli, folder, fmt: str, dutch: bool):
    folder.mkdir(exist_ok=True)
    files = {}
    for register in REGISTERS:
        files[register] = folder / f"{register}.{fmt}"
        ok(cli("export", register, "--format", fmt, "--out", str(files[register]), *(["--dutch"] if dutch else [])))
    return files


def contents(path):
    if path.suffix == ".csv":
        return path.read_bytes()
    return [list(row) for row in load_workbook(path, read_only=True).worksheets[0].iter_rows(values_only=True)]


@pytest.mark.parametrize("fmt, dutch", [("csv", False), ("csv", True), ("xlsx", False)])
def test_the_exports_come_back_in_as_the_same_records(cli, db_url, fresh_db_url, tmp_path, fmt, dutch):
    seed(cli, tmp_path)
    exported = export_all(cli, tmp_path / "from", fmt, dutch)

    fresh = Cli(fresh_db_url, tmp_path)
    ok(fresh("campaigns", "add", "VOORJAAR", "--name", "Voorjaar"))
    for register in REGISTERS:
        ok(fresh(register, "import", str(exported[register])))
    again = export_all(fresh, tmp_path / "again", fmt, dutch)
    for register in REGISTERS:
        assert contents(again[register]) == contents(exported[register]), register

    # The same records, not only the same files: the parts the exports do not show too.
    assert records(fresh_db_url) == records(db_url)
    fresh_records = records(fresh_db_url)
    assert fresh_records["donors"][0][:4] == ("D1", "person", "A.", "Anna")
    assert fresh_records["refunds"] == [("G1", "refund", 3456, 3456), ("G6", "refund", 2000, 2000)]

    # A second import of the same exports changes nothing.
    for register in REGISTERS:
        output = ok(fresh(register, "import", str(exported[register]))).output
        assert " 0 created" in output or "Created 0" in output, (register, output)


def test_every_column_an_export_writes_is_one_its_import_takes():
    from donors.importer import DONORS as donor_import
    from exports.registers.tabular import EXPORTERS
    from fundraising.imports.agreements import AGREEMENTS as agreement_import
    from fundraising.imports.donations import DONATIONS as donation_import

    for importer in (donor_import, agreement_import, donation_import):
        written = [column.header for column in EXPORTERS[importer.kind].columns]
        assert [c for c in written if c not in importer.names] == [], importer.kind


def test_a_gift_not_received_is_refused_and_a_status_that_does_not_fit_is_named(cli, tmp_path):
    seed(cli, tmp_path)
    gifts = tmp_path / "gifts.csv"
    gifts.write_text("reference,date,amount,method,status\nP1,2025-01-01,10,ideal,pending\nP2,2025-01-01,10,ideal,Weird\n",
                     encoding="utf-8")
    result = cli("donations", "import", str(gifts), "--json")
    assert result.exit_code == 1
    assert "line 2, column status: a pending donation is not imported: an import records money received" in result.stderr
    assert "line 3, column status: 'Weird' is not one of paid, partially_refunded, refunded" in result.stderr
    agreements = tmp_path / "agreements.csv"
    agreements.write_text("number,donor_ref,annual_amount,start_date,signed_on,currency,status\n"
                          "PG-9,D1,100,2025-01-01,2024-12-01,USD,ended\n", encoding="utf-8")
    result = cli("agreements", "import", str(agreements))
    assert result.exit_code == 1
    assert "column currency: a periodic gift agreement is in euro" in result.stderr
    assert "column status: is ended, but an agreement is ended when it has an end_date and active when not" in result.stderr
