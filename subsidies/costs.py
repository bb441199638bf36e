"""Costs charged to grants and funds: expenses, staff annual costs and timesheets.

Each import file (CSV or XLSX) is validated whole — every problem with its line and
column — before anything is written, in the caller's one transaction: each import
is an importer of `anbi.core.importing` (its columns, and load, plan, apply,
summarise). A row whose key
(source, reference) exists with the same content is a no-op; with other content it
is refused, because money is corrected by a new row (DESIGN.md, Idempotency).

What makes a cost eligible is decided by plain functions: `expense_eligibility`
here, and the hour ceiling in `subsidies.hours`. The hour rate is not stored: the
report computes it from the latest documented annual cost, so staff costs imported
later are taken into account.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, insert, or_, select, tuple_, update
from sqlalchemy.orm import Session

from anbi.core.clock import FIRST_YEAR, LAST_YEAR
from anbi.core.errors import InvalidInput, Problem
from anbi.core.importing import Column, Context, Importer, Row, boolean, date, run_import, text, whole
from anbi.core.money import MoneyError, cents_to_str, parse_money
from anbi.core.progress import progress
from anbi.core.spelling import other_case
from fundraising.models import Fund
from subsidies.errors import ExpenseConflict, FundNotFound, GrantNotFound
from subsidies.hours import (
    DocumentedCost,
    HourEntry,
    apply_annual_ceiling,
    contract_warning,
    documented_cost_for,
    hours_bound_problem,
    hours_text,
    parse_hours,
    period_problem,
    weekly_contract_hours,
)
from subsidies.models import BudgetLine, Expense, Grant, StaffCost, Timesheet

CHUNK = 500  # keys per IN (...) lookup


@dataclass
class ImportResult:
    """What an import did: rows created, rows already there, and flags to look at.
    Also an import's plan: `apply` writes `new` and puts the flags that writing
    decided (the annual hour ceiling) in `flagged`."""

    created: int = 0
    unchanged: int = 0
    flagged: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)   # shown, never refused
    new: list = field(default_factory=list, repr=False, compare=False)   # the rows to write

    def summary(self, noun: str) -> str:
        text = f"{self.created} {noun} imported, {self.unchanged} already there"
        if self.flagged:
            text += f"; {len(self.flagged)} flagged not (fully) eligible"
        if self.warnings:
            text += f"; {len(self.warnings)} warning{'' if len(self.warnings) == 1 else 's'}"
        return text


def chunks(items: Sequence, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ---------------------------------------------------------------------------
# Looking up what rows refer to
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GrantRef:
    id: int
    reference: str
    start: dt.date
    end: dt.date
    hours_per_year: int | None
    lines: dict[str, int]          # budget line code -> id
    fund_id: int | None


def load_grants(session: Session, references: Iterable[str]) -> dict[str, GrantRef]:
    references = sorted(set(r for r in references if r))
    grants: dict[str, GrantRef] = {}
    for chunk in chunks(references):
        rows = session.execute(
            select(Grant.id, Grant.reference, Grant.start_on, Grant.end_on, Grant.hours_per_year, Grant.fund_id)
            .where(Grant.reference.in_(chunk))
        ).all()
        for row in rows:
            grants[row.reference] = GrantRef(row.id, row.reference, row.start_on, row.end_on, row.hours_per_year, {}, row.fund_id)
    if grants:
        by_id = {g.id: g for g in grants.values()}
        for chunk in chunks(list(by_id)):
            for line in session.execute(select(BudgetLine.grant_id, BudgetLine.code, BudgetLine.id).where(BudgetLine.grant_id.in_(chunk))):
                by_id[line.grant_id].lines[line.code] = line.id
    return grants


def load_funds(session: Session, codes: Iterable[str]) -> dict[str, int]:
    codes = sorted(set(c for c in codes if c))
    found = {}
    for chunk in chunks(codes):
        found.update({code: id_ for code, id_ in session.execute(select(Fund.code, Fund.id).where(Fund.code.in_(chunk)))})
    return found


def _resolve_line(grant: GrantRef, code: str | None, fail, column: str = "budget_line") -> int | None:
    """The budget line a cost is charged to: required when the grant has a budget."""
    if code:
        if code not in grant.lines:
            known = ", ".join(sorted(grant.lines)) or "none"
            fail(column, f"grant {grant.reference} has no budget line {code!r} (its lines: {known})")
        return grant.lines.get(code)
    if grant.lines:
        fail(column, f"is required: grant {grant.reference} has a budget ({', '.join(sorted(grant.lines))})")
    return None


# ---------------------------------------------------------------------------
# Expenses
# ---------------------------------------------------------------------------


def expense_eligibility(
    spent_on: dt.date, given_eligible: bool, given_reason: str | None, grant_period: tuple[dt.date, dt.date] | None
) -> tuple[bool, str | None]:
    """A cost is eligible unless the file says it is not, or it is dated outside its
    grant's period; the reason keeps both when both apply."""
    reasons = []
    eligible = given_eligible
    if not given_eligible:
        reasons.append(given_reason or "marked not eligible")
    elif given_reason:
        reasons.append(given_reason)
    if grant_period is not None:
        start, end = grant_period
        if not start <= spent_on <= end:
            eligible = False
            reasons.append(f"dated {spent_on.isoformat()}, outside the grant period {start.isoformat()} – {end.isoformat()}")
    return eligible, "; ".join(reasons) if reasons else None


