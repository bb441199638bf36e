"""Gathering one grant's accountability figures from the database, and its JSON form.

The inputs of `subsidies.accountability.account_for` are aggregated in SQL — eligible
expenses summed per budget line, eligible hours summed per budget line, employee and
year — so a grant with a hundred thousand cost rows costs two round trips (the grant,
then one UNION ALL of its grouped totals), never a Python loop over its rows. Only
the ineligible rows are listed one by one (they are the exceptions a funder asks
about), and `audit_expenses` / `audit_timesheets` stream every row for the XLSX
audit sheets.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Date, Integer, String, and_, bindparam, cast, extract, func, literal, null, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from anbi.core.money import cents_to_str, round_half_up
from anbi.core.spelling import other_case
from subsidies.accountability import (
    BudgetLineTerms,
    ExpenseTotal,
    Figures,
    GrantTerms,
    IndicatorProgress,
    IneligibleItem,
    PaymentTotals,
    StaffHours,
    account_for,
)
from subsidies.costs import documented_costs
from subsidies.grants import decimal_text
from subsidies.errors import GrantNotFound
from subsidies.hours import DocumentedCost, documented_cost_for, hour_rate_cents
from subsidies.models import BudgetLine, Expense, Funder, Grant, GrantPayment, Indicator, Output, StaffCost, Timesheet

HUNDRED = Decimal(100)


def sum_int(column):
    """SUM of an integer column as a BIGINT, 0 without rows (PostgreSQL sums BIGINT to NUMERIC)."""
    return cast(func.coalesce(func.sum(column), 0), BigInteger)


def year_of(column):
    return cast(extract("year", column), Integer)


def terms_of(grant) -> GrantTerms:
    """The terms of a grant row (a Grant, or a row with its columns and `funder`)."""
    funder = grant.funder if isinstance(grant.funder, str) else grant.funder.name
    return GrantTerms(
        reference=grant.reference,
        title=grant.title,
        funder=funder,
        start=grant.start_on,
        end=grant.end_on,
        awarded_cents=grant.awarded_cents,
        funding_rate=grant.funding_rate,
        indirect_rate=grant.indirect_rate,
        indirect_base=grant.indirect_base,
        allowed_shift=grant.allowed_shift,
        accountability=grant.accountability,
        settled_cents=grant.settled_cents,
        currency=grant.currency,
    )


def _window(column, period_from: dt.date | None, period_to: dt.date | None):
    conditions = []
    if period_from is not None:
        conditions.append(column >= period_from)
    if period_to is not None:
        conditions.append(column <= period_to)
    return and_(True, *conditions)


@dataclass(frozen=True)
class HourRate:
    """The hour rate that prices one employee's hours in one year on one grant."""

    employee: str
    year: int
    cost: DocumentedCost
    hours_per_year: int
    rate_cents: int


def price_hours(grant, costs: dict[str, list[DocumentedCost]], pairs) -> dict[tuple[str, int], HourRate]:
    """Hour rates under `grant`'s hours basis (a Grant, or a row with reference and
    hours_per_year) for each (employee, year), from the documented costs."""
    rates = {}
    for employee, year in set(pairs):
        cost = documented_cost_for(costs.get(employee, []), year)
        if cost is None:
            # Imports refuse such hours; a line loaded another way must not be priced at 0 silently.
            raise ValueError(f"no documented annual cost for {employee} in {year} or before (grant {grant.reference})")
        rates[(employee, year)] = HourRate(employee, year, cost, grant.hours_per_year,
                                           hour_rate_cents(cost.annual_cost_cents, grant.hours_per_year, cost.fte))
    return rates


def hour_rates(session: Session, grant, pairs) -> dict[tuple[str, int], HourRate]:
    pairs = set(pairs)
    return price_hours(grant, documented_costs(session, (employee for employee, _ in pairs)), pairs)


EARLIEST, LATEST = dt.date(1, 1, 1), dt.date(9999, 12, 31)


