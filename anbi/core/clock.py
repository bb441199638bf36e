"""Time: timestamps are stored in UTC; a gift is dated by the calendar day in
Europe/Amsterdam on which the money reached us (DESIGN.md, Dates)."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """Today's date in Amsterdam."""
    return utcnow().astimezone(AMSTERDAM).date()


def amsterdam_date(moment: dt.datetime | int) -> dt.date:
    """The Amsterdam calendar day of a UTC timestamp or a Unix time (Stripe's `created`)."""
    if isinstance(moment, int):
        moment = dt.datetime.fromtimestamp(moment, dt.UTC)
    if moment.tzinfo is None:
        raise ValueError("naive datetime: cannot tell which day it is in Amsterdam")
    return moment.astimezone(AMSTERDAM).date()


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DUTCH = re.compile(r"^(\d{1,2})-(\d{1,2})-(\d{4})$")


# The years a date may fall in. Outside them a date is a typing error or another
# system's "no end" (9999-12-31, which here is an empty cell); and a term or period
# counted from one would run past the last date there is.
FIRST_YEAR, LAST_YEAR = 1900, 2200


def parse_date(text: str) -> dt.date:
    """Accept `2025-03-01` and `01-03-2025` (day first, as Dutch people write), in
    the years FIRST_YEAR to LAST_YEAR."""
    s = (text or "").strip()
    date = None
    try:
        if _ISO.match(s):
            date = dt.date.fromisoformat(s)
        elif m := _DUTCH.match(s):
            date = dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        pass
    if date is None:
        raise ValueError(f"{text!r} is not a date (use 2025-03-01 or 01-03-2025)")
    if not FIRST_YEAR <= date.year <= LAST_YEAR:
        raise ValueError(f"{text!r} is outside the years {FIRST_YEAR} to {LAST_YEAR} (leave an open end empty)")
    return date
