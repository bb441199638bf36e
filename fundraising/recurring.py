"""Recurring gifts: a donor's standing commitment to give an amount every month,
quarter or year, collected by SEPA direct debit (under a mandate) or by a Stripe
subscription.

A recurring gift is only the commitment. Its instalments are donations, created when
money moves (a collection put in a batch, a Stripe payment) and linked back to it;
none is created in advance (DESIGN.md, Payments that happen).

Its state: `active`; `failing` (a collection came back, the next regular one is the
retry); `paused` (by a person, or by the return table in `fundraising.return_reasons`,
with `status_reason` saying why); `cancelled` (stopped or ended: for good). A bank
return goes through `record_return`, a paid collection through `record_paid`; a
person pauses, resumes and stops a gift with `change_gift` (`anbi recurring
pause|resume|stop`), each change guarded and audited.

Import and list here; the rules are plain checks over the parsed row. An import
never revives what was ended: a cancelled gift stays cancelled with its end date,
and the summary says so (`kept`)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from anbi.core import audit
from anbi.core.clock import today
from anbi.core.csvfile import RowParser, check_unique, read_csv
from anbi.core.errors import Conflict, InvalidInput, Problem
from anbi.core.money import cents_to_str
from anbi.core.progress import progress
from donors.models import Donor
from donors.service import active_filter
from fundraising.donations import is_received, sum_cents, taken_back_by_donation
from fundraising.errors import RecurringGiftNotFound, RecurringGiftStateError
from fundraising.lookups import by_key, by_reference, resolve_donor_refs
from fundraising.models import (
    INTERVALS,
    RECURRING_METHODS,
    Campaign,
    Donation,
    Fund,
    Mandate,
    PeriodicAgreement,
    RecurringGift,
)
from fundraising.return_reasons import GiftAfterReturn, after_payment, after_return, fit_reason

SOURCE = "import"
COLUMNS_REQUIRED = ("reference",)
COLUMNS_OPTIONAL = (
    "donor_ref", "amount", "interval", "method", "start_date", "end_date", "mandate_id", "campaign", "fund", "agreement",
)


def status_on_import(end_date: dt.date | None, current: str | None, on: dt.date) -> str:
    """A commitment whose end date has passed is cancelled; otherwise it keeps its
    status (a new one is active). A cancelled gift stays cancelled: an import never
    revives what was ended (by the donor, a person, or the bank's MD07)."""
    if current == "cancelled" or (end_date is not None and end_date < on):
        return "cancelled"
    return current or "active"


def kept_on_import(status: str, end_date: dt.date | None, status_reason: str | None, reference: str,
                   given_end_date: dt.date | None, on: dt.date) -> tuple[str, str] | None:
    """What an import keeps of an ended gift, as (field, why), or None: a file that
    would give a cancelled gift another end date, or run it again (no end date, or
    one still ahead), changes neither."""
    if status != "cancelled":
        return None
    ended = f"recurring gift {reference} was cancelled" + (f" on {end_date.isoformat()}" if end_date else "")
    ended += f" ({status_reason})" if status_reason else ""
    if given_end_date is not None and given_end_date != end_date:
        return "end_date", f"kept {end_date.isoformat() if end_date else 'no end date'}: {ended}; an import does not change an ended gift"
    if given_end_date is None or given_end_date >= on:
        return "status", f"kept cancelled: {ended}; an import does not revive an ended gift (a new commitment is a new reference)"
    return None


@dataclass
class RecurringImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    funds_created: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    kept: list[Problem] = field(default_factory=list)   # what the import kept as it was, and why

    def as_json(self) -> dict:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "funds_created": self.funds_created, "warnings": [w.as_dict() for w in self.warnings],
                "kept": [k.as_dict() for k in self.kept]}


