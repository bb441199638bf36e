"""`anbi sepa batch`: collect the recurring gifts due on a date as one pain.008 file.

Reads the registers (recurring gifts, mandates, what was collected before), lets
`exports.sepa.due.plan_collections` decide, records each collection as a pending donation
(source "sepa", dated by the collection date until the bank confirms it) in bulk under
the rules of `fundraising.donations`, and returns the validated XML. The caller
(the CLI command) writes the file only after the transaction committed, so a file
never exists for collections that were not recorded.

A gift is collected once per period, however batches are started (the command, a
job, the web), twice over: `run_batch` first takes a lock that serialises batch
runs (`anbi.core.locks`: an advisory lock on PostgreSQL, the write lock on SQLite),
so a second run waits for the first and then finds its work done; and the unique
index on sepa_collections (gift, period; presented collections only) refuses a
second collection should anything get past the lock — the run then stops with one
line and writes nothing. Nothing is left out silently: every gift not collected
that a person could act on is in the result (`left_out`), with its reason.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anbi.core import audit, locks
from anbi.core.clock import today as amsterdam_today
from anbi.core.clock import utcnow
from anbi.core.errors import Conflict, InvalidInput, Problem
from anbi.core.money import cents_to_str
from anbi.core.progress import progress
from donors.names import display_name
from exports.sepa import due as sepa, pain008
from fundraising.donations import DonationFacts, check_donation
from fundraising.lookups import chunks
from donors.models import Donor
from fundraising.models import Donation, Mandate, PeriodicAgreement, RecurringGift
from fundraising.models_ledger import SepaBatch, SepaCollection

SOURCE = "sepa"
LOCK = "sepa batch"
# How long a run waits for another to finish before it stops with one line: a batch
# of 50,000 gifts takes well under a minute.
WAIT_SECONDS = 120
# Reasons a gift is not collected that need nobody: listed as counts only.
NOT_LISTED = {"already_collected"}
CANDIDATE_STATUSES = (*sepa.DUE_STATUSES, "paused")


class CollectedMeanwhile(Conflict):
    """The unique index refused a collection: another batch collected the period."""

    def __init__(self):
        super().__init__("another SEPA batch collected some of these gifts for this period at the same time; "
                         "nothing was written: run the batch again to collect what is left")


@dataclass
class BatchResult:
    collection_date: dt.date
    message_id: str | None = None
    xml: bytes | None = None
    count: int = 0
    total_cents: int = 0
    sequence_types: Counter = field(default_factory=Counter)
    amendments: int = 0
    skipped: Counter = field(default_factory=Counter)
    # Each gift left out that a person could act on: reference, donor, code, reason.
    left_out: list[dict] = field(default_factory=list)
    expired_mandates: list[str] = field(default_factory=list)

    def as_json(self, out: str | None) -> dict:
        return {
            "collection_date": self.collection_date.isoformat(),
            "file": out if self.xml else None,
            "message_id": self.message_id,
            "collections": self.count,
            "total": cents_to_str(self.total_cents),
            "currency": "EUR",
            "sequence_types": dict(self.sequence_types),
            "amendments": self.amendments,
            "skipped": dict(self.skipped),
            "left_out": self.left_out,
            "expired_mandates": self.expired_mandates,
        }


def run_batch(
    session: Session,
    settings_section,
    *,
    collection_date: dt.date,
    actor: str,
    file_name: str,
    today: dt.date | None = None,
) -> BatchResult:
    """Decide, record and build the batch for `collection_date`. Flushes, never commits.

    The session's transaction must not have read the registers yet: the lock taken
    here is what makes the reads after it see every earlier batch."""
    creditor = sepa.Creditor.from_settings(settings_section)
    sepa.check_collection_date(collection_date, today=today or amsterdam_today(), lead_days=creditor.lead_days)
    locks.hold(session, LOCK, what="SEPA batch", wait_seconds=WAIT_SECONDS)

    gifts = _candidate_gifts(session, collection_date)
    facts = [_facts(gift, history) for gift, history in zip(gifts, _mandate_history(session, gifts))]
    collected = _collected_periods(session, collection_date)
    plan = sepa.plan_collections(facts, collected, collection_date=collection_date, creditor=creditor)

    result = BatchResult(collection_date=collection_date)
    for skipped in plan.skipped:
        result.skipped[skipped.code] += 1
        if skipped.code not in NOT_LISTED:
            result.left_out.append({"reference": skipped.gift.reference, "donor_ref": skipped.gift.donor_ref,
                                    "code": skipped.code, "reason": skipped.reason})
    for mandate in plan.expired_mandates:
        result.expired_mandates.append(mandate.mandate_id)
    _expire(session, plan.expired_mandates, actor, collection_date)
    if not plan.due:
        return result
    sepa.check_collections(plan)

    batch = SepaBatch(
        message_id=f"pending-{utcnow().timestamp()}", collection_date=collection_date, file_name=file_name,
        collection_count=len(plan.due), total_cents=plan.total_cents, actor=actor,
    )
    session.add(batch)
    session.flush()
    batch.message_id = f"ANBI-SDD-{collection_date:%Y%m%d}-{batch.id}"
    by_pk = {gift.id: gift for gift in gifts}
    payment_info = _payment_info_ids(batch.message_id, plan)
    references = _references(session, collection_date, [item.gift.pk for item in plan.due])
    donation_ids = _record_pending(session, plan.due, by_pk, references, collection_date)
    instructions: list[pain008.Instruction] = []
    collections: list[dict] = []
    for item in progress(plan.due, length=len(plan.due), label="Recording collections"):
        gift = by_pk[item.gift.pk]
        reference = references[gift.id]
        collections.append(dict(
            batch_id=batch.id, donation_id=donation_ids[reference], recurring_gift_id=gift.id, mandate_id=gift.mandate_id,
            period_start=item.period_start, sequence_type=item.sequence_type, debtor_iban=gift.iban,
            amended_from_iban=item.amendment.original_iban if item.amendment else None,
            payment_info_id=payment_info[item.sequence_type], status="presented",
        ))
        instructions.append(pain008.instruction_for(item, end_to_end_id=reference, remittance=_remittance(gift, item, creditor)))
        result.sequence_types[item.sequence_type] += 1
        if item.amendment:
            result.amendments += 1
    _insert(session, SepaCollection.__table__, collections)
    result.xml = pain008.build_pain008(
        creditor, collection_date, instructions, message_id=batch.message_id, created_at=utcnow(),
    )
    result.message_id = batch.message_id
    result.count = len(plan.due)
    result.total_cents = plan.total_cents
    audit.record(
        session, actor=actor, action="sepa_batch", entity="sepa_batch", entity_ref=batch.message_id,
        details={"collection_date": collection_date.isoformat(), "collections": result.count,
                 "total": cents_to_str(result.total_cents), "file": file_name},
    )
    session.flush()
    return result


# How each database names a collision with what another batch recorded meanwhile:
# a second collection for a gift and period, or the same donation reference.
_RECORDED_MEANWHILE = (
    "uq_sepa_collections_gift_period", "sepa_collections.recurring_gift_id, sepa_collections.period_start",
    "uq_donations_source_reference", "donations.source, donations.reference",
)


def _insert(session: Session, table, rows: list[dict]) -> None:
    """Rows in bulk. Should a unique index refuse one because another batch recorded
    it meanwhile, the run stops with one line (the edge rolls everything back); the
    database's error, with the rows it would print, goes no further."""
    connection = session.connection()
    try:
        for part in chunks(rows, 5000):
            connection.execute(insert(table), list(part))
    except IntegrityError as exc:
        if any(mark in str(exc.orig) for mark in _RECORDED_MEANWHILE):
            raise CollectedMeanwhile() from None
        raise