@dataclass(frozen=True)
class ExpenseFacts:
    source: str
    reference: str
    spent_on: dt.date
    amount_cents: int
    grant_id: int | None
    budget_line_id: int | None
    fund_id: int | None
    description: str | None
    eligible: bool
    reason: str | None

    def values(self) -> dict:
        return {
            "source": self.source, "reference": self.reference, "spent_on": self.spent_on,
            "amount_cents": self.amount_cents, "currency": "EUR", "grant_id": self.grant_id,
            "budget_line_id": self.budget_line_id, "fund_id": self.fund_id, "description": self.description,
            "eligible": self.eligible, "reason": self.reason,
        }


EXPENSE_COMPARED = ("spent_on", "amount_cents", "grant_id", "budget_line_id", "fund_id", "description", "eligible", "reason")


def differences(existing, facts, fields: Iterable[str]) -> list[str]:
    return [name for name in fields if getattr(existing, name) != getattr(facts, name)]


def euro_cents(*, allow_negative: bool):
    """An amount in euros, in cents; a cost may be negative (a credit note correcting one)."""
    def parse(value: str) -> int:
        money = parse_money(value, allow_negative=allow_negative)
        if money.currency != "EUR":
            raise MoneyError(f"only euro amounts are accepted, not {money.currency}")
        if money.cents == 0:
            raise MoneyError("must not be zero")
        return money.cents

    return parse


def known_by_reference(session: Session, model, source: str, references: Iterable[str]) -> dict[str, Any]:
    """The rows of `model` stored under `source` with these references."""
    found = {}
    for chunk in chunks(sorted({r for r in references if r})):
        for row in session.scalars(select(model).where(model.source == source, model.reference.in_(chunk))):
            found[row.reference] = row
    return found


def new_or_refused(facts: list[tuple[Row, Any]], stored: dict[str, Any], compared: Sequence[str],
                   refused: str) -> ImportResult:
    """The facts not stored before; one stored with other content is refused on the
    row's reference (`refused` names the reference and the fields that differ)."""
    result = ImportResult()
    for row, fact in facts:
        found = stored.get(fact.reference)
        if found is None:
            result.new.append(fact)
        elif differing := differences(found, fact, compared):
            row.fail("reference", refused.format(reference=fact.reference, fields=", ".join(differing)))
        else:
            result.unchanged += 1
    return result


def insert_new(session: Session, model, rows: list[dict], label: str) -> None:
    for chunk in progress(list(chunks(rows)), label=label):
        session.execute(insert(model), chunk)
    session.flush()


EXPENSE_IMPORT_COLUMNS = (
    Column("reference", text(100), required=True, help="the key"),
    Column("date", date, required=True),
    Column("amount", euro_cents(allow_negative=True), required=True, help="negative: a credit note"),
    Column("grant", text(), help="the grant (its reference) the cost is charged to"),
    Column("budget_line", text(), help="the grant's budget line; required when the grant has a budget"),
    Column("fund", text(), help="or: the earmarked fund it is spent from"),
    Column("description", text(10_000)),
    Column("eligible", boolean, help="yes/no; empty: yes"),
    Column("reason", text(10_000), help="why not eligible (required then)"),
)


