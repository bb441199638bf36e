"""Money in from donors: recording a donation (gift) and what undoes or contests it.

Every way money arrives — an import, a Stripe event, a bank line, a SEPA collection,
the API — books it through `record_donation`, and every refund, chargeback, reversed
direct debit or dispute through `record_adjustment`. Both are idempotent on
(source, reference): a replay returns the existing row. Money is never overwritten:
the same key with a different amount is refused, and a correction is a new row
(DESIGN.md, Idempotency; Refunds).

How much was taken back, and the donation's status, are derived from its adjustment
rows; a SEPA collection that fails gives up its period (`sepa_collections.status`),
so the next batch may collect it again. Each adjustment stores `taken_back_cents`: the part of its amount that counts,
capped, in the order the rows are recorded, at what was left of the donation — so a
refund larger than what is left is kept as the source reported it, flagged on the
donation, and never drives the donation's net below zero. Reports therefore just
`SUM(taken_back_cents)`, on the adjustment's own date (`taken_back_total()`).

The state rules are plain functions (`next_status`, `taken_back_for`,
`check_donation`), tested without a database. Services take a Session and flush,
never commit."""
from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import BigInteger, ColumnElement, bindparam, cast, func, select, update
from sqlalchemy.orm import Session

from anbi.core.db import insert_new_rows, one_of, utcnow
from anbi.core.errors import InvalidInput, Problem
from anbi.core.money import format_dutch
from donors.models import Donor
from fundraising.errors import AdjustmentConflict, DonationConflict, DonationStateError
from fundraising.models import (
    ADJUSTMENT_KINDS,
    DONATION_KINDS,
    DONATION_STATUSES,
    METHODS,
    TAKEN_BACK_KINDS,
    Campaign,
    Donation,
    DonationAdjustment,
    Fund,
    Mandate,
    PeriodicAgreement,
    RecurringGift,
)
from fundraising.models_ledger import SepaCollection

# A donation is created for money that moved or was initiated (DESIGN.md, Payments
# that happen): paid, or pending (a direct debit not yet on a statement), or failed
# (a processor reported a failed payment we still want on record).
CREATE_STATUSES = ("pending", "paid", "failed")
# Money that reached us. Pending collections have not settled; failed ones never will.
RECEIVED_STATUSES = ("paid", "refunded", "partially_refunded", "disputed", "dispute_won", "dispute_lost")
EUR = "EUR"

# What identifies a donation's money: the same key with any of these different is
# refused. The date is left out on purpose: a pending collection takes the bank's
# booking date when it settles, and a replay of the original initiation must still be
# recognised as the same payment.
MONEY_FIELDS = ("amount_cents", "currency", "consideration_cents", "kind")


# ---------------------------------------------------------------------------
# Pure rules
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DonationFacts:
    """What a caller wants recorded, as plain values."""

    source: str
    reference: str
    amount_cents: int
    currency: str
    method: str
    kind: str = "gift"
    consideration_cents: int = 0
    status: str = "paid"


def check_donation(facts: DonationFacts) -> list[Problem]:
    """Every problem with a donation to be recorded; empty when it may be written."""
    problems: list[Problem] = []

    def bad(field: str, reason: str) -> None:
        problems.append(Problem(None, field, reason))

    if not facts.source or len(facts.source) > 20:
        bad("source", "is required (at most 20 characters)")
    if not facts.reference or len(facts.reference) > 100:
        bad("reference", "is required (at most 100 characters)")
    if not isinstance(facts.amount_cents, int) or isinstance(facts.amount_cents, bool) or facts.amount_cents <= 0:
        bad("amount", "must be a whole number of cents above zero")
    if not (isinstance(facts.currency, str) and len(facts.currency) == 3 and facts.currency.isalpha() and facts.currency.isupper()):
        bad("currency", f"{facts.currency!r} is not a three-letter currency code")
    if facts.method not in METHODS:
        bad("method", f"{facts.method!r} is not one of {', '.join(METHODS)}")
    if facts.kind not in DONATION_KINDS:
        bad("kind", f"{facts.kind!r} is not one of {', '.join(DONATION_KINDS)}")
    if facts.status not in CREATE_STATUSES:
        bad("status", f"a new donation is {', '.join(CREATE_STATUSES)}, not {facts.status!r}")
    if not isinstance(facts.consideration_cents, int) or facts.consideration_cents < 0:
        bad("consideration", "must be zero or more cents")
    elif isinstance(facts.amount_cents, int) and facts.consideration_cents > facts.amount_cents > 0:
        bad("consideration", "is more than the amount paid")
    return problems


