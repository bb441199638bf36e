"""Earmarked funds (bestemmingsfondsen, DOMAIN.md 2.4): money a third party gave for
one purpose, and what is left of it.

A fund exists once a donation, a restricted grant or `anbi funds add` names it.
Per fund and year:

- income: earmarked donations net of refunds (refunds on their own dates) and, for a
  restricted grant's fund, the payments the funder made (advances + settlements −
  repayments);
- spending: the costs charged to the fund and, for a grant's fund, the funder share
  of the grant's eligible costs — the same amount the income statement recognises;
- opening = everything before the year; closing = opening + income − spending
  (negative: money still to receive from a funder).

`fund_balances` is the plain arithmetic; `funds_report` gathers its inputs with
grouped queries.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from anbi.core import audit
from anbi.core.money import cents_to_str
from fundraising.models import Donation, Fund
from fundraising.income import income_by_fund
from subsidies.income import cumulative_recognised, grant_income_inputs
from subsidies.models import Expense, GrantPayment
from subsidies.report import sum_int


@dataclass(frozen=True)
class FundMovements:
    """A fund's money before the year and in it, in cents."""

    code: str
    name: str
    income_before: int = 0
    spending_before: int = 0
    income: int = 0
    spending: int = 0


@dataclass(frozen=True)
class FundBalance:
    code: str
    name: str
    opening: int
    income: int
    spending: int
    closing: int

    def json(self) -> dict[str, str]:
        return {
            "code": self.code,
            "name": self.name,
            "opening": cents_to_str(self.opening),
            "income": cents_to_str(self.income),
            "spending": cents_to_str(self.spending),
            "closing": cents_to_str(self.closing),
        }


def fund_balances(movements: list[FundMovements]) -> list[FundBalance]:
    balances = []
    for m in sorted(movements, key=lambda m: m.code):
        opening = m.income_before - m.spending_before
        balances.append(FundBalance(m.code, m.name, opening, m.income, m.spending, opening + m.income - m.spending))
    return balances


def add_fund(session: Session, code: str, name: str, *, actor: str) -> tuple[Fund, bool]:
    """`anbi funds add`: a new fund, or a new name for an existing one."""
    code, name = code.strip(), name.strip()
    if not code or len(code) > 50:
        raise ValueError("a fund code is 1 to 50 characters")
    if not name or len(name) > 200:
        raise ValueError("a fund name is 1 to 200 characters")
    fund = session.scalar(select(Fund).where(Fund.code == code))
    if fund is not None:
        if fund.name == name:
            return fund, False
        old = fund.name
        fund.name = name
        session.flush()
        audit.record(session, actor=actor, action="fund.rename", entity="fund", entity_ref=code, details={"from": old, "to": name})
        return fund, False
    fund = Fund(code=code, name=name)
    session.add(fund)
    session.flush()
    audit.record(session, actor=actor, action="fund.add", entity="fund", entity_ref=code, details={"name": name})
    return fund, True


def fund_movements(session: Session, year: int) -> list[FundMovements]:
    start = dt.date(year, 1, 1)
    end = dt.date(year, 12, 31)
    funds = {fund.id: fund for fund in session.scalars(select(Fund))}
    income_before: dict[int, int] = defaultdict(int)
    income: dict[int, int] = defaultdict(int)
    spending_before: dict[int, int] = defaultdict(int)
    spending: dict[int, int] = defaultdict(int)

    # Earmarked donations (whole payments, net of what was taken back), by year.
    first_year = _first_year(session) or year
    for donation_year, by_fund in income_by_fund(session, min(first_year, year), year).items():
        for fund_id, cents in by_fund.items():
            target = income if donation_year == year else income_before
            target[fund_id] += cents

    # Costs charged to a fund.
    before = case((Expense.spent_on < start, Expense.amount_cents), else_=0)
    within = case((Expense.spent_on >= start, Expense.amount_cents), else_=0)
    for fund_id, spent_before, spent in session.execute(
        select(Expense.fund_id, sum_int(before), sum_int(within))
        .where(Expense.fund_id.is_not(None), Expense.spent_on <= end)
        .group_by(Expense.fund_id)
    ):
        spending_before[fund_id] += spent_before
        spending[fund_id] += spent

    # A restricted grant's fund: the funder's payments in, the funder share out.
    signed = case((GrantPayment.kind == "repayment", -GrantPayment.amount_cents), else_=GrantPayment.amount_cents)
    paid_before = case((GrantPayment.paid_on < start, signed), else_=0)
    paid_within = case((GrantPayment.paid_on >= start, signed), else_=0)
    paid = {
        grant_id: (b, w)
        for grant_id, b, w in session.execute(
            select(GrantPayment.grant_id, sum_int(paid_before), sum_int(paid_within))
            .where(GrantPayment.paid_on <= end)
            .group_by(GrantPayment.grant_id)
        )
    }
    for grant in grant_income_inputs(session, year):
        if grant.fund_id is None or not grant.restricted:
            continue
        b, w = paid.get(grant.id, (0, 0))
        income_before[grant.fund_id] += b
        income[grant.fund_id] += w
        recognised_before = cumulative_recognised(grant, year - 1)
        spending_before[grant.fund_id] += recognised_before
        spending[grant.fund_id] += cumulative_recognised(grant, year) - recognised_before

    return [
        FundMovements(fund.code, fund.name, income_before[fid], spending_before[fid], income[fid], spending[fid])
        for fid, fund in funds.items()
    ]


def _first_year(session: Session) -> int | None:
    first = session.scalar(select(func.min(Donation.received_on)).where(Donation.fund_id.is_not(None)))
    return first.year if first else None


def funds_report(session: Session, year: int) -> list[FundBalance]:
    return fund_balances(fund_movements(session, year))