@dataclass(frozen=True)
class StoredForExpenses:
    grants: dict[str, GrantRef]
    funds: dict[str, int]
    expenses: dict[str, Expense]


def _load_expenses(session: Session, rows: list[Row], context: Context) -> StoredForExpenses:
    return StoredForExpenses(load_grants(session, (row.get("grant") for row in rows)),
                             load_funds(session, (row.get("fund") for row in rows)),
                             known_by_reference(session, Expense, context.source, (row.get("reference") for row in rows)))


def _plan_expenses(rows: list[Row], stored: StoredForExpenses, problems: list[Problem], context: Context) -> ImportResult:
    facts = [(row, fact) for row in rows if (fact := _expense(row, stored, context.source)) is not None]
    result = new_or_refused(facts, stored.expenses, EXPENSE_COMPARED,
                            "cost {reference!r} was imported before with other {fields}; "
                            "a cost is corrected by a new row, never overwritten")
    result.flagged = [f"{f.reference}: {f.reason}" for f in result.new if not f.eligible]
    return result


def _expense(row: Row, stored: StoredForExpenses, source: str) -> ExpenseFacts | None:
    """The cost a row gives, its grant, budget line and fund looked up."""
    grant_code, line_code, fund_code, reason = row.get("grant"), row.get("budget_line"), row.get("fund"), row.get("reason")
    grant = stored.grants.get(grant_code) if grant_code else None
    if grant_code and grant is None:
        row.fail("grant", f"no grant {grant_code!r}")
    if grant_code and fund_code:
        row.fail("fund", "give a grant or a fund, not both: a cost on a grant spends that grant's fund")
    if line_code and not grant_code:
        row.fail("budget_line", "a budget line belongs to a grant; the grant column is empty")
    line_id = _resolve_line(grant, line_code, row.fail) if grant else None
    fund_id = stored.funds.get(fund_code) if fund_code else None
    if fund_code and fund_id is None:
        row.fail("fund", f"no fund {fund_code!r} (add it with `anbi funds add`)")
    eligible_given = row.get("eligible")
    if eligible_given is False and not reason:
        row.fail("reason", "is required when a cost is marked not eligible: say why")
    reference, spent_on, amount = row.get("reference"), row.get("date"), row.get("amount")
    if reference is None or spent_on is None or amount is None:
        return None
    eligible, why = expense_eligibility(spent_on, eligible_given is not False, reason,
                                        (grant.start, grant.end) if grant else None)
    return ExpenseFacts(source, reference, spent_on, amount, grant.id if grant else None, line_id, fund_id,
                        row.get("description"), eligible, why)


def _apply_expenses(session: Session, plan: ImportResult, context: Context) -> None:
    insert_new(session, Expense, [f.values() for f in plan.new], "Writing costs")


def _result(plan: ImportResult, context: Context) -> ImportResult:
    return ImportResult(created=len(plan.new), unchanged=plan.unchanged, flagged=plan.flagged, warnings=plan.warnings)


EXPENSES = Importer("expenses", EXPENSE_IMPORT_COLUMNS, _load_expenses, _plan_expenses, _apply_expenses, _result,
                    unique="reference", checking="Checking costs")
EXPENSE_COLUMNS, EXPENSE_OPTIONAL = EXPENSES.required, EXPENSES.optional


def import_expenses(session: Session, path, *, source: str = "import", dry_run: bool = False) -> ImportResult:
    """`anbi expenses import FILE`."""
    return run_import(session, EXPENSES, path, actor="", dry_run=dry_run, stored_as=source)


