"""Subsidy income recognition and the statement's arithmetic, without a database
(which line a gift takes: tests/fundraising/test_income.py)."""
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from subsidies.accountability import BudgetLineTerms, GrantTerms
from subsidies.funds import FundMovements, fund_balances, grant_position
from subsidies.income import (
    GrantIncomeInputs,
    IncomeStatement,
    build_statements,
    cumulative_recognised,
    recognised_in_year,
    regular_contribution_cumulative,
)

D = dt.date


@pytest.mark.parametrize(
    ("up_to", "expected"),
    [
        (D(2024, 6, 30), 0),
        (D(2024, 7, 1), 273_973),            # 1/365 of 1.000.000,00 = 2.739,726… → 2.739,73
        (D(2024, 12, 31), 50_410_959),       # 184/365 = 504.109,589… → 504.109,59
        (D(2025, 6, 30), 100_000_000),
        (D(2026, 1, 1), 100_000_000),
    ],
)
def test_regular_contribution_pro_rata_by_days(up_to, expected):
    assert regular_contribution_cumulative(100_000_000, D(2024, 7, 1), D(2025, 6, 30), up_to) == expected


def project(**fields) -> GrantIncomeInputs:
    terms = GrantTerms(reference="P", title="P", funder="F", start=D(2024, 1, 1), end=D(2025, 12, 31),
                       awarded_cents=fields.pop("awarded_cents", 1_000_000), funding_rate=Decimal("0.75"),
                       indirect_rate=Decimal("0.07"), indirect_base="direct")
    defaults: dict[str, Any] = dict(id=1, kind="project", funder_type="eu", terms=terms,
                    budget_lines=[BudgetLineTerms("staff", "Personeel", 1_000_000), BudgetLineTerms("other", "Overig", 100_000)])
    defaults.update(fields)
    return GrantIncomeInputs(**defaults)


def test_project_income_follows_the_eligible_costs_year_by_year():
    grant = project(
        expenses={("other", 2024): 100_000, ("other", 2025): 50_000},
        hours={("staff", "E1", 2024, 2800): Decimal("10"), ("staff", "E1", 2025, 2900): Decimal("7.33")},
    )
    # 2024: staff 280,00 + other 1.000,00 = 1.280,00; + 7% 89,60 = 1.369,60; × 75% = 1.027,20
    assert cumulative_recognised(grant, 2024) == 102_720
    # to 2025: staff 280,00 + 212,57 (7,33 × 29,00 = 212,57) = 492,57; other 1.500,00; direct 1.992,57;
    # 7% = 139,4799 → 139,48; total 2.132,05; × 75% = 1.599,0375 → 1.599,04
    assert cumulative_recognised(grant, 2025) == 159_904
    assert recognised_in_year(grant, 2025) == 159_904 - 102_720
    assert recognised_in_year(grant, 2023) == 0


def test_project_income_is_capped_at_the_award_then_at_the_settled_amount():
    grant = project(awarded_cents=100_000, expenses={("other", 2024): 1_000_000},
                    settled_on=D(2025, 6, 1), settled_cents=80_000)
    assert cumulative_recognised(grant, 2024) == 100_000          # capped at the awarded 1.000,00
    assert cumulative_recognised(grant, 2025) == 80_000           # the vaststelling set 800,00
    assert recognised_in_year(grant, 2025) == -20_000             # the difference counts when it is settled


def test_statements_add_donations_and_grants_by_category():
    donations = {2025: {"private_individuals": 73_000, "companies": 500_000, "goods_and_services": 6_500},
                 2024: {"private_individuals": 1_000}}
    lottery = GrantIncomeInputs(id=2, kind="regular_contribution", funder_type="lottery",
                                terms=GrantTerms("NPL", "NPL", "NPL", D(2024, 7, 1), D(2025, 6, 30), 100_000_000),
                                budget_lines=[])
    current, previous = build_statements(2025, donations, [lottery])
    assert current.values() == {
        "private_individuals": 73_000, "companies": 500_000, "lotteries": 49_589_041, "government_grants": 0,
        "related_nonprofits": 0, "other_nonprofits": 0, "raised_income_total": 50_162_041,
        "income_for_goods_and_services": 6_500, "other_income": 0, "total_income": 50_168_541,
    }
    assert previous.values()["lotteries"] == 50_410_959
    assert previous.values()["total_income"] == 50_411_959
    assert IncomeStatement(2025).json()["total_income"] == "0.00"


def test_fund_balances():
    (balance,) = fund_balances([FundMovements("F", "Fonds", income_before=100_000, spending_before=30_000, income=40_000, spending=90_000)])
    assert (balance.opening, balance.income, balance.spending, balance.closing) == (70_000, 40_000, 90_000, 20_000)
    assert balance.json() == {"code": "F", "name": "Fonds", "opening": "700.00", "income": "400.00", "spending": "900.00", "closing": "200.00"}


def test_a_settlement_above_the_earned_share_decides_the_income_too():
    grant = project(awarded_cents=100_000, expenses={("other", 2024): 50_000}, settled_on=D(2025, 3, 1), settled_cents=60_000)
    # 75% of (500,00 + 7%) = 401,25 earned in 2024; the vaststelling of 600,00 in 2025 decides.
    assert (cumulative_recognised(grant, 2024), recognised_in_year(grant, 2025)) == (40_125, 60_000 - 40_125)


def test_a_grants_position_is_apart_from_its_fund():
    grant = project(expenses={("other", 2024): 100_000}, settled_on=D(2025, 3, 1), settled_cents=80_000, fund_id=7)
    # 2024: earned 75% of 1.070,00 = 802,50, 500,00 received: 302,50 to receive at the end of 2024;
    # 2025: settled at 800,00 (−2,50), 400,00 more received: 800,00 − 900,00 = 100,00 to repay.
    position = grant_position(grant, 2025, received_before=50_000, received_within=40_000, fund="F")
    assert (position.opening, position.recognised, position.received, position.closing) == (30_250, -250, 40_000, -10_000)
    assert position.json()["closing"] == "-100.00" and position.fund == "F"
