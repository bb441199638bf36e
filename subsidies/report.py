"""Gathering one grant's accountability figures from the database, and its JSON form.

The inputs of `subsidies.accountability.account_for` are aggregated in SQL — eligible
expenses summed per budget line, eligible hours summed per budget line, employee and
year — so a grant with a hundred thousand cost rows costs a handful of grouped
queries, never a Python loop over its rows. Only the ineligible rows are listed one
by one (they are the exceptions a funder asks about), and `audit_trail` streams every
row for the XLSX audit sheet.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Integer, and_, cast, extract, func, select
from sqlalchemy.orm import Session

from anbi.core.money import cents_to_str, round_half_up
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
from subsidies.grants import decimal_text, find_grant
from subsidies.hours import DocumentedCost, documented_cost_for, hour_rate_cents
from subsidies.models import Expense, Grant, GrantPayment, Output, Timesheet

HUNDRED = Decimal(100)


def sum_int(column):
    """SUM of an integer column as a BIGINT, 0 without rows (PostgreSQL sums BIGINT to NUMERIC)."""
    return cast(func.coalesce(func.sum(column), 0), BigInteger)


def year_of(column):
    return cast(extract("year", column), Integer)


def terms_of(grant: Grant) -> GrantTerms:
    return GrantTerms(
        reference=grant.reference,
        title=grant.title,
        funder=grant.funder.name,
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


def hour_rates(session: Session, grant: Grant, pairs) -> dict[tuple[str, int], HourRate]:
    pairs = set(pairs)
    costs = documented_costs(session, (employee for employee, _ in pairs))
    rates = {}
    for employee, year in pairs:
        cost = documented_cost_for(costs.get(employee, []), year)
        if cost is None:
            # Imports refuse such hours; a line loaded another way must not be priced at 0 silently.
            raise ValueError(f"no documented annual cost for {employee} in {year} or before (grant {grant.reference})")
        rates[(employee, year)] = HourRate(employee, year, cost, grant.hours_per_year,
                                           hour_rate_cents(cost.annual_cost_cents, grant.hours_per_year, cost.fte))
    return rates


def gather(
    session: Session, reference: str, *, period_from: dt.date | None = None, period_to: dt.date | None = None
) -> Figures:
    """One grant's figures, for the whole grant or for an interim period."""
    grant = find_grant(session, reference)
    line_codes = {line.id: line.code for line in grant.budget_lines}

    expense_rows = session.execute(
        select(Expense.budget_line_id, sum_int(Expense.amount_cents))
        .where(Expense.grant_id == grant.id, Expense.eligible.is_(True), _window(Expense.spent_on, period_from, period_to))
        .group_by(Expense.budget_line_id)
    ).all()
    expenses = [ExpenseTotal(line_codes.get(line_id), total) for line_id, total in expense_rows]

    year = year_of(Timesheet.worked_on)
    hour_rows = session.execute(
        select(Timesheet.budget_line_id, Timesheet.employee, year, sum_int(Timesheet.eligible_hundredths),
               sum_int(Timesheet.hours_hundredths))
        .where(Timesheet.grant_id == grant.id, _window(Timesheet.worked_on, period_from, period_to))
        .group_by(Timesheet.budget_line_id, Timesheet.employee, year)
    ).all()
    rates = hour_rates(session, grant, ((employee, y) for _, employee, y, _, _ in hour_rows)) if hour_rows else {}
    staff = [
        StaffHours(line_codes.get(line_id), employee, y, Decimal(eligible) / HUNDRED, rates[(employee, y)].rate_cents)
        for line_id, employee, y, eligible, _ in hour_rows
        if eligible
    ]

    ineligible = []
    for row in session.execute(
        select(Expense.reference, Expense.spent_on, Expense.budget_line_id, Expense.amount_cents, Expense.reason)
        .where(Expense.grant_id == grant.id, Expense.eligible.is_(False), _window(Expense.spent_on, period_from, period_to))
    ):
        ineligible.append(IneligibleItem("expense", row.reference, row.spent_on, line_codes.get(row.budget_line_id),
                                         Decimal(row.amount_cents), row.reason or "not eligible"))
    for row in session.execute(
        select(Timesheet.reference, Timesheet.worked_on, Timesheet.budget_line_id, Timesheet.employee,
               Timesheet.hours_hundredths, Timesheet.eligible_hundredths, Timesheet.ineligible_reason)
        .where(Timesheet.grant_id == grant.id, Timesheet.eligible_hundredths < Timesheet.hours_hundredths,
               _window(Timesheet.worked_on, period_from, period_to))
    ):
        hours = Decimal(row.hours_hundredths - row.eligible_hundredths) / HUNDRED
        rate = rates[(row.employee, row.worked_on.year)].rate_cents
        ineligible.append(IneligibleItem("timesheet", row.reference, row.worked_on, line_codes.get(row.budget_line_id),
                                         hours * rate, row.ineligible_reason or "not eligible", row.employee, hours))

    paid = dict(session.execute(
        select(GrantPayment.kind, sum_int(GrantPayment.amount_cents))
        .where(GrantPayment.grant_id == grant.id, _window(GrantPayment.paid_on, period_from, period_to))
        .group_by(GrantPayment.kind)
    ).all())
    payments = PaymentTotals(paid.get("advance", 0), paid.get("settlement", 0), paid.get("repayment", 0))

    achieved = dict(session.execute(
        select(Output.indicator_id, sum_int(Output.value))
        .where(Output.grant_id == grant.id, _window(Output.achieved_on, period_from, period_to))
        .group_by(Output.indicator_id)
    ).all())
    indicators = [IndicatorProgress(i.code, i.name, i.target, achieved.get(i.id, 0)) for i in grant.indicators]

    return account_for(
        terms_of(grant),
        [BudgetLineTerms(line.code, line.name, line.amount_cents) for line in grant.budget_lines],
        expenses,
        staff,
        ineligible=ineligible,
        payments=payments,
        indicators=indicators,
        period_from=period_from,
        period_to=period_to,
    )


def _exact(cents: Decimal) -> str:
    """Exact cents as euros, with as many decimals as it needs (at least two)."""
    value = (cents / HUNDRED).normalize()
    text = format(value, "f")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


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
    date: dt.date
    budget_line: str | None
    hours_hundredths: int
    eligible_hundredths: int
    reason: str | None


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
               Timesheet.hours_hundredths, Timesheet.eligible_hundredths, Timesheet.ineligible_reason)
        .where(Timesheet.grant_id == grant.id, _window(Timesheet.worked_on, period_from, period_to))
        .order_by(Timesheet.worked_on, Timesheet.id)
        .execution_options(yield_per=2000)
    )
    for row in result:
        yield TimesheetRow(row.reference, row.employee, row.worked_on, lines.get(row.budget_line_id),
                           row.hours_hundredths, row.eligible_hundredths, row.ineligible_reason)


def payment_rows(session: Session, grant: Grant, period_from=None, period_to=None) -> list[tuple[str, dt.date, str, int]]:
    return [tuple(row) for row in session.execute(
        select(GrantPayment.reference, GrantPayment.paid_on, GrantPayment.kind, GrantPayment.amount_cents)
        .where(GrantPayment.grant_id == grant.id, _window(GrantPayment.paid_on, period_from, period_to))
        .order_by(GrantPayment.paid_on, GrantPayment.id)
    )]