def record_expense(
    session: Session,
    *,
    source: str,
    reference: str,
    spent_on: dt.date,
    amount_cents: int,
    grant_reference: str | None = None,
    budget_line: str | None = None,
    fund_code: str | None = None,
    description: str | None = None,
    eligible: bool = True,
    reason: str | None = None,
) -> tuple[Expense, bool]:
    """Record one cost from another system (an Odoo analytic line, say), with the same
    rules as the import: idempotent on (source, reference); (expense, False) when it
    is already there; ExpenseConflict when it is there with other content."""
    grant = None
    problems: list[Problem] = []

    def fail(column: str, reason_text: str) -> None:
        problems.append(Problem(None, column, reason_text))

    if grant_reference:
        grant = load_grants(session, [grant_reference]).get(grant_reference)
        if grant is None:
            raise GrantNotFound(grant_reference, other_case(session, Grant.reference, grant_reference))
    if grant and fund_code:
        fail("fund", "give a grant or a fund, not both: a cost on a grant spends that grant's fund")
    line_id = _resolve_line(grant, budget_line, fail) if grant else None
    fund_id = None
    if fund_code:
        fund_id = load_funds(session, [fund_code]).get(fund_code)
        if fund_id is None:
            raise FundNotFound(fund_code, other_case(session, Fund.code, fund_code))
    if amount_cents == 0:
        fail("amount", "must not be zero")
    if problems:
        raise InvalidInput(problems, f"cost {reference}")
    is_eligible, why = expense_eligibility(spent_on, eligible, reason, (grant.start, grant.end) if grant else None)
    fact = ExpenseFacts(source, reference, spent_on, amount_cents, grant.id if grant else None, line_id, fund_id,
                        description, is_eligible, why)
    found = session.scalar(select(Expense).where(Expense.source == source, Expense.reference == reference))
    if found is not None:
        differing = differences(found, fact, EXPENSE_COMPARED)
        if differing:
            raise ExpenseConflict(source, reference, differing)
        return found, False
    expense = Expense(**fact.values())
    session.add(expense)
    session.flush()
    return expense, True


# ---------------------------------------------------------------------------
# Staff annual costs
# ---------------------------------------------------------------------------


def _bounded_decimal(text: str, *, upper: Decimal, places: int, not_a_number: str, out_of_range: str) -> Decimal:
    """A decimal above zero and at most `upper`, with at most `places` decimals."""
    try:
        value = Decimal(text.strip().replace(",", "."))
    except ArithmeticError:
        raise ValueError(f"{text!r} {not_a_number}") from None
    if not value.is_finite() or value <= 0 or value > upper:
        raise ValueError(f"{text!r} {out_of_range}")
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise ValueError(f"{text!r} has more than {places} decimals")
    return value


def parse_fte(text: str) -> Decimal:
    return _bounded_decimal(text, upper=Decimal(1), places=4,
                            not_a_number="is not a number (1 is full time, 0.8 is four days a week)",
                            out_of_range="is not between 0 and 1 (1 is full time)")


def parse_weekly_hours(text: str) -> Decimal:
    return _bounded_decimal(text, upper=Decimal(7 * 24), places=2, not_a_number="is not a number of hours a week",
                            out_of_range="is not between 0 and 168 hours a week")


STAFF_IMPORT_COLUMNS = (
    Column("employee", text(50), required=True),
    Column("year", whole(FIRST_YEAR, LAST_YEAR, too_large="{} is not a plausible year"), required=True),
    Column("annual_cost", euro_cents(allow_negative=False), required=True,
           help="the documented gross employment cost of the year"),
    Column("fte", parse_fte, help="default 1; 0.8 is four days a week"),
    Column("weekly_hours", parse_weekly_hours, help="the contract hours a week; default 40 × fte"),
)


def _load_staff(session: Session, rows: list[Row], context: Context) -> dict[tuple[str, int], StaffCost]:
    keys = sorted({(row.get("employee"), row.get("year")) for row in rows if row.get("employee") and row.get("year")})
    existing = {}
    for chunk in chunks(keys):
        for cost in session.scalars(select(StaffCost).where(tuple_(StaffCost.employee, StaffCost.year).in_(chunk))):
            existing[(cost.employee, cost.year)] = cost
    return existing


