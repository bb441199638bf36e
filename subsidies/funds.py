"""Earmarked funds (bestemmingsfondsen, DOMAIN.md 2.4): money a third party gave for
one purpose and what is left of it — and, apart from them, what each grant's funder
still owes or is owed.

A fund exists once a donation, a restricted grant or `anbi funds add` names it.
Per fund and year:

- income: earmarked donations net of refunds (refunds on their own dates) and, for a
  restricted grant's fund, the grant income the year recognises (as the income
  statement does: the funder share of the costs made, the settled amount from the
  vaststelling on);
- spending: the costs charged to the fund and, for a grant's fund, the grant's costs
  that income pays for — the same amount, because a grant's income is recognised as
  its costs are made (RJ 650, DOMAIN.md 2.2): what a grant brings into its fund is
  spent in the same year;
- opening = everything before the year; closing = opening + income − spending.

Per grant that was awarded, apart from the funds: its balance with the funder at the
start and end of the year — positive still to receive (te ontvangen), negative
received ahead of its costs or to repay (vooruitontvangen, terug te betalen) — which
is what the grant is entitled to by then less what was received by then
(`subsidies.accountability.grant_balance`, the grant report's balance: after the
vaststelling, the settled amount less what was received). Money a funder still owes
is a receivable, never a negative bestemmingsfonds.

`fund_balances` and `grant_position` are the plain arithmetic; `funds_report`
gathers their inputs with grouped queries.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from anbi.core import audit
from anbi.core.money import cents_to_str
from fundraising.income import income_by_fund
from fundraising.models import Donation, Fund
from subsidies.accountability import grant_balance
from subsidies.income import GrantIncomeInputs, cumulative_recognised, earned_cumulative, grant_income_inputs, settled_by
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


@dataclass(frozen=True)
class GrantPosition:
    """A grant's balance with its funder over one year, in cents: positive still to
    receive, negative received ahead or to repay."""

    reference: str
    title: str
    fund: str | None             # the fund it feeds (restricted grants), if any
    opening: int
    recognised: int              # income the year recognises
    received: int                # payments in the year (repayments negative)
    closing: int

    def json(self) -> dict[str, str | None]:
        return {
            "reference": self.reference,
            "title": self.title,
            "fund": self.fund,
            "opening": cents_to_str(self.opening),
            "recognised": cents_to_str(self.recognised),
            "received": cents_to_str(self.received),
            "closing": cents_to_str(self.closing),
        }


@dataclass(frozen=True)
class FundsReport:
    year: int
    funds: list[FundBalance]
    grants: list[GrantPosition]

    def json(self) -> dict:
        return {"year": self.year, "funds": [f.json() for f in self.funds], "grants": [g.json() for g in self.grants]}


def fund_balances(movements: list[FundMovements]) -> list[FundBalance]:
    balances = []
    for m in sorted(movements, key=lambda m: m.code):
        opening = m.income_before - m.spending_before
        balances.append(FundBalance(m.code, m.name, opening, m.income, m.spending, opening + m.income - m.spending))
    return balances


def grant_position(grant: GrantIncomeInputs, year: int, received_before: int, received_within: int,
                   fund: str | None = None) -> GrantPosition:
    """Where a grant stands with its funder at the start and the end of `year`."""
    opening = grant_balance(earned_cumulative(grant, year - 1), settled_by(grant, year - 1), received_before)
    closing = grant_balance(earned_cumulative(grant, year), settled_by(grant, year), received_before + received_within)
    recognised = cumulative_recognised(grant, year) - cumulative_recognised(grant, year - 1)
    return GrantPosition(grant.terms.reference, grant.terms.title, fund, opening, recognised, received_within, closing)


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


def fund_movements(session: Session, year: int, grants: list[GrantIncomeInputs]) -> list[FundMovements]:
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

    # A restricted grant's fund: the income recognised in, the costs it pays for out.
    for grant in grants:
        if grant.fund_id is None or not grant.restricted:
            continue
        recognised_before = cumulative_recognised(grant, year - 1)
        recognised = cumulative_recognised(grant, year) - recognised_before
        income_before[grant.fund_id] += recognised_before
        spending_before[grant.fund_id] += recognised_before
        income[grant.fund_id] += recognised
        spending[grant.fund_id] += recognised

    return [
        FundMovements(fund.code, fund.name, income_before[fid], spending_before[fid], income[fid], spending[fid])
        for fid, fund in funds.items()
    ]


def grant_payments(session: Session, year: int) -> dict[int, tuple[int, int]]:
    """Per grant: what the funder paid before `year` and in it (repayments negative)."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    signed = case((GrantPayment.kind == "repayment", -GrantPayment.amount_cents), else_=GrantPayment.amount_cents)
    paid_before = case((GrantPayment.paid_on < start, signed), else_=0)
    paid_within = case((GrantPayment.paid_on >= start, signed), else_=0)
    return {
        grant_id: (before, within)
        for grant_id, before, within in session.execute(
            select(GrantPayment.grant_id, sum_int(paid_before), sum_int(paid_within))
            .where(GrantPayment.paid_on <= end)
            .group_by(GrantPayment.grant_id)
        )
    }


def _first_year(session: Session) -> int | None:
    first = session.scalar(select(func.min(Donation.received_on)).where(Donation.fund_id.is_not(None)))
    return first.year if first else None


def funds_report(session: Session, year: int) -> FundsReport:
    """The funds, and apart from them the grants' balances with their funders, for `year`."""
    grants = grant_income_inputs(session, year)
    codes = dict(session.execute(select(Fund.id, Fund.code)).all())
    paid = grant_payments(session, year)
    positions = [grant_position(grant, year, *paid.get(grant.id, (0, 0)),
                                fund=codes.get(grant.fund_id) if grant.restricted and grant.fund_id is not None else None)
                 for grant in grants]
    positions = sorted((p for p in positions if any((p.opening, p.recognised, p.received, p.closing))),
                       key=lambda p: p.reference)
    return FundsReport(year, fund_balances(fund_movements(session, year, grants)), positions)
