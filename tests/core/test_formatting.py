"""anbi.core.formatting: the strings people read, in Dutch and British English."""
import datetime as dt
from decimal import Decimal

import pytest

from anbi.core import formatting as fmt
from anbi.core.money import format_dutch


@pytest.mark.parametrize("cents, language, expected", [
    (40_000_000, "nl", "€ 400.000,00"),
    (123456, "nl", "€ 1.234,56"),
    (-2_673_936, "nl", "€ -26.739,36"),
    (5, "nl", "€ 0,05"),
    (0, "nl", "€ 0,00"),
    (40_000_000, "en", "€400,000.00"),
    (-123456, "en", "-€1,234.56"),
])
def test_money(cents, language, expected):
    assert fmt.money(cents, "EUR", language) == expected


def test_money_in_another_currency_by_its_code_and_format_dutch_is_the_same_function():
    assert fmt.money(1250, "USD") == "USD 12,50"
    assert format_dutch(40_000_000) == "€ 400.000,00"
    assert format_dutch(-150) == fmt.money(-150)


@pytest.mark.parametrize("fraction, language, trim, expected", [
    ("0.7725", "nl", True, "77,25%"),
    ("0.75", "nl", True, "75%"),
    ("0.075", "nl", True, "7,5%"),
    ("0.00125", "nl", True, "0,13%"),      # half-up, not Babel's default half-even (0,12%)
    ("0.1", "nl", False, "10,00%"),
    ("0.7725", "en", True, "77.25%"),
    ("12.345", "nl", True, "1.234,5%"),
])
def test_percent(fraction, language, trim, expected):
    assert fmt.percent(Decimal(fraction), language, trim=trim) == expected


def test_dates_in_tables_and_in_letters():
    day = dt.date(2026, 12, 3)
    assert fmt.date(day) == "03-12-2026"
    assert fmt.date(day, "en") == "03/12/2026"
    assert fmt.date_long(day) == "3 december 2026"
    assert fmt.date_long(dt.date(2026, 3, 1), "en") == "1 March 2026"
    assert fmt.date(None) == ""
    assert fmt.period(dt.date(2025, 1, 1), dt.date(2025, 12, 31)) == "01-01-2025 – 31-12-2025"
    # A UTC timestamp shows Amsterdam's clock: 23:30 UTC on 31 December is 00:30 on New Year's day.
    assert fmt.moment(dt.datetime(2025, 12, 31, 23, 30, tzinfo=dt.UTC)) == "01-01-2026 00:30"


def test_numbers_and_hours():
    assert fmt.number(Decimal("1234.5")) == "1.234,50"
    assert fmt.number(Decimal("1234.5"), 2, "en") == "1,234.50"
    assert fmt.hours(16050) == "160,50"
    assert fmt.number(1_234_567, 0) == "1.234.567"


@pytest.mark.parametrize("number, suffix, expected", [
    ("162", "2 hoog", "Prinsengracht 162 2 hoog"),
    ("12", "A", "Prinsengracht 12 A"),
    ("12", "bis", "Prinsengracht 12 bis"),
    ("12", None, "Prinsengracht 12"),
    (None, None, "Prinsengracht"),
])
def test_house_number_and_suffix_apart(number, suffix, expected):
    assert fmt.street_line("Prinsengracht", number, suffix) == expected


def test_unknown_language_reads_as_dutch():
    assert fmt.money(100, "EUR", "de") == "€ 1,00"
    assert fmt.locale_of("en") == "en_GB" and fmt.locale_of(None) == "nl_NL"
