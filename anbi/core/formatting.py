"""What people read: amounts, percentages, dates and addresses written as a Dutch
(nl_NL) or British (en_GB) reader expects them, through Babel's CLDR data.

    money(40_000_000)                       € 400.000,00      (en: €400,000.00)
    percent(Decimal("0.7725"))              77,25%            (en: 77.25%)
    date(dt.date(2026, 12, 3))              03-12-2026        (en: 03/12/2026)   in tables
    date_long(dt.date(2026, 12, 3))         3 december 2026   (en: 3 December 2026)   in letters
    street_line("Prinsengracht", "162", "2 hoog")   Prinsengracht 162 2 hoog

Every page, PDF and line of CLI output meant for a person formats through here, so
that one module decides how a figure looks. JSON and CSV never do: they keep the
machine forms of DESIGN.md (`1234.56`, ISO dates) from `anbi.core.money` and
`date.isoformat()`. This module only formats; it never parses input and never
rounds money (amounts arrive as integer cents; percentages are rounded half-up here,
for display only).
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.numbers import format_currency, format_decimal
from babel.numbers import format_percent as _babel_percent

from anbi.core.clock import AMSTERDAM

LOCALES = {"nl": "nl_NL", "en": "en_GB"}
# CLDR's nl_NL pattern (`¤ #,##0.00;¤ -#,##0.00`) with an ordinary space for its
# no-break space: the amount reads the same, and text searches and tests find it.
_DUTCH_MONEY = "¤ #,##0.00;¤ -#,##0.00"
_DUTCH_MONEY_CODE = "¤¤ #,##0.00;¤¤ -#,##0.00"   # another currency by its code: USD 12,50
_TABLE_DATE = {"nl": "dd-MM-yyyy", "en": "dd/MM/yyyy"}
_LETTER_DATE = "d MMMM yyyy"
_TIME = "HH:mm"
DASH = "–"


def locale_of(language: str | None) -> str:
    """nl → nl_NL, en → en_GB; anything else is read as Dutch, the default language."""
    return LOCALES.get((language or "nl")[:2].lower(), LOCALES["nl"])


def _english(language: str | None) -> bool:
    return locale_of(language) == LOCALES["en"]


# Babel parses its pattern on every call; a statement run formats the same amounts and
# dates thousands of times, so the results are kept (the functions are pure).
@lru_cache(maxsize=16384)
def money(cents: int, currency: str = "EUR", language: str | None = "nl") -> str:
    """Integer cents as an amount: `€ 1.234,56` (nl), `€1,234.56` (en)."""
    value = Decimal(cents).scaleb(-2)
    if _english(language):
        return format_currency(value, currency, locale=LOCALES["en"], currency_digits=False, format="¤#,##0.00")
    pattern = _DUTCH_MONEY if currency == "EUR" else _DUTCH_MONEY_CODE
    return format_currency(value, currency, format=pattern, locale=LOCALES["nl"], currency_digits=False)


def number(value: Decimal | int, decimals: int = 2, language: str | None = "nl") -> str:
    """A number with thousands grouped and fixed decimals: `1.234,50` (nl), `1,234.50` (en)."""
    exact = Decimal(value).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(exact, format=pattern, locale=locale_of(language), decimal_quantization=False)


def hours(hundredths: int, language: str | None = "nl") -> str:
    """Hundredths of an hour as hours: 16050 → `160,50` (nl), `160.50` (en)."""
    return number(Decimal(hundredths).scaleb(-2), 2, language)


def percent(fraction: Decimal, language: str | None = "nl", *, decimals: int = 2, trim: bool = True) -> str:
    """A fraction as a percentage, rounded half-up: 0.7725 → `77,25%`; 0.75 → `75%`
    (trim drops trailing zero decimals; trim=False keeps them: `75,00%`)."""
    value = (Decimal(fraction) * 100).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    digits = ("#" if trim else "0") * decimals
    pattern = "#,##0" + ("." + digits if decimals else "") + "%"
    return _babel_percent(value / 100, format=pattern, locale=locale_of(language), decimal_quantization=False)


def date(value: dt.date | str | None, language: str | None = "nl") -> str:
    """A date in a table: `03-12-2026` (nl), `03/12/2026` (en); empty for None. An
    ISO text (a service's JSON row, `2026-12-03`) is taken as the date it names."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        value = value.astimezone(AMSTERDAM).date() if value.tzinfo else value.date()
    return _table_date(value, "en" if _english(language) else "nl")


@lru_cache(maxsize=16384)
def _table_date(value: dt.date, language: str) -> str:
    return _babel_date(value, _TABLE_DATE[language], locale=LOCALES[language])


@lru_cache(maxsize=4096)
def date_long(value: dt.date, language: str | None = "nl") -> str:
    """A date in a letter: `3 december 2026` (nl), `3 December 2026` (en)."""
    return _babel_date(value, _LETTER_DATE, locale=locale_of(language))


def moment(value: dt.datetime | None, language: str | None = "nl") -> str:
    """A timestamp in Amsterdam time: `03-12-2026 14:05` (nl), `03/12/2026 14:05` (en)."""
    if value is None:
        return ""
    local = value.astimezone(AMSTERDAM) if value.tzinfo else value
    pattern = f"{_TABLE_DATE['en' if _english(language) else 'nl']} {_TIME}"
    return _babel_datetime(local, pattern, locale=locale_of(language))


def period(start: dt.date | None, end: dt.date | None, language: str | None = "nl") -> str:
    """`01-01-2025 – 31-12-2025`; an open end stays open (`01-01-2025 –`)."""
    return f"{date(start, language)} {DASH} {date(end, language)}".strip()


def house_number(number: str | None, suffix: str | None) -> str:
    """House number and suffix apart, with a space between: `162 2 hoog`, `12 a`,
    `7 hs`. Never run together (`1622 hoog` reads as another number). A statement's
    address is part of what decides whether it must be corrected, so this form is
    the one statements have always printed."""
    return " ".join(part for part in ((number or "").strip(), (suffix or "").strip()) if part)


def street_line(street: str | None, number: str | None, suffix: str | None) -> str:
    """`Prinsengracht 162 2 hoog`: the street with its house number and suffix."""
    return " ".join(part for part in ((street or "").strip(), house_number(number, suffix)) if part)


def postal_line(postcode: str | None, city: str | None) -> str:
    """`1016 HK Amsterdam`: postcode and city with one space, as PostNL prints them."""
    return " ".join(part for part in ((postcode or "").strip(), (city or "").strip()) if part)
