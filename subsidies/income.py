"""The RJ 650 income statement (staat van baten, DOMAIN.md 2.2): income by origin.

Two halves. The pure half decides how much of a grant counts as income in a year
(which RJ 650 line a gift, part of a gift or grant takes is the one table in
`fundraising.income`, applied here as everywhere else) —

- a project or institutional grant counts in the year its eligible costs were made:
  a year's share is the funder share of all eligible costs up to the end of that year
  (the rounding chain of `subsidies.accountability`, capped at the awarded amount)
  minus what earlier years recognised; from the year of the vaststelling the settled
  amount decides, lower or higher, and the difference counts in that year;
- a regular contribution (the Postcode Loterij's) counts pro rata by days over its
  period, the cumulative amount rounded half-up so the years add up to the award;
- gifts count in the year received, refunds and chargebacks on their own dates
  (`fundraising.income.income_by_line`).

The SQL half gathers the grants' inputs with grouped queries: costs per grant, budget
line and year, hours per grant, budget line, employee and year.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from anbi.core.money import cents_to_str, round_half_up
from fundraising.income import DUTCH_NAMES, FUNDER_LINES, GOODS_AND_SERVICES, RAISED_LINES, income_by_line
from subsidies.accountability import BudgetLineTerms, ExpenseTotal, GrantTerms, StaffHours, eligible_totals, entitled_cents
from subsidies.costs import documented_costs
from subsidies.hours import documented_cost_for, hour_rate_cents
from subsidies.models import BudgetLine, Expense, Funder, Grant, Timesheet
from subsidies.report import sum_int, year_of

# The raised-income categories, in the order of the RJ 650 model; which line a gift
# or grant takes is decided by the one table in `fundraising.income`.
RAISED_CATEGORIES = RAISED_LINES
STATEMENT_KEYS = RAISED_CATEGORIES + (
    "raised_income_total",             # som van de geworven baten
    "income_for_goods_and_services",   # baten als tegenprestatie voor de levering van producten en/of diensten
    "other_income",                    # overige baten
    "total_income",                    # som van de baten
)
DUTCH_LABELS = {
    **{line: DUTCH_NAMES[line] for line in RAISED_LINES},
    "raised_income_total": "Som van de geworven baten",
    "income_for_goods_and_services": DUTCH_NAMES[GOODS_AND_SERVICES],
    "other_income": "Overige baten",
    "total_income": "Som van de baten",
}


@dataclass
class IncomeStatement:
    """One year's income by category, in cents."""

    year: int
    raised: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RAISED_CATEGORIES, 0))
    goods_and_services: int = 0
    # Overige baten: income that is neither raised nor a consideration (rent, interest).
    # Nothing this system records falls here; the line is kept so the statement has
    # the RJ 650 shape and reconciles with the ledger's total.
    other: int = 0

    @property
    def raised_total(self) -> int:
        return sum(self.raised.values())

    @property
    def total(self) -> int:
        return self.raised_total + self.goods_and_services + self.other

    def values(self) -> dict[str, int]:
        values = dict(self.raised)
        values["raised_income_total"] = self.raised_total
        values["income_for_goods_and_services"] = self.goods_and_services
        values["other_income"] = self.other
        values["total_income"] = self.total
        return {key: values[key] for key in STATEMENT_KEYS}

    def json(self) -> dict[str, str]:
        return {key: cents_to_str(value) for key, value in self.values().items()}


# ---------------------------------------------------------------------------
# Grant income (pure)
# ---------------------------------------------------------------------------


@dataclass
class GrantIncomeInputs:
    """What a grant's income recognition needs: its terms and its eligible costs by year."""

    id: int
    kind: str
    funder_type: str
    terms: GrantTerms
    budget_lines: list[BudgetLineTerms]
    settled_on: dt.date | None = None
    settled_cents: int | None = None
    fund_id: int | None = None
    restricted: bool = True
    # (budget line code, year) -> eligible expenses in cents
    expenses: dict[tuple[str | None, int], int] = field(default_factory=dict)
    # (budget line code, employee, year, hour rate in cents) -> eligible hours
    hours: dict[tuple[str | None, str, int, int], Decimal] = field(default_factory=dict)

    @property
    def category(self) -> str:
        return FUNDER_LINES[self.funder_type]


