"""`anbi receipts issue` on both databases (issue 4 items 2, 3 and the bad input).

A small year of data is built with the factories; every expected figure is worked
out by hand beside it."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from anbi.core.audit import AuditEntry
from donors.merge import merge_donors
from exports.statements.pdf import render_statement
from exports.statements.issue import issue_statements, snapshot_from_row
from fundraising.models import Donation
from fundraising.statements.models import Statement, StatementImmutable, StatementLine
from tests.exports.receipt_support import ORG_ENV, ORGANISATION, manifest, pdf_text
from tests.factories import make_adjustment, make_agreement, make_campaign, make_donation, make_donor, make_mandate

UTC = dt.UTC
NOW = dt.datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


@pytest.fixture
def year_2025(session):
    """Donors and gifts of 2025, committed so that the CLI sees them.

    A: 25.00 iDEAL + 100.00 transfer refunded 40.00 in 2026 + 50.00 cash
       -> ordinary 85.00, not deductible 50.00, total 135.00.
    B: 12 x 50.00 direct debit under PG-2024-0001 (600.00 a year) -> periodic 600.00.
    C: a 10.00 lottery ticket only -> nothing deductible, no statement.
    R: restricted (erasure requested) -> no statement, reported.
    E: 15.00 in euro and 20.00 in USD -> ordinary 15.00; the USD gift is reported.
    P: a pending direct debit only -> no gift yet, no statement.
    Anonymous 99.00 -> on no statement.
    """
    winter = make_campaign(session, code="W25", name="Winteractie 2025")
    a = make_donor(session, ref="A", first_name="Anna", last_name="Berg", prefix="van der", initials="A.",
                   street="Kerkstraat", house_number="12", house_number_suffix="a", postcode="1017 GC",
                   city="Amsterdam", email="anna@example.org")
    make_donation(session, donor=a, amount="25.00", date="2025-03-01", method="ideal", campaign=winter, reference="A-1")
    refunded = make_donation(session, donor=a, amount="100.00", date="2025-05-01", reference="A-2")
    make_adjustment(session, refunded, kind="refund", amount="40.00", date="2026-01-10")
    make_donation(session, donor=a, amount="50.00", date="2025-06-01", method="cash", reference="A-3")

    b = make_donor(session, ref="B", first_name="Bram", last_name="Smit", postcode="9711 AA", city="Groningen")
    agreement = make_agreement(session, donor=b, number="PG-2024-0001", annual_amount="600.00",
                               start_date="2024-01-01", signed_on="2023-12-20", years=5)
    mandate = make_mandate(session, donor=b, mandate_id="MDT-000001")
    for month in range(1, 13):
        make_donation(session, donor=b, amount="50.00", date=f"2025-{month:02d}-05", method="sepa_debit",
                      agreement=agreement, mandate=mandate, reference=f"B-{month}")
    make_donation(session, donor=b, amount="50.00", date="2024-12-05", method="sepa_debit", agreement=agreement,
                  reference="B-2024")

    c = make_donor(session, ref="C", postcode="1234 AB")
    make_donation(session, donor=c, amount="10.00", kind="lottery", method="ideal", reference="C-1")

    r = make_donor(session, ref="R", restricted_at=dt.datetime(2025, 11, 1, tzinfo=UTC))
    make_donation(session, donor=r, amount="30.00", reference="R-1")

    e = make_donor(session, ref="E", postcode="3511 AB", city="Utrecht", language="en")
    make_donation(session, donor=e, amount="15.00", reference="E-1")
    make_donation(session, donor=e, amount="20.00", currency="USD", reference="E-USD")

    p = make_donor(session, ref="P")
    make_donation(session, donor=p, amount="25.00", method="sepa_debit", status="pending", reference="P-1")

    make_donation(session, donor=None, amount="99.00", reference="ANON-1")
    session.commit()
    return {"A": a, "B": b, "C": c, "R": r, "E": e, "P": p, "agreement": agreement}


def issue(cli, out: Path, *args: str):
    return cli("receipts", "issue", "--year", "2025", "--out", str(out), *args, env=ORG_ENV)


def statements(session) -> list[Statement]:
    session.expire_all()
    return list(session.scalars(select(Statement).order_by(Statement.sequence)))


def test_issue_writes_one_pdf_per_donor_with_something_deductible_and_the_manifest(cli, session, year_2025, tmp_path):
    out = tmp_path / "receipts"
    result = issue(cli, out)
    assert result.exit_code == 0, result.stderr

    rows = manifest(out)
    assert [(r["number"], r["donor_ref"], r["year"], r["regular"], r["periodic"], r["non_deductible"], r["total_paid"]) for r in rows] == [
        ("2025-000001", "A", "2025", "85.00", "0.00", "50.00", "135.00"),
        ("2025-000002", "B", "2025", "0.00", "600.00", "0.00", "600.00"),
        ("2025-000003", "E", "2025", "15.00", "0.00", "0.00", "15.00"),
    ]
    header = (out / "manifest.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "number,donor_ref,year,regular,periodic,non_deductible,total_paid,file,sha256"
    for row in rows:
        data = (out / row["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha256"]
    assert sorted(p.name for p in out.glob("*.pdf")) == sorted(r["file"] for r in rows)

    text_a = pdf_text(out / rows[0]["file"])
    assert "01-03-2025 € 25,00 iDEAL Winteractie 2025 gewoon" in text_a
    assert "01-05-2025 € 60,00 overboeking" in text_a  # refunded 40.00 in 2026, taken off the 2025 gift
    assert "01-06-2025 € 50,00 contant niet aftrekbaar (contant)" in text_a
    assert "Geachte heer/mevrouw Van der Berg," in text_a
    assert "A. van der Berg" in text_a
    text_b = pdf_text(out / rows[1]["file"])
    assert "05-03-2025 € 50,00 SEPA-incasso" in text_b and "MDT-000001" in text_b
    assert "Overeenkomst PG-2024-0001, ingangsjaar 2024, jaarbedrag € 600,00 € 600,00" in text_b
    assert "05-12-2024" not in text_b
    assert "Annual statement of gifts 2025" in pdf_text(out / rows[2]["file"])  # E prefers English

    assert "R" in result.stdout.split("restricted or purged donor:")[1]
    assert "Left off (not in euro): gift E-USD of donor E, 01-03-2025, USD 20,00" in result.stdout
    assert "ANON" not in (out / "manifest.csv").read_text()

    issued = statements(session)
    assert [(s.number, s.status, s.donor_ref, s.total_paid_cents) for s in issued] == [
        ("2025-000001", "current", "A", 13500), ("2025-000002", "current", "B", 60000), ("2025-000003", "current", "E", 1500),
    ]
    assert issued[0].organisation_rsin == "824150004" and issued[0].organisation_name == "Stichting Voorbeeld"
    assert issued[0].address_lines == ["Kerkstraat 12 a", "1017 GC  AMSTERDAM"]
    assert session.scalar(select(func.count()).select_from(StatementLine).where(StatementLine.statement_id == issued[1].id)) == 12
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "statement.issued").order_by(AuditEntry.id)).all()
    assert [(a.entity_ref, a.actor, a.details["donor_ref"]) for a in audit] == [
        ("2025-000001", "tester", "A"), ("2025-000002", "tester", "B"), ("2025-000003", "tester", "E"),
    ]


def test_issue_json_summary(cli, year_2025, tmp_path):
    result = issue(cli, tmp_path / "out", "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["issued"] == ["2025-000001", "2025-000002", "2025-000003"]
    assert summary["totals"] == {"regular": "100.00", "periodic": "600.00", "non_deductible": "50.00", "total_paid": "750.00"}
    assert summary["restricted_donors"] == ["R"]
    assert summary["excluded_gifts"] == [{"donor_ref": "E", "reference": "E-USD", "date": "2025-03-01", "amount": "20.00",
                                         "currency": "USD", "reason": "not in euro"}]


def test_reissue_with_unchanged_data_issues_nothing_and_renders_the_same_bytes(cli, session, year_2025, tmp_path):
    first, elsewhere = tmp_path / "first", tmp_path / "elsewhere"
    assert issue(cli, first).exit_code == 0
    before = {p.name: p.read_bytes() for p in first.glob("*.pdf")}
    result = issue(cli, first)
    assert result.exit_code == 0
    assert "0 new statements, 0 corrections, 3 unchanged" in result.stdout
    assert {p.name: p.read_bytes() for p in first.glob("*.pdf")} == before

    # Into a folder of its own: every current statement rendered again, byte for byte.
    result = issue(cli, elsewhere)
    assert "0 new statements, 0 corrections, 3 unchanged; 3 PDFs written" in result.stdout
    assert {p.name: p.read_bytes() for p in elsewhere.glob("*.pdf")} == before
    assert (elsewhere / "manifest.csv").read_bytes() == (first / "manifest.csv").read_bytes()
    assert [s.number for s in statements(session)] == ["2025-000001", "2025-000002", "2025-000003"]


def test_changed_data_gets_a_correction_that_replaces_the_old_statement(cli, session, year_2025, tmp_path):
    out = tmp_path / "out"
    assert issue(cli, out).exit_code == 0
    old_file = manifest(out)[0]["file"]
    # A's iDEAL gift of 25.00 is refunded after the statement went out.
    gift = session.scalar(select(Donation).where(Donation.reference == "A-1"))
    make_adjustment(session, gift, kind="chargeback", amount="25.00", date="2026-02-01")
    # B moved house.
    b = year_2025["B"]
    b.street, b.house_number = "Vismarkt", "3"
    session.commit()

    result = issue(cli, out)
    assert result.exit_code == 0, result.stderr
    assert "0 new statements, 2 corrections, 1 unchanged" in result.stdout
    assert "2025-000004 replaces 2025-000001" in result.stdout
    assert "2025-000005 replaces 2025-000002" in result.stdout

    rows = manifest(out)
    assert [(r["number"], r["donor_ref"], r["regular"], r["non_deductible"], r["total_paid"]) for r in rows] == [
        ("2025-000003", "E", "15.00", "0.00", "15.00"),
        ("2025-000004", "A", "60.00", "50.00", "110.00"),
        ("2025-000005", "B", "0.00", "0.00", "600.00"),
    ]
    by_number = {s.number: s for s in statements(session)}
    assert by_number["2025-000001"].status == "replaced"
    assert by_number["2025-000001"].replaced_by_id == by_number["2025-000004"].id
    assert by_number["2025-000004"].replaces_id == by_number["2025-000001"].id
    assert (by_number["2025-000005"].address_lines or [""])[0] == "Vismarkt 3"
    assert by_number["2025-000003"].status == "current"
    text = pdf_text(out / rows[1]["file"])
    assert "Dit overzicht vervangt overzicht 2025-000001" in text
    assert "€ 25,00" not in text
    assert (out / old_file).exists()  # the old PDF stays; the manifest no longer lists it
    audit = session.scalar(select(AuditEntry).where(AuditEntry.entity_ref == "2025-000004"))
    assert audit.details["replaces"] == ["2025-000001"]


def test_a_wholly_refunded_donor_gets_a_correction_to_zero(cli, session, year_2025, tmp_path):
    out = tmp_path / "out"
    assert issue(cli, out).exit_code == 0
    e_gift = session.scalar(select(Donation).where(Donation.reference == "E-1"))
    make_adjustment(session, e_gift, kind="refund", amount="15.00", date="2026-01-20")
    session.commit()
    assert issue(cli, out).exit_code == 0
    rows = {r["donor_ref"]: r for r in manifest(out)}
    assert (rows["E"]["number"], rows["E"]["regular"], rows["E"]["total_paid"]) == ("2025-000004", "0.00", "0.00")
    assert "No gifts in this year (after refunds)." in pdf_text(out / rows["E"]["file"])  # E reads English


def test_language_change_alone_issues_nothing_new(cli, session, year_2025, tmp_path):
    out = tmp_path / "out"
    assert issue(cli, out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.glob("*.pdf")}
    result = issue(cli, tmp_path / "english", "--language", "en")
    assert "0 new statements, 0 corrections, 3 unchanged" in result.stdout
    assert {p.name: p.read_bytes() for p in (tmp_path / "english").glob("*.pdf")} == before
    # A donor's preference changing issues nothing new either.
    year_2025["A"].language = "en"
    session.commit()
    assert "0 new statements, 0 corrections, 3 unchanged" in issue(cli, out).stdout


def test_language_option_sets_the_language_of_new_statements(cli, session, year_2025, tmp_path):
    out = tmp_path / "out"
    assert issue(cli, out, "--language", "en").exit_code == 0
    assert all("Annual statement of gifts 2025" in pdf_text(out / r["file"]) for r in manifest(out))
    assert {s.language for s in statements(session)} == {"en"}


def test_gifts_of_a_merged_donor_count_under_the_survivor_and_replace_its_statement(cli, session, tmp_path):
    keep = make_donor(session, ref="KEEP", first_name="Karin", last_name="Bos")
    duplicate = make_donor(session, ref="DUP", first_name="Karin", last_name="Bos")
    make_donation(session, donor=keep, amount="20.00", date="2025-02-01", reference="K-1")
    make_donation(session, donor=duplicate, amount="30.00", date="2025-04-01", reference="D-1")
    session.commit()
    out = tmp_path / "out"
    assert issue(cli, out).exit_code == 0
    assert [(r["number"], r["donor_ref"], r["total_paid"]) for r in manifest(out)] == [
        ("2025-000001", "KEEP", "20.00"), ("2025-000002", "DUP", "30.00"),
    ]

    merge_donors(session, "KEEP", "DUP", actor="tester")
    session.commit()
    result = issue(cli, out)
    assert result.exit_code == 0, result.stderr
    assert "2025-000003 replaces 2025-000001, 2025-000002" in result.stdout
    assert [(r["number"], r["donor_ref"], r["regular"], r["total_paid"]) for r in manifest(out)] == [
        ("2025-000003", "KEEP", "50.00", "50.00"),
    ]
    by_number = {s.number: s for s in statements(session)}
    assert by_number["2025-000002"].status == "replaced"
    assert by_number["2025-000002"].replaced_by_id == by_number["2025-000003"].id
    assert by_number["2025-000002"].donor_ref == "DUP"  # the snapshot keeps naming whom it was issued to
    assert "€ 30,00" in pdf_text(out / manifest(out)[0]["file"])


def test_gifts_still_under_a_merged_away_record_count_for_the_survivor(session, tmp_path):
    keep = make_donor(session, ref="KEEP2")
    old = make_donor(session, ref="OLD2")
    make_donation(session, donor=old, amount="12.50", date="2025-02-01")
    old.merged_into_id = keep.id  # a merge recorded without moving the gifts (older data)
    session.commit()
    report = issue_statements(_unit_of_work(session), year=2025, out_dir=tmp_path / "out", organisation=ORGANISATION,
                              actor="tester", now=NOW)
    assert [(r["donor_ref"], r["total_paid"]) for r in manifest(tmp_path / "out")] == [("KEEP2", "12.50")]
    assert report.issued == ["2025-000001"]


def test_restricted_donor_gets_no_statement_and_is_reported(cli, session, year_2025, tmp_path):
    year_2025["B"].restricted_at = dt.datetime(2026, 1, 2, tzinfo=UTC)
    session.commit()
    result = issue(cli, tmp_path / "out", "--json")
    summary = json.loads(result.stdout)
    assert summary["restricted_donors"] == ["B", "R"]
    assert [r["donor_ref"] for r in manifest(tmp_path / "out")] == ["A", "E"]


def test_jobs_2_gives_the_same_output_as_jobs_1(cli, session, year_2025, tmp_path):
    parallel, serial = tmp_path / "parallel", tmp_path / "serial"
    result = issue(cli, parallel, "--jobs", "2")
    assert result.exit_code == 0, result.stderr
    # Rendered in this process from the stored snapshots: the same bytes.
    for statement in statements(session):
        lines = list(session.scalars(select(StatementLine).where(StatementLine.statement_id == statement.id).order_by(StatementLine.position)))
        pdf = render_statement(snapshot_from_row(statement, lines).view())
        assert (parallel / statement.file_name).read_bytes() == pdf
        assert hashlib.sha256(pdf).hexdigest() == statement.pdf_sha256
    assert issue(cli, serial, "--jobs", "1").exit_code == 0
    assert {p.name: p.read_bytes() for p in serial.glob("*")} == {p.name: p.read_bytes() for p in parallel.glob("*")}


def _unit_of_work(session):
    from anbi.core.db import session_scope

    engine = session.get_bind()
    return lambda: session_scope(engine)


def test_interrupted_run_completes_without_duplicate_numbers(session, year_2025, tmp_path):
    out = tmp_path / "out"

    def crash_after_first_chunk(index: int) -> None:
        raise KeyboardInterrupt("power cut")

    with pytest.raises(KeyboardInterrupt):
        issue_statements(_unit_of_work(session), year=2025, out_dir=out, organisation=ORGANISATION, actor="tester",
                         chunk_size=2, now=NOW, after_chunk=crash_after_first_chunk)
    # The first chunk (donors A and B) was committed and written; nothing after it.
    assert [(s.number, s.donor_ref) for s in statements(session)] == [("2025-000001", "A"), ("2025-000002", "B")]
    assert len(list(out.glob("*.pdf"))) == 2

    report = issue_statements(_unit_of_work(session), year=2025, out_dir=out, organisation=ORGANISATION,
                              actor="tester", chunk_size=2, now=NOW)
    assert report.issued == ["2025-000003"] and report.unchanged == 2
    issued = statements(session)
    assert [(s.number, s.donor_ref, s.status) for s in issued] == [
        ("2025-000001", "A", "current"), ("2025-000002", "B", "current"), ("2025-000003", "E", "current"),
    ]
    assert [r["number"] for r in manifest(out)] == ["2025-000001", "2025-000002", "2025-000003"]


def test_chunks_do_not_change_the_result(session, year_2025, tmp_path):
    report = issue_statements(_unit_of_work(session), year=2025, out_dir=tmp_path / "one", organisation=ORGANISATION,
                              actor="tester", chunk_size=1, now=NOW)
    assert report.issued == ["2025-000001", "2025-000002", "2025-000003"]
    assert report.restricted == ["R"]


def test_an_issued_statement_cannot_be_edited_or_deleted(cli, session, year_2025, tmp_path):
    assert issue(cli, tmp_path / "out").exit_code == 0
    statement = statements(session)[0]
    statement.total_paid_cents = 1
    with pytest.raises(StatementImmutable, match="cannot be edited"):
        session.flush()
    session.rollback()
    session.delete(statements(session)[0])
    with pytest.raises(StatementImmutable, match="cannot be deleted"):
        session.flush()
    session.rollback()


# --- bad input -------------------------------------------------------------------------


def _nothing_written(session, out: Path) -> None:
    assert session.scalar(select(func.count()).select_from(Statement)) == 0
    assert not out.exists() or not any(out.iterdir())


def test_invalid_rsin_refuses_to_issue_and_writes_nothing(cli, session, year_2025, tmp_path):
    out = tmp_path / "out"
    result = cli("receipts", "issue", "--year", "2025", "--out", str(out),
                 env={**ORG_ENV, "ANBI_ORGANISATION_RSIN": "824150005"})
    assert result.exit_code == 1
    assert "RSIN '824150005' fails the 11-proof" in result.stderr
    assert result.stderr.count("\n") == 1
    _nothing_written(session, out)


def test_no_organisation_refuses_to_issue(cli, session, year_2025, tmp_path):
    out = tmp_path / "out"
    result = cli("receipts", "issue", "--year", "2025", "--out", str(out))
    assert result.exit_code == 1
    assert "no [organisation]" in result.stderr and "RSIN" in result.stderr
    _nothing_written(session, out)


def test_a_year_without_gifts_writes_a_manifest_with_only_its_header(cli, session, year_2025, tmp_path):
    out = tmp_path / "out"
    result = cli("receipts", "issue", "--year", "2019", "--out", str(out), env=ORG_ENV)
    assert result.exit_code == 0
    assert "No gifts from known donors dated in 2019: no statements issued" in result.stdout
    assert (out / "manifest.csv").read_text(encoding="utf-8") == (
        "number,donor_ref,year,regular,periodic,non_deductible,total_paid,file,sha256\n"
    )
    assert session.scalar(select(func.count()).select_from(Statement)) == 0


def test_an_output_folder_that_cannot_be_written(cli, session, year_2025, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = issue(cli, blocker / "receipts")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot write to {blocker / 'receipts'}")
    assert "nothing was written" in result.stderr
    assert session.scalar(select(func.count()).select_from(Statement)) == 0

    result = issue(cli, blocker)
    assert result.exit_code == 1
    assert "cannot write to" in result.stderr
    assert session.scalar(select(func.count()).select_from(Statement)) == 0


def test_a_privacy_purge_pseudonymises_the_statement_and_issues_nothing_new(session, tmp_path):
    from donors.privacy import forget, purge

    donor = make_donor(session, ref="GONE", first_name="Greta", last_name="Gans", street="Laan", house_number="1",
                       postcode="1011 AA", city="Amsterdam", email="greta@example.org")
    make_donation(session, donor=donor, amount="75.00", date="2015-05-01", method="ideal")
    session.commit()
    issue_statements(_unit_of_work(session), year=2015, out_dir=tmp_path / "2015", organisation=ORGANISATION,
                     actor="tester", now=dt.datetime(2016, 1, 15, tzinfo=UTC))
    forget(session, "GONE", "tester", dt.date(2016, 6, 1))
    items = purge(session, dt.date(2030, 1, 1), retention_years=7, actor="tester")
    session.commit()
    assert [item.ref for item in items] == ["GONE"]

    statement = statements(session)[0]
    assert statement.donor_name.startswith("PSEUDONYM-") and "Gans" not in statement.salutation
    assert statement.address_lines is None and statement.postcode is None
    assert (statement.status, statement.total_paid_cents) == ("current", 7500)  # amounts stay for the books

    report = issue_statements(_unit_of_work(session), year=2015, out_dir=tmp_path / "again", organisation=ORGANISATION,
                              actor="tester")
    assert (report.issued, report.corrections, report.restricted) == ([], [], ["GONE"])
    assert manifest(tmp_path / "again") == []


def test_a_merged_away_statement_stays_out_of_the_manifest_while_the_survivor_is_restricted(session, tmp_path):
    keep = make_donor(session, ref="KEEP3")
    duplicate = make_donor(session, ref="DUP3")
    make_donation(session, donor=duplicate, amount="30.00", date="2025-04-01")
    session.commit()
    issue_statements(_unit_of_work(session), year=2025, out_dir=tmp_path / "first", organisation=ORGANISATION,
                     actor="tester", now=NOW)
    merge_donors(session, "KEEP3", "DUP3", actor="tester")
    keep.restricted_at = dt.datetime(2026, 2, 1, tzinfo=UTC)
    session.commit()
    report = issue_statements(_unit_of_work(session), year=2025, out_dir=tmp_path / "second", organisation=ORGANISATION,
                              actor="tester", now=NOW)
    assert report.restricted == ["KEEP3"] and report.issued == [] and report.corrections == []
    assert manifest(tmp_path / "second") == []


@pytest.mark.committed
def test_two_runs_at_once_cannot_give_out_the_same_number(session, year_2025, tmp_path):
    from exports.statements.issue import StatementRunConflict

    def another_run_meanwhile(index: int) -> None:
        if index == 0:
            issue_statements(_unit_of_work(session), year=2025, out_dir=tmp_path / "other", organisation=ORGANISATION,
                             actor="someone else", chunk_size=1, now=NOW)

    with pytest.raises(StatementRunConflict, match="taken by another run"):
        issue_statements(_unit_of_work(session), year=2025, out_dir=tmp_path / "out", organisation=ORGANISATION,
                         actor="tester", chunk_size=1, now=NOW, after_chunk=another_run_meanwhile)
    issued = statements(session)
    assert [s.number for s in issued] == ["2025-000001", "2025-000002", "2025-000003"]
    assert len({(s.donor_id, s.status) for s in issued}) == 3  # one current statement per donor
    assert not list((tmp_path / "out").glob(".*.rendering"))  # no half-finished files left behind


def test_an_organisation_and_a_deceased_donor_are_addressed_as_they_deduct(session, tmp_path):
    """Issue 15 item 6: a company deducts in the corporate tax return; the heirs of a
    deceased donor receive the statement. A death recorded later changes nothing issued."""
    company = make_donor(session, ref="ORG", kind="organisation", organisation_name="Bakkerij De Korenschoof B.V.")
    late = make_donor(session, ref="LATE", first_name="Karel", last_name="Dekker", initials="K.",
                      deceased_on=dt.date(2025, 11, 2))
    living = make_donor(session, ref="LIVING", first_name="Lotte", last_name="Vos", initials="L.")
    for donor in (company, late, living):
        make_donation(session, donor=donor, amount="100.00", date="2025-04-01", reference=f"{donor.ref}-1")
    session.commit()
    out = tmp_path / "out"
    issue_statements(_unit_of_work(session), year=2025, out_dir=out, organisation=ORGANISATION, actor="tester", now=NOW)
    by_ref = {s.donor_ref: s for s in statements(session)}
    assert {ref: s.addressee for ref, s in by_ref.items()} == {"ORG": "organisation", "LATE": "heirs", "LIVING": "person"}
    texts = {ref: " ".join(pdf_text(out / s.file_name).split()) for ref, s in by_ref.items()}
    assert "aangifte vennootschapsbelasting over 2025" in texts["ORG"]
    assert "De erven van K. Dekker" in texts["LATE"] and "Geachte erven," in texts["LATE"]
    assert "Geachte heer/mevrouw Vos," in texts["LIVING"] and "aangifte inkomstenbelasting over 2025" in texts["LIVING"]
    # Read back from the snapshot, a statement renders to the bytes it was issued with.
    for statement in by_ref.values():
        view = snapshot_from_row(statement, list(statement.lines)).view()
        assert hashlib.sha256(render_statement(view)).hexdigest() == statement.pdf_sha256

    session.get(type(living), living.id).deceased_on = dt.date(2026, 1, 3)
    session.commit()
    report = issue_statements(_unit_of_work(session), year=2025, out_dir=out, organisation=ORGANISATION, actor="tester", now=NOW)
    assert report.unchanged == 3 and report.issued == [] and report.corrections == []


def test_a_one_off_direct_debit_imported_with_its_mandate_shows_it_on_the_statement(cli, session, tmp_path):
    from tests.factories import make_mandate

    donor = make_donor(session, ref="STRAAT", first_name="Sem", last_name="Visser")
    make_mandate(session, donor=donor, mandate_id="EMDT-STRAAT-0001")
    session.commit()
    path = tmp_path / "gifts.csv"
    path.write_text("reference,donor_ref,date,amount,method,mandate\nST-1,STRAAT,2025-06-14,35.00,sepa_debit,EMDT-STRAAT-0001\n",
                    encoding="utf-8")
    assert cli("donations", "import", str(path)).exit_code == 0
    out = tmp_path / "out"
    assert cli("receipts", "issue", "--year", "2025", "--out", str(out), env=ORG_ENV).exit_code == 0
    text = " ".join(pdf_text(out / manifest(out)[0]["file"]).split())
    assert "14-06-2025 € 35,00 SEPA-incasso EMDT-STRAAT-0001 gewoon" in text
