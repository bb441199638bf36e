"""Staff hour rules (DOMAIN.md 4.2), without a database; expected values by hand."""
import datetime as dt
from decimal import Decimal

import pytest

from subsidies.hours import (
    DocumentedCost,
    HourEntry,
    annual_ceiling_hundredths,
    apply_annual_ceiling,
    documented_cost_for,
    hour_rate_cents,
    parse_hours,
)

D = dt.date


@pytest.mark.parametrize(
    ("annual_cents", "hours_per_year", "fte", "expected"),
    [
        (4_816_000, 1720, "1", 2800),        # DOMAIN.md 4.2: 48.160 / 1.720 = 28,00
        (4_128_000, 1720, "0.8", 3000),      # 41.280 / 1.376 = 30,00
        (4_500_000, 1720, "1", 2616),        # 45.000 / 1.720 = 26,1627… → 26,16
        (4_500_900, 1720, "1", 2617),        # 45.009 / 1.720 = 26,1680… → 26,17
        (1_720_086, 1720, "1", 1000),        # 1.720.086 / 1.720 = 1000,05 cents → 1000
        (1_720_860, 1720, "1", 1001),        # 1000,5 cents exactly → half-up 1001
        (3_000_000, 1540, "0.5", 3896),      # 30.000 / 770 = 38,961… → 38,96
    ],
)
def test_hour_rate_is_annual_cost_over_hours_basis_times_fte_half_up(annual_cents, hours_per_year, fte, expected):
    assert hour_rate_cents(annual_cents, hours_per_year, Decimal(fte)) == expected


def test_hour_rate_refuses_a_zero_basis():
    with pytest.raises(ValueError):
        hour_rate_cents(100, 0, Decimal(1))


def annual_cost(costs: list[DocumentedCost], year: int) -> int | None:
    found = documented_cost_for(costs, year)
    return found.annual_cost_cents if found is not None else None


def test_latest_documented_year_up_to_the_hours_year():
    costs = [DocumentedCost(2023, 1, Decimal(1)), DocumentedCost(2025, 3, Decimal(1)), DocumentedCost(2024, 2, Decimal(1))]
    assert annual_cost(costs, 2024) == 2
    assert annual_cost(costs, 2026) == 3
    assert annual_cost(costs, 2023) == 1
    assert documented_cost_for(costs, 2022) is None
    assert documented_cost_for([], 2024) is None


@pytest.mark.parametrize(
    ("hours_per_year", "fte", "expected"),
    [(1720, "1", 172_000), (1720, "0.8", 137_600), (1720, "0.3333", 57_327), (1540, "0.5", 77_000)],
)
def test_annual_ceiling_rounds_down(hours_per_year, fte, expected):
    # 1720 × 0,3333 = 573,276 h → 573,27 h: a claim may not pass the ceiling
    assert annual_ceiling_hundredths(hours_per_year, Decimal(fte)) == expected


@pytest.mark.parametrize(
    ("text", "hundredths"), [("8", 800), ("7.5", 750), ("7,5", 750), ("0.25", 25), ("24", 2400), (" 7.33 ", 733)]
)
def test_parse_hours(text, hundredths):
    assert parse_hours(text) == hundredths


@pytest.mark.parametrize(("text", "message"), [
    ("0", "more than zero"), ("-1", "more than zero"), ("7.333", "two decimals"), ("8785", "more than a year has"),
    ("abc", "not a number"), ("", "no hours"), ("nan", "not a number"),
])
def test_parse_hours_refuses(text, message):
    with pytest.raises(ValueError, match=message):
        parse_hours(text)


def entry(key, day, hours, *, basis=1720, fte="1", start=dt.date(2024, 1, 1), end=dt.date(2025, 12, 31)):
    return HourEntry(key, day, hours, start, end, basis, Decimal(fte))


def test_hours_past_the_ceiling_are_ineligible_in_date_then_file_order():
    # Ceiling 0.001 FTE × 1720 h = 1.72 h = 172 hundredths.
    entries = [
        entry("a", D(2024, 3, 1), 100, fte="0.001"),
        entry("b", D(2024, 3, 2), 50, fte="0.001"),
        entry("c", D(2024, 3, 2), 50, fte="0.001"),   # same day, later in the file: 22 of 50 fit
        entry("d", D(2024, 3, 3), 10, fte="0.001"),
    ]
    decisions = apply_annual_ceiling("E9", entries)
    assert [(d.key, d.eligible_hundredths) for d in decisions] == [("a", 100), ("b", 50), ("c", 22), ("d", 0)]
    assert decisions[0].reason is None and decisions[1].reason is None
    assert decisions[2].reason == "0.28 of 0.50 hours pass E9's annual ceiling of 1.72 hours in 2024 (1720 × 0.001 FTE)"
    assert decisions[3].reason is not None
    assert decisions[3].reason.startswith("0.10 of 0.10 hours pass")


def test_hours_outside_the_grant_period_are_ineligible_and_use_no_ceiling():
    entries = [
        entry("early", D(2023, 12, 31), 800, start=D(2024, 1, 1)),
        entry("in", D(2024, 1, 2), 172_000),
        entry("late", D(2024, 7, 1), 100, end=D(2024, 6, 30)),
    ]
    decisions = apply_annual_ceiling("E1", entries)
    assert [(d.key, d.eligible_hundredths) for d in decisions] == [("early", 0), ("in", 172_000), ("late", 0)]
    assert decisions[0].reason == "worked on 2023-12-31, outside the grant period 2024-01-01 – 2025-12-31"
    assert decisions[2].reason == "worked on 2024-07-01, outside the grant period 2024-01-01 – 2024-06-30"


def test_each_line_meets_its_own_grants_ceiling_with_hours_counted_across_grants():
    # 1,000 h on a grant with basis 1,720, then 600 h on a grant with basis 1,540: the
    # second grant's ceiling is 1,540 h, so 540 of its 600 h fit after the first 1,000.
    entries = [entry("eu", D(2024, 2, 1), 100_000), entry("other", D(2024, 3, 1), 60_000, basis=1540)]
    decisions = apply_annual_ceiling("E2", entries)
    assert [d.eligible_hundredths for d in decisions] == [100_000, 54_000]