def money_differences(existing: Any, facts: DonationFacts) -> dict[str, tuple[Any, Any]]:
    """The money fields in which `facts` differ from a recorded donation."""
    return {
        field: (getattr(existing, field), getattr(facts, field))
        for field in MONEY_FIELDS
        if getattr(existing, field) != getattr(facts, field)
    }


def taken_back_for(kind: str, amount_cents: int, *, donation_amount_cents: int, already_taken_cents: int, status: str) -> int:
    """How much of an adjustment counts as taken back from its donation.

    Refunds, chargebacks, settled reversals and lost disputes take money back, capped at
    what is left (never below zero in total). A reversal of a collection that had not
    settled (pending) takes nothing back: the money never arrived, the donation fails.
    Opening or winning a dispute takes nothing back."""
    if kind not in TAKEN_BACK_KINDS:
        return 0
    if status == "pending":
        return 0
    left = max(0, donation_amount_cents - already_taken_cents)
    return min(amount_cents, left)


def next_status(status: str, kind: str, *, donation_amount_cents: int, taken_back_after_cents: int) -> str | None:
    """The donation's status after an adjustment of `kind`, or None when the current
    status refuses it (the caller raises the named error)."""
    if kind not in ADJUSTMENT_KINDS or status == "failed":
        return None
    if status == "pending":
        # A collection returned before it settled (AM04, AC04, MD07, ...) fails; nothing
        # else can happen to money that has not arrived.
        return "failed" if kind == "reversal" else None
    if kind == "dispute_opened":
        return "disputed"
    if kind == "dispute_won":
        return "dispute_won"
    if kind == "dispute_lost":
        return "dispute_lost"
    # refund, chargeback, reversal after settlement
    if status == "disputed":
        return "disputed"  # stays visible as disputed until the dispute closes
    return "refunded" if taken_back_after_cents >= donation_amount_cents else "partially_refunded"


class _HasTakenBack(Protocol):
    taken_back_cents: int


def refunded_cents(adjustments: Iterable[_HasTakenBack]) -> int:
    """The amount taken back by these adjustments (refunds, chargebacks, settled
    reversals, lost disputes), already capped per row at what was left."""
    return sum(a.taken_back_cents or 0 for a in adjustments)


def net_cents(donation: Any) -> int:
    """What the donor gave and we kept: the amount less what was taken back, never
    below zero; 0 for a failed donation. Processor fees are not in it (`fee_cents`)."""
    if donation.status == "failed":
        return 0
    return max(0, donation.amount_cents - refunded_cents(donation.adjustments))


def foreign_currency_flag(currency: str) -> str:
    return f"currency {currency}: not included in EUR totals"


def add_flag(current: str | None, reason: str) -> str:
    """Flags accumulate: each reason a person should look at the row, on its own line."""
    if not current:
        return reason
    if reason in current.split("\n"):
        return current
    return f"{current}\n{reason}"


# ---------------------------------------------------------------------------
# SQL building blocks for reports (aggregate in the database)
# ---------------------------------------------------------------------------


def sum_cents(column) -> ColumnElement[int]:
    """`SUM` of a cents column as a BIGINT, 0 when there are no rows. PostgreSQL sums a
    BIGINT into NUMERIC; the cast keeps integer cents integer on both databases."""
    return cast(func.coalesce(func.sum(column), 0), BigInteger)


