"""Dutch and SEPA identifiers: the RSIN examples of DOMAIN.md 1.7, IBAN, postcode,
e-mail and phone, each normalised or refused with a plain message."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anbi.core import identifiers


# DOMAIN.md 1.7: the worked example and the numbers checked with a script.
@pytest.mark.parametrize("value", ["851954534", "002564440", "001326132", "123456782", "003014022", "006790264"])
def test_rsin_examples_from_the_domain_notes_are_valid(value):
    assert identifiers.rsin(value) == value


def test_rsin_worked_example_by_hand():
    # 8·9 + 5·8 + 1·7 + 9·6 + 5·5 + 4·4 + 5·3 + 3·2 − 4 = 231 = 21·11
    digits = [8, 5, 1, 9, 5, 4, 5, 3, 4]
    total = sum(d * w for d, w in zip(digits, [9, 8, 7, 6, 5, 4, 3, 2, -1]))
    assert total == 231 and total % 11 == 0
    assert identifiers.rsin("851954534") == "851954534"


@pytest.mark.parametrize(
    "value, expected",
    [
        ("8519.54.534", "851954534"),  # dots as printed on letters
        (" 851 954 534 ", "851954534"),
        ("3014022", "003014022"),  # leading zeros lost in a spreadsheet
    ],
)
def test_rsin_is_normalised(value, expected):
    assert identifiers.rsin(value) == expected


@pytest.mark.parametrize(
    "value, reason",
    [
        ("000000000", "11-proof"),  # passes the sum, but is never issued
        ("851954535", "11-proof"),  # last digit changed
        ("123456789", "11-proof"),
        ("8519545340", "9 digits"),
        ("85195453a", "9 digits"),
        ("", "9 digits"),
    ],
)
def test_rsin_refused(value, reason):
    with pytest.raises(ValueError, match=reason):
        identifiers.rsin(value)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("NL91ABNA0417164300", "NL91ABNA0417164300"),
        ("nl91 abna 0417 1643 00", "NL91ABNA0417164300"),
        ("NL91-ABNA-0417-1643-00", "NL91ABNA0417164300"),
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
        ("BE71 0961 2345 6769", "BE71096123456769"),
    ],
)
def test_iban_is_stored_compact(value, expected):
    assert identifiers.iban(value) == expected


@pytest.mark.parametrize("value", ["NL92ABNA0417164300", "NL91ABNA041716430", "XX91ABNA0417164300", "hello", ""])
def test_iban_refused(value):
    with pytest.raises(ValueError, match="IBAN"):
        identifiers.iban(value)


def test_iban_printed_in_groups_of_four():
    assert identifiers.format_iban("NL91ABNA0417164300") == "NL91 ABNA 0417 1643 00"


@pytest.mark.parametrize(
    "value, expected",
    [("1234ab", "1234 AB"), ("1234 AB", "1234 AB"), (" 9999 zz ", "9999 ZZ"), ("1017GC", "1017 GC")],
)
def test_dutch_postcode_is_normalised(value, expected):
    assert identifiers.dutch_postcode(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "0123 AB",  # never starts with 0
        "1234 SA", "1234 SD", "1234 SS",  # letter pairs never issued
        "12345",  # a German postcode is not a Dutch one
        "B-1000",  # nor a Belgian
        "SW1A 1AA",  # nor a British
        "1234 A",
        "1234 ABC",
        "",
    ],
)
def test_foreign_or_malformed_postcode_is_not_dutch(value):
    # The importer applies this check only when the country is NL; foreign postcodes
    # are kept as given there (tests/acceptance/test_donor_import.py).
    with pytest.raises(ValueError, match="Dutch postcode"):
        identifiers.dutch_postcode(value)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("anna@example.nl", "anna@example.nl"),
        ("Anna.de.Vries@Example.NL", "Anna.de.Vries@example.nl"),  # domain lower-cased only
        ("  p+tag@sub.example.org ", "p+tag@sub.example.org"),
    ],
)
def test_email_is_normalised(value, expected):
    assert identifiers.email(value) == expected


@pytest.mark.parametrize(
    "value",
    ["anna", "anna@", "@example.nl", "anna@example", "an na@example.nl", "anna@@example.nl",
     "anna@-example.nl", "a,b@example.nl", "x" * 250 + "@ex.nl", ""],
)
def test_email_refused(value):
    with pytest.raises(ValueError, match="e-mail"):
        identifiers.email(value)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("+31 6 1234 5678", "+31612345678"),
        ("06-12345678", "0612345678"),
        ("020 - 123 45 67", "0201234567"),
        ("(020) 1234567", "0201234567"),
        ("+49 30 1234567", "+49301234567"),
    ],
)
def test_phone_is_compacted(value, expected):
    assert identifiers.phone(value) == expected


@pytest.mark.parametrize(
    "value, reason",
    [("12", "not a phone number"), ("call me", "not a phone number"), ("0612", "not a phone number"),
     ("+1234567", "too few"), ("0612345678901234", "too many")],
)
def test_phone_refused(value, reason):
    with pytest.raises(ValueError, match=reason):
        identifiers.phone(value)


def test_valid_belgian_iban_with_a_bank_code_unknown_to_the_registry_is_accepted():
    assert identifiers.iban("BE68 5390 0754 7034") == "BE68539007547034"


def test_bracketed_trunk_zero_after_a_country_code_is_dropped():
    assert identifiers.phone("+31 (0)6 1234 5678") == "+31612345678"


_VALID_IBANS = ["NL91ABNA0417164300", "DE89370400440532013000", "BE71096123456769", "BE68539007547034",
                "GB82WEST12345698765432", "FR1420041010050500013M02606", "MT84MALT011000012345MTLCAST001S",
                "NO9386011117947", "LC55HEMM000100010012001200023015"]


@st.composite
def _iban_like(draw) -> str:
    """A valid IBAN, perhaps grouped, lower-cased, or with a character changed, dropped or added."""
    chars = list(draw(st.sampled_from(_VALID_IBANS)))
    if draw(st.booleans()):
        chars = list(" ".join("".join(chars[i:i + 4]) for i in range(0, len(chars), 4)))
    edit = draw(st.sampled_from(["none", "lower", "change", "drop", "add"]))
    where = draw(st.integers(0, len(chars) - 1))
    other = draw(st.sampled_from("ABZ019 -._\tq"))
    if edit == "lower":
        chars = [c.lower() for c in chars]
    elif edit == "change":
        chars[where] = other
    elif edit == "drop":
        del chars[where]
    elif edit == "add":
        chars.insert(where, other)
    return "".join(chars)


@given(_iban_like())
def test_iban_accepts_exactly_what_python_stdnum_accepts(value):
    # identifiers.iban checks ASCII IBANs itself, with stdnum's rules: same verdict, same compact form.
    from stdnum import iban as stdnum_iban

    expected = stdnum_iban.validate(value, check_country=False) if stdnum_iban.is_valid(value, check_country=False) else None
    try:
        got = identifiers.iban(value)
    except ValueError:
        got = None
    assert got == expected
