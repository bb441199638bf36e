"""Staff hours: what an hour costs and how many hours a year may be claimed.

Plain functions over plain values, no database (DOMAIN.md 4.2, CPR art. 55):

- an hour costs the latest documented annual gross employment cost divided by the
  grant's hours basis (1,720 for EU grants) times the FTE, rounded half-up to cents;
- per employee and calendar year, the hours charged to grants with an hours basis
  may not exceed the charged grant's hours basis × FTE; taken in the order of each
  line's last day (then in the order they arrived), the hours past that ceiling are
  not eligible;
- hours dated outside their grant's period are not eligible either, and do not use
  up the ceiling (they are not claimed);
- a timesheet line is one day or a period (a signed monthly sheet, say): a period's
  hours are at most its days × 24, lie in one calendar year (the ceiling is per
  year), and a period that crosses its grant's start or end is split pro rata by
  days — the days outside the grant are not eligible, and the reason says so;
- more hours in a period than the employee's contract hours in it (weekly contract
  hours ÷ 5 per weekday) is a warning, never a refusal: the ceiling decides.

Hours are integer hundredths of an hour (7.5 h = 750), never a float.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from anbi.core.money import round_half_up

HUNDRED = Decimal(100)
MAX_HOURS = 366 * 24            # a period lies in one calendar year
# Contract hours a week when the staff file gives none, for a full-time (1 FTE)
# employee: the common Dutch full-time contract (many CAOs have 36 or 38; the staff
# file's `weekly_hours` gives the contract's own). Only the contract-hours warning uses it.
FULL_TIME_WEEK_HOURS = Decimal(40)
WORKDAYS_A_WEEK = 5


@dataclass(frozen=True)
class DocumentedCost:
    """One employee's documented gross employment cost for one year."""

    year: int
    annual_cost_cents: int
    fte: Decimal
    weekly_hours: Decimal | None = None   # contract hours a week, when documented


def documented_cost_for(costs: Iterable[DocumentedCost], year: int) -> DocumentedCost | None:
    """The latest documented year up to `year` (DOMAIN.md 4.2: "latest documented
    annual gross employment costs"); None when nothing is documented that early."""
    best = None
    for cost in costs:
        if cost.year <= year and (best is None or cost.year > best.year):
            best = cost
    return best


def hour_rate_cents(annual_cost_cents: int, hours_per_year: int, fte: Decimal) -> int:
    """annual cost ÷ (hours basis × FTE), rounded half-up to the cent.

    >>> hour_rate_cents(4_816_000, 1720, Decimal(1))   # € 48.160 / 1.720 h
    2800
    """
    if hours_per_year <= 0 or fte <= 0:
        raise ValueError("the hours basis and the FTE must be more than zero")
    return round_half_up(Decimal(annual_cost_cents) / (Decimal(hours_per_year) * fte))


def annual_ceiling_hundredths(hours_per_year: int, fte: Decimal) -> int:
    """hours basis × FTE in hundredths of an hour, rounded down: a claim never passes it."""
    return math.floor(Decimal(hours_per_year) * fte * HUNDRED)


def hours_text(hundredths: int) -> str:
    """750 -> "7.50"."""
    sign = "-" if hundredths < 0 else ""
    whole, part = divmod(abs(hundredths), 100)
    return f"{sign}{whole}.{part:02d}"


def parse_hours(text: str) -> int:
    """"7.5", "7,5", "160" -> hundredths of an hour. At most two decimals, more than
    zero; how many a line may hold depends on its days (`hours_bound_problem`)."""
    s = (text or "").strip().replace(",", ".")
    if not s:
        raise ValueError("no hours given")
    try:
        value = Decimal(s)
    except ArithmeticError:
        raise ValueError(f"{text!r} is not a number of hours") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a number of hours")
    if value <= 0:
        raise ValueError("must be more than zero hours")
    if value > MAX_HOURS:
        raise ValueError(f"{text!r} hours is more than a year has")
    hundredths = value * HUNDRED
    if hundredths != hundredths.to_integral_value():
        raise ValueError(f"{text!r} has more than two decimals")
    return int(hundredths)


def days_in(first: dt.date, last: dt.date) -> int:
    """Calendar days from `first` to `last`, both included."""
    return (last - first).days + 1


def weekdays_in(first: dt.date, last: dt.date) -> int:
    """Monday to Friday from `first` to `last`, both included (public holidays count)."""
    weeks, rest = divmod(days_in(first, last), 7)
    extra = sum(1 for offset in range(rest) if (first.weekday() + offset) % 7 < WORKDAYS_A_WEEK)
    return weeks * WORKDAYS_A_WEEK + extra


def period_problem(first: dt.date, last: dt.date) -> str | None:
    """Why a line's period cannot be: its end before its start, or a period across
    31 December (the annual ceiling is per calendar year). None when fine."""
    if last < first:
        return f"the period ends ({last.isoformat()}) before it starts ({first.isoformat()})"
    if first.year != last.year:
        return (f"the period {first.isoformat()} – {last.isoformat()} runs into {last.year}: the annual hour "
                "ceiling is per calendar year, so split the sheet at 31 December")
    return None


def hours_bound_problem(first: dt.date, last: dt.date, hundredths: int) -> str | None:
    """Why a line cannot hold these hours: more than its days × 24. None when fine."""
    days = days_in(first, last)
    if hundredths <= days * 24 * 100:
        return None
    what = "a day has" if days == 1 else f"its {days} days have ({days * 24} hours)"
    return f"{hours_text(hundredths)} hours is more than {what}"


