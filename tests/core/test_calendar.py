"""One calendar arithmetic with two named rules for whole years (issue 13, item 6):
`anniversary` for deadlines and retention, `term_end` for the exclusive end of an
agreement's term; and `add_months`, clipped to the month's end."""
from __future__ import annotations

import datetime as dt

import pytest

from anbi.core.calendar import add_months, anniversary, days_in_month, term_end

D = dt.date


@pytest.mark.parametrize("day, years, expected", [
    (D(2024, 2, 29), 5, D(2029, 2, 28)),   # a common year: never after the anniversary
    (D(2024, 2, 29), 4, D(2028, 2, 29)),   # a leap year: the same day
    (D(2024, 3, 1), 5, D(2029, 3, 1)),
    (D(2025, 2, 28), 3, D(2028, 2, 28)),
    (D(2100, 2, 28), -4, D(2096, 2, 28)),
])
def test_anniversary(day, years, expected):
    assert anniversary(day, years) == expected


@pytest.mark.parametrize("start, years, expected", [
    (D(2024, 2, 29), 5, D(2029, 3, 1)),    # the first day no longer covered: all of 28 February is
    (D(2024, 2, 29), 4, D(2028, 2, 29)),
    (D(2025, 3, 1), 5, D(2030, 3, 1)),
    (D(2025, 1, 1), 5, D(2030, 1, 1)),
])
def test_term_end(start, years, expected):
    assert term_end(start, years) == expected


@pytest.mark.parametrize("day, months, expected", [
    (D(2024, 1, 31), 1, D(2024, 2, 29)),
    (D(2023, 1, 31), 1, D(2023, 2, 28)),
    (D(2021, 3, 1), 36, D(2024, 3, 1)),
    (D(2025, 12, 15), 1, D(2026, 1, 15)),
    (D(2025, 3, 31), -1, D(2025, 2, 28)),
    (D(2025, 5, 31), 1, D(2025, 6, 30)),
])
def test_add_months_clips_to_the_month_end(day, months, expected):
    assert add_months(day, months) == expected


def test_days_in_month_follows_the_gregorian_leap_years():
    assert [days_in_month(year, 2) for year in (1900, 2000, 2024, 2025)] == [28, 29, 29, 28]


def test_an_agreement_from_29_february_2024_for_5_years_still_covers_28_february_2029():
    """The statement rules, the agreements register and the privacy rules agree."""
    from donors.privacy import _agreement_running
    from fundraising import agreements
    from fundraising.statements import rules as statements

    agreement = statements.Agreement(id=1, number="PG-1", annual_amount_cents=60000, start_date=D(2024, 2, 29),
                                     signed_on=D(2024, 2, 1), years=5)
    assert agreement.why_not_covered(D(2029, 2, 28)) is None
    assert agreement.why_not_covered(D(2029, 3, 1)) == statements.AFTER_TERM
    assert agreements.term_end(D(2024, 2, 29), 5) == D(2029, 3, 1)
    row = {"status": "active", "end_date": None, "years": 5, "start_date": D(2024, 2, 29)}
    assert _agreement_running(row, D(2029, 2, 28))          # in force: the donor cannot be erased yet
    assert not _agreement_running(row, D(2029, 3, 1))
