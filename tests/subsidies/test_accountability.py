"""The accountability figures as a pure function: tables of cases computed by hand."""
import datetime as dt
from decimal import Decimal

import pytest

from subsidies.accountability import (
    BudgetLineTerms,
    ExpenseTotal,
    GrantTerms,
    IndicatorProgress,
    IneligibleItem,
    PaymentTotals,
    StaffHours,
    account_for,
    accountability_level,
    eligible_totals,
    grant_balance,
)


def terms(**fields) -> GrantTerms:
    fields.setdefault("reference", "G-1")
    fields.setdefault("title", "Project")
    fields.setdefault("funder", "Fonds")
    fields.setdefault("start", dt.date(2024, 1, 1))
    fields.setdefault("end", dt.date(2024, 12, 31))
    fields.setdefault("awarded_cents", 10_000_000)
    for key in ("funding_rate", "indirect_rate", "allowed_shift"):
        if isinstance(fields.get(key), str):
            fields[key] = Decimal(fields[key])
    return GrantTerms(**fields)


LINES = [BudgetLineTerms("staff", "Personeel", 5_000_000), BudgetLineTerms("other", "Overig", 1_000_000)]


@pytest.mark.parametrize(
    ("case", "grant", "expenses", "staff", "expected"),
    [
        (
            # direct = 12.345,67 + 1.000,00; indirect 7% of 13.345,67 = 934,1969 → 934,20;
            # total 14.279,87; 75% = 10.709,9025 → 10.709,90
            "flat rate on direct costs, co-financed",
            terms(funding_rate="0.75", indirect_rate="0.07", indirect_base="direct"),
            [ExpenseTotal("staff", 1_234_567), ExpenseTotal("other", 100_000)],
            [],
            {"direct": 1_334_567, "staff": 0, "base": 1_334_567, "indirect": 93_420, "total": 1_427_987,
             "before_cap": 1_070_990, "share": 1_070_990},
        ),
        (
            # staff exact: 10 h × 26,16 + 0,33 h × 26,16 = 261,60 + 8,6328 = 270,2328 → line 270,23 (+ expenses 0)
            # other: 50,00. direct 320,23; staff base round(270,2328) = 270,23; 15% = 40,5345 → 40,53;
            # total 360,76; rate 1 → 360,76
            "flat rate on staff costs",
            terms(indirect_rate="0.15", indirect_base="staff"),
            [ExpenseTotal("other", 5_000)],
            [StaffHours("staff", "E1", 2024, Decimal("10"), 2616), StaffHours("staff", "E1", 2024, Decimal("0.33"), 2616)],
            {"direct": 32_023, "staff": 27_023, "base": 27_023, "indirect": 4_053, "total": 36_076,
             "before_cap": 36_076, "share": 36_076},
        ),
        (
            # each line rounds on its own: staff 0,005 + other 0,005 (in cents: 0,5 + 0,5):
            # staff line 0.5 cent → 1 cent; other line: 1 cent expense + 0,5 → 1,5 → 2 cents: direct 3 cents
            "rounding per line, half up",
            terms(),
            [ExpenseTotal("other", 1)],
            [StaffHours("staff", "E1", 2024, Decimal("0.01"), 50), StaffHours("other", "E1", 2024, Decimal("0.01"), 50)],
            {"direct": 3, "staff": 1, "base": 0, "indirect": 0, "total": 3, "before_cap": 3, "share": 3},
        ),
        (
            # 90% of 200.000,00 = 180.000,00 above the 100.000,00 awarded: capped
            "share capped at the awarded amount",
            terms(funding_rate="0.9", awarded_cents=10_000_000),
            [ExpenseTotal("staff", 20_000_000)],
            [],
            {"direct": 20_000_000, "staff": 0, "base": 0, "indirect": 0, "total": 20_000_000,
             "before_cap": 18_000_000, "share": 10_000_000},
        ),
        (
            # 0,5 cent half-up: 33,33% of 0,15 = 0,049995 → 0,05
            "funder share rounds half up",
            terms(funding_rate="0.3333"),
            [ExpenseTotal("other", 15)],
            [],
            {"direct": 15, "staff": 0, "base": 0, "indirect": 0, "total": 15, "before_cap": 5, "share": 5},
        ),
        (
            # a credit note (negative cost) reduces its line
            "a credit note reduces the line",
            terms(),
            [ExpenseTotal("other", 100_000), ExpenseTotal("other", -25_050)],
            [],
            {"direct": 74_950, "staff": 0, "base": 0, "indirect": 0, "total": 74_950, "before_cap": 74_950, "share": 74_950},
        ),
    ],
)
def test_rounding_chain(case, grant, expenses, staff, expected):
    totals = eligible_totals(grant, LINES, expenses, staff)
    got = {
        "direct": totals.direct_eligible_cents, "staff": totals.staff_eligible_cents, "base": totals.indirect_base_cents,
        "indirect": totals.indirect_cents, "total": totals.total_eligible_cents,
        "before_cap": totals.share_before_cap_cents, "share": totals.funder_share_cents,
    }
    assert got == expected, case
    assert totals.direct_eligible_cents == sum(line.actual_cents for line in totals.lines)