def regular_contribution_cumulative(awarded_cents: int, start: dt.date, end: dt.date, up_to: dt.date) -> int:
    """What a regular contribution has earned by `up_to`: pro rata by days (both ends
    counted), rounded half-up, so that the yearly parts add up to the award."""
    if up_to < start:
        return 0
    total_days = (end - start).days + 1
    days = (min(up_to, end) - start).days + 1
    return round_half_up(Decimal(awarded_cents) * days / total_days)


def earned_cumulative(grant: GrantIncomeInputs, up_to_year: int) -> int:
    """What a grant earned up to the end of `up_to_year` by its own terms, before any
    vaststelling: the funder share of its eligible costs (a regular contribution: pro
    rata by days), capped at the awarded amount."""
    year_end = dt.date(up_to_year, 12, 31)
    if grant.kind == "regular_contribution":
        earned = regular_contribution_cumulative(grant.terms.awarded_cents, grant.terms.start, grant.terms.end, year_end)
    else:
        expenses = [ExpenseTotal(line, cents) for (line, year), cents in grant.expenses.items() if year <= up_to_year]
        staff = [
            StaffHours(line, employee, year, hours, rate)
            for (line, employee, year, rate), hours in grant.hours.items()
            if year <= up_to_year
        ]
        earned = eligible_totals(grant.terms, grant.budget_lines, expenses, staff).funder_share_cents
    return min(earned, grant.terms.awarded_cents)


def settled_by(grant: GrantIncomeInputs, up_to_year: int) -> int | None:
    """The settled amount if the vaststelling was made by the end of `up_to_year`."""
    if grant.settled_on is not None and grant.settled_on <= dt.date(up_to_year, 12, 31):
        return grant.settled_cents
    return None


def cumulative_recognised(grant: GrantIncomeInputs, up_to_year: int) -> int:
    """A grant's income recognised up to the end of `up_to_year`: what it earned, or,
    once the vaststelling is made, the settled amount (`accountability.entitled_cents`)."""
    return entitled_cents(earned_cumulative(grant, up_to_year), settled_by(grant, up_to_year))


def recognised_in_year(grant: GrantIncomeInputs, year: int) -> int:
    return cumulative_recognised(grant, year) - cumulative_recognised(grant, year - 1)


def build_statements(
    year: int,
    donations: dict[int, dict[str, int]],
    grants: Iterable[GrantIncomeInputs],
) -> tuple[IncomeStatement, IncomeStatement]:
    """This year's and last year's statement from gathered inputs.

    `donations[year][income line] = cents`, net of what was taken back in that year
    (`fundraising.income.income_by_line`)."""
    current, previous = IncomeStatement(year), IncomeStatement(year - 1)
    grants = list(grants)
    for statement in (current, previous):
        for line, cents in donations.get(statement.year, {}).items():
            if line == GOODS_AND_SERVICES:
                statement.goods_and_services += cents
            else:
                statement.raised[line] += cents
    for grant in grants:
        # Each cumulative figure once: this year's income and last year's share a cut-off.
        upto = {y: cumulative_recognised(grant, y) for y in (year - 2, year - 1, year)}
        current.raised[grant.category] += upto[year] - upto[year - 1]
        previous.raised[grant.category] += upto[year - 1] - upto[year - 2]
    return current, previous


# ---------------------------------------------------------------------------
# Gathering (SQL)
# ---------------------------------------------------------------------------