def _plan_staff(rows: list[Row], stored: dict[tuple[str, int], StaffCost], problems: list[Problem],
                context: Context) -> ImportResult:
    """The years not documented before; a year documented with other figures is
    refused: documented costs are not overwritten."""
    result = ImportResult()
    seen: dict[tuple[str, int], int] = {}
    for row in rows:
        employee, year, annual = row.get("employee"), row.get("year"), row.get("annual_cost")
        fte, weekly = row.get("fte", Decimal(1)), row.get("weekly_hours")
        if not row.ok or None in (employee, year, annual):
            continue
        key = (employee, year)
        if key in seen:
            row.fail("employee", f"{employee} {year} appears twice in the file (also line {seen[key]})")
            continue
        seen[key] = row.line
        found = stored.get(key)
        if found is None:
            result.new.append({"employee": employee, "year": year, "annual_cost_cents": annual, "currency": "EUR",
                               "fte": fte, "weekly_hours": weekly})
        elif found.annual_cost_cents != annual or found.fte != fte:
            row.fail("annual_cost", (
                f"{employee} {year} was documented before as {cents_to_str(found.annual_cost_cents)} at "
                f"{format(found.fte, 'f')} FTE; documented costs are not overwritten"))
        elif weekly is not None and found.weekly_hours != weekly:
            # An empty cell leaves the row as it is; other contract hours are a different document.
            row.fail("weekly_hours", (
                f"{employee} {year} was documented before with "
                f"{format(found.weekly_hours, 'f') if found.weekly_hours is not None else 'no'} contract hours a week; "
                "documented costs are not overwritten"))
        else:
            result.unchanged += 1
    return result


def _apply_staff(session: Session, plan: ImportResult, context: Context) -> None:
    insert_new(session, StaffCost, plan.new, "Writing staff costs")
    # A newly documented year can change an FTE, and so the hour ceiling, of the
    # hours already booked in that year and later ones.
    affected: dict[str, int] = {}
    for values in plan.new:
        affected[values["employee"]] = min(values["year"], affected.get(values["employee"], values["year"]))
    plan.flagged = recompute_ceilings(session, _booked_years(session, affected))


STAFF = Importer("staff", STAFF_IMPORT_COLUMNS, _load_staff, _plan_staff, _apply_staff, _result,
                 checking="Checking staff costs", decided_by_writing=True)
STAFF_COLUMNS, STAFF_OPTIONAL = STAFF.required, STAFF.optional


def import_staff(session: Session, path, *, dry_run: bool = False) -> ImportResult:
    """`anbi staff import FILE`: documented gross employment cost per employee and year.
    A dry run writes too (the ceilings are decided over the stored hours): its
    caller rolls it back."""
    return run_import(session, STAFF, path, actor="", dry_run=dry_run)


def _booked_years(session: Session, first_year_by_employee: dict[str, int]) -> set[tuple[str, int]]:
    """(employee, year) pairs with timesheet lines, from the given first year on."""
    pairs = set()
    employees = sorted(first_year_by_employee)
    for chunk in chunks(employees):
        rows = session.execute(select(Timesheet.employee, Timesheet.worked_on).where(Timesheet.employee.in_(chunk)).distinct())
        for employee, day in rows:
            if day.year >= first_year_by_employee[employee]:
                pairs.add((employee, day.year))
    return pairs


def documented_costs(session: Session, employees: Iterable[str]) -> dict[str, list[DocumentedCost]]:
    found: dict[str, list[DocumentedCost]] = defaultdict(list)
    for chunk in chunks(sorted(set(employees))):
        for employee, year, annual, fte, weekly in session.execute(
            select(StaffCost.employee, StaffCost.year, StaffCost.annual_cost_cents, StaffCost.fte, StaffCost.weekly_hours)
            .where(StaffCost.employee.in_(chunk))
        ):
            found[employee].append(DocumentedCost(year, annual, fte, weekly))
    return found


# ---------------------------------------------------------------------------
# Timesheets
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TimesheetFacts:
    source: str
    reference: str
    employee: str
    worked_on: dt.date              # the day, or the period's last day
    period_start: dt.date | None    # the period's first day; None for one day
    grant_id: int
    budget_line_id: int | None
    hours_hundredths: int


TIMESHEET_COMPARED = ("employee", "worked_on", "period_start", "grant_id", "budget_line_id", "hours_hundredths")


def check_line_days(row: Row) -> None:
    """A timesheet line's days: `date`, or `period_start` and `period_end` — exactly
    one of the two forms — as (first day or None, last day) in `days`; absent after
    a problem. The cells are read here, not by the columns: a line that mixes the
    forms is one problem, whatever its dates."""
    day_given = row.given("date")
    start_given, end_given = row.given("period_start"), row.given("period_end")
    if day_given and (start_given or end_given):
        row.fail("date", "give either date (one day) or period_start and period_end (a period), not both")
        return
    if day_given:
        if (day := _day(row, "date")) is not None:
            row.values["days"] = (None, day)
        return
    if not (start_given or end_given):
        row.fail("date", "is required: give date (one day), or period_start and period_end (a period)")
        return
    first, last = _day(row, "period_start"), _day(row, "period_end")
    if first is not None and last is not None:
        row.values["days"] = (first, last)