@pytest.mark.parametrize(
    ("actual_cents", "shift", "over", "variance_pct"),
    [
        (1_100_000, "0.10", False, Decimal("10.00")),   # exactly 10% over: allowed
        (1_100_001, "0.10", True, Decimal("10.00")),    # one cent more: flagged (10,0001% → 10,00)
        (1_000_001, "0", True, Decimal("0.00")),
        (1_049_950, "0.05", False, Decimal("5.00")),    # 4,995% → 5,00 shown, but within 5%
        (900_000, "0.10", False, Decimal("-10.00")),
        (1_333_333, "0.25", True, Decimal("33.33")),
    ],
)
def test_budget_line_variance_and_over_budget_flag(actual_cents, shift, over, variance_pct):
    grant = terms(allowed_shift=shift)
    totals = eligible_totals(grant, [BudgetLineTerms("other", "Overig", 1_000_000)], [ExpenseTotal("other", actual_cents)], [])
    line = totals.lines[0]
    assert (line.budget_cents, line.actual_cents, line.variance_cents) == (1_000_000, actual_cents, actual_cents - 1_000_000)
    assert line.over_budget is over
    assert line.variance_pct == variance_pct


def test_costs_on_a_budget_line_of_nothing_are_flagged_without_a_percentage():
    # Once a TypeError: the warning divided the variance percentage, which a budget of 0.00 does not have.
    figures = account_for(terms(), [BudgetLineTerms("other", "Overig", 0)], [ExpenseTotal("other", 1000)], [])
    (line,) = figures.totals.lines
    assert (line.over_budget, line.variance_pct) == (True, None)
    assert "budget line other has no budget (€ 0,00) but € 10,00 of costs" in figures.warnings


def test_costs_without_a_budget_line_show_on_an_unbudgeted_line_never_flagged():
    totals = eligible_totals(terms(), [], [ExpenseTotal(None, 500_000)], [StaffHours(None, "E1", 2024, Decimal(2), 1000)])
    (line,) = totals.lines
    assert (line.code, line.budget_cents, line.actual_cents, line.variance_pct, line.over_budget) == ("unbudgeted", 0, 502_000, None, False)


def test_a_budget_line_the_grant_does_not_have_is_an_error():
    with pytest.raises(ValueError, match="budget line 'rent'"):
        eligible_totals(terms(), LINES, [ExpenseTotal("rent", 1)], [])


