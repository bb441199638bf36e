"""The AVG rights: access export, erasure (complete or restricted), purge after retention."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

import anbi.models  # noqa: F401  (every table, so the policy check sees them all)
from anbi.core.audit import AuditEntry
from anbi.core.calendar import anniversary
from anbi.core.db import Base
from anbi.core.errors import ConfigurationError
from donors import privacy
from donors.errors import DonorInactive, DonorNotFound, ErasureRefused
from donors.models import ConsentEvent, Donor, DonorMerge, DonorTag, Suppression
from donors.privacy import (
    FINANCIAL_RECORDS,
    NOT_FINANCIAL,
    export_personal_data,
    forget,
    purge,
    referencing_tables,
    undeclared_tables,
)
from donors.suppression import hash_contact, suppressed_kinds
from fundraising.models import Donation, Mandate, RecurringGift
from tests.factories import make_agreement, make_donation, make_donor, make_mandate, make_recurring

UTC = dt.UTC
TODAY = dt.date(2026, 1, 15)
LONG_AGO = dt.datetime(2015, 6, 1, 12, tzinfo=UTC)


# --- the policy ------------------------------------------------------------------

def test_every_table_referencing_donors_is_declared_financial_or_not():
    """Fails when a part adds a table referencing donors without saying what an erasure does with it."""
    assert undeclared_tables() == [], "declare these in donors/privacy.py FINANCIAL_RECORDS or NOT_FINANCIAL"
    assert set(FINANCIAL_RECORDS) & set(NOT_FINANCIAL) == set()
    assert (set(FINANCIAL_RECORDS) | set(NOT_FINANCIAL)) - referencing_tables() == set(), "stale declarations"


def test_declared_columns_exist():
    for name, policy in FINANCIAL_RECORDS.items():
        columns = Base.metadata.tables[name].c
        named = [policy.donor_column, *policy.dates, *policy.personal, *(c for c, _ in policy.suppress)]
        if policy.term:
            named.extend(policy.term)
        if policy.key:
            named.append(policy.key)
        assert [c for c in named if c not in columns] == [], name


def test_the_policy_check_notices_an_undeclared_table():
    assert undeclared_tables(financial=[n for n in FINANCIAL_RECORDS if n != "donations"]) == ["donations"]


def test_erasure_refuses_to_run_with_an_undeclared_table(session, monkeypatch):
    make_donor(session, ref="A", email="a@example.nl")
    session.commit()
    financial = dict(FINANCIAL_RECORDS)
    del financial["mandates"]
    monkeypatch.setattr(privacy, "FINANCIAL_RECORDS", financial)
    with pytest.raises(ConfigurationError, match="no privacy policy for table mandates"):
        forget(session, "A", actor="tester", today=TODAY)
    session.rollback()
    assert session.scalar(select(Donor.email).where(Donor.ref == "A")) == "a@example.nl"


# --- plain rules -------------------------------------------------------------------

@pytest.mark.parametrize("day, years, expected", [
    (dt.date(2025, 3, 1), 7, dt.date(2032, 3, 1)),
    (dt.date(2024, 2, 29), 7, dt.date(2031, 2, 28)),
    (dt.date(2024, 2, 29), 4, dt.date(2028, 2, 29)),
])
def test_retention_counts_years_to_the_anniversary(day, years, expected):
    assert anniversary(day, years) == expected


AGREEMENT = FINANCIAL_RECORDS["periodic_agreements"]


def _agreement(**fields):
    row = {"status": "active", "start_date": dt.date(2024, 1, 1), "years": 5, "end_date": None, "number": "PG-1"}
    row.update(fields)
    return row


@pytest.mark.parametrize("row, running", [
    (_agreement(), True),  # in its term until 2029-01-01
    (_agreement(years=None), True),  # indefinite: until death
    (_agreement(start_date=dt.date(2020, 1, 1)), False),  # its term ended 2025-01-01
    (_agreement(status="ended", end_date=dt.date(2025, 6, 30)), False),
    (_agreement(end_date=dt.date(2026, 1, 15)), False),  # ends today
    (_agreement(end_date=dt.date(2026, 1, 16)), True),
], ids=["in-term", "indefinite", "past-term", "ended", "ends-today", "ends-tomorrow"])
def test_when_an_agreement_is_in_force(row, running):
    assert AGREEMENT.is_running(row, TODAY) is running


@pytest.mark.parametrize("row, expected", [
    # Ended early: retention still counts from the end of the agreed term (conservative, DOMAIN.md 6.3).
    (_agreement(status="ended", start_date=dt.date(2020, 1, 1), end_date=dt.date(2022, 6, 30)), dt.date(2025, 1, 1)),
    (_agreement(status="ended", start_date=dt.date(2018, 1, 1), years=None, end_date=dt.date(2023, 4, 1)),
     dt.date(2023, 4, 1)),
    (_agreement(start_date=dt.date(2018, 1, 1)), dt.date(2023, 1, 1)),  # ran out its term, never marked ended
])
def test_an_agreement_retention_runs_from_its_end(row, expected):
    assert AGREEMENT.retention_from(row) == expected


def test_a_mandate_retention_runs_from_its_last_collection_or_change():
    policy = FINANCIAL_RECORDS["mandates"]
    row = {"last_collected_on": dt.date(2024, 11, 1), "signed_on": dt.date(2019, 1, 1),
           "updated_at": dt.datetime(2024, 3, 1, 9, tzinfo=UTC)}
    assert policy.retention_from(row) == dt.date(2024, 11, 1)
    row["updated_at"] = dt.datetime(2025, 2, 3, 9, tzinfo=UTC)  # revoked then
    assert policy.retention_from(row) == dt.date(2025, 2, 3)


# --- right of access ---------------------------------------------------------------

def test_export_holds_everything_on_the_donor(session):
    donor = make_donor(session, ref="A", first_name="Anna", last_name="Visser", email="anna@example.nl",
                       phone="0612345678", iban="NL91ABNA0417164300", notes="wil geen kalender")
    merged = make_donor(session, ref="A-OLD", first_name="A.", last_name="Visser", email="anna.oud@example.nl",
                        merged_into_id=donor.id)
    session.add(DonorMerge(kept_donor_id=donor.id, merged_donor_id=merged.id, merged_ref="A-OLD", actor="x"))
    session.add_all([DonorTag(donor_id=donor.id, tag="volunteer"), DonorTag(donor_id=donor.id, tag="major")])
    session.add(ConsentEvent(donor_id=donor.id, channel="email", granted=True, source="form",
                             wording="Ja, mail mij", at=dt.datetime(2024, 5, 1, tzinfo=UTC)))
    make_donation(session, donor=donor, amount="25.00", date="2025-03-01")
    make_donation(session, donor=donor, amount="1234.56", date="2025-04-01")
    make_mandate(session, donor=donor, mandate_id="MDT-9", iban="NL20INGB0001234567")
    make_donor(session, ref="B", email="someone.else@example.nl")
    session.commit()

    document = export_personal_data(session, "A-OLD", actor="tester")  # a merged ref: its survivor
    session.commit()

    assert document["ref"] == "A"
    assert document["requested_ref"] == "A-OLD"
    assert document["status"] == "active"
    assert (document["donor"]["email"], document["donor"]["phone"], document["donor"]["iban"]) == (
        "anna@example.nl", "0612345678", "NL91ABNA0417164300")
    assert document["donor"]["notes"] == "wil geen kalender"
    assert [r["ref"] for r in document["merged_records"]] == ["A-OLD"]
    assert document["merged_records"][0]["email"] == "anna.oud@example.nl"
    assert document["tags"] == ["major", "volunteer"]
    assert [(c["channel"], c["granted"], c["source"], c["wording"]) for c in document["consent_history"]] == [
        ("email", True, "form", "Ja, mail mij")]
    assert sorted(d["amount"] for d in document["records"]["donations"]) == ["1234.56", "25.00"]
    assert document["records"]["mandates"][0]["iban"] == "NL20INGB0001234567"
    assert document["records"]["donor_merges"][0]["merged_ref"] == "A-OLD"
    assert "someone.else@example.nl" not in json.dumps(document)
    json.dumps(document)  # JSON-ready as it is
    entry = session.execute(select(AuditEntry).where(AuditEntry.action == "export_data")).scalar_one()
    assert (entry.actor, entry.entity_ref) == ("tester", "A")
    assert entry.details["tables"]["donations"] == 2
    assert "anna" not in json.dumps(entry.details).lower()


def test_export_of_an_unknown_ref_is_refused(session):
    with pytest.raises(DonorNotFound):
        export_personal_data(session, "NOPE", actor="tester")


# --- erasure -------------------------------------------------------------------------

PERSONAL = ("Visser", "anna@example.nl", "0612345678", "NL91ABNA0417164300", "Prinsengracht", "1017 GC",
            "wil geen kalender")


def _audit_text(session) -> str:
    rows = session.execute(select(AuditEntry.entity_ref, AuditEntry.details)).all()
    return json.dumps([[ref, details] for ref, details in rows])


def _anna(session, **fields):
    values = dict(ref="A", first_name="Anna", last_name="Visser", email="anna@example.nl", phone="0612345678",
                  iban="NL91ABNA0417164300", street="Prinsengracht", house_number="263", postcode="1017 GC",
                  city="Amsterdam", notes="wil geen kalender")
    values.update(fields)
    donor = make_donor(session, **values)
    session.add_all([DonorTag(donor_id=donor.id, tag="major")])
    session.add(ConsentEvent(donor_id=donor.id, channel="email", granted=True, source="form",
                             at=dt.datetime(2024, 5, 1, tzinfo=UTC)))
    session.flush()
    return donor


def test_a_donor_without_financial_records_is_erased_completely(session):
    donor = _anna(session)
    merged = make_donor(session, ref="A-OLD", last_name="Visser", email="anna.oud@example.nl", merged_into_id=donor.id)
    session.add(DonorMerge(kept_donor_id=donor.id, merged_donor_id=merged.id, merged_ref="A-OLD", actor="x"))
    other = make_donor(session, ref="B", email="b@example.nl")
    session.add(DonorTag(donor_id=other.id, tag="major"))
    session.commit()

    report = forget(session, "A", actor="tester", today=TODAY)
    session.commit()

    assert report.mode == "erased"
    assert report.merged_refs == ["A-OLD"]
    assert session.scalar(select(func.count(Donor.id)).where(Donor.ref.in_(["A", "A-OLD"]))) == 0
    assert session.scalar(select(func.count(DonorTag.id))) == 1  # only B's
    assert session.scalar(select(func.count(ConsentEvent.id))) == 0
    assert session.scalar(select(func.count(DonorMerge.id))) == 0
    # The suppression list holds hashes only, and recognises the details when they come back.
    hashes = set(session.execute(select(Suppression.kind, Suppression.value_hash)).all())
    assert hashes == {
        ("email", hash_contact("email", "anna@example.nl")),
        ("email", hash_contact("email", "anna.oud@example.nl")),
        ("phone", hash_contact("phone", "0612345678")),
        ("iban", hash_contact("iban", "NL91ABNA0417164300")),
    }
    assert suppressed_kinds(session, email="Anna@Example.nl", phone="+31 6 1234 5678",
                            iban="NL91 ABNA 0417 1643 00") == {"email", "phone", "iban"}
    assert report.suppressed == ["e-mail", "phone", "IBAN"]
    # The audit row says what happened, with none of what was erased.
    entry = session.execute(select(AuditEntry).where(AuditEntry.action == "forget")).scalar_one()
    assert (entry.actor, entry.entity_ref, entry.details["mode"]) == ("tester", "A", "erased")
    text = _audit_text(session)
    for value in PERSONAL + ("anna.oud@example.nl", "Anna"):
        assert value not in text


def test_a_donor_with_gifts_is_restricted_and_kept_until_the_retention_ends(session):
    donor = _anna(session)
    make_donation(session, donor=donor, amount="50.00", date="2023-05-01")
    make_donation(session, donor=donor, amount="25.00", date="2025-03-01")
    session.commit()

    report = forget(session, "A", actor="tester", today=TODAY, retention_years=7)
    session.commit()

    assert report.mode == "restricted"
    assert report.last_financial_record == dt.date(2025, 3, 1)
    assert report.kept_until == dt.date(2032, 3, 1)
    assert report.kept == ["name", "address", "IBAN", "2 donations"]
    assert report.deleted == ["e-mail", "phone", "notes", "1 consent record", "1 tag"]
    kept = session.scalar(select(Donor).where(Donor.ref == "A"))
    assert (kept.first_name, kept.last_name, kept.street, kept.postcode, kept.iban) == (
        "Anna", "Visser", "Prinsengracht", "1017 GC", "NL91ABNA0417164300")
    assert (kept.email, kept.phone, kept.notes) == (None, None, None)
    assert kept.restricted_at is not None and not kept.is_active
    assert session.scalar(select(func.count(DonorTag.id))) == 0
    assert session.scalar(select(func.count(ConsentEvent.id))) == 0
    assert session.scalar(select(func.sum(Donation.amount_cents)).where(Donation.donor_id == kept.id)) == 7500
    assert session.scalar(select(func.count(Suppression.id))) == 3
    text = _audit_text(session)
    for value in ("anna@example.nl", "0612345678", "wil geen kalender"):
        assert value not in text


def test_an_agreement_ended_early_keeps_the_records_until_its_term_would_have_ended(session):
    donor = _anna(session)
    make_donation(session, donor=donor, amount="600.00", date="2022-01-05")
    make_agreement(session, donor=donor, number="PG-2020-1", start_date="2020-01-01", years=5,
                   status="ended", end_date="2022-06-30", end_reason="job_loss")
    session.commit()

    report = forget(session, "A", actor="tester", today=TODAY, retention_years=7)

    assert report.last_financial_record == dt.date(2025, 1, 1)
    assert report.kept_until == dt.date(2032, 1, 1)
    assert report.kept[-2:] == ["1 donation", "1 periodic gift agreement"]


def test_running_collections_are_stopped(session):
    donor = _anna(session)
    make_donation(session, donor=donor, amount="10.00", date="2025-12-01")
    mandate = make_mandate(session, donor=donor, mandate_id="MDT-7", iban="NL20INGB0001234567")
    make_recurring(session, donor=donor, reference="RG-7", mandate=mandate)
    make_recurring(session, donor=donor, reference="RG-OLD", status="cancelled", end_date="2023-01-01")
    session.commit()

    report = forget(session, "A", actor="tester", today=TODAY)
    session.commit()

    assert report.stopped == ["mandate MDT-7 revoked", "recurring gift RG-7 cancelled"]
    assert session.scalar(select(Mandate.status).where(Mandate.mandate_id == "MDT-7")) == "revoked"
    assert session.execute(select(RecurringGift.status, RecurringGift.end_date)
                           .where(RecurringGift.reference == "RG-7")).one() == ("cancelled", TODAY)
    assert session.scalar(select(RecurringGift.end_date).where(RecurringGift.reference == "RG-OLD")) == dt.date(2023, 1, 1)
    # The mandate's IBAN is suppressed as well as the donor's own.
    assert suppressed_kinds(session, iban="NL20INGB0001234567") == {"iban"}
    # Retention runs from the revocation: the mandate's last change, read back from the database.
    revoked_on = session.scalar(select(Mandate.updated_at).where(Mandate.mandate_id == "MDT-7")).date()
    assert report.kept_until == anniversary(max(revoked_on, TODAY), 7)


@pytest.mark.parametrize("years, message", [
    (5, "periodic gift agreement PG-2024-9 is in force until 2029-01-01; end it first "
        "(anbi agreements end PG-2024-9 --date D --reason R)"),
    (None, "periodic gift agreement PG-2024-9 is in force for an indefinite term"),
])
def test_erasure_is_refused_while_a_periodic_agreement_is_in_force(session, years, message):
    donor = _anna(session)
    make_agreement(session, donor=donor, number="PG-2024-9", start_date="2024-01-01", years=years)
    session.commit()

    with pytest.raises(ErasureRefused) as refused:
        forget(session, "A", actor="tester", today=TODAY)
    assert message in str(refused.value)
    assert str(refused.value).startswith("cannot forget donor A: ")
    session.rollback()
    assert session.scalar(select(Donor.email).where(Donor.ref == "A")) == "anna@example.nl"
    assert session.scalar(select(func.count(Suppression.id))) == 0
    assert session.scalar(select(func.count(AuditEntry.id))) == 0
    assert session.scalar(select(func.count(DonorTag.id))) == 1


def test_an_agreement_past_its_term_does_not_block(session):
    donor = _anna(session)
    make_agreement(session, donor=donor, number="PG-2018-1", start_date="2018-01-01", years=5)  # still "active"
    session.commit()
    report = forget(session, "A", actor="tester", today=TODAY)
    assert report.mode == "restricted"
    assert report.kept_until == dt.date(2030, 1, 1)


def test_forget_through_a_merged_ref_forgets_the_survivor_and_its_merged_records(session):
    donor = _anna(session)
    make_donation(session, donor=donor, date="2025-01-01")
    make_donor(session, ref="A-OLD", last_name="Visser", email="anna.oud@example.nl", phone="0201234567",
               merged_into_id=donor.id)
    session.commit()

    report = forget(session, "A-OLD", actor="tester", today=TODAY)
    session.commit()

    assert (report.ref, report.merged_refs) == ("A", ["A-OLD"])
    old = session.scalar(select(Donor).where(Donor.ref == "A-OLD"))
    assert (old.email, old.phone, old.restricted_at is not None) == (None, None, True)
    assert suppressed_kinds(session, email="anna.oud@example.nl", phone="0201234567") == {"email", "phone"}


def test_forget_refuses_unknown_restricted_and_purged_donors(session):
    make_donor(session, ref="R", restricted_at=LONG_AGO)
    make_donor(session, ref="P", restricted_at=LONG_AGO, purged_at=LONG_AGO)
    session.commit()
    with pytest.raises(DonorNotFound):
        forget(session, "NOPE", actor="tester", today=TODAY)
    with pytest.raises(DonorInactive, match="already forgotten on 2015-06-01"):
        forget(session, "R", actor="tester", today=TODAY)
    with pytest.raises(DonorInactive, match="already purged"):
        forget(session, "P", actor="tester", today=TODAY)
    session.rollback()
    assert session.scalar(select(func.count(AuditEntry.id))) == 0


# --- purge ---------------------------------------------------------------------------

def _restricted(session, ref, *gift_dates, **fields):
    donor = make_donor(session, ref=ref, first_name="Piet", last_name=f"Bakker{ref}", iban="NL91ABNA0417164300",
                       street="Dorpsstraat", postcode="9711 AA", city="Groningen", restricted_at=LONG_AGO, **fields)
    for day in gift_dates:
        make_donation(session, donor=donor, amount="40.00", date=day, stripe_customer_id="cus_123")
    return donor


def test_purge_pseudonymises_what_passed_its_retention_period(session):
    old = _restricted(session, "OLD", "2014-05-01", "2018-12-31")  # retention ends 2025-12-31
    mandate = make_mandate(session, donor=old, mandate_id="MDT-OLD", iban="NL20INGB0001234567", bic="INGBNL2A",
                           status="revoked", signed_on="2014-01-01", last_collected_on="2018-12-01")
    mandate.updated_at = dt.datetime(2019, 1, 10, tzinfo=UTC)
    merged = make_donor(session, ref="OLD-2", last_name="Bakker", iban="NL02ABNA0123456789", restricted_at=LONG_AGO,
                        merged_into_id=old.id)
    _restricted(session, "RECENT", "2019-01-16")  # retention ends 2026-01-16: tomorrow
    active = make_donor(session, ref="ACTIVE", last_name="Smit")  # never asked to be forgotten
    make_donation(session, donor=active, date="2010-01-01")
    session.commit()

    items = purge(session, TODAY, retention_years=7, actor="tester")
    session.commit()

    assert [(i.ref, i.last_financial_record, i.retention_ended_on) for i in items] == [
        ("OLD", dt.date(2019, 1, 10), dt.date(2026, 1, 10))]
    purged = session.get(Donor, old.id)
    assert purged.purged_at is not None
    assert purged.last_name.startswith("PSEUDONYM-") and "Bakker" not in purged.last_name
    assert (purged.first_name, purged.street, purged.postcode, purged.city, purged.iban) == (None,) * 5
    assert not purged.is_active
    again = session.get(Donor, merged.id)
    assert again.purged_at is not None and again.iban is None and again.last_name != purged.last_name
    purged_mandate = session.get(Mandate, mandate.id)
    assert purged_mandate.iban.startswith("PSEUDONYM") and purged_mandate.bic is None
    assert purged_mandate.mandate_id == "MDT-OLD"
    # The books keep their amounts and dates.
    gifts = session.execute(select(Donation.received_on, Donation.amount_cents, Donation.stripe_customer_id)
                            .where(Donation.donor_id == old.id).order_by(Donation.received_on)).all()
    assert gifts == [(dt.date(2014, 5, 1), 4000, None), (dt.date(2018, 12, 31), 4000, None)]
    assert session.scalar(select(Donor.purged_at).where(Donor.ref == "RECENT")) is None
    assert session.scalar(select(Donor.last_name).where(Donor.ref == "ACTIVE")) == "Smit"
    entry = session.execute(select(AuditEntry).where(AuditEntry.action == "purge")).scalar_one()
    assert (entry.entity_ref, entry.actor, entry.details["retention_ended_on"]) == ("OLD", "tester", "2026-01-10")
    assert entry.details["pseudonymised"] == {"donors": 2, "donations": 2, "mandates": 1}
    assert "Bakker" not in _audit_text(session) and "NL20INGB" not in _audit_text(session)


def test_purge_on_the_day_the_retention_ends(session):
    _restricted(session, "R", "2019-01-15")
    session.commit()
    assert purge(session, dt.date(2026, 1, 14), retention_years=7) == []
    assert [i.ref for i in purge(session, dt.date(2026, 1, 15), retention_years=7)] == ["R"]


def test_purge_uses_the_retention_years_given(session):
    _restricted(session, "R", "2017-01-01")
    session.commit()
    assert purge(session, TODAY, retention_years=10, dry_run=True) == []
    assert [i.ref for i in purge(session, TODAY, retention_years=7, dry_run=True)] == ["R"]


def test_purge_dry_run_writes_nothing(session):
    donor = _restricted(session, "R", "2012-01-01")
    session.commit()

    items = purge(session, TODAY, retention_years=7, dry_run=True, actor="tester")
    session.commit()

    assert [(i.ref, i.retention_ended_on) for i in items] == [("R", dt.date(2019, 1, 1))]
    again = session.get(Donor, donor.id)
    assert (again.last_name, again.iban, again.purged_at) == ("BakkerR", "NL91ABNA0417164300", None)
    assert session.scalar(select(func.count(AuditEntry.id))) == 0
    assert session.scalar(select(Donation.stripe_customer_id)) == "cus_123"


def test_a_restricted_donor_with_an_agreement_still_running_is_not_purged(session):
    donor = _restricted(session, "R", "2012-01-01")
    make_agreement(session, donor=donor, number="PG-X", start_date="2012-01-01", years=None)  # indefinite, active
    session.commit()
    assert purge(session, TODAY, retention_years=7) == []


def test_after_purge_callbacks_get_the_purged_donors(session, monkeypatch):
    donor = _restricted(session, "R", "2012-01-01")
    session.commit()
    seen = []
    monkeypatch.setattr(privacy, "AFTER_PURGE", [lambda s, purged: seen.extend(purged)])
    purge(session, TODAY, retention_years=7, dry_run=True)
    assert seen == []
    purge(session, TODAY, retention_years=7)
    assert [(p.id, p.ref) for p in seen] == [(donor.id, "R")]


def test_forget_then_purge_years_later(session):
    donor = _anna(session)
    make_donation(session, donor=donor, amount="25.00", date="2025-03-01")
    session.commit()
    report = forget(session, "A", actor="tester", today=TODAY)
    session.commit()
    assert report.kept_until is not None
    assert purge(session, report.kept_until - dt.timedelta(days=1), retention_years=7) == []
    assert [i.ref for i in purge(session, report.kept_until, retention_years=7)] == ["A"]
    session.commit()
    document = export_personal_data(session, "A", actor="tester")
    assert document["status"] == "purged"
    assert "Visser" not in json.dumps(document) and "Prinsengracht" not in json.dumps(document)
    assert document["records"]["donations"][0]["amount"] == "25.00"