def taken_back_total() -> ColumnElement[int]:
    """`SUM` of what adjustments took back (0 when none), for use in a GROUP BY over
    `donation_adjustments` joined to `donations`; each row is already capped."""
    return sum_cents(DonationAdjustment.taken_back_cents)


def taken_back_by_donation():
    """A subquery (donation_id, taken_back_cents): per donation, what was taken back."""
    return (
        select(
            DonationAdjustment.donation_id.label("donation_id"),
            sum_cents(DonationAdjustment.taken_back_cents).label("taken_back_cents"),
        )
        .group_by(DonationAdjustment.donation_id)
        .subquery("taken_back")
    )


NOT_RECEIVED_STATUSES = tuple(s for s in DONATION_STATUSES if s not in RECEIVED_STATUSES)  # pending, failed


def is_received() -> ColumnElement[bool]:
    """Money that reached us (not pending, not failed). Written as the two statuses it
    excludes: the same rows as RECEIVED_STATUSES, tested against fewer values per row."""
    return Donation.status.not_in(NOT_RECEIVED_STATUSES)


# ---------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------


_BY_KEY = select(Donation).where(Donation.source == bindparam("source"), Donation.reference == bindparam("reference"))


def find_donation(session: Session, source: str, reference: str) -> Donation | None:
    return session.scalar(_BY_KEY, {"source": source, "reference": reference})


def record_donation(session: Session, **booking: Any) -> tuple[Donation, bool]:
    """`book_donation`, returning the donation itself: (donation, created)."""
    donation_id, created = book_donation(session, **booking)
    return session.get_one(Donation, donation_id), created


def book_donation(session: Session, **booking: Any) -> tuple[int, bool]:
    """Book money received (or, for a direct debit, initiated): the keywords of
    `donation_row`. Returns (donation id, created).

    The same (source, reference) with the same money returns the existing row's id
    and False; with different money (amount, currency, consideration, kind) it raises
    DonationConflict. A currency other than EUR is recorded and flagged: reports never
    add it to EUR totals. Invalid values raise InvalidInput naming the field.

    The row is written with `INSERT ... ON CONFLICT DO NOTHING`, not as an ORM
    object: a burst of Stripe webhooks books a donation per event, and the unit of
    work's flush cost more than the rest of the booking. Callers that want the object
    use `record_donation`."""
    return book_donations(session, [donation_row(session, **booking)])[0]


def donation_row(
    session: Session,
    *,
    source: str,
    reference: str,
    donor: Donor | None = None,
    donor_id: int | None = None,
    received_on: dt.date,
    amount_cents: int,
    currency: str,
    method: str,
    kind: str = "gift",
    consideration_cents: int = 0,
    campaign: Campaign | None = None,
    fund: Fund | None = None,
    agreement: PeriodicAgreement | None = None,
    recurring_gift: RecurringGift | None = None,
    mandate: Mandate | None = None,
    status: str = "paid",
    stripe_customer_id: str | None = None,
    stripe_charge_id: str | None = None,
    flag: str | None = None,
) -> dict[str, Any]:
    """The `donations` row of a booking, checked: raises InvalidInput naming the
    field. The donor is given as an object or, when only its id is known, as `donor_id`."""
    facts = DonationFacts(
        source=source, reference=reference, amount_cents=amount_cents, currency=currency, method=method,
        kind=kind, consideration_cents=consideration_cents, status=status,
    )
    problems = check_donation(facts)
    if not isinstance(received_on, dt.date) or isinstance(received_on, dt.datetime):
        problems.append(Problem(None, "received_on", "must be a calendar date"))
    if any(row is not None and row.id is None for row in (donor, campaign, fund, agreement, recurring_gift, mandate)):
        session.flush()  # made in this transaction and not written yet: now they have ids
    if donor is not None:
        donor_id = donor.id
    for field, linked in (("agreement", agreement), ("recurring_gift", recurring_gift), ("mandate", mandate)):
        if linked is not None and linked.donor_id != donor_id:
            problems.append(Problem(None, field, "belongs to another donor than this donation's"))
    if problems:
        raise InvalidInput(problems, f"donation {source}/{reference}")

    if currency != EUR:
        flag = add_flag(flag, foreign_currency_flag(currency))
    now = utcnow()
    return {
        "source": source,
        "reference": reference,
        "donor_id": donor_id,
        "received_on": received_on,
        "amount_cents": amount_cents,
        "currency": currency,
        "method": method,
        "kind": kind,
        "consideration_cents": consideration_cents,
        "status": status,
        "campaign_id": _id(campaign),
        "fund_id": _id(fund),
        "agreement_id": _id(agreement),
        "recurring_gift_id": _id(recurring_gift),
        "mandate_id": _id(mandate),
        "stripe_customer_id": stripe_customer_id,
        "stripe_charge_id": stripe_charge_id,
        "flag": flag,
        "created_at": now,
        "updated_at": now,
    }