@lru_cache(maxsize=1)
def _statements():
    """The report's two queries, built once: the grant by its reference, then one
    UNION ALL of everything else about it, each branch tagged by `kind`:

    line, indicator        the budget lines and indicators (note = name, total = budget / target)
    expense                eligible expenses summed per budget line
    hours                  hours per budget line, employee and year (total = eligible, extra = all)
    payment, output        payments summed per kind (name), outputs per indicator (key)
    x-expense, x-hours     the rows that are not (fully) eligible, one by one, with their reason
    staff                  documented annual costs (note = FTE) of the employees with hours here

    The hours are grouped once (a CTE) for their branch and for finding whose costs
    are needed. Two round trips keep a report near the cost of the bare aggregation."""
    grant_id: BindParameter[Any] = bindparam("grant_id")
    low, high = bindparam("period_from", type_=Date), bindparam("period_to", type_=Date)
    no_key, no_text, no_year, no_day = cast(null(), BigInteger), cast(null(), String(300)), cast(null(), Integer), cast(null(), Date)
    zero = literal(0, BigInteger)

    def kind(name: str):
        return literal(name, String(10))

    grant = (
        select(Grant.id, Grant.reference, Grant.title, Grant.start_on, Grant.end_on, Grant.awarded_cents, Grant.currency,
               Grant.funding_rate, Grant.indirect_rate, Grant.indirect_base, Grant.allowed_shift, Grant.accountability,
               Grant.settled_cents, Grant.hours_per_year, Funder.name.label("funder"))
        .join(Funder, Funder.id == Grant.funder_id)
        .where(Grant.reference == bindparam("reference"))
    )
    year = year_of(Timesheet.worked_on)
    hours = (
        select(Timesheet.budget_line_id.label("line_id"), Timesheet.employee.label("employee"), year.label("year"),
               sum_int(Timesheet.eligible_hundredths).label("eligible"), sum_int(Timesheet.hours_hundredths).label("hours"))
        .where(Timesheet.grant_id == grant_id, Timesheet.worked_on.between(low, high))
        .group_by(Timesheet.budget_line_id, Timesheet.employee, year)
        .cte("hours")
    )
    facts = union_all(
        select(kind("line").label("kind"), BudgetLine.id.label("key"), BudgetLine.code.label("name"), no_year.label("year"),
               no_day.label("day"), no_text.label("reference"), BudgetLine.name.label("note"),
               BudgetLine.amount_cents.label("total"), zero.label("extra"))
        .where(BudgetLine.grant_id == grant_id),
        select(kind("indicator"), Indicator.id, Indicator.code, no_year, no_day, no_text, Indicator.name, Indicator.target, zero)
        .where(Indicator.grant_id == grant_id),
        select(kind("expense"), Expense.budget_line_id, no_text, no_year, no_day, no_text, no_text, sum_int(Expense.amount_cents), zero)
        .where(Expense.grant_id == grant_id, Expense.eligible.is_(True), Expense.spent_on.between(low, high))
        .group_by(Expense.budget_line_id),
        select(kind("hours"), hours.c.line_id, hours.c.employee, hours.c.year, no_day, no_text, no_text,
               hours.c.eligible, hours.c.hours),
        select(kind("payment"), no_key, GrantPayment.kind, no_year, no_day, no_text, no_text, sum_int(GrantPayment.amount_cents), zero)
        .where(GrantPayment.grant_id == grant_id, GrantPayment.paid_on.between(low, high))
        .group_by(GrantPayment.kind),
        select(kind("output"), Output.indicator_id, no_text, no_year, no_day, no_text, no_text, sum_int(Output.value), zero)
        .where(Output.grant_id == grant_id, Output.achieved_on.between(low, high))
        .group_by(Output.indicator_id),
        select(kind("x-expense"), Expense.budget_line_id, no_text, no_year, Expense.spent_on, Expense.reference, Expense.reason,
               Expense.amount_cents, zero)
        # `== False` (not `is_`): the same term as the partial index ix_expenses_not_eligible.
        .where(Expense.grant_id == grant_id, Expense.eligible == False, Expense.spent_on.between(low, high)),  # noqa: E712
        select(kind("x-hours"), Timesheet.budget_line_id, Timesheet.employee, no_year, Timesheet.worked_on, Timesheet.reference,
               Timesheet.ineligible_reason, Timesheet.hours_hundredths - Timesheet.eligible_hundredths, zero)
        .where(Timesheet.grant_id == grant_id, Timesheet.eligible_hundredths < Timesheet.hours_hundredths,
               Timesheet.worked_on.between(low, high)),
        select(kind("staff"), no_key, StaffCost.employee, StaffCost.year, no_day, no_text, StaffCost.fte,
               StaffCost.annual_cost_cents, zero)
        .where(StaffCost.employee.in_(select(hours.c.employee))),
    )
    return grant, facts


