"""Money: integer cents plus an ISO currency code. Never a float.

Parsing follows the money table in DESIGN.md: one separator followed by 1–2 digits is
the decimal separator; with two kinds of separator the last one is decimal; one
separator followed by exactly three digits is ambiguous and refused.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CURRENCY_SIGNS = {"€": "EUR", "$": "USD", "£": "GBP"}
# Codes a person may write before an amount. Kept short on purpose: a typo such as
# "abc12" must be refused, not read as 12.00 in a currency called ABC.
KNOWN_CURRENCIES = frozenset({
    "EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "RON", "BGN",
    "CAD", "AUD", "NZD", "JPY", "CNY", "HKD", "SGD", "ZAR", "TRY", "INR", "BRL", "MXN",
})
_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")
# The largest amount a person may write: far above any gift, grant or budget, and
# small enough that a total of 90,000 of them still fits the databases' 64-bit
# integers (SQLite's SUM fails past them).
MAX_CENTS = 10**14 - 1


class MoneyError(ValueError):
    """An amount that cannot be read or combined; the message says why in plain words."""


@dataclass(frozen=True, order=False, slots=True)
class Money:
    cents: int
    currency: str = "EUR"

    def __post_init__(self) -> None:
        if not isinstance(self.cents, int) or isinstance(self.cents, bool):
            raise MoneyError(f"cents must be an integer, not {type(self.cents).__name__}")
        if not _CURRENCY_CODE.match(self.currency):
            raise MoneyError(f"{self.currency!r} is not a three-letter currency code")

    @classmethod
    def zero(cls, currency: str = "EUR") -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str, *, currency: str = "EUR", allow_negative: bool = False) -> Money:
        return parse_money(text, currency=currency, allow_negative=allow_negative)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.cents + other.cents, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.cents - other.cents, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.cents, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.cents < other.cents

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.cents <= other.cents

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.cents > other.cents

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.cents >= other.cents

    def __bool__(self) -> bool:
        return self.cents != 0

    def times(self, rate: Decimal) -> Money:
        """This amount times an exact rate, rounded half-up to the cent."""
        return Money(round_half_up(Decimal(self.cents) * rate), self.currency)

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.cents).scaleb(-2)

    def json(self) -> str:
        return cents_to_str(self.cents)

    def dutch(self) -> str:
        return format_dutch(self.cents, self.currency)

    def __str__(self) -> str:
        return self.dutch()


def round_half_up(value: Decimal) -> int:
    """Round an exact amount of cents to a whole cent, halves away from zero."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def cents_to_str(cents: int) -> str:
    """`123456` -> `"1234.56"`: the JSON and CSV form."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def format_dutch(cents: int, currency: str = "EUR") -> str:
    """`123456` -> `"€ 1.234,56"`: what people read (Dutch; other languages through
    `anbi.core.formatting.money`)."""
    from anbi.core.formatting import money

    return money(cents, currency, "nl")


def format_dutch_number(cents: int) -> str:
    """`123456` -> `"1234,56"`: a bare amount for Dutch spreadsheets (no grouping)."""
    return cents_to_str(cents).replace(".", ",")


_LEADING_CURRENCY = re.compile(r"^(€|\$|£|[A-Za-z]{3})\s*")
# ASCII digits only: `int()` would also read Arabic-Indic or full-width digits,
# which no one means to type into an amount.
_AMOUNT = re.compile(r"^[0-9][0-9.,]*$")
# A space (or no-break space) inside an amount only groups thousands: `1 234,56`.
# Anything else (`12 50`) is two numbers, not one.
_SPACE_GROUPED = re.compile(r"^[0-9]{1,3}(?:[ \u00a0][0-9]{3})+(?:[.,][0-9]{1,2})?$")


def parse_money(text: str, *, currency: str = "EUR", allow_negative: bool = False) -> Money:
    """Read an amount as people write it (see the money table in DESIGN.md)."""
    if text is None:
        raise MoneyError("no amount given")
    s = str(text).strip()
    if not s:
        raise MoneyError("no amount given")
    negative = False
    if s.startswith("-"):
        negative, s = True, s[1:].strip()
    match = _LEADING_CURRENCY.match(s)
    if match:
        token = match.group(1).upper()
        if token not in CURRENCY_SIGNS and token not in KNOWN_CURRENCIES:
            raise MoneyError(f"{text!r} is not an amount: {token} is not a currency code")
        currency = CURRENCY_SIGNS.get(token, token)
        s = s[match.end():]
    if s.startswith("-"):
        if negative:
            raise MoneyError(f"{text!r} is not an amount: the minus sign appears twice")
        negative, s = True, s[1:].strip()
    if " " in s or "\u00a0" in s:
        if not _SPACE_GROUPED.match(s):
            raise MoneyError(f"{text!r} is not an amount: a space may only group thousands (1 234,56)")
        s = s.replace(" ", "").replace("\u00a0", "")
    if not _AMOUNT.match(s) or s[-1] in ".,":
        raise MoneyError(f"{text!r} is not an amount")
    cents = _parse_digits(s, original=str(text))
    if cents > MAX_CENTS:
        raise MoneyError(f"{text!r} is too large: an amount goes up to {format_dutch(MAX_CENTS, currency)}")
    if negative and cents:
        if not allow_negative:
            raise MoneyError(f"{text!r} is negative; a positive amount is required")
        cents = -cents
    return Money(cents, currency)


def _parse_digits(s: str, *, original: str) -> int:
    separators = [c for c in s if c in ".,"]
    if not separators:
        return int(s) * 100
    kinds = set(separators)
    if len(kinds) == 2:
        decimal_sep = s[max(s.rfind("."), s.rfind(","))]
        thousands_sep = "," if decimal_sep == "." else "."
        whole, _, fraction = s.rpartition(decimal_sep)
        if decimal_sep in whole:
            raise MoneyError(f"{original!r} is not an amount: {decimal_sep!r} appears twice")
        return _whole(whole, thousands_sep, original) * 100 + _fraction(fraction, original)
    sep = separators[0]
    if len(separators) > 1:
        # 1.234.567: only a thousands separator may repeat.
        return _whole(s, sep, original) * 100
    whole, _, fraction = s.partition(sep)
    if len(fraction) == 3:
        raise MoneyError(
            f"{original!r} is ambiguous: write 1234 or 1234,00 for thousands, 1,23 for cents"
        )
    return int(whole) * 100 + _fraction(fraction, original)


def _whole(text: str, thousands_sep: str, original: str) -> int:
    groups = text.split(thousands_sep)
    if not (1 <= len(groups[0]) <= 3) or any(len(g) != 3 for g in groups[1:]) or not all(
        g.isdigit() for g in groups
    ):
        raise MoneyError(f"{original!r} is not an amount: thousands are grouped by three")
    return int("".join(groups))


def _fraction(text: str, original: str) -> int:
    if not text.isdigit():
        raise MoneyError(f"{original!r} is not an amount")
    if len(text) > 2:
        raise MoneyError(f"{original!r} has more than two decimals (less than a cent)")
    return int(text.ljust(2, "0"))