def book_donations(session: Session, rows: list[dict[str, Any]]) -> list[tuple[int, bool]]:
    """Book the rows of `donation_row` with one statement: (donation id, created)
    for each, in order, as `book_donation` does one. A key given twice is booked once:
    the second finds the first."""
    written = insert_new_rows(session, Donation.__table__, ("source", "reference"), rows, ("id", "source", "reference"))
    new = {(source, reference): row_id for row_id, source, reference in written}
    # The rows that were there already (a replay, or a key given twice: the first of
    # them was written here), read with one query for all of them.
    given = Counter((row["source"], row["reference"]) for row in rows)
    before = [row for row in rows if (key := (row["source"], row["reference"])) not in new or given[key] > 1]
    existing = {}
    if before:
        found = session.execute(_money_of(session.get_bind().dialect.name), {
            "sources": sorted({r["source"] for r in before}), "references": [r["reference"] for r in before]})
        existing = {(e.source, e.reference): e for e in found}
    booked: list[tuple[int, bool]] = []
    for row in rows:
        key = (row["source"], row["reference"])
        row_id = new.pop(key, None)
        if row_id is not None:
            booked.append((row_id, True))
            continue
        differences = money_differences(existing[key], DonationFacts(**{f: row[f] for f in DonationFacts.__dataclass_fields__}))
        if differences:
            raise DonationConflict(row["source"], row["reference"], differences)
        booked.append((existing[key].id, False))
    return booked


@functools.cache
def _money_of(dialect: str):
    table = Donation.__table__
    return select(table.c.id, table.c.source, table.c.reference, *(table.c[field] for field in MONEY_FIELDS)).where(
        # Both columns, so that the (source, reference) key's index finds them.
        one_of(table.c.source, "sources", dialect), one_of(table.c.reference, "references", dialect))


def _id(row: Any) -> int | None:
    return row.id if row is not None else None


def _already_taken(session: Session, donation: Donation) -> int:
    if donation.id is None:
        return 0
    return session.scalar(select(taken_back_total()).where(DonationAdjustment.donation_id == donation.id)) or 0


