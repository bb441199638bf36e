"""Recurring gifts: a donor's standing commitment to give an amount every month,
quarter or year, collected by SEPA direct debit (under a mandate) or by a Stripe
subscription.

A recurring gift is only the commitment. Its instalments are donations, created when
money moves (a collection put in a batch, a Stripe payment) and linked back to it;
none is created in advance (DESIGN.md, Payments that happen).

Its state: `active`; `failing` (a collection came back, the next regular one is the
retry); `paused` (by a person, or by the return table in `fundraising.bank.return_reasons`,
with `status_reason` saying why); `cancelled` (stopped or ended: for good). A bank
return goes through `record_return`, a paid collection through `record_paid`; a
person pauses, resumes and stops a gift with `change_gift` (`anbi recurring
pause|resume|stop`), each change guarded and audited.

The list here; the import is `fundraising.imports.recurring`, which never revives
what was ended."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from anbi.core import audit
from anbi.core.errors import Conflict
from anbi.core.money import cents_to_str
from donors.models import Donor
from donors.service import active_filter
from fundraising.donations import is_received, sum_cents, taken_back_by_donation
from fundraising.errors import RecurringGiftNotFound, RecurringGiftStateError
from fundraising.models import (
    Campaign,
    Donation,
    Fund,
    Mandate,
    PeriodicAgreement,
    RecurringGift,
)
from fundraising.bank.return_reasons import GiftAfterReturn, after_payment, after_return, fit_reason


def list_recurring(session: Session) -> list[dict]:
    """Every recurring gift with its status, failed attempts, and the donations it
    produced: how many (any status but failed) and their total received (EUR, less
    what was taken back) — one GROUP BY, not a query per gift."""
    taken = taken_back_by_donation()
    received_amount = case((is_received(), Donation.amount_cents - func.coalesce(taken.c.taken_back_cents, 0)), else_=0)
    produced = (
        select(
            Donation.recurring_gift_id.label("gift_id"),
            func.count().label("donations"),
            sum_cents(received_amount).label("total"),
        )
        .outerjoin(taken, taken.c.donation_id == Donation.id)
        .where(Donation.recurring_gift_id.is_not(None), Donation.status != "failed")
        .group_by(Donation.recurring_gift_id)
        .subquery()
    )
    rows = session.execute(
        select(RecurringGift, Donor.ref, Mandate.mandate_id, Campaign.code, Fund.code, PeriodicAgreement.number,
               produced.c.donations, produced.c.total)
        .join(Donor, Donor.id == RecurringGift.donor_id)
        .where(*active_filter())  # restricted and purged donors are not listed
        .outerjoin(Mandate, Mandate.id == RecurringGift.mandate_id)
        .outerjoin(Campaign, Campaign.id == RecurringGift.campaign_id)
        .outerjoin(Fund, Fund.id == RecurringGift.fund_id)
        .outerjoin(PeriodicAgreement, PeriodicAgreement.id == RecurringGift.agreement_id)
        .outerjoin(produced, produced.c.gift_id == RecurringGift.id)
        .order_by(RecurringGift.reference, RecurringGift.source)
    ).all()
    return [
        {
            "reference": gift.reference,
            "source": gift.source,
            "donor_ref": donor_ref,
            "amount": cents_to_str(gift.amount_cents),
            "currency": gift.currency,
            "interval": gift.interval,
            "method": gift.method,
            "start_date": gift.start_date.isoformat(),
            "end_date": gift.end_date.isoformat() if gift.end_date else None,
            "status": gift.status,
            "status_reason": gift.status_reason,
            "failed_attempts": gift.failed_attempts,
            "mandate_id": mandate_id,
            "campaign": campaign,
            "fund": fund,
            "agreement": agreement,
            "donations": donations or 0,
            "donated": cents_to_str(int(total or 0)),
        }
        for gift, donor_ref, mandate_id, campaign, fund, agreement, donations, total in rows
    ]


# --------------------------------------------------------------------------- state


def record_return(session: Session, gift: RecurringGift, *, code: str | None, refund: bool, on: dt.date,
                  max_failures: int, actor: str) -> GiftAfterReturn:
    """A collection of `gift` came back from the bank with `code` on `on`: the return
    table decides the gift's state and whether its mandate is revoked."""
    before = gift.status
    outcome = after_return(code, status=gift.status, failed_attempts=gift.failed_attempts or 0,
                           status_reason=gift.status_reason, refund=refund, max_failures=max_failures, on=on)
    gift.status, gift.failed_attempts, gift.status_reason = outcome.status, outcome.failed_attempts, outcome.status_reason
    if gift.status == "cancelled" and before != "cancelled":
        gift.end_date = ended_on(gift, on)
    mandate = gift.mandate
    if outcome.revoke_mandate and mandate is not None and mandate.status == "active":
        mandate.status = "revoked"
        audit.record(session, actor=actor, action="mandate.revoke", entity="mandate", entity_ref=mandate.mandate_id,
                     details={"reason": f"bank return {code or '(no reason)'}", "on": on.isoformat()})
    if gift.status != before:
        _audit(session, gift, actor, before, reason=gift.status_reason)
    return outcome


