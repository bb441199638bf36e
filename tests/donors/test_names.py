"""Donor names: display, address label, salutation and sort key, as table tests."""
from __future__ import annotations

import pytest

from donors.names import (
    Name,
    display_name,
    initials_from_first_name,
    label_name,
    normalise_initials,
    normalise_prefix,
    salutation,
    sort_key,
)

ANNA = Name(first_name="Anna", initials="A.B.", prefix="van der", last_name="Berg")
INITIALS_ONLY = Name(initials="ab", prefix="Van der", last_name="Berg")
LAST_ONLY = Name(prefix="van der", last_name="Berg")
PLAIN = Name(first_name="Jan", last_name="Jansen")
HOF = Name(initials="P", prefix="van 't", last_name="Hof")
HART = Name(prefix="'t", last_name="Hart")
TWO_FIRST = Name(first_name="Anna Maria", prefix="de", last_name="Vries")
HYPHEN = Name(first_name="Jan-Willem", last_name="Bakker")
ACCENT = Name(first_name="Ömer", last_name="Özdemir")
COMPANY = Name(kind="organisation", organisation_name="Bakkerij De Korenschoof B.V.")
FOUNDATION = Name(kind="organisation", organisation_name="Stichting Het Oranje Fonds", language="en")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ab", "A.B."),
        ("A B", "A.B."),
        ("a.b.", "A.B."),
        ("A. B.", "A.B."),
        ("A.B", "A.B."),
        ("th.j.", "Th.J."),
        ("Chr.", "Chr."),
        ("J-W", "J.W."),
        ("", None),
        (None, None),
    ],
)
def test_normalise_initials(text, expected):
    assert normalise_initials(text) == expected


@pytest.mark.parametrize(
    "first, expected",
    [("Anna", "A."), ("Anna Maria", "A.M."), ("Jan-Willem", "J.W."), ("  ", None), (None, None)],
)
def test_initials_from_first_name(first, expected):
    assert initials_from_first_name(first) == expected


@pytest.mark.parametrize(
    "prefix, expected",
    [("Van der", "van der"), ("VAN  DEN", "van den"), ("'t", "'t"), ("", None), (None, None)],
)
def test_normalise_prefix(prefix, expected):
    assert normalise_prefix(prefix) == expected


@pytest.mark.parametrize(
    "name, expected",
    [
        (ANNA, "Anna van der Berg"),
        (INITIALS_ONLY, "A.B. van der Berg"),
        (LAST_ONLY, "Van der Berg"),
        (PLAIN, "Jan Jansen"),
        (HOF, "P. van 't Hof"),
        (HART, "'t Hart"),
        (TWO_FIRST, "Anna Maria de Vries"),
        (COMPANY, "Bakkerij De Korenschoof B.V."),
        (FOUNDATION, "Stichting Het Oranje Fonds"),
    ],
)
def test_display_name(name, expected):
    assert display_name(name) == expected


@pytest.mark.parametrize(
    "name, expected",
    [
        (ANNA, "A.B. van der Berg"),  # initials win over the first name
        (INITIALS_ONLY, "A.B. van der Berg"),
        (LAST_ONLY, "Van der Berg"),
        (PLAIN, "J. Jansen"),  # derived from the first name
        (TWO_FIRST, "A.M. de Vries"),
        (HYPHEN, "J.W. Bakker"),
        (HOF, "P. van 't Hof"),
        (HART, "'t Hart"),
        (COMPANY, "Bakkerij De Korenschoof B.V."),
    ],
)
def test_label_name(name, expected):
    assert label_name(name) == expected


@pytest.mark.parametrize(
    "name, formal, language, expected",
    [
        # Dutch formal: gender-neutral, tussenvoegsel capitalised as nothing precedes it
        (ANNA, True, "nl", "Geachte heer/mevrouw Van der Berg"),
        (INITIALS_ONLY, True, "nl", "Geachte heer/mevrouw Van der Berg"),
        (LAST_ONLY, True, "nl", "Geachte heer/mevrouw Van der Berg"),
        (PLAIN, True, "nl", "Geachte heer/mevrouw Jansen"),
        (HOF, True, "nl", "Geachte heer/mevrouw Van 't Hof"),
        (HART, True, "nl", "Geachte heer/mevrouw 't Hart"),
        # Dutch informal: the first name, only the first of several
        (ANNA, False, "nl", "Beste Anna"),
        (TWO_FIRST, False, "nl", "Beste Anna"),
        (INITIALS_ONLY, False, "nl", "Beste A.B. van der Berg"),
        (LAST_ONLY, False, "nl", "Geachte heer/mevrouw Van der Berg"),
        # English: neutral, with initials instead of Mr or Ms
        (ANNA, True, "en", "Dear A.B. van der Berg"),
        (PLAIN, True, "en", "Dear J. Jansen"),
        (LAST_ONLY, True, "en", "Dear Mr or Ms Van der Berg"),
        (ANNA, False, "en", "Dear Anna"),
        (INITIALS_ONLY, False, "en", "Dear A.B. van der Berg"),
        # Organisations
        (COMPANY, True, "nl", "Geachte heer/mevrouw"),
        (COMPANY, False, "nl", "Geachte heer/mevrouw"),
        (COMPANY, True, "en", "Dear Sir or Madam"),
    ],
)
def test_salutation(name, formal, language, expected):
    assert salutation(name, formal=formal, language=language) == expected


def test_salutation_language_defaults_to_the_donors():
    english = Name(first_name="Anna", prefix="van der", last_name="Berg", language="en")
    assert salutation(english) == "Dear A. van der Berg"
    assert salutation(FOUNDATION) == "Dear Sir or Madam"
    assert salutation(LAST_ONLY) == "Geachte heer/mevrouw Van der Berg"


@pytest.mark.parametrize(
    "name, expected",
    [
        (LAST_ONLY, "berg, van der"),
        (ANNA, "berg, van der, anna"),
        (INITIALS_ONLY, "berg, van der, a.b."),
        (PLAIN, "jansen, jan"),
        (HART, "hart, 't"),
        (ACCENT, "ozdemir, omer"),
        (COMPANY, "bakkerij de korenschoof b.v."),
    ],
)
def test_sort_key(name, expected):
    assert sort_key(name) == expected


def test_van_der_berg_sorts_under_b():
    names = [
        Name(first_name="Piet", last_name="Bakker"),
        Name(first_name="Anna", prefix="van der", last_name="Berg"),
        Name(first_name="Cor", last_name="Visser"),
        Name(first_name="Els", prefix="de", last_name="Vries"),
        Name(first_name="Bas", last_name="Aalders"),
    ]
    ordered = [display_name(n) for n in sorted(names, key=sort_key)]
    assert ordered == ["Bas Aalders", "Piet Bakker", "Anna van der Berg", "Cor Visser", "Els de Vries"]
