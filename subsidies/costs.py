"""Costs charged to grants and funds: expenses, staff annual costs and timesheets.

Each import file is validated whole — every problem with its line and column —
before anything is written, in the caller's one transaction. A row whose key
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

from sqlalchemy import and_, insert, or_, select, tuple_, update
from sqlalchemy.orm import Session

from anbi.core.clock import FIRST_YEAR, LAST_YEAR
from anbi.core.csvfile import CsvRow, RowParser, check_unique, read_csv
from anbi.core.errors import InvalidInput, Problem
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

EXPENSE_COLUMNS = ("reference", "date", "amount")
EXPENSE_OPTIONAL = ("grant", "budget_line", "fund", "description", "eligible", "reason")
STAFF_COLUMNS = ("employee", "year", "annual_cost")
STAFF_OPTIONAL = ("fte", "weekly_hours")
TIMESHEET_COLUMNS = ("reference", "employee", "grant", "budget_line", "hours")
# A line gives `date` (one day) or `period_start` and `period_end` (a period sheet).
TIMESHEET_OPTIONAL = ("date", "period_start", "period_end")
CHUNK = 500  # keys per IN (...) lookup


@dataclass
class ImportResult:
    """What an import did: rows created, rows already there, and flags to look at."""

    created: int = 0
    unchanged: int = 0
    flagged: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)   # shown, never refused

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


def parse_amount(parser: RowParser, column: str, *, allow_negative: bool) -> int | None:
    """An amount in euros; a cost may be negative (a credit note correcting one)."""
    text = parser.raw(column)
    if not text:
        parser.fail(column, "is required")
        return None
    try:
        money = parse_money(text, allow_negative=allow_negative)
    except MoneyError as exc:
        parser.fail(column, str(exc))
        return None
    if money.currency != "EUR":
        parser.fail(column, f"only euro amounts are accepted, not {money.currency}")
        return None
    if money.cents == 0:
        parser.fail(column, "must not be zero")
        return None
    return money.cents


def import_expenses(session: Session, path, *, source: str = "import") -> ImportResult:
    """`anbi expenses import FILE`."""
    csv = read_csv(path, required=EXPENSE_COLUMNS, optional=EXPENSE_OPTIONAL)
    problems: list[Problem] = []
    check_unique(csv.rows, "reference", problems)
    grants = load_grants(session, (row.values.get("grant", "") for row in csv.rows))
    funds = load_funds(session, (row.values.get("fund", "") for row in csv.rows))

    facts: list[tuple[CsvRow, ExpenseFacts]] = []
    for row in progress(csv.rows, label="Checking costs"):
        parser = RowParser(row, problems)
        reference = parser.text("reference", required=True, max_length=100)
        spent_on = parser.date("date", required=True)
        amount = parse_amount(parser, "amount", allow_negative=True)
        grant_code = parser.text("grant")
        line_code = parser.text("budget_line")
        fund_code = parser.text("fund")
        description = parser.text("description", max_length=10_000)
        eligible_given = parser.boolean("eligible")
        reason = parser.text("reason", max_length=10_000)
        grant = grants.get(grant_code) if grant_code else None
        if grant_code and grant is None:
            parser.fail("grant", f"no grant {grant_code!r}")
        if grant_code and fund_code:
            parser.fail("fund", "give a grant or a fund, not both: a cost on a grant spends that grant's fund")
        if line_code and not grant_code:
            parser.fail("budget_line", "a budget line belongs to a grant; the grant column is empty")
        line_id = _resolve_line(grant, line_code, parser.fail) if grant else None
        fund_id = None
        if fund_code:
            fund_id = funds.get(fund_code)
            if fund_id is None:
                parser.fail("fund", f"no fund {fund_code!r} (add it with `anbi funds add`)")
        if eligible_given is False and not reason:
            parser.fail("reason", "is required when a cost is marked not eligible: say why")
        if reference is None or spent_on is None or amount is None:
            continue
        eligible, why = expense_eligibility(
            spent_on, eligible_given is not False, reason, (grant.start, grant.end) if grant else None
        )
        facts.append((row, ExpenseFacts(source, reference, spent_on, amount, grant.id if grant else None, line_id,
                                        fund_id, description, eligible, why)))

    new = _check_existing_expenses(session, facts, problems)
    if problems:
        raise InvalidInput(problems, csv.name)
    result = ImportResult(unchanged=len(facts) - len(new))
    rows = [f.values() for f in new]
    for chunk in progress(list(chunks(rows)), label="Writing costs"):
        session.execute(insert(Expense), chunk)
    result.created = len(rows)
    result.flagged = [f"{f.reference}: {f.reason}" for f in new if not f.eligible]
    session.flush()
    return result


def _check_existing_expenses(session: Session, facts: list[tuple[CsvRow, ExpenseFacts]], problems: list[Problem]) -> list[ExpenseFacts]:
    existing = {}
    references = [f.reference for _, f in facts]
    source = facts[0][1].source if facts else "import"
    for chunk in chunks(references):
        for expense in session.scalars(select(Expense).where(Expense.source == source, Expense.reference.in_(chunk))):
            existing[expense.reference] = expense
    new = []
    for row, fact in facts:
        found = existing.get(fact.reference)
        if found is None:
            new.append(fact)
            continue
        differing = differences(found, fact, EXPENSE_COMPARED)
        if differing:
            problems.append(Problem(row.line, "reference", (
                f"cost {fact.reference!r} was imported before with other {', '.join(differing)}; "
                "a cost is corrected by a new row, never overwritten")))
    return new


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


def import_staff(session: Session, path) -> ImportResult:
    """`anbi staff import FILE`: documented gross employment cost per employee and year."""
    csv = read_csv(path, required=STAFF_COLUMNS, optional=STAFF_OPTIONAL)
    problems: list[Problem] = []
    seen: dict[tuple[str, int], int] = {}
    parsed = []
    for row in progress(csv.rows, label="Checking staff costs"):
        parser = RowParser(row, problems)
        employee = parser.text("employee", required=True, max_length=50)
        year = parser.integer("year", required=True, minimum=FIRST_YEAR)
        if year is not None and year > LAST_YEAR:
            parser.fail("year", f"{year} is not a plausible year")
            year = None
        annual = parse_amount(parser, "annual_cost", allow_negative=False)
        fte = parser.convert("fte", parse_fte) if parser.given("fte") else Decimal(1)
        weekly = parser.convert("weekly_hours", parse_weekly_hours)
        if employee is None or year is None or annual is None or fte is None or (parser.given("weekly_hours") and weekly is None):
            continue
        key = (employee, year)
        if key in seen:
            problems.append(Problem(row.line, "employee", f"{employee} {year} appears twice in the file (also line {seen[key]})"))
            continue
        seen[key] = row.line
        parsed.append((row, employee, year, annual, fte, weekly))

    existing = {}
    keys = [(e, y) for _, e, y, _, _, _ in parsed]
    for chunk in chunks(keys):
        for cost in session.scalars(select(StaffCost).where(tuple_(StaffCost.employee, StaffCost.year).in_(chunk))):
            existing[(cost.employee, cost.year)] = cost
    new = []
    for row, employee, year, annual, fte, weekly in parsed:
        found = existing.get((employee, year))
        if found is None:
            new.append({"employee": employee, "year": year, "annual_cost_cents": annual, "currency": "EUR", "fte": fte,
                        "weekly_hours": weekly})
        elif found.annual_cost_cents != annual or found.fte != fte:
            problems.append(Problem(row.line, "annual_cost", (
                f"{employee} {year} was documented before as {cents_to_str(found.annual_cost_cents)} at "
                f"{format(found.fte, 'f')} FTE; documented costs are not overwritten")))
        elif weekly is not None and found.weekly_hours != weekly:
            # An empty cell leaves the row as it is; other contract hours are a different document.
            problems.append(Problem(row.line, "weekly_hours", (
                f"{employee} {year} was documented before with "
                f"{format(found.weekly_hours, 'f') if found.weekly_hours is not None else 'no'} contract hours a week; "
                "documented costs are not overwritten")))
    if problems:
        raise InvalidInput(problems, csv.name)
    for chunk in chunks(new):
        session.execute(insert(StaffCost), chunk)
    session.flush()
    result = ImportResult(created=len(new), unchanged=len(parsed) - len(new))
    # A newly documented year can change an FTE, and so the hour ceiling, of the
    # hours already booked in that year and later ones.
    affected: dict[str, int] = {}
    for values in new:
        affected[values["employee"]] = min(values["year"], affected.get(values["employee"], values["year"]))
    result.flagged = recompute_ceilings(session, _booked_years(session, affected))
    return result


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


def _line_days(parser: RowParser) -> tuple[dt.date | None, dt.date | None]:
    """(first day or None, last day) of a timesheet line: `date`, or `period_start`
    and `period_end` — exactly one of the two forms. (None, None) after a problem."""
    day_given = parser.given("date")
    start_given, end_given = parser.given("period_start"), parser.given("period_end")
    if day_given and (start_given or end_given):
        parser.fail("date", "give either date (one day) or period_start and period_end (a period), not both")
        return None, None
    if day_given:
        return None, parser.date("date")
    if not (start_given or end_given):
        parser.fail("date", "is required: give date (one day), or period_start and period_end (a period)")
        return None, None
    first = parser.date("period_start", required=True)
    last = parser.date("period_end", required=True)
    if first is None or last is None:
        return None, None
    return first, last


def import_timesheets(session: Session, path, *, source: str = "import") -> ImportResult:
    """`anbi timesheets import FILE`: hours per employee, grant and budget line, for
    one day (`date`) or a period (`period_start`, `period_end`)."""
    csv = read_csv(path, required=TIMESHEET_COLUMNS, optional=TIMESHEET_OPTIONAL)
    problems: list[Problem] = []
    check_unique(csv.rows, "reference", problems)
    grants = load_grants(session, (row.values.get("grant", "") for row in csv.rows))
    costs = documented_costs(session, (row.values.get("employee", "") for row in csv.rows))

    facts: list[tuple[CsvRow, TimesheetFacts]] = []
    warnings: list[str] = []
    for row in progress(csv.rows, label="Checking timesheets"):
        parser = RowParser(row, problems)
        reference = parser.text("reference", required=True, max_length=100)
        employee = parser.text("employee", required=True, max_length=50)
        period_start, worked_on = _line_days(parser)
        grant_code = parser.text("grant", required=True)
        line_code = parser.text("budget_line")
        hours = parser.convert("hours", parse_hours, required=True)
        if worked_on is not None:
            if why := period_problem(period_start or worked_on, worked_on):
                parser.fail("period_end", why)
                worked_on = None
            elif hours is not None and (why := hours_bound_problem(period_start or worked_on, worked_on, hours)):
                parser.fail("hours", why)
                hours = None
        grant = grants.get(grant_code) if grant_code else None
        if grant_code and grant is None:
            parser.fail("grant", f"no grant {grant_code!r}")
        if grant is not None and grant.hours_per_year is None:
            parser.fail("grant", (
                f"grant {grant.reference} has no hours basis (hours_per_year), so it takes no timesheets; "
                "charge its staff as expenses"))
        line_id = _resolve_line(grant, line_code, parser.fail) if grant else None
        cost = documented_cost_for(costs.get(employee, []), worked_on.year) if employee and worked_on else None
        if employee and worked_on and cost is None:
            parser.fail("employee", (
                f"no documented annual cost for {employee} in {worked_on.year} or before; "
                "import it first with `anbi staff import`"))
        if None in (reference, employee, worked_on, grant, hours, cost) or grant.hours_per_year is None:
            continue
        warning = contract_warning(employee, period_start or worked_on, worked_on, hours,
                                   weekly_contract_hours(cost.fte, cost.weekly_hours))
        if warning:
            warnings.append(f"{reference}: {warning}")
        facts.append((row, TimesheetFacts(source, reference, employee, worked_on, period_start, grant.id, line_id, hours)))

    existing = {}
    references = [f.reference for _, f in facts]
    for chunk in chunks(references):
        for sheet in session.scalars(select(Timesheet).where(Timesheet.source == source, Timesheet.reference.in_(chunk))):
            existing[sheet.reference] = sheet
    new = []
    for row, fact in facts:
        found = existing.get(fact.reference)
        if found is None:
            new.append(fact)
            continue
        differing = differences(found, fact, TIMESHEET_COMPARED)
        if differing:
            problems.append(Problem(row.line, "reference", (
                f"timesheet line {fact.reference!r} was imported before with other {', '.join(differing)}; "
                "hours are corrected by a new line, never overwritten")))
    if problems:
        raise InvalidInput(problems, csv.name)

    rows = [{
        "source": f.source, "reference": f.reference, "employee": f.employee, "worked_on": f.worked_on,
        "period_start": f.period_start,
        "grant_id": f.grant_id, "budget_line_id": f.budget_line_id, "hours_hundredths": f.hours_hundredths,
        # Provisional: the ceiling pass below decides the eligible part.
        "eligible_hundredths": f.hours_hundredths, "ineligible_reason": None,
    } for f in new]
    for chunk in progress(list(chunks(rows)), label="Writing timesheets"):
        session.execute(insert(Timesheet), chunk)
    session.flush()
    result = ImportResult(created=len(rows), unchanged=len(facts) - len(new), warnings=warnings)
    result.flagged = recompute_ceilings(session, {(f.employee, f.worked_on.year) for f in new})
    return result


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
