"""Recurring gifts: a donor's standing commitment to give an amount every month,
quarter or year, collected by SEPA direct debit (under a mandate) or by a Stripe
subscription.

A recurring gift is only the commitment. Its instalments are donations, created when
money moves (a collection put in a batch, a Stripe payment) and linked back to it;
none is created in advance (DESIGN.md, Payments that happen). `failed_attempts` and
the status `failing` are kept up to date by whoever sees a collection fail.

Import and list here; the rules are plain checks over the parsed row."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from anbi.core.clock import today
from anbi.core.csvfile import RowParser, check_unique, read_csv
from anbi.core.errors import InvalidInput, Problem
from anbi.core.money import cents_to_str
from anbi.core.progress import progress
from donors.models import Donor
from donors.service import active_filter
from fundraising.donations import is_received, sum_cents, taken_back_by_donation
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

SOURCE = "import"
COLUMNS_REQUIRED = ("reference",)
COLUMNS_OPTIONAL = (
    "donor_ref", "amount", "interval", "method", "start_date", "end_date", "mandate_id", "campaign", "fund", "agreement",
)


def status_on_import(end_date: dt.date | None, current: str | None, on: dt.date) -> str:
    """A commitment whose end date has passed is cancelled; otherwise it keeps its
    status (a new one is active)."""
    if end_date is not None and end_date < on:
        return "cancelled"
    if current in (None, "cancelled"):
        return "active"
    return current


@dataclass
class RecurringImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    funds_created: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def import_recurring(session: Session, source: str | Path | bytes, *, actor: str, dry_run: bool = False,
                     name: str | None = None, on: dt.date | None = None) -> RecurringImportSummary:
    """Import the recurring gifts file (DESIGN.md, Import files), keyed by `reference`
    (source "import"). A SEPA gift names a mandate of the same donor; an agreement, if
    named, must be the donor's. Re-importing updates; empty cells leave fields."""
    on = on or today()
    csv = read_csv(source, required=COLUMNS_REQUIRED, optional=COLUMNS_OPTIONAL, name=name)
    problems: list[Problem] = []
    warnings: list[Problem] = []
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

    summary = RecurringImportSummary(warnings=warnings)
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