def contract_hundredths(first: dt.date, last: dt.date, weekly_hours: Decimal) -> int:
    """The contract hours in a period: weekly hours ÷ 5 for each weekday in it, rounded down."""
    return math.floor(weekly_hours * weekdays_in(first, last) * HUNDRED / WORKDAYS_A_WEEK)


def weekly_contract_hours(fte: Decimal, weekly_hours: Decimal | None) -> Decimal:
    """The staff file's weekly contract hours, else the full-time week × FTE."""
    return weekly_hours if weekly_hours is not None else FULL_TIME_WEEK_HOURS * fte


def contract_warning(employee: str, first: dt.date, last: dt.date, hundredths: int, weekly_hours: Decimal) -> str | None:
    """A warning when a line holds more hours than the employee's contract has in
    its period; None when it does not (or for a single day, where overtime is common)."""
    if first == last:
        return None
    contract = contract_hundredths(first, last, weekly_hours)
    if hundredths <= contract:
        return None
    return (f"{hours_text(hundredths)} hours in {first.isoformat()} – {last.isoformat()} is more than "
            f"{employee}'s contract hours in it ({hours_text(contract)}: {format(weekly_hours.normalize(), 'f')} a week, "
            f"{weekdays_in(first, last)} weekdays); the annual ceiling still decides what is eligible")


def grant_share(first: dt.date, last: dt.date, hundredths: int, grant_start: dt.date, grant_end: dt.date
                ) -> tuple[int, str | None]:
    """The hours of a line that fall inside its grant's period, and why the rest do
    not: none for a line wholly outside, all for one wholly inside, and for a period
    that crosses the grant's start or end a share pro rata by days (hours × days
    inside ÷ days, rounded half-up to hundredths)."""
    inside_first, inside_last = max(first, grant_start), min(last, grant_end)
    grant_period = f"{grant_start.isoformat()} – {grant_end.isoformat()}"
    if inside_first > inside_last:
        when = f"worked on {first.isoformat()}" if first == last else f"worked {first.isoformat()} – {last.isoformat()}"
        return 0, f"{when}, outside the grant period {grant_period}"
    if (inside_first, inside_last) == (first, last):
        return hundredths, None
    days, inside = days_in(first, last), days_in(inside_first, inside_last)
    share = round_half_up(Decimal(hundredths) * inside / days)
    crossed = " and ".join(edge for edge, crosses in (("start", first < grant_start), ("end", last > grant_end)) if crosses)
    return share, (
        f"the period {first.isoformat()} – {last.isoformat()} crosses the grant's {crossed} ({grant_period}): "
        f"{inside} of its {days} days inside, so {hours_text(share)} of {hours_text(hundredths)} hours "
        f"pro rata; {hours_text(hundredths - share)} hours not eligible"
    )


@dataclass(frozen=True)
class HourEntry:
    """Hours on one timesheet line, with what decides their eligibility."""

    key: object                 # the caller's id for the line
    worked_on: dt.date          # the line's (last) day: it orders the ceiling and names the year
    hours_hundredths: int
    grant_start: dt.date
    grant_end: dt.date
    hours_per_year: int         # the charged grant's hours basis
    fte: Decimal                # from the documented cost used for this year
    period_start: dt.date | None = None   # the first day of a period line; None for one day

    @property
    def first_day(self) -> dt.date:
        return self.period_start or self.worked_on


@dataclass(frozen=True)
class HourDecision:
    key: object
    eligible_hundredths: int
    reason: str | None


def apply_annual_ceiling(employee: str, entries: Iterable[HourEntry]) -> list[HourDecision]:
    """Decide the eligible hours of one employee's lines in one calendar year.

    `entries` must be in the order of their last day, then arrival order; the result
    follows it. Only the hours inside the grant's period use up the ceiling."""
    used = 0
    decisions = []
    for entry in entries:
        inside, split_reason = grant_share(entry.first_day, entry.worked_on, entry.hours_hundredths,
                                           entry.grant_start, entry.grant_end)
        if inside == 0:
            decisions.append(HourDecision(entry.key, 0, split_reason))
            continue
        ceiling = annual_ceiling_hundredths(entry.hours_per_year, entry.fte)
        room = max(ceiling - used, 0)
        eligible = min(inside, room)
        used += eligible
        reasons = [split_reason] if split_reason else []
        if eligible < inside:
            reasons.append(
                f"{hours_text(inside - eligible)} of {hours_text(inside)} hours pass "
                f"{employee}'s annual ceiling of {hours_text(ceiling)} hours in {entry.worked_on.year} "
                f"({entry.hours_per_year} × {format(entry.fte.normalize(), 'f')} FTE)"
            )
        decisions.append(HourDecision(entry.key, eligible, "; ".join(reasons) or None))
    return decisions


def rates_by_employee_year(
    documented: Mapping[str, list[DocumentedCost]], pairs: Iterable[tuple[str, int]], hours_per_year: int
) -> dict[tuple[str, int], tuple[DocumentedCost, int]]:
    """For each (employee, year) with a documented cost up to that year: the cost used
    and the hour rate in cents under `hours_per_year`. Pairs without one are left out."""
    result = {}
    for employee, year in pairs:
        cost = documented_cost_for(documented.get(employee, []), year)
        if cost is not None:
            result[(employee, year)] = (cost, hour_rate_cents(cost.annual_cost_cents, hours_per_year, cost.fte))
    return result