def _candidate_gifts(session: Session, day: dt.date) -> list:
    """SEPA gifts that have started and not ended and are not stopped (active,
    failing or paused — a paused one to say it is left out), with their donor's name
    and state and their mandate, as plain rows (50,000 ORM objects with their donors
    and mandates would cost several hundred MB); the rest is decided by plan_collections."""
    query = (
        select(
            RecurringGift.id, RecurringGift.reference, RecurringGift.donor_id, RecurringGift.amount_cents,
            RecurringGift.currency, RecurringGift.interval, RecurringGift.method, RecurringGift.start_date,
            RecurringGift.end_date, RecurringGift.status, RecurringGift.campaign_id, RecurringGift.fund_id,
            RecurringGift.agreement_id, RecurringGift.mandate_id, RecurringGift.status_reason,
            Donor.ref.label("donor_ref"), Donor.kind, Donor.initials, Donor.first_name, Donor.prefix, Donor.last_name, Donor.organisation_name,
            Donor.deceased_on, Donor.merged_into_id, Donor.restricted_at, Donor.purged_at,
            Mandate.mandate_id.label("mandate_ref"), Mandate.donor_id.label("mandate_donor_id"), Mandate.iban,
            Mandate.bic, Mandate.signed_on, Mandate.status.label("mandate_status"), Mandate.last_collected_on,
            PeriodicAgreement.donor_id.label("agreement_donor_id"),
        )
        .join(Donor, Donor.id == RecurringGift.donor_id)
        .outerjoin(Mandate, Mandate.id == RecurringGift.mandate_id)
        .outerjoin(PeriodicAgreement, PeriodicAgreement.id == RecurringGift.agreement_id)
        .where(
            RecurringGift.method == "sepa_debit",
            RecurringGift.status.in_(CANDIDATE_STATUSES),
            RecurringGift.start_date <= day,
            (RecurringGift.end_date.is_(None)) | (RecurringGift.end_date >= day),
        )
        .order_by(RecurringGift.id)
    )
    return list(session.execute(query))


