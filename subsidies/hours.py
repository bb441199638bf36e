"""Staff hours: what an hour costs and how many hours a year may be claimed.

Plain functions over plain values, no database (DOMAIN.md 4.2, CPR art. 55):

- an hour costs the latest documented annual gross employment cost divided by the
  grant's hours basis (1,720 for EU grants) times the FTE, rounded half-up to cents;
- per employee and calendar year, the hours charged to grants with an hours basis
  may not exceed the charged grant's hours basis × FTE; taken in date order (then in
  the order they arrived), the hours past that ceiling are not eligible;
- hours dated outside their grant's period are not eligible either, and do not use
  up the ceiling (they are not claimed).

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


@dataclass(frozen=True)
class DocumentedCost:
    """One employee's documented gross employment cost for one year."""

    year: int
    annual_cost_cents: int
    fte: Decimal


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
    """"7.5", "7,5", "8" -> hundredths of an hour. At most two decimals, more than zero."""
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
    if value > 24:
        raise ValueError(f"{text!r} hours is more than a day has")
    hundredths = value * HUNDRED
    if hundredths != hundredths.to_integral_value():
        raise ValueError(f"{text!r} has more than two decimals")
    return int(hundredths)


@dataclass(frozen=True)
class HourEntry:
    """Hours on one timesheet line, with what decides their eligibility."""

    key: object                 # the caller's id for the line
    worked_on: dt.date
    hours_hundredths: int
    grant_start: dt.date
    grant_end: dt.date
    hours_per_year: int         # the charged grant's hours basis
    fte: Decimal                # from the documented cost used for this year


@dataclass(frozen=True)
class HourDecision:
    key: object
    eligible_hundredths: int
    reason: str | None


def apply_annual_ceiling(employee: str, entries: Iterable[HourEntry]) -> list[HourDecision]:
    """Decide the eligible hours of one employee's lines in one calendar year.

    `entries` must be in date order, then arrival order; the result follows it."""
    used = 0
    decisions = []
    for entry in entries:
        if not entry.grant_start <= entry.worked_on <= entry.grant_end:
            decisions.append(HourDecision(
                entry.key, 0,
                f"worked on {entry.worked_on.isoformat()}, outside the grant period "
                f"{entry.grant_start.isoformat()} – {entry.grant_end.isoformat()}",
            ))
            continue
        ceiling = annual_ceiling_hundredths(entry.hours_per_year, entry.fte)
        room = max(ceiling - used, 0)
        eligible = min(entry.hours_hundredths, room)
        used += eligible
        reason = None
        if eligible < entry.hours_hundredths:
            reason = (
                f"{hours_text(entry.hours_hundredths - eligible)} of {hours_text(entry.hours_hundredths)} hours pass "
                f"{employee}'s annual ceiling of {hours_text(ceiling)} hours in {entry.worked_on.year} "
                f"({entry.hours_per_year} × {format(entry.fte.normalize(), 'f')} FTE)"
            )
        decisions.append(HourDecision(entry.key, eligible, reason))
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