def _day(row: Row, column: str) -> dt.date | None:
    if not row.given(column):
        row.fail(column, "is required")
        return None
    try:
        return date(row.cells[column])
    except ValueError as exc:
        row.fail(column, str(exc))
        return None


TIMESHEET_IMPORT_COLUMNS = (
    Column("reference", text(100), required=True, help="the key"),
    Column("employee", text(50), required=True,
           help="an employee with a documented annual cost for the year or before"),
    Column("grant", text(), required=True, help="a grant with hours_per_year"),
    Column("budget_line", text(), in_header=True, help="the grant's budget line, when the grant has a budget"),
    Column("hours", parse_hours, required=True, help="up to two decimals"),
    # Read by `check_line_days`.
    Column("date", help="one day; or, for a period, leave it empty and give period_start and period_end"),
    Column("period_start", help="the first day of a period sheet"),
    Column("period_end", help="the last day of a period sheet"),
)


@dataclass(frozen=True)
class StoredForTimesheets:
    grants: dict[str, GrantRef]
    costs: dict[str, list[DocumentedCost]]
    timesheets: dict[str, Timesheet]


def _load_timesheets(session: Session, rows: list[Row], context: Context) -> StoredForTimesheets:
    return StoredForTimesheets(load_grants(session, (row.get("grant") for row in rows)),
                               documented_costs(session, (e for row in rows if (e := row.get("employee")))),
                               known_by_reference(session, Timesheet, context.source, (row.get("reference") for row in rows)))


def _plan_timesheets(rows: list[Row], stored: StoredForTimesheets, problems: list[Problem],
                     context: Context) -> ImportResult:
    facts = []
    warnings = []
    for row in rows:
        fact, warning = _timesheet_line(row, stored, context.source)
        if warning:
            warnings.append(warning)
        if fact is not None:
            facts.append((row, fact))
    result = new_or_refused(facts, stored.timesheets, TIMESHEET_COMPARED,
                            "timesheet line {reference!r} was imported before with other {fields}; "
                            "hours are corrected by a new line, never overwritten")
    result.warnings = warnings
    return result


def _timesheet_line(row: Row, stored: StoredForTimesheets, source: str) -> tuple[TimesheetFacts | None, str | None]:
    """The line a row gives and the warning it is imported with, its grant, budget
    line and documented cost looked up; (None, None) when it cannot be."""
    reference, employee, hours = row.get("reference"), row.get("employee"), row.get("hours")
    period_start, worked_on = row.get("days", (None, None))
    if worked_on is not None:
        if why := period_problem(period_start or worked_on, worked_on):
            row.fail("period_end", why)
            worked_on = None
        elif hours is not None and (why := hours_bound_problem(period_start or worked_on, worked_on, hours)):
            row.fail("hours", why)
            hours = None
    grant_code = row.get("grant")
    grant = stored.grants.get(grant_code) if grant_code else None
    if grant_code and grant is None:
        row.fail("grant", f"no grant {grant_code!r}")
    if grant is not None and grant.hours_per_year is None:
        row.fail("grant", (
            f"grant {grant.reference} has no hours basis (hours_per_year), so it takes no timesheets; "
            "charge its staff as expenses"))
    line_id = _resolve_line(grant, row.get("budget_line"), row.fail) if grant else None
    cost = documented_cost_for(stored.costs.get(employee, []), worked_on.year) if employee and worked_on else None
    if employee and worked_on and cost is None:
        row.fail("employee", (
            f"no documented annual cost for {employee} in {worked_on.year} or before; "
            "import it first with `anbi staff import`"))
    if None in (reference, employee, worked_on, grant, hours, cost) or grant.hours_per_year is None:
        return None, None
    warning = contract_warning(employee, period_start or worked_on, worked_on, hours,
                               weekly_contract_hours(cost.fte, cost.weekly_hours))
    return (TimesheetFacts(source, reference, employee, worked_on, period_start, grant.id, line_id, hours),
            f"{reference}: {warning}" if warning else None)


