"""`anbi recurring import`: recurring gifts from a CSV file (DESIGN.md, Import files),
keyed by `reference`. The rules are plain checks over the parsed row
(`status_on_import`, `kept_on_import`); the register itself is `fundraising.recurring`.

An import never revives what was ended: a cancelled gift stays cancelled with its end
date, and the summary says so (`kept`)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from anbi.core.clock import today
from anbi.core.csvfile import RowParser, check_unique, read_csv
from anbi.core.errors import InvalidInput, Problem
from anbi.core.progress import progress
from fundraising.lookups import by_key, by_reference, resolve_donor_refs
from fundraising.models import (
    INTERVALS,
    RECURRING_METHODS,
    Campaign,
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