def import_recurring(session: Session, source: str | Path | bytes, *, actor: str, dry_run: bool = False,
                     name: str | None = None, on: dt.date | None = None) -> RecurringImportSummary:
    """Import the recurring gifts file (DESIGN.md, Import files), keyed by `reference`
    (source "import"). A SEPA gift names a mandate of the same donor; an agreement, if
    named, must be the donor's. Re-importing updates; empty cells leave fields; a
    cancelled gift keeps its status and end date (`kept_on_import`, listed in `kept`)."""
    on = on or today()
    csv = read_csv(source, required=COLUMNS_REQUIRED, optional=COLUMNS_OPTIONAL, name=name)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    kept: list[Problem] = []
    check_unique(csv.rows, "reference", problems)
    column = lambda key: (r.values.get(key, "") for r in csv.rows)  # noqa: E731
    existing = by_reference(session, RecurringGift, SOURCE, column("reference"))
    donors = resolve_donor_refs(session, column("donor_ref"))
    mandates = by_key(session, Mandate, Mandate.mandate_id, column("mandate_id"))
    campaigns = by_key(session, Campaign, Campaign.code, column("campaign"))
    funds = by_key(session, Fund, Fund.code, column("fund"))
    agreements = by_key(session, PeriodicAgreement, PeriodicAgreement.number, column("agreement"))

    plans: list[tuple[RecurringGift | None, dict]] = []
    for row in progress(csv.rows, label="checking recurring gifts"):
        cells = RowParser(row, problems)
        reference = cells.text("reference", required=True, max_length=100)
        current = existing.get(reference) if reference else None
        new = current is None
        donor_ref = cells.text("donor_ref", required=new, max_length=64)
        amount = cells.money("amount", required=new, allow_zero=False)
        interval = cells.choice("interval", INTERVALS, required=new)
        method = cells.choice("method", RECURRING_METHODS, required=new)
        start_date = cells.date("start_date", required=new)
        end_date = cells.date("end_date")
        mandate_id = cells.text("mandate_id", max_length=35)
        campaign_code = cells.text("campaign", max_length=50)
        fund_code = cells.text("fund", max_length=50)
        agreement_number = cells.text("agreement", max_length=50)

        donor = donors.get(donor_ref) if donor_ref else None
        if donor_ref and donor is None:
            cells.fail("donor_ref", f"no donor with ref {donor_ref!r}")
        if current is not None and donor is not None and donor.id != current.donor_id:
            cells.fail("donor_ref", f"recurring gift {reference} belongs to another donor")
        donor_id = donor.id if donor is not None else (current.donor_id if current is not None else None)
        method = method or (current.method if current is not None else None)
        start_date = start_date or (current.start_date if current is not None else None)
        if current is not None:
            held = kept_on_import(current.status, current.end_date, current.status_reason, current.reference, end_date, on)
            if held is not None:
                kept.append(Problem(row.line, *held))
                end_date = current.end_date
        end_date = end_date or (current.end_date if current is not None else None)
        if start_date and end_date and end_date < start_date:
            cells.fail("end_date", "is before the start date")

        mandate = None
        if mandate_id:
            mandate = mandates.get(mandate_id)
            if mandate is None:
                cells.fail("mandate_id", f"no mandate {mandate_id!r} (import the mandates first)")
            elif donor_id is not None and mandate.donor_id != donor_id:
                cells.fail("mandate_id", f"mandate {mandate_id} belongs to another donor")
            elif mandate.status != "active" and end_date is None:
                warnings.append(Problem(row.line, "mandate_id", f"mandate {mandate_id} is {mandate.status}: nothing can be collected"))
        elif current is not None:
            mandate = current.mandate
        if method == "sepa_debit" and mandate is None and not mandate_id:
            cells.fail("mandate_id", "is required for a SEPA direct debit")
        if method == "stripe" and mandate_id:
            cells.fail("mandate_id", "only a SEPA direct debit has a mandate")

        campaign = None
        if campaign_code:
            campaign = campaigns.get(campaign_code)
            if campaign is None:
                cells.fail("campaign", f"no campaign {campaign_code!r} (add it with `anbi campaigns add`)")
        agreement = None
        if agreement_number:
            agreement = agreements.get(agreement_number)
            if agreement is None:
                cells.fail("agreement", f"no periodic gift agreement {agreement_number!r}")
            elif donor_id is not None and agreement.donor_id != donor_id:
                cells.fail("agreement", f"agreement {agreement_number} belongs to another donor")
        if amount is not None and amount.currency != "EUR":
            cells.fail("amount", "recurring gifts are in euro")
        if reference is None:
            continue
        plans.append((current, {
            "reference": reference,
            "donor": donor,
            "amount_cents": amount.cents if amount else None,
            "interval": interval,
            "method": method,
            "start_date": start_date,
            "end_date": end_date,
            "mandate": mandate,
            "campaign": campaign,
            "fund_code": fund_code,
            "agreement": agreement,
        }))
    if problems:
        raise InvalidInput(problems, csv.name)

    summary = RecurringImportSummary(warnings=warnings, kept=kept)
    new_funds = sorted({plan["fund_code"] for _, plan in plans if plan["fund_code"] and plan["fund_code"] not in funds})
    summary.funds_created = new_funds
    if not dry_run:
        for code in new_funds:
            funds[code] = Fund(code=code, name=code)
            session.add(funds[code])
    for current, plan in progress(plans, label="writing recurring gifts"):
        fund = funds.get(plan["fund_code"]) if plan["fund_code"] else None
        values = {
            "amount_cents": plan["amount_cents"],
            "interval": plan["interval"],
            "method": plan["method"],
            "start_date": plan["start_date"],
            "end_date": plan["end_date"],
            "mandate": plan["mandate"],
            "campaign": plan["campaign"],
            "fund": fund,
            "agreement": plan["agreement"],
        }
        if current is None:
            summary.created += 1
            if not dry_run:
                session.add(RecurringGift(
                    source=SOURCE, reference=plan["reference"], donor=plan["donor"], currency="EUR",
                    status=status_on_import(plan["end_date"], None, on), failed_attempts=0, **values,
                ))
            continue
        values = {key: value for key, value in values.items() if value is not None}
        values["status"] = status_on_import(plan["end_date"], current.status, on)
        if plan["fund_code"] and dry_run and fund is None:
            values["fund"] = plan["fund_code"]  # a fund that would be created: a change
        changes = [key for key, value in values.items() if getattr(current, key) != value]
        if not changes:
            summary.unchanged += 1
            continue
        summary.updated += 1
        if not dry_run:
            for key in changes:
                setattr(current, key, values[key])
    session.flush()
    return summary


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