def record_adjustment(
    session: Session,
    donation: Donation,
    *,
    kind: str,
    amount_cents: int,
    occurred_on: dt.date,
    source: str,
    reference: str,
    reason_code: str | None = None,
) -> tuple[DonationAdjustment, bool]:
    """Record a refund, chargeback, reversal or dispute event on a donation and move
    its status (DESIGN.md, Refunds; Payments that happen). Returns (row, created).

    - refund/chargeback/reversal of money received: `refunded`, or
      `partially_refunded` while something is left;
    - reversal of a pending direct debit (returned before settlement): `failed`;
    - dispute_opened: `disputed`; dispute_won: `dispute_won`; dispute_lost:
      `dispute_lost`, and the disputed amount counts as taken back.

    More than what is left is recorded as given, counted only up to what was left, and
    flagged on the donation. A replay of (source, reference) returns the existing row;
    the same key with other content raises AdjustmentConflict."""
    problems: list[Problem] = []
    if kind not in ADJUSTMENT_KINDS:
        problems.append(Problem(None, "kind", f"{kind!r} is not one of {', '.join(ADJUSTMENT_KINDS)}"))
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0:
        problems.append(Problem(None, "amount", "must be a whole number of cents above zero"))
    if not isinstance(occurred_on, dt.date) or isinstance(occurred_on, dt.datetime):
        problems.append(Problem(None, "occurred_on", "must be a calendar date"))
    if not source or len(source) > 20:
        problems.append(Problem(None, "source", "is required (at most 20 characters)"))
    if not reference or len(reference) > 100:
        problems.append(Problem(None, "reference", "is required (at most 100 characters)"))
    if problems:
        raise InvalidInput(problems, f"adjustment {source}/{reference}")

    existing = session.scalar(
        select(DonationAdjustment).where(DonationAdjustment.source == source, DonationAdjustment.reference == reference)
    )
    if existing is not None:
        differences = {
            field: (old, new)
            for field, old, new in (
                ("donation", existing.donation_id, donation.id),
                ("kind", existing.kind, kind),
                ("amount_cents", existing.amount_cents, amount_cents),
            )
            if old != new
        }
        if differences:
            raise AdjustmentConflict(source, reference, dict(differences))
        return existing, False

    already = _already_taken(session, donation)
    taken = taken_back_for(
        kind, amount_cents, donation_amount_cents=donation.amount_cents, already_taken_cents=already, status=donation.status
    )
    status = next_status(
        donation.status, kind, donation_amount_cents=donation.amount_cents, taken_back_after_cents=already + taken
    )
    if status is None:
        raise DonationStateError(donation.reference, donation.status, f"record a {kind.replace('_', ' ')}")
    if kind in TAKEN_BACK_KINDS and donation.status != "pending" and amount_cents > taken:
        left = donation.amount_cents - already
        donation.flag = add_flag(
            donation.flag,
            f"{kind} {reference} of {format_dutch(amount_cents, donation.currency)} is more than the "
            f"{format_dutch(left, donation.currency)} left; counted as {format_dutch(taken, donation.currency)}",
        )
    adjustment = DonationAdjustment(
        donation=donation,
        kind=kind,
        amount_cents=amount_cents,
        taken_back_cents=taken,
        occurred_on=occurred_on,
        source=source,
        reference=reference,
        reason_code=reason_code,
    )
    session.add(adjustment)
    donation.status = status
    if status == "failed":
        _collection_failed(session, donation)
    session.flush()
    return adjustment, True


def mark_failed(session: Session, donation: Donation, *, reason: str | None = None) -> Donation:
    """A pending payment that will not arrive (a collection refused before it was
    sent, a processor's failed payment): pending → failed. Anything else is refused."""
    if donation.status != "pending":
        raise DonationStateError(donation.reference, donation.status, "mark it failed (only a pending donation can fail)")
    donation.status = "failed"
    if reason:
        donation.flag = add_flag(donation.flag, f"failed: {reason}")
    _collection_failed(session, donation)
    session.flush()
    return donation


def _collection_failed(session: Session, donation: Donation) -> None:
    """A SEPA collection that failed no longer holds its period: the next batch may
    collect it again (the unique index on sepa_collections counts presented ones only)."""
    if donation.method == "sepa_debit" and donation.id is not None:
        session.execute(update(SepaCollection).where(
            SepaCollection.donation_id == donation.id, SepaCollection.status == "presented").values(status="failed"))


def confirm_paid(session: Session, donation: Donation, *, received_on: dt.date) -> Donation:
    """A pending direct debit settled: pending → paid, dated on the statement's booking
    date (DESIGN.md, Dates). Anything else is refused."""
    if donation.status != "pending":
        raise DonationStateError(donation.reference, donation.status, "confirm it paid (only a pending donation can be)")
    donation.status = "paid"
    donation.received_on = received_on
    session.flush()
    return donation