def record_paid(gift: RecurringGift) -> None:
    """A collection of `gift` was paid: the failure count is cleared and a failing
    gift is active again (`return_reasons.after_payment`). Changes nothing that is
    already so, so confirming thousands of healthy gifts writes nothing for them."""
    status, attempts, reason = after_payment(gift.status, gift.status_reason)
    if gift.status != status:
        gift.status = status
    if gift.failed_attempts != attempts:
        gift.failed_attempts = attempts
    if gift.status_reason != reason:
        gift.status_reason = reason


def find_gift(session: Session, reference: str, *, source: str | None = None) -> RecurringGift:
    """The recurring gift with this reference (and source, when two sources share it)."""
    query = select(RecurringGift).where(RecurringGift.reference == reference)
    if source:
        query = query.where(RecurringGift.source == source)
    gifts = session.scalars(query.order_by(RecurringGift.source)).all()
    if not gifts:
        raise RecurringGiftNotFound(reference)
    if len(gifts) > 1:
        raise Conflict(f"recurring gift reference {reference!r} is used by sources "
                       f"{', '.join(g.source for g in gifts)}: name one with --source")
    return gifts[0]


@dataclass(frozen=True)
class GiftState:
    """What a person's change of a recurring gift is decided on."""

    reference: str
    status: str
    method: str
    start_date: dt.date
    end_date: dt.date | None
    mandate_id: str | None = None
    mandate_status: str | None = None


def refusal(wanted: str, gift: GiftState, on: dt.date) -> str | None:
    """Why `wanted` (pause, resume, stop) is refused for `gift` on `on`, or None.

    A Stripe subscription is changed in Stripe (its webhook brings the change here);
    a stopped gift is stopped for good (a new commitment is a new gift); a SEPA gift
    is resumed only with an active mandate, else the next batch would leave it out."""
    if gift.method == "stripe":
        return "is a Stripe subscription: pause, resume or cancel it in Stripe; the change arrives here by its webhook"
    if gift.status == "cancelled":
        ended = f" on {gift.end_date.isoformat()}" if gift.end_date else ""
        if wanted == "stop":
            return f"was stopped already{ended}"
        return f"was stopped{ended}: a stopped gift is not {'resumed' if wanted == 'resume' else 'paused'}; import a new one"
    if wanted == "pause" and gift.status == "paused":
        return "is paused already"
    if wanted == "resume":
        if gift.status == "active":
            return "is active already"
        if gift.end_date is not None and gift.end_date < on:
            return f"ended on {gift.end_date.isoformat()}: stop it instead"
        if gift.method == "sepa_debit" and gift.mandate_status != "active":
            which = f"mandate {gift.mandate_id} is {gift.mandate_status}" if gift.mandate_id else "it has no mandate"
            return f"cannot be collected: {which}; import a new mandate and name it in the gift first"
    return None


# What a person's change makes of a gift: its status, and the word its reason starts with.
CHANGES = {"pause": ("paused", "paused"), "resume": ("active", None), "stop": ("cancelled", "stopped")}


def change_gift(session: Session, reference: str, wanted: str, *, actor: str, on: dt.date, reason: str | None = None,
                source: str | None = None) -> RecurringGift:
    """Pause (no batch collects it until it is resumed), resume (active again, its
    failure count cleared) or stop (for good: `cancelled`, ending on `on` or its
    earlier end date) a recurring gift — guarded by `refusal`, and audited."""
    gift = find_gift(session, reference, source=source)
    mandate = gift.mandate
    state = GiftState(gift.reference, gift.status, gift.method, gift.start_date, gift.end_date,
                      mandate.mandate_id if mandate else None, mandate.status if mandate else None)
    why = refusal(wanted, state, on)
    if why:
        raise RecurringGiftStateError(gift.reference, gift.status, why)
    before = gift.status
    gift.status, word = CHANGES[wanted]
    gift.status_reason = fit_reason(f"{word} by {actor} on {on.isoformat()}" + (f": {reason}" if reason else "")) if word else None
    if wanted == "resume":
        gift.failed_attempts = 0
    if wanted == "stop":
        gift.end_date = ended_on(gift, on)
    _audit(session, gift, actor, before, reason=reason)
    session.flush()
    return gift


def ended_on(gift: RecurringGift, on: dt.date) -> dt.date:
    """The end date of a gift stopped on `on`: an earlier planned end stays, and a gift
    that had not started yet ends on its start date (never before it)."""
    end = gift.end_date if gift.end_date is not None and gift.end_date < on else on
    return max(end, gift.start_date)


_ACTIONS = {"active": "resume", "paused": "pause", "cancelled": "stop", "failing": "failing"}


def _audit(session: Session, gift: RecurringGift, actor: str, before: str, *, reason: str | None = None) -> None:
    details = {"from": before, "to": gift.status}
    if reason:
        details["reason"] = reason
    if gift.status == "cancelled" and gift.end_date:
        details["end_date"] = gift.end_date.isoformat()
    audit.record(session, actor=actor, action=f"recurring.{_ACTIONS[gift.status]}", entity="recurring_gift",
                 entity_ref=gift.reference, details=details)