def _apply_timesheets(session: Session, plan: ImportResult, context: Context) -> None:
    insert_new(session, Timesheet, [{
        "source": f.source, "reference": f.reference, "employee": f.employee, "worked_on": f.worked_on,
        "period_start": f.period_start,
        "grant_id": f.grant_id, "budget_line_id": f.budget_line_id, "hours_hundredths": f.hours_hundredths,
        # Provisional: the ceiling pass below decides the eligible part.
        "eligible_hundredths": f.hours_hundredths, "ineligible_reason": None,
    } for f in plan.new], "Writing timesheets")
    plan.flagged = recompute_ceilings(session, {(f.employee, f.worked_on.year) for f in plan.new})


TIMESHEETS = Importer("timesheets", TIMESHEET_IMPORT_COLUMNS, _load_timesheets, _plan_timesheets, _apply_timesheets,
                      _result, unique="reference", checking="Checking timesheets", check=check_line_days,
                      decided_by_writing=True)
TIMESHEET_COLUMNS, TIMESHEET_OPTIONAL = TIMESHEETS.required, TIMESHEETS.optional


def import_timesheets(session: Session, path, *, source: str = "import", dry_run: bool = False) -> ImportResult:
    """`anbi timesheets import FILE`: hours per employee, grant and budget line, for
    one day (`date`) or a period (`period_start`, `period_end`). A dry run writes
    too (the ceilings are decided over the stored hours): its caller rolls it back."""
    return run_import(session, TIMESHEETS, path, actor="", dry_run=dry_run, stored_as=source)


def recompute_ceilings(session: Session, pairs: set[tuple[str, int]]) -> list[str]:
    """Decide again the eligible hours of each (employee, year): all their lines, in
    last-day then arrival order, against the ceiling. Returns the flags now standing on
    lines of those years, for the import's summary."""
    if not pairs:
        return []
    costs = documented_costs(session, (employee for employee, _ in pairs))
    flags = []
    updates = []
    by_employee: dict[str, list[int]] = defaultdict(list)
    for employee, year in pairs:
        by_employee[employee].append(year)
    for employee in progress(sorted(by_employee), label="Applying hour ceilings"):
        years = sorted(by_employee[employee])
        conditions = [and_(Timesheet.worked_on >= dt.date(y, 1, 1), Timesheet.worked_on <= dt.date(y, 12, 31)) for y in years]
        rows = session.execute(
            select(Timesheet.id, Timesheet.reference, Timesheet.worked_on, Timesheet.period_start, Timesheet.hours_hundredths,
                   Timesheet.eligible_hundredths, Timesheet.ineligible_reason,
                   Grant.start_on, Grant.end_on, Grant.hours_per_year)
            .join(Grant, Grant.id == Timesheet.grant_id)
            .where(Timesheet.employee == employee, or_(*conditions))
            .order_by(Timesheet.worked_on, Timesheet.id)
        ).all()
        by_year: dict[int, list] = defaultdict(list)
        for row in rows:
            by_year[row.worked_on.year].append(row)
        for year, year_rows in by_year.items():
            cost = documented_cost_for(costs.get(employee, []), year)
            if cost is None:  # cannot happen for imported lines; guard for rows loaded otherwise
                continue
            entries = [HourEntry(r, r.worked_on, r.hours_hundredths, r.start_on, r.end_on, r.hours_per_year, cost.fte,
                                 r.period_start) for r in year_rows]
            for decision in apply_annual_ceiling(employee, entries):
                row = decision.key
                if decision.reason:
                    flags.append(f"{row.reference}: {decision.reason}")
                if (decision.eligible_hundredths, decision.reason) != (row.eligible_hundredths, row.ineligible_reason):
                    updates.append({"id": row.id, "eligible_hundredths": decision.eligible_hundredths,
                                    "ineligible_reason": decision.reason})
    for chunk in chunks(updates):
        session.execute(update(Timesheet), chunk)
    session.flush()
    return flags


__all__ = [
    "ImportResult", "import_expenses", "import_staff", "import_timesheets", "record_expense",
    "expense_eligibility", "recompute_ceilings", "documented_costs", "hours_text",
]