def gather(
    session: Session, reference: str, *, period_from: dt.date | None = None, period_to: dt.date | None = None
) -> Figures:
    """One grant's figures, for the whole grant or for an interim period."""
    grant_statement, facts_statement = _statements()
    # Plain Core statements: run them on the session's connection, past the ORM layer.
    connection = session.connection()
    grant = connection.execute(grant_statement, {"reference": reference}).one_or_none()
    if grant is None:
        raise GrantNotFound(reference, other_case(session, Grant.reference, reference))
    parameters = {"grant_id": grant.id, "period_from": period_from or EARLIEST, "period_to": period_to or LATEST}

    lines, indicator_rows, expenses, hour_rows, not_eligible = [], [], [], [], []
    costs: dict[str, list[DocumentedCost]] = {}
    paid: dict[str, int] = {}
    achieved: dict[int, int] = {}
    for row in connection.execute(facts_statement, parameters).all():
        if row.kind == "line":
            lines.append(row)
        elif row.kind == "indicator":
            indicator_rows.append(row)
        elif row.kind == "expense":
            expenses.append(row)
        elif row.kind == "hours":
            hour_rows.append(row)
        elif row.kind == "payment":
            paid[row.name] = row.total
        elif row.kind == "output":
            achieved[row.key] = row.total
        elif row.kind in ("x-expense", "x-hours"):
            not_eligible.append(row)
        else:  # staff
            costs.setdefault(row.name, []).append(DocumentedCost(row.year, row.total, Decimal(row.note)))
    lines.sort(key=lambda line: line.key)
    indicator_rows.sort(key=lambda indicator: indicator.key)
    line_codes = {line.key: line.name for line in lines}

    pairs = {(row.name, row.year) for row in hour_rows}
    pairs |= {(row.name, row.day.year) for row in not_eligible if row.kind == "x-hours"}
    rates = price_hours(grant, costs, pairs)
    staff = [
        StaffHours(line_codes.get(row.key), row.name, row.year, Decimal(row.total) / HUNDRED, rates[(row.name, row.year)].rate_cents)
        for row in hour_rows
        if row.total
    ]
    ineligible = []
    for row in not_eligible:
        line = line_codes.get(row.key)
        if row.kind == "x-expense":
            ineligible.append(IneligibleItem("expense", row.reference, row.day, line, Decimal(row.total), row.note or "not eligible"))
        else:
            hours = Decimal(row.total) / HUNDRED
            rate = rates[(row.name, row.day.year)].rate_cents
            ineligible.append(IneligibleItem("timesheet", row.reference, row.day, line, hours * rate,
                                             row.note or "not eligible", row.name, hours))

    return account_for(
        terms_of(grant),
        [BudgetLineTerms(line.name, line.note, line.total) for line in lines],
        [ExpenseTotal(line_codes.get(row.key), row.total) for row in expenses],
        staff,
        ineligible=ineligible,
        payments=PaymentTotals(paid.get("advance", 0), paid.get("settlement", 0), paid.get("repayment", 0)),
        indicators=[IndicatorProgress(i.name, i.note, i.total, achieved.get(i.key, 0)) for i in indicator_rows],
        period_from=period_from,
        period_to=period_to,
    )


