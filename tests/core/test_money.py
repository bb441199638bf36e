"""Money: parsing as the money table in DESIGN.md says, Dutch and JSON display, and
the property that whatever we print reads back as the same cents."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from anbi.core.money import (
    MAX_CENTS,
    Money,
    MoneyError,
    cents_to_str,
    format_dutch,
    format_dutch_number,
    parse_money,
    round_half_up,
)

# Up to a hundred million euros: more than any gift, grant or budget line.
cents_values = st.integers(min_value=0, max_value=10_000_000_000)


def _group(whole: int, separator: str) -> str:
    """Thousands grouping written independently of the code under test."""
    digits = str(whole)
    groups: list[str] = []
    while len(digits) > 3:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    groups.insert(0, digits)
    return separator.join(groups)


# --- the money table in DESIGN.md, row by row -------------------------------------

@pytest.mark.parametrize(
    "text, cents",
    [
        # one separator followed by 1–2 digits is the decimal separator
        ("1234.56", 123456),
        ("1234,56", 123456),
        ("12", 1200),
        ("12,5", 1250),
        ("0.01", 1),
        # with two kinds of separator the last one is decimal; a sign or code may lead
        ("1.234,56", 123456),
        ("1,234.56", 123456),
        ("€ 1.234,56", 123456),
        ("EUR 12.50", 1250),
    ],
)
def test_money_table_accepted_rows(text, cents):
    amount = parse_money(text)
    assert amount.cents == cents
    assert amount.currency == "EUR"


@pytest.mark.parametrize(
    "text, reason",
    [
        ("1.234", "ambiguous"),  # one separator followed by exactly 3 digits
        ("1,234", "ambiguous"),
        ("-5", "negative"),  # negative where not allowed
        ("12.345", "12.345"),  # sub-cent (and three digits after one separator)
        ("abc", "not an amount"),
        ("", "no amount"),
    ],
)
def test_money_table_refused_rows(text, reason):
    with pytest.raises(MoneyError, match=reason):
        parse_money(text)


def test_negative_is_read_when_allowed():
    assert parse_money("-5", allow_negative=True).cents == -500
    assert parse_money("€ -1.234,56", allow_negative=True).cents == -123456
    assert parse_money("-€ 12,50", allow_negative=True).cents == -1250


@pytest.mark.parametrize(
    "text, reason",
    [
        ("12.3456", "more than two decimals"),
        ("1,234.567", "more than two decimals"),
        ("0,001", "ambiguous"),
        ("1.2345,67", "grouped by three"),
        ("1234.567,89", "grouped by three"),
        ("1.23.456", "grouped by three"),
        ("1,23.45,6", "appears twice"),
        ("12.", "not an amount"),
        (".50", "not an amount"),
        ("1e5", "not an amount"),
        ("12 EUR", "not an amount"),
        ("--5", "minus sign appears twice"),
        ("12 50", "space may only group thousands"),
        ("١٢", "not an amount"),  # Arabic-Indic digits
        ("１２", "not an amount"),  # noqa: RUF001  (full-width digits, on purpose)
        ("   ", "no amount"),
        ("€", "not an amount"),
        ("NaN", "not an amount"),
    ],
)
def test_junk_and_sub_cent_are_refused(text, reason):
    with pytest.raises(MoneyError, match=reason):
        parse_money(text, allow_negative=True)


@pytest.mark.parametrize("text", ["1000000000000", "99999999999999999999999", "-1.000.000.000.000,00"])
def test_an_amount_past_what_the_database_can_sum_is_refused(text):
    """Once an OverflowError from the database driver (`campaigns add --goal`)."""
    with pytest.raises(MoneyError, match=r"is too large: an amount goes up to € 999.999.999.999,99"):
        parse_money(text, allow_negative=True)
    assert parse_money("999.999.999.999,99").cents == MAX_CENTS


def test_none_is_refused():
    with pytest.raises(MoneyError, match="no amount"):
        parse_money(None)  # type: ignore[arg-type]  # the wrong type on purpose: refused at run time


@pytest.mark.parametrize(
    "text, cents, currency",
    [
        ("$ 10", 1000, "USD"),
        ("£3,50", 350, "GBP"),
        ("eur 7", 700, "EUR"),
        ("1 234,56", 123456, "EUR"),  # a space may group thousands
        ("€\u00a01.234.567,89", 123456789, "EUR"),
        ("1.234.567", 123456700, "EUR"),  # a repeated separator can only be thousands
        ("0,5", 50, "EUR"),
        ("007", 700, "EUR"),
    ],
)
def test_other_accepted_forms(text, cents, currency):
    assert parse_money(text) == Money(cents, currency)


# --- properties: what we print reads back as the same cents -----------------------

@given(cents_values)
def test_dutch_display_round_trips(cents):
    assert parse_money(format_dutch(cents)).cents == cents


@given(cents_values)
def test_negative_dutch_display_round_trips(cents):
    assert parse_money(format_dutch(-cents), allow_negative=True).cents == -cents


@given(cents_values)
def test_json_form_round_trips(cents):
    assert parse_money(cents_to_str(cents)).cents == cents


@given(cents_values)
def test_dutch_number_without_grouping_round_trips(cents):
    assert parse_money(format_dutch_number(cents)).cents == cents


@given(cents_values, st.sampled_from([("." , ","), (",", ".")]))
def test_grouped_with_either_convention_round_trips(cents, separators):
    thousands, decimal = separators
    whole, part = divmod(cents, 100)
    text = f"{_group(whole, thousands)}{decimal}{part:02d}"
    assert parse_money(text).cents == cents


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=9))
def test_one_decimal_digit_means_tenths(whole, tenth):
    assert parse_money(f"{whole},{tenth}").cents == whole * 100 + tenth * 10


@given(cents_values)
def test_json_form_is_independent_decimal(cents):
    # Decimal gives the expected text without using the code under test.
    assert cents_to_str(cents) == str((Decimal(cents) / 100).quantize(Decimal("0.01")))


@given(cents_values)
def test_dutch_display_matches_independent_formatting(cents):
    whole, part = divmod(cents, 100)
    assert format_dutch(cents) == f"€ {_group(whole, '.')},{part:02d}"


@given(st.integers(min_value=1, max_value=999), st.integers(min_value=0, max_value=999), st.sampled_from([".", ","]))
def test_one_separator_with_three_digits_is_refused(whole, last, separator):
    with pytest.raises(MoneyError, match="ambiguous"):
        parse_money(f"{whole}{separator}{last:03d}")


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6 - 1), st.sampled_from([".", ","]))
def test_more_than_two_decimals_is_refused(whole, fraction, separator):
    text = f"{whole}{separator}{fraction:04d}"  # four or more decimals
    with pytest.raises(MoneyError):
        parse_money(text)


@given(cents_values.filter(lambda c: c > 0))
def test_negative_is_refused_unless_allowed(cents):
    with pytest.raises(MoneyError, match="negative"):
        parse_money("-" + cents_to_str(cents))


@given(st.text(alphabet=st.characters(blacklist_characters="0123456789"), max_size=12))
def test_text_without_digits_is_never_an_amount(text):
    with pytest.raises(MoneyError):
        parse_money(text, allow_negative=True)


@given(st.text(max_size=15))
def test_parsing_only_ever_fails_with_money_error(text):
    # Any input at all either parses or raises MoneyError with a message: never a
    # stray ValueError/IndexError that would escape an import as a traceback.
    try:
        amount = parse_money(text, allow_negative=True)
    except MoneyError as exc:
        assert str(exc)
    else:
        assert isinstance(amount.cents, int)


# --- Money itself -------------------------------------------------------------------

def test_money_refuses_float_and_bad_currency():
    with pytest.raises(MoneyError):
        Money(12.5)  # type: ignore[arg-type]  # the wrong type on purpose: refused at run time
    with pytest.raises(MoneyError):
        Money(True)  # a bool is an int to mypy, refused at run time
    with pytest.raises(MoneyError, match="currency"):
        Money(100, "euro")


def test_money_refuses_mixing_currencies():
    with pytest.raises(MoneyError, match="EUR with USD"):
        Money(100) + Money(100, "USD")
    with pytest.raises(MoneyError):
        Money(100) < Money(100, "USD")  # noqa: B015  (the comparison itself raises)


def test_money_arithmetic_and_display():
    assert Money(1050) + Money(250) == Money(1300)
    assert Money(1050) - Money(2000) == Money(-950)
    assert str(Money(123456)) == "€ 1.234,56"
    assert Money(123456).json() == "1234.56"
    assert Money(-5).json() == "-0.05"
    assert Money(100, "USD").dutch() == "USD 1,00"
    assert not Money.zero()


@pytest.mark.parametrize(
    "cents, rate, expected",
    [
        (10000, Decimal("0.75"), 7500),
        (333, Decimal("0.5"), 167),  # 166.5 rounds half up
        (-333, Decimal("0.5"), -167),  # halves away from zero
        (100, Decimal("0.07"), 7),
        (1, Decimal("0.49"), 0),
    ],
)
def test_times_rounds_half_up(cents, rate, expected):
    assert Money(cents).times(rate).cents == expected


def test_round_half_up():
    assert round_half_up(Decimal("2.5")) == 3
    assert round_half_up(Decimal("2.4999")) == 2
    assert round_half_up(Decimal("-2.5")) == -3


@pytest.mark.parametrize("text", ["abc12", "xyz 5,00"])
def test_three_letters_that_are_no_currency_are_refused(text):
    with pytest.raises(MoneyError, match="not a currency code"):
        parse_money(text)


def test_a_currency_code_may_be_written_in_lower_case():
    assert parse_money("eur 12.50") == Money(1250, "EUR")