def grant_income_inputs(session: Session, up_to_year: int) -> list[GrantIncomeInputs]:
    """Every grant that was awarded, with its eligible costs by year up to `up_to_year`."""
    year_end = dt.date(up_to_year, 12, 31)
    grants: dict[int, GrantIncomeInputs] = {}
    rows = session.execute(
        select(Grant.id, Grant.kind, Grant.reference, Grant.title, Grant.start_on, Grant.end_on, Grant.awarded_cents,
               Grant.funding_rate, Grant.indirect_rate, Grant.indirect_base, Grant.allowed_shift, Grant.settled_on,
               Grant.settled_cents, Grant.fund_id, Grant.restricted, Grant.hours_per_year, Funder.name, Funder.type)
        .join(Funder, Funder.id == Grant.funder_id)
        .where(Grant.status != "applied")
    ).all()
    for row in rows:
        funder_name, funder_type = row.name, row.type
        grants[row.id] = GrantIncomeInputs(
            id=row.id,
            kind=row.kind,
            funder_type=funder_type,
            terms=GrantTerms(
                reference=row.reference, title=row.title, funder=funder_name, start=row.start_on, end=row.end_on,
                awarded_cents=row.awarded_cents, funding_rate=row.funding_rate, indirect_rate=row.indirect_rate,
                indirect_base=row.indirect_base, allowed_shift=row.allowed_shift,
            ),
            budget_lines=[],
            settled_on=row.settled_on,
            settled_cents=row.settled_cents,
            fund_id=row.fund_id,
            restricted=row.restricted,
        )
    if not grants:
        return []
    hours_per_year = {g.id: g.hours_per_year for g in rows}
    line_codes: dict[int, str] = {}
    for line in session.execute(select(BudgetLine.id, BudgetLine.grant_id, BudgetLine.code, BudgetLine.name, BudgetLine.amount_cents).order_by(BudgetLine.id)):
        if line.grant_id in grants:
            grants[line.grant_id].budget_lines.append(BudgetLineTerms(line.code, line.name, line.amount_cents))
            line_codes[line.id] = line.code

    spent_year = year_of(Expense.spent_on)
    for grant_id, line_id, year, cents in session.execute(
        select(Expense.grant_id, Expense.budget_line_id, spent_year, sum_int(Expense.amount_cents))
        .where(Expense.grant_id.is_not(None), Expense.eligible.is_(True), Expense.spent_on <= year_end)
        .group_by(Expense.grant_id, Expense.budget_line_id, spent_year)
    ):
        if grant_id in grants:
            grants[grant_id].expenses[(line_codes.get(line_id), year)] = cents

    worked_year = year_of(Timesheet.worked_on)
    hour_rows = session.execute(
        select(Timesheet.grant_id, Timesheet.budget_line_id, Timesheet.employee, worked_year,
               sum_int(Timesheet.eligible_hundredths))
        .where(Timesheet.eligible_hundredths > 0, Timesheet.worked_on <= year_end)
        .group_by(Timesheet.grant_id, Timesheet.budget_line_id, Timesheet.employee, worked_year)
    ).all()
    costs = documented_costs(session, {row.employee for row in hour_rows})
    rates: dict[tuple[str, int, int], int] = {}
    for grant_id, line_id, employee, year, hundredths in hour_rows:
        grant = grants.get(grant_id)
        if grant is None or grant.kind == "regular_contribution":
            continue
        basis = hours_per_year[grant_id]
        key = (employee, year, basis)
        if key not in rates:
            cost = documented_cost_for(costs.get(employee, []), year)
            if cost is None:
                raise ValueError(f"no documented annual cost for {employee} in {year} or before (grant {grant.terms.reference})")
            rates[key] = hour_rate_cents(cost.annual_cost_cents, basis, cost.fte)
        hours_key = (line_codes.get(line_id), employee, year, rates[key])
        grant.hours[hours_key] = grant.hours.get(hours_key, Decimal(0)) + Decimal(hundredths) / 100
    return list(grants.values())


def income_statement(session: Session, year: int) -> tuple[IncomeStatement, IncomeStatement]:
    """This year's and last year's RJ 650 statement."""
    donations = income_by_line(session, year - 1, year)
    return build_statements(year, donations, grant_income_inputs(session, year))


def statement_json(year: int, current: IncomeStatement, previous: IncomeStatement) -> dict[str, Any]:
    """The JSON document of `anbi reports income --format json` (DESIGN.md)."""
    return {"year": year, "current": current.json(), "previous": previous.json()}