def figures_json(figures: Figures) -> dict[str, Any]:
    """The report as JSON: the keys issue 5 names, amounts as "1234.56" strings."""
    terms = figures.terms
    return {
        "reference": terms.reference,
        "title": terms.title,
        "funder": terms.funder,
        "period": {"start": terms.start.isoformat(), "end": terms.end.isoformat()},
        "awarded": cents_to_str(terms.awarded_cents),
        "funding_rate": decimal_text(terms.funding_rate),
        "budget_lines": [
            {
                "code": line.code,
                "name": line.name,
                "budget": cents_to_str(line.budget_cents),
                "actual": cents_to_str(line.actual_cents),
                "variance": cents_to_str(line.variance_cents),
                "variance_pct": float(line.variance_pct) if line.variance_pct is not None else None,
                "over_budget": line.over_budget,
            }
            for line in figures.lines
        ],
        "direct_eligible": cents_to_str(figures.direct_eligible_cents),
        "ineligible": cents_to_str(figures.ineligible_cents),
        "indirect": cents_to_str(figures.indirect_cents),
        "total_eligible": cents_to_str(figures.total_eligible_cents),
        "funder_share": cents_to_str(figures.funder_share_cents),
        "received": cents_to_str(figures.received_cents),
        "balance": cents_to_str(figures.balance_cents),
        "accountability_level": figures.accountability_level,
        "indicators": [
            {"code": i.code, "name": i.name, "target": i.target, "actual": i.actual} for i in figures.indicators
        ],
        "ineligible_items": [
            {
                "kind": item.kind,
                "reference": item.reference,
                "date": item.date.isoformat(),
                "budget_line": item.budget_line,
                "employee": item.employee,
                "hours": f"{item.hours:.2f}" if item.hours is not None else None,
                "amount": cents_to_str(round_half_up(item.amount)),
                "reason": item.reason,
            }
            for item in figures.ineligible_items
        ],
        "warnings": list(figures.warnings),
    }


# ---------------------------------------------------------------------------
# The audit trail: every row behind the totals (streamed, for the XLSX)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpenseRow:
    reference: str
    date: dt.date
    budget_line: str | None
    description: str | None
    amount_cents: int
    eligible: bool
    reason: str | None


@dataclass(frozen=True)
class TimesheetRow:
    reference: str
    employee: str
    date: dt.date                    # the day, or a period's last day
    budget_line: str | None
    hours_hundredths: int
    eligible_hundredths: int
    reason: str | None
    period_start: dt.date | None = None   # a period's first day; None for one day


def audit_expenses(
    session: Session, grant: Grant, period_from: dt.date | None = None, period_to: dt.date | None = None
) -> Iterator[ExpenseRow]:
    lines = {line.id: line.code for line in grant.budget_lines}
    result = session.execute(
        select(Expense.reference, Expense.spent_on, Expense.budget_line_id, Expense.description, Expense.amount_cents,
               Expense.eligible, Expense.reason)
        .where(Expense.grant_id == grant.id, _window(Expense.spent_on, period_from, period_to))
        .order_by(Expense.spent_on, Expense.id)
        .execution_options(yield_per=2000)
    )
    for row in result:
        yield ExpenseRow(row.reference, row.spent_on, lines.get(row.budget_line_id), row.description, row.amount_cents,
                         row.eligible, row.reason)


def audit_timesheets(
    session: Session, grant: Grant, period_from: dt.date | None = None, period_to: dt.date | None = None
) -> Iterator[TimesheetRow]:
    lines = {line.id: line.code for line in grant.budget_lines}
    result = session.execute(
        select(Timesheet.reference, Timesheet.employee, Timesheet.worked_on, Timesheet.budget_line_id,
               Timesheet.hours_hundredths, Timesheet.eligible_hundredths, Timesheet.ineligible_reason,
               Timesheet.period_start)
        .where(Timesheet.grant_id == grant.id, _window(Timesheet.worked_on, period_from, period_to))
        .order_by(Timesheet.worked_on, Timesheet.id)
        .execution_options(yield_per=2000)
    )
    for row in result:
        yield TimesheetRow(row.reference, row.employee, row.worked_on, lines.get(row.budget_line_id),
                           row.hours_hundredths, row.eligible_hundredths, row.ineligible_reason, row.period_start)


def payment_rows(session: Session, grant: Grant, period_from=None, period_to=None) -> list[tuple[str, dt.date, str, int]]:
    return [(row.reference, row.paid_on, row.kind, row.amount_cents) for row in session.execute(
        select(GrantPayment.reference, GrantPayment.paid_on, GrantPayment.kind, GrantPayment.amount_cents)
        .where(GrantPayment.grant_id == grant.id, _window(GrantPayment.paid_on, period_from, period_to))
        .order_by(GrantPayment.paid_on, GrantPayment.id)
    )]


