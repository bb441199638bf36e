"""`anbi donors duplicates | merge | export-data | forget` and `anbi privacy purge`,
driven through the CLI on both databases, with donors imported as a person would."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anbi.core.audit import AuditEntry
from anbi.core.calendar import term_end
from anbi.core.clock import today
from anbi.core.db import make_engine
from donors.models import Donor, DonorMerge, DonorTag, Suppression
from fundraising.models import Donation
from tests.factories import make_agreement, make_donation

DONORS = (
    "ref,first_name,prefix,last_name,street,house_number,postcode,city,email,phone,iban,tags\n"
    "D1,Jan,,Jansen,Kerkstraat,12,1017 GC,Amsterdam,jan@example.nl,0612345678,NL91ABNA0417164300,major\n"
    "D2,J.,,Janssen,Kerkstraat,12,1017GC,Amsterdam,,,,volunteer\n"
    "D3,Marie,,Jansen,Kerkstraat,12,1017 GC,Amsterdam,marie@example.nl,,,\n"
    "D4,Anna,de,Vries,Dorpsstraat,3,9711 AA,Groningen,anna@example.nl,0201234567,NL20INGB0001234567,\n"
    "D5,Anna,,de Vries,Stationsweg,8,3511 AB,Utrecht,,,NL20INGB0001234567,\n"
)


@pytest.fixture
def imported(cli, tmp_path):
    path = tmp_path / "donors.csv"
    path.write_text(DONORS, encoding="utf-8")
    result = cli("donors", "import", str(path))
    assert result.exit_code == 0, result.stderr
    return path


@pytest.fixture
def db(db_url):
    engine = make_engine(db_url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


def _count(db, model, *where) -> int:
    db.rollback()  # see what the command committed
    return db.scalar(select(func.count()).select_from(model).where(*where))


def test_duplicates_lists_likely_pairs(cli, imported):
    result = cli("donors", "duplicates", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"ref_a": "D4", "ref_b": "D5", "score": 0.95, "reason": "same IBAN", "reasons": ["same IBAN"]},
        {"ref_a": "D1", "ref_b": "D2", "score": 0.75,
         "reason": "near-identical name at the same address (Jan Jansen / J. Janssen)",
         "reasons": ["near-identical name at the same address (Jan Jansen / J. Janssen)"]},
    ]
    text = cli("donors", "duplicates")
    assert text.stdout.splitlines() == [
        "0.95  D4  D5  same IBAN",
        "0.75  D1  D2  near-identical name at the same address (Jan Jansen / J. Janssen)",
        "2 likely duplicate pairs.",
    ]
    assert json.loads(cli("donors", "duplicates", "--json", "--min-score", "0.9").stdout)[0]["ref_b"] == "D5"


def test_merge_then_the_duplicate_ref_shows_the_kept_donor(cli, imported, db):
    donor_2 = db.scalar(select(Donor).where(Donor.ref == "D2"))
    make_donation(db, donor=donor_2, amount="30.00", date="2025-02-01")
    db.commit()

    result = cli("donors", "merge", "D1", "D2", "--yes")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == "Merged D2 into D1; D2 now resolves to D1."
    assert "donations 1" in result.stdout and "donor_tags 1" in result.stdout
    shown = json.loads(cli("donors", "show", "D2", "--json").stdout)
    assert shown["ref"] == "D1"
    assert shown["tags"] == ["major", "volunteer"]
    d1 = db.scalar(select(Donor.id).where(Donor.ref == "D1"))
    assert _count(db, Donation, Donation.donor_id == d1) == 1
    assert _count(db, DonorMerge) == 1
    assert "D2" not in [d["ref"] for d in json.loads(cli("donors", "list", "--json").stdout)]
    assert "D2" not in cli("donors", "duplicates").stdout


@pytest.mark.parametrize("args, message", [
    (("D1", "NOPE"), "error: no donor with ref 'NOPE'"),
    (("D1", "D1"), "error: cannot merge D1 into D1: a donor cannot be merged into itself"),
])
def test_merge_refusals_are_one_line_and_write_nothing(cli, imported, db, args, message):
    result = cli("donors", "merge", *args, "--yes")
    assert result.exit_code == 1
    assert result.stderr.strip() == message
    assert _count(db, DonorMerge) == 0
    assert _count(db, AuditEntry, AuditEntry.action.in_(["merge", "merged_into"])) == 0


def test_merging_twice_is_refused(cli, imported):
    assert cli("donors", "merge", "D1", "D2", "--yes").exit_code == 0
    again = cli("donors", "merge", "D1", "D2", "--yes")
    assert again.exit_code == 1
    assert again.stderr.strip() == "error: cannot merge D2 into D1: D2 was already merged into D1"


def test_export_data_prints_json_and_is_audited(cli, imported, tmp_path, db):
    result = cli("donors", "export-data", "D1")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["ref"], document["donor"]["email"], document["tags"]) == ("D1", "jan@example.nl", ["major"])
    assert _count(db, AuditEntry, AuditEntry.action == "export_data", AuditEntry.entity_ref == "D1") == 1
    out = tmp_path / "d1.json"
    assert cli("donors", "export-data", "D1", "--out", str(out)).exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8"))["donor"]["iban"] == "NL91ABNA0417164300"
    missing = cli("donors", "export-data", "NOPE")
    assert (missing.exit_code, missing.stderr.strip()) == (1, "error: no donor with ref 'NOPE'")


def test_forget_without_financial_records_erases_and_a_later_import_is_flagged(cli, imported, tmp_path, db):
    result = cli("donors", "forget", "D4", "--yes")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Donor D4 erased completely: there were no financial records to keep.",
        "Deleted: e-mail, phone, the donor record itself (name, address, IBAN)",
        "On the suppression list (hashed): e-mail, phone, IBAN",
    ]
    assert cli("donors", "show", "D4").exit_code == 1
    assert _count(db, Donor, Donor.ref == "D4") == 0
    assert _count(db, Suppression) == 3
    audit = db.execute(select(AuditEntry.details).where(AuditEntry.action == "forget")).scalar_one()
    assert "anna@example.nl" not in json.dumps(audit) and "Vries" not in json.dumps(audit)

    # The same person arrives again in a later file: imported, but flagged.
    again = tmp_path / "again.csv"
    again.write_text("ref,first_name,last_name,email\nW1,Anna,de Vries,ANNA@example.nl\n", encoding="utf-8")
    imported_again = cli("donors", "import", str(again))
    assert imported_again.exit_code == 0, imported_again.stderr
    assert "line 2 (W1): email previously erased — check before contacting" in imported_again.stdout


def test_forget_with_gifts_restricts_and_says_until_when(cli, imported, db):
    donor = db.scalar(select(Donor).where(Donor.ref == "D1"))
    make_donation(db, donor=donor, amount="25.00", date="2025-03-01")
    db.commit()

    result = cli("donors", "forget", "D1", "--json", "--yes")

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["mode"] == "restricted"
    assert report["kept"] == ["name", "address", "IBAN", "1 donation"]
    assert report["deleted"] == ["e-mail", "phone", "1 tag"]
    assert report["kept_until"] == "2032-03-01"
    assert report["last_financial_record"] == "2025-03-01"
    assert "D1" not in [d["ref"] for d in json.loads(cli("donors", "list", "--json").stdout)]
    assert _count(db, DonorTag) == 1  # D2's only
    again = cli("donors", "forget", "D1", "--yes")
    assert again.exit_code == 1
    assert again.stderr.startswith("error: donor 'D1' is already forgotten on ")


def test_forget_prints_what_was_kept_and_why(cli, imported, db):
    donor = db.scalar(select(Donor).where(Donor.ref == "D1"))
    make_donation(db, donor=donor, amount="25.00", date="2025-03-01")
    db.commit()
    lines = cli("donors", "forget", "D1", "--yes").stdout.splitlines()
    assert lines[0] == "Donor D1 restricted: financial records are kept, everything else is deleted."
    assert "Kept: name, address, IBAN, 1 donation" in lines
    assert any(line.startswith("Why: financial records must be kept for the tax administration") for line in lines)
    assert ("Until: 01-03-2032 (7 years after the last financial record, 01-03-2025); "
            "then `anbi privacy purge` pseudonymises them") in lines


def test_forget_is_refused_while_an_agreement_is_in_force(cli, imported, db):
    donor = db.scalar(select(Donor).where(Donor.ref == "D1"))
    start = today().replace(day=1)
    make_agreement(db, donor=donor, number="PG-2099-1", start_date=start, years=5)
    db.commit()

    result = cli("donors", "forget", "D1", "--yes")

    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: cannot forget donor D1: periodic gift agreement PG-2099-1 is in force until "
        f"{term_end(start, 5).isoformat()}; end it first (anbi agreements end PG-2099-1 --date D --reason R)")
    assert _count(db, Suppression) == 0
    assert db.scalar(select(Donor.email).where(Donor.ref == "D1")) == "jan@example.nl"


def test_privacy_purge_dry_run_then_purge(cli, imported, db):
    donor = db.scalar(select(Donor).where(Donor.ref == "D1"))
    make_donation(db, donor=donor, amount="25.00", date="2012-03-01")
    db.commit()
    assert cli("donors", "forget", "D1", "--yes").exit_code == 0

    dry = cli("privacy", "purge", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert dry.stdout.splitlines() == ["D1  retention ended 2019-03-01",
                                       "Would pseudonymise 1 donor (dry run: nothing was changed)."]
    db.rollback()
    assert db.scalar(select(Donor.last_name).where(Donor.ref == "D1")) == "Jansen"
    assert _count(db, AuditEntry, AuditEntry.action == "purge") == 0

    done = cli("privacy", "purge", "--json")
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout) == [{"ref": "D1", "last_financial_record": "2012-03-01",
                                        "retention_ended_on": "2019-03-01",
                                        "pseudonymised": {"donors": 1, "donations": 1}, "dry_run": False}]
    db.rollback()
    purged = db.scalar(select(Donor).where(Donor.ref == "D1"))
    assert purged.last_name.startswith("PSEUDONYM-") and purged.iban is None and purged.street is None
    assert db.scalar(select(Donation.amount_cents).where(Donation.donor_id == purged.id)) == 2500
    assert cli("privacy", "purge").stdout.startswith("Nothing to purge")


def test_purge_respects_the_configured_retention(cli, imported, db, tmp_path):
    donor = db.scalar(select(Donor).where(Donor.ref == "D1"))
    make_donation(db, donor=donor, amount="25.00", date=today() - dt.timedelta(days=365 * 3))
    db.commit()
    assert cli("donors", "forget", "D1", "--yes").exit_code == 0
    assert cli("privacy", "purge", "--dry-run").stdout.startswith("Nothing to purge: no restricted donor has passed "
                                                                  "the 7-year retention period.")
    short = cli("privacy", "purge", "--json", env={"ANBI_PRIVACY_RETENTION_YEARS": "2"})
    assert [item["ref"] for item in json.loads(short.stdout)] == ["D1"]


def test_commands_have_help(cli):
    for command in (("donors", "duplicates"), ("donors", "merge"), ("donors", "export-data"),
                    ("donors", "forget"), ("privacy", "purge")):
        result = cli(*command, "--help")
        assert result.exit_code == 0
        assert "Usage:" in result.stdout and len(result.stdout.splitlines()) > 6
