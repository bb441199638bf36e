"""Calendar arithmetic: whole years and months added to a date, by named rules.

Adding years to 29 February lands in a year without one, and the right answer
depends on what the date is for, so there are two rules and each caller picks one:

| rule | 29-02-2024 + 5 years | for |
| --- | --- | --- |
| `anniversary` | 28-02-2029 | a deadline or retention period counted in years: it never ends after its true anniversary (art. 52 AWR retention, the Awb reclaim window) |
| `term_end` | 01-03-2029 | the exclusive end of a term of years (the first day no longer covered): a periodic gift agreement from 29-02-2024 for 5 years still covers 28-02-2029 (DOMAIN.md 1.3) |

`add_months` clips to the month's end (31 January + 1 month = 28 or 29 February):
instalment dates, SEPA periods and mandate expiry.

Plain functions over dates; nothing here knows about donors, gifts or the database.
"""
from __future__ import annotations

import datetime as dt

_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_leap_year(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    return 29 if month == 2 and is_leap_year(year) else _DAYS_IN_MONTH[month - 1]


def anniversary(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` later; 29 February becomes 28 February in a
    common year, so a period counted from it never runs past its anniversary."""
    if day.month == 2 and day.day == 29 and not is_leap_year(day.year + years):
        return dt.date(day.year + years, 2, 28)
    return day.replace(year=day.year + years)


def term_end(start: dt.date, years: int) -> dt.date:
    """The first day after a term of `years` whole years from `start` (the term's
    end is exclusive). From 29 February into a common year that is 1 March, so the
    term covers the whole of its last 28 February."""
    if start.month == 2 and start.day == 29 and not is_leap_year(start.year + years):
        return dt.date(start.year + years, 3, 1)
    return start.replace(year=start.year + years)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (or earlier, for a negative number), clipped to
    the month's end: 31 January + 1 month = 28 or 29 February."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    return dt.date(year, month0 + 1, min(day.day, days_in_month(year, month0 + 1)))
