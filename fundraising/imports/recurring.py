"""`anbi recurring import`: recurring gifts from a CSV or XLSX file (DESIGN.md, Import
files), keyed by `reference`. The rules are plain checks over the parsed row
(`status_on_import`, `kept_on_import`); the register itself is `fundraising.recurring`.
An importer of `anbi.core.importing`: its columns, and load, plan, apply, summarise.

An import never revives what was ended: a cancelled gift stays cancelled with its end
date, and the summary says so (`kept`)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from anbi.core.errors import Problem
from anbi.core.importing import Column, Context, Importer, Plan, Row, choice, date, in_euro, money, run_import, text
from anbi.core.progress import progress
from donors.models import Donor
from fundraising.lookups import DonorRefs, by_key, by_reference, resolve_donor_refs
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
COLUMNS = (
    Column("reference", text(100), required=True, help="the key"),
    Column("donor_ref", text(64), help="the donor; required for a new gift, as are amount, interval, method and start_date"),
    Column("amount", in_euro(money(allow_zero=False), "recurring gifts are in euro"), help="each instalment"),
    Column("interval", choice(INTERVALS)),
    Column("method", choice(RECURRING_METHODS)),
    Column("start_date", date),
    Column("end_date", date),
    Column("mandate_id", text(35), help="the mandate a SEPA gift is collected under"),
    Column("campaign", text(50)),
    Column("fund", text(50), help="an earmark code; a new code creates the fund"),
    Column("agreement", text(50), help="the periodic gift agreement it pays"),
)
# A new gift needs these; an update leaves an empty cell's field as it is.
NEEDED_FOR_NEW = ("donor_ref", "amount", "interval", "method", "start_date")


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


@dataclass(frozen=True)
class Stored:
    gifts: dict[str, RecurringGift]
    donors: DonorRefs
    mandates: dict[str, Mandate]
    campaigns: dict[str, Campaign]
    funds: dict[str, Fund]
    agreements: dict[str, PeriodicAgreement]


@dataclass(frozen=True)
class GiftWrite:
    reference: str
    current: RecurringGift | None
    donor: Donor | None
    values: dict[str, Any]   # a create: every field; an update: the fields it changes (fund: its code)


@dataclass
class RecurringPlan(Plan[GiftWrite]):
    funds: dict[str, Fund] = field(default_factory=dict)   # the stored funds the file names
    new_funds: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    kept: list[Problem] = field(default_factory=list)


def load(session: Session, rows: list[Row], context: Context) -> Stored:
    def column(key: str):
        return (row.get(key) for row in rows)

    return Stored(
        by_reference(session, RecurringGift, SOURCE, column("reference")),
        resolve_donor_refs(session, column("donor_ref")),
        by_key(session, Mandate, Mandate.mandate_id, column("mandate_id")),
        by_key(session, Campaign, Campaign.code, column("campaign")),
        by_key(session, Fund, Fund.code, column("fund")),
        by_key(session, PeriodicAgreement, PeriodicAgreement.number, column("agreement")),
    )


def plan(rows: list[Row], stored: Stored, problems: list[Problem], context: Context) -> RecurringPlan:
    """Per row: a new gift, the fields an update changes, or unchanged. A SEPA gift
    names a mandate of the same donor; an agreement, if named, must be the donor's; a
    cancelled gift keeps its status and end date (`kept_on_import`, listed in `kept`)."""
    result = RecurringPlan(funds=stored.funds)
    for row in rows:
        reference = row.get("reference")
        current = stored.gifts.get(reference) if reference else None
        if current is None:
            for column in NEEDED_FOR_NEW:
                if not row.given(column):
                    row.fail(column, "is required")
        donor = _donor(row, current, stored)
        values = _terms(row, current, result.kept, context.on)
        donor_id = donor.id if donor is not None else (current.donor_id if current is not None else None)
        values["mandate"] = _mandate(row, current, stored, donor_id, values, result.warnings)
        values["campaign"] = _found(row, "campaign", stored.campaigns,
                                    lambda code: f"no campaign {code!r} (add it with `anbi campaigns add`)")
        values["agreement"] = _agreement(row, stored, donor_id)
        if reference is None:
            continue
        if current is None:
            result.creates.append(GiftWrite(reference, None, donor, values))
            continue
        given = {key: value for key, value in values.items() if value is not None}
        given["status"] = status_on_import(values["end_date"], current.status, context.on)
        changes = {key: value for key, value in given.items() if _differs(current, key, value, stored.funds)}
        if changes:
            result.updates.append(GiftWrite(reference, current, donor, changes))
        else:
            result.unchanged += 1
    codes = {w.values["fund"] for w in (*result.creates, *result.updates) if w.values.get("fund")}
    result.new_funds = sorted(code for code in codes if code not in stored.funds)
    return result


def _donor(row: Row, current: RecurringGift | None, stored: Stored) -> Donor | None:
    donor_ref = row.get("donor_ref")
    donor = stored.donors.get(donor_ref) if donor_ref else None
    if donor_ref and donor is None:
        row.fail("donor_ref", f"no donor with ref {donor_ref!r}")
    if current is not None and donor is not None and donor.id != current.donor_id:
        row.fail("donor_ref", f"recurring gift {current.reference} belongs to another donor")
    return donor


def _terms(row: Row, current: RecurringGift | None, kept: list[Problem], on: dt.date) -> dict[str, Any]:
    """The gift's own fields: the row's, else (an update) the stored ones; an ended
    gift keeps its end date."""
    amount = row.get("amount")
    end_date = row.get("end_date")
    if current is not None:
        held = kept_on_import(current.status, current.end_date, current.status_reason, current.reference, end_date, on)
        if held is not None:
            kept.append(Problem(row.line, *held))
            end_date = current.end_date
    values = {
        "amount_cents": amount.cents if amount else None,
        "interval": row.get("interval"),
        "method": row.get("method") or (current.method if current is not None else None),
        "start_date": row.get("start_date") or (current.start_date if current is not None else None),
        "end_date": end_date or (current.end_date if current is not None else None),
        "fund": row.get("fund"),
    }
    if values["start_date"] and values["end_date"] and values["end_date"] < values["start_date"]:
        row.fail("end_date", "is before the start date")
    return values


def _mandate(row: Row, current: RecurringGift | None, stored: Stored, donor_id: int | None,
             values: dict[str, Any], warnings: list[Problem]) -> Mandate | None:
    """The mandate named, of the same donor (the stored one when none is named); a
    SEPA gift needs one, a Stripe gift has none."""
    mandate_id = row.get("mandate_id")
    mandate = None
    if mandate_id:
        mandate = stored.mandates.get(mandate_id)
        if mandate is None:
            row.fail("mandate_id", f"no mandate {mandate_id!r} (import the mandates first)")
        elif donor_id is not None and mandate.donor_id != donor_id:
            row.fail("mandate_id", f"mandate {mandate_id} belongs to another donor")
        elif mandate.status != "active" and values["end_date"] is None:
            warnings.append(Problem(row.line, "mandate_id", f"mandate {mandate_id} is {mandate.status}: nothing can be collected"))
    elif current is not None:
        mandate = current.mandate
    if values["method"] == "sepa_debit" and mandate is None and not mandate_id:
        row.fail("mandate_id", "is required for a SEPA direct debit")
    if values["method"] == "stripe" and mandate_id:
        row.fail("mandate_id", "only a SEPA direct debit has a mandate")
    return mandate


def _found(row: Row, column: str, stored: dict[str, Any], missing) -> Any:
    key = row.get(column)
    found = stored.get(key) if key else None
    if key and found is None:
        row.fail(column, missing(key))
    return found


def _agreement(row: Row, stored: Stored, donor_id: int | None) -> PeriodicAgreement | None:
    agreement = _found(row, "agreement", stored.agreements, lambda number: f"no periodic gift agreement {number!r}")
    if agreement is not None and donor_id is not None and agreement.donor_id != donor_id:
        row.fail("agreement", f"agreement {agreement.number} belongs to another donor")
    return agreement


# A relation is compared by its id: no stored gift's mandate, campaign or agreement is
# loaded to be compared.
_RELATIONS = ("mandate", "campaign", "agreement")


def _differs(current: RecurringGift, key: str, value: Any, funds: dict[str, Fund]) -> bool:
    if key in _RELATIONS:
        return getattr(current, f"{key}_id") != value.id
    if key == "fund":
        fund = funds.get(value)
        return fund is None or current.fund_id != fund.id   # a fund still to be created is a change
    return getattr(current, key) != value


def apply(session: Session, plan: RecurringPlan, context: Context) -> None:
    funds = {code: Fund(code=code, name=code) for code in plan.new_funds}
    session.add_all(funds.values())
    funds.update(plan.funds)

    def fund(code: str | None) -> Fund | None:
        return funds[code] if code else None

    for write in progress(plan.creates, label="writing recurring gifts"):
        values = {**write.values, "fund": fund(write.values["fund"])}
        session.add(RecurringGift(
            source=SOURCE, reference=write.reference, donor=write.donor, currency="EUR",
            status=status_on_import(values["end_date"], None, context.on), failed_attempts=0, **values,
        ))
    for write in plan.updates:
        for key, value in write.values.items():
            setattr(write.current, key, fund(value) if key == "fund" else value)
    session.flush()


def summarise(plan: RecurringPlan, context: Context) -> RecurringImportSummary:
    return RecurringImportSummary(len(plan.creates), len(plan.updates), plan.unchanged, plan.new_funds,
                                  plan.warnings, plan.kept)


RECURRING = Importer("recurring", COLUMNS, load, plan, apply, summarise, unique="reference",
                     checking="checking recurring gifts")
COLUMNS_REQUIRED, COLUMNS_OPTIONAL = RECURRING.required, RECURRING.optional


def import_recurring(session: Session, source: str | Path | bytes, *, actor: str, dry_run: bool = False,
                     name: str | None = None, on: dt.date | None = None) -> RecurringImportSummary:
    """Import the recurring gifts file (DESIGN.md, Import files), keyed by `reference`
    (source "import"). Re-importing updates; empty cells leave fields (see `plan`)."""
    return run_import(session, RECURRING, source, actor=actor, dry_run=dry_run, name=name, on=on)