@dataclass(frozen=True)
class _History:
    last_on: dt.date | None
    last_iban: str | None


def _mandate_history(session: Session, gifts: list) -> list[_History]:
    """Per gift: the last collection presented on its mandate that did not fail."""
    mandate_ids = sorted({g.mandate_id for g in gifts if g.mandate_id})
    latest: dict[int, tuple[dt.date, int, str]] = {}
    for part in chunks(mandate_ids):
        rows = session.execute(
            select(SepaCollection.mandate_id, SepaBatch.collection_date, SepaCollection.id, SepaCollection.debtor_iban)
            .join(SepaBatch, SepaBatch.id == SepaCollection.batch_id)
            .where(SepaCollection.mandate_id.in_(part), SepaCollection.status != "failed")
        )
        for mandate_id, day, collection_id, iban in rows:
            current = latest.get(mandate_id)
            if current is None or (day, collection_id) > current[:2]:
                latest[mandate_id] = (day, collection_id, iban)
    result = []
    for gift in gifts:
        found = latest.get(gift.mandate_id) if gift.mandate_id else None
        result.append(_History(found[0], found[2]) if found else _History(None, None))
    return result


def _facts(gift, history: _History) -> sepa.GiftFacts:
    mandate_facts = None
    if gift.mandate_id is not None:
        mandate_facts = sepa.MandateFacts(
            pk=gift.mandate_id, mandate_id=gift.mandate_ref, donor_id=gift.mandate_donor_id, iban=gift.iban,
            bic=gift.bic, signed_on=gift.signed_on, status=gift.mandate_status,
            last_collected_on=gift.last_collected_on, last_presented_on=history.last_on,
            last_presented_iban=history.last_iban,
        )
    inactive = gift.merged_into_id is not None or gift.restricted_at is not None or gift.purged_at is not None
    return sepa.GiftFacts(
        pk=gift.id, reference=gift.reference, donor_id=gift.donor_id, donor_name=display_name(gift),
        amount_cents=gift.amount_cents, currency=gift.currency, interval=gift.interval, method=gift.method,
        start_date=gift.start_date, end_date=gift.end_date, status=gift.status, mandate=mandate_facts,
        donor_deceased=gift.deceased_on is not None, donor_inactive=inactive, donor_ref=gift.donor_ref,
        status_reason=gift.status_reason,
    )


def _collected_periods(session: Session, day: dt.date) -> dict[int, set[dt.date]]:
    """Per gift, the period starts (of the period containing `day`) already collected.

    A collection counts unless it failed: a pending or paid donation linked to the gift
    dated in the period, or a SEPA collection made for that period that was not
    returned before it settled (a collection keeps its period even after the bank
    re-dates the donation)."""
    collected: dict[int, set[dt.date]] = {}
    for interval in sepa.INTERVAL_MONTHS:
        start, end = sepa.period_start(day, interval), sepa.period_end(day, interval)
        by_date = (
            select(Donation.recurring_gift_id)
            .join(RecurringGift, RecurringGift.id == Donation.recurring_gift_id)
            .where(RecurringGift.interval == interval, Donation.status != "failed",
                   Donation.received_on >= start, Donation.received_on <= end)
        )
        by_period = (
            select(SepaCollection.recurring_gift_id)
            .join(RecurringGift, RecurringGift.id == SepaCollection.recurring_gift_id)
            .where(RecurringGift.interval == interval, SepaCollection.period_start == start,
                   SepaCollection.status != "failed")
        )
        for (gift_id,) in session.execute(by_date.union(by_period)):
            assert gift_id is not None  # joined to its recurring gift
            collected.setdefault(gift_id, set()).add(start)
    return collected