@pytest.mark.parametrize(
    ("awarded_cents", "override", "level"),
    [
        (2_500_000, None, "none"),          # € 25.000,00: direct settlement
        (2_500_001, None, "activities"),
        (12_499_999, None, "activities"),
        (12_500_000, None, "full"),         # € 125.000,00 or more: auditor's statement
        (100_000_000, None, "full"),
        (100_000_000, "activities", "activities"),
        (100, "full", "full"),
    ],
)
def test_accountability_level(awarded_cents, override, level):
    assert accountability_level(awarded_cents, override) == level


def test_figures_received_balance_ineligible_outputs_and_warnings():
    grant = terms(funding_rate="0.5", awarded_cents=5_000_000, settled_cents=40_000)
    figures = account_for(
        grant,
        [BudgetLineTerms("other", "Overig", 50_000)],
        [ExpenseTotal("other", 60_000)],                        # 20% over a 10% allowance
        [],
        ineligible=[
            IneligibleItem("expense", "X2", dt.date(2024, 5, 1), "other", Decimal(12_345), "Geen factuur"),
            IneligibleItem("timesheet", "T1", dt.date(2024, 2, 1), "other", Decimal("2616.5"), "ceiling", "E1", Decimal("1.00")),
        ],
        payments=PaymentTotals(advances_cents=40_000, settlements_cents=5_000, repayments_cents=1_000),
        indicators=[IndicatorProgress("c", "Clients", 10, 7), IndicatorProgress("d", "Days", 5, 5)],
    )
    # share 50% of 600,00 = 300,00; received 400 + 50 − 10 = 440,00; the vaststelling of 400,00
    # decides what the funder owes: balance 400 − 440 = −40,00 (to repay), not the share's −140,00
    assert figures.funder_share_cents == 30_000
    assert figures.received_cents == 44_000
    assert figures.balance_cents == -4_000
    # ineligible: 123,45 + 26,165 = 149,615 → 149,62; listed by date
    assert figures.ineligible_cents == 14_962
    assert [item.reference for item in figures.ineligible_items] == ["T1", "X2"]
    assert figures.accountability_level == "activities"
    warnings = "\n".join(figures.warnings)
    assert "budget line other is 20,00% over its budget" in warnings
    assert "2 cost row(s) not eligible, € 149,62" in warnings
    assert "received € 40,00 more than the settled amount (vaststelling): to repay" in warnings
    assert "settled amount (vaststelling) € 400,00 differs from the computed funder share € 300,00" in warnings
    assert "indicator c: 7 of the target 10" in warnings
    assert "indicator d" not in warnings
    assert not figures.interim


@pytest.mark.parametrize(("share", "settled", "received", "balance"), [
    (30_000, None, 20_000, 10_000),       # before the vaststelling: the computed share
    (30_000, 25_000, 20_000, 5_000),      # settled lower: the vaststelling decides
    (30_000, 35_000, 40_000, -5_000),     # settled higher, paid more still: to repay
    (30_000, 0, 20_000, -20_000),         # settled at nothing: every advance back
])
def test_grant_balance_after_settlement_is_the_settled_amount_minus_what_was_received(share, settled, received, balance):
    assert grant_balance(share, settled, received) == balance


def test_an_interim_report_is_not_settled():
    grant = terms(funding_rate="1", awarded_cents=5_000_000, settled_cents=40_000)
    figures = account_for(grant, [BudgetLineTerms("other", "Overig", 50_000)], [ExpenseTotal("other", 30_000)], [],
                          payments=PaymentTotals(advances_cents=10_000), period_from=dt.date(2024, 1, 1))
    assert figures.balance_cents == 20_000


def test_interim_report_says_which_period_it_covers():
    figures = account_for(terms(), [], [], [], period_from=dt.date(2024, 1, 1), period_to=dt.date(2024, 6, 30))
    assert figures.interim
    assert figures.warnings[0] == "interim report: costs, payments and outputs from 2024-01-01 to 2024-06-30 only"
    assert figures.funder_share_cents == 0 and figures.lines == ()
