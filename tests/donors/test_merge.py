"""Merging donors: every reference moves, the merge is recorded, refusals write nothing."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, func, select

import anbi.models  # noqa: F401  (every table, so the policy check sees them all)
from anbi.core.audit import AuditEntry
from anbi.core.db import Base
from anbi.core.errors import ConfigurationError
from donors import merge as merge_module
from donors.errors import DonorInactive, DonorNotFound, MergeRefused
from donors.merge import HANDLERS, MERGE_POLICY, donor_references, merge_donors, undeclared_references
from donors.models import ConsentEvent, Donor, DonorMerge, DonorTag
from donors.service import resolve_ref
from fundraising.models import Donation, Mandate, PeriodicAgreement, RecurringGift
from tests.factories import make_agreement, make_donation, make_donor, make_mandate, make_recurring

UTC = dt.UTC


def test_every_table_referencing_donors_has_a_merge_policy():
    """Fails when a part adds a foreign key to donors.id without saying how a merge moves it."""
    introspected = set(donor_references())
    assert introspected - set(MERGE_POLICY) == set(), "declare these in donors/merge.py MERGE_POLICY"
    assert set(MERGE_POLICY) - introspected == set(), "MERGE_POLICY names columns that no longer exist"
    assert set(MERGE_POLICY.values()) <= set(HANDLERS)


def test_the_policy_check_notices_a_new_table():
    metadata = MetaData()
    Base.metadata.tables["donors"].to_metadata(metadata)
    Table("pledges", metadata, Column("id", Integer, primary_key=True), Column("donor_id", ForeignKey("donors.id")))
    assert undeclared_references(metadata, policy={"donors.merged_into_id": "chain"}) == ["pledges.donor_id"]


def _tag(session, donor, tag):
    session.add(DonorTag(donor_id=donor.id, tag=tag))


def _consent(session, donor, channel, granted):
    session.add(ConsentEvent(donor_id=donor.id, channel=channel, granted=granted, source="test",
                             at=dt.datetime(2024, 5, 1, tzinfo=UTC)))


def test_merge_moves_every_reference_and_fills_empty_fields(session):
    keep = make_donor(session, ref="KEEP", first_name="Jan", last_name="Jansen", email=None, phone=None,
                      iban="NL91ABNA0417164300", notes="belt liever niet")
    duplicate = make_donor(session, ref="DUP", first_name="J.", last_name="Janssen", email="jan@example.nl",
                           phone="0612345678", iban="NL20INGB0001234567", street="Dorpsstraat", notes="gaf op de markt")
    earlier = make_donor(session, ref="EARLIER", last_name="Jansen")  # merged into DUP before today
    earlier.merged_into_id = duplicate.id
    session.add(DonorMerge(kept_donor_id=duplicate.id, merged_donor_id=earlier.id, merged_ref="EARLIER", actor="x"))
    _tag(session, keep, "major")
    _tag(session, duplicate, "major")
    _tag(session, duplicate, "volunteer")
    _consent(session, keep, "post", True)
    _consent(session, duplicate, "email", True)
    _consent(session, duplicate, "phone", False)
    make_donation(session, donor=keep, amount="10.00")
    for amount in ("25.00", "30.00", "45.00"):
        make_donation(session, donor=duplicate, amount=amount)
    make_agreement(session, donor=duplicate)
    mandate = make_mandate(session, donor=duplicate)
    make_recurring(session, donor=duplicate, mandate=mandate)
    session.commit()
    keep_id, duplicate_id, earlier_id = keep.id, duplicate.id, earlier.id

    result = merge_donors(session, "KEEP", "DUP", actor="tester")
    session.commit()

    # Nothing that is moved, unioned or chained still points at the duplicate.
    for key, (table, column) in donor_references().items():
        if MERGE_POLICY[key] == "keep":
            continue
        left = session.scalar(select(func.count()).select_from(table).where(column == duplicate_id))
        assert left == 0, f"{key} still points at the merged donor"
    assert session.scalar(select(func.count(Donation.id)).where(Donation.donor_id == keep_id)) == 4
    assert session.scalar(select(func.sum(Donation.amount_cents)).where(Donation.donor_id == keep_id)) == 11000
    for model in (PeriodicAgreement, Mandate, RecurringGift):
        assert session.scalar(select(func.count(model.id)).where(model.donor_id == keep_id)) == 1
    # Tags are united, the shared one not doubled; both consent histories kept.
    assert sorted(session.scalars(select(DonorTag.tag).where(DonorTag.donor_id == keep_id))) == ["major", "volunteer"]
    assert sorted(session.scalars(select(ConsentEvent.channel).where(ConsentEvent.donor_id == keep_id))) == [
        "email", "phone", "post"]
    # The kept donor's values stay; its empty fields come from the duplicate.
    kept = session.get(Donor, keep_id)
    assert (kept.first_name, kept.last_name, kept.iban) == ("Jan", "Jansen", "NL91ABNA0417164300")
    assert (kept.email, kept.phone) == ("jan@example.nl", "0612345678")
    assert kept.street == "Kerkstraat"  # the kept donor had an address: none of the duplicate's is mixed in
    assert kept.notes == "belt liever niet\n[merged from DUP] gaf op de markt"
    assert set(result.filled) == {"email", "phone", "notes"}
    assert result.moved == {
        "consent_events.donor_id": 2, "donations.donor_id": 3, "donor_tags.donor_id": 1,
        "donors.merged_into_id": 1, "mandates.donor_id": 1, "periodic_agreements.donor_id": 1,
        "recurring_gifts.donor_id": 1,
    }
    assert result.dropped == {"donor_tags.donor_id": 1}
    assert result.rechained == ["EARLIER"]
    # The duplicate (and what was merged into it) now resolve to the kept donor.
    assert session.get(Donor, duplicate_id).merged_into_id == keep_id
    assert session.get(Donor, earlier_id).merged_into_id == keep_id
    assert resolve_ref(session, "DUP").id == keep_id
    assert resolve_ref(session, "EARLIER").id == keep_id
    merges = session.execute(select(DonorMerge.kept_donor_id, DonorMerge.merged_donor_id, DonorMerge.merged_ref,
                                    DonorMerge.actor).order_by(DonorMerge.id)).all()
    assert merges[-1] == (keep_id, duplicate_id, "DUP", "tester")
    audit = session.execute(select(AuditEntry.action, AuditEntry.entity_ref, AuditEntry.actor)
                            .order_by(AuditEntry.id)).all()
    assert audit == [("merge", "KEEP", "tester"), ("merged_into", "DUP", "tester")]


def test_merge_fills_a_missing_address_as_a_whole(session):
    keep = make_donor(session, ref="A", street=None, house_number=None, postcode=None, city=None)
    make_donor(session, ref="B", street="Dorpsstraat", house_number="3", house_number_suffix="a",
               postcode="9711 AA", city="Groningen")
    merge_donors(session, "A", "B", actor="tester")
    kept = session.get(Donor, keep.id)
    assert (kept.street, kept.house_number, kept.house_number_suffix, kept.postcode, kept.city) == (
        "Dorpsstraat", "3", "a", "9711 AA", "Groningen")


def test_merge_fills_a_missing_surname_and_updates_the_sort_name(session):
    keep = make_donor(session, ref="A", first_name="Piet", last_name="", sort_name="piet")
    make_donor(session, ref="B", first_name="P.", prefix="van der", last_name="Berg")
    merge_donors(session, "A", "B", actor="tester")
    kept = session.get(Donor, keep.id)
    assert (kept.first_name, kept.prefix, kept.last_name) == ("Piet", "van der", "Berg")
    assert kept.sort_name == "berg, van der, piet"


def _nothing_written(session):
    session.rollback()
    assert session.scalar(select(func.count(AuditEntry.id))) == 0
    assert session.scalar(select(func.count(DonorMerge.id))) == 0
    assert session.scalar(select(func.count(Donor.id)).where(Donor.merged_into_id.is_not(None))) == 0


def test_merge_refuses_unknown_refs(session):
    make_donor(session, ref="A")
    session.commit()
    with pytest.raises(DonorNotFound, match="NOPE"):
        merge_donors(session, "A", "NOPE", actor="tester")
    with pytest.raises(DonorNotFound, match="NOPE"):
        merge_donors(session, "NOPE", "A", actor="tester")
    _nothing_written(session)


def test_merge_refuses_a_donor_into_itself(session):
    make_donor(session, ref="A")
    session.commit()
    with pytest.raises(MergeRefused, match="cannot be merged into itself"):
        merge_donors(session, "A", "A", actor="tester")
    _nothing_written(session)


def test_merge_refuses_into_or_from_a_merged_donor(session):
    a = make_donor(session, ref="A")
    make_donor(session, ref="B", merged_into_id=a.id)
    make_donor(session, ref="C")
    session.commit()
    with pytest.raises(MergeRefused, match="B was itself merged into A; merge into A instead"):
        merge_donors(session, "B", "C", actor="tester")
    with pytest.raises(MergeRefused, match="B was already merged into A"):
        merge_donors(session, "C", "B", actor="tester")
    session.rollback()
    assert session.scalar(select(func.count(AuditEntry.id))) == 0
    assert session.scalar(select(Donor.merged_into_id).where(Donor.ref == "C")) is None


@pytest.mark.parametrize("state, message", [
    ("restricted_at", "restricted after an erasure request"),
    ("purged_at", "purged"),
])
@pytest.mark.parametrize("which", ["keep", "duplicate"])
def test_merge_refuses_restricted_or_purged_donors(session, state, message, which):
    moment = dt.datetime(2025, 1, 1, tzinfo=UTC)
    make_donor(session, ref="A", **({state: moment} if which == "keep" else {}))
    make_donor(session, ref="B", **({state: moment} if which == "duplicate" else {}))
    session.commit()
    with pytest.raises(DonorInactive, match=message):
        merge_donors(session, "A", "B", actor="tester")
    _nothing_written(session)


def test_merge_refuses_while_a_referencing_table_is_undeclared(session, monkeypatch):
    make_donor(session, ref="A")
    duplicate = make_donor(session, ref="B")
    make_donation(session, donor=duplicate)
    session.commit()
    policy = dict(MERGE_POLICY)
    del policy["donations.donor_id"]
    monkeypatch.setattr(merge_module, "MERGE_POLICY", policy)
    with pytest.raises(ConfigurationError, match=r"no merge policy for donations.donor_id"):
        merge_donors(session, "A", "B", actor="tester")
    _nothing_written(session)


def test_merge_fills_only_the_fields_of_the_kept_donors_kind(session):
    keep = make_donor(session, ref="ORG", kind="organisation", organisation_name="Bakkerij Jansen B.V.",
                      organisation_type=None, email=None)
    make_donor(session, ref="PERSON", first_name="Jan", initials="J.", last_name="Jansen", email="jan@bakkerij.nl")
    result = merge_donors(session, "ORG", "PERSON", actor="tester")
    kept = session.get(Donor, keep.id)
    assert (kept.first_name, kept.initials, kept.last_name) == (None, None, None)
    assert kept.email == "jan@bakkerij.nl"
    assert result.filled == ["email"]