def _expire(session: Session, mandates: list[sepa.MandateFacts], actor: str, day: dt.date) -> None:
    if not mandates:
        return
    for mandate in session.scalars(select(Mandate).where(Mandate.id.in_([m.pk for m in mandates]))):
        mandate.status = "expired"
        audit.record(
            session, actor=actor, action="expire", entity="mandate", entity_ref=mandate.mandate_id,
            details={"reason": "no collection presented within the expiry period", "on": day.isoformat()},
        )
    session.flush()


def _payment_info_ids(message_id: str, plan: sepa.CollectionPlan) -> dict[str, str]:
    """The PmtInfId each sequence type gets in the file (see `pain008._finish`): the
    payment-information blocks are numbered in the order sepaxml creates them, which
    is the order in which a sequence type first occurs."""
    ids: dict[str, str] = {}
    for item in plan.due:
        if item.sequence_type not in ids:
            ids[item.sequence_type] = f"{message_id}-{len(ids) + 1}"[:35]
    return ids


def _references(session: Session, day: dt.date, gift_ids: list[int]) -> dict[int, str]:
    """Our donation references, also the end-to-end ids the bank reports back.

    One per gift and collection date; a gift collected again on the same date after a
    failure gets a suffix, because references are never reused. Looked up in bulk."""
    wanted = {gift_id: f"SDD-{day:%Y%m%d}-{gift_id}" for gift_id in gift_ids}
    prefix = f"SDD-{day:%Y%m%d}-"
    taken: set[str] = set()
    for part in chunks(sorted(wanted.values())):
        taken.update(session.scalars(select(Donation.reference).where(
            Donation.source == SOURCE, Donation.reference.in_(part))))
    if taken:
        taken.update(session.scalars(select(Donation.reference).where(
            Donation.source == SOURCE, Donation.reference.like(prefix + "%-%"))))
    for gift_id, base in wanted.items():
        reference, number = base, 1
        while reference in taken:
            number += 1
            reference = f"{base}-{number}"
        wanted[gift_id] = reference
    return wanted


def _record_pending(session: Session, due: list[sepa.DueCollection], gifts: dict,
                    references: dict[int, str], day: dt.date) -> dict[str, int]:
    """Record the collections as pending donations, in bulk, under the rules of
    `fundraising.donations` (`check_donation`; the linked mandate, agreement and gift
    are the donor's own) — as its importer does. `record_donation` one by one costs a
    query and a flush per collection, minutes for a batch of 50,000."""
    problems: list[Problem] = []
    now = utcnow()
    rows = []
    for item in due:
        gift = gifts[item.gift.pk]
        reference = references[gift.id]
        facts = DonationFacts(source=SOURCE, reference=reference, amount_cents=gift.amount_cents, currency=gift.currency,
                              method="sepa_debit", status="pending")
        problems.extend(Problem(None, f"recurring gift {gift.reference} {p.field}", p.reason) for p in check_donation(facts))
        for link, owner in (("mandate", gift.mandate_donor_id), ("agreement", gift.agreement_donor_id)):
            if owner is not None and owner != gift.donor_id:
                problems.append(Problem(None, f"recurring gift {gift.reference} {link}", "belongs to another donor"))
        rows.append(dict(
            source=SOURCE, reference=reference, donor_id=gift.donor_id, received_on=day, amount_cents=gift.amount_cents,
            currency=gift.currency, method="sepa_debit", kind="gift", consideration_cents=0, status="pending",
            campaign_id=gift.campaign_id, fund_id=gift.fund_id, agreement_id=gift.agreement_id, recurring_gift_id=gift.id,
            mandate_id=gift.mandate_id, created_at=now, updated_at=now,
        ))
    if problems:
        raise InvalidInput(problems, "SEPA batch")
    _insert(session, Donation.__table__, rows)
    ids: dict[str, int] = {}
    for part in chunks([r["reference"] for r in rows]):
        ids.update(session.execute(select(Donation.reference, Donation.id).where(
            Donation.source == SOURCE, Donation.reference.in_(part))).all())
    return ids


def _remittance(gift, item: sepa.DueCollection, creditor: sepa.Creditor) -> str:
    period = {"monthly": "%m-%Y", "quarterly": "Q%q-%Y", "yearly": "%Y"}[gift.interval]
    label = item.period_start.strftime(period.replace("%q", str((item.period_start.month - 1) // 3 + 1)))
    return f"{creditor.name} gift {gift.reference} {label}"[:140]
