"""Duplicate detection: the scoring as plain functions, the blocking, and the query."""
from __future__ import annotations

import datetime as dt

import pytest

from donors import duplicates
from donors.duplicates import (
    DonorRecord,
    DuplicatePair,
    candidate_pairs,
    detect,
    find_duplicates,
    jaro_winkler,
    name_similarity,
    phonetic,
    same_address,
    score_pair,
)
from tests.factories import make_donor

UTC = dt.timezone.utc


def person(id, first=None, last="Jansen", *, initials=None, prefix=None, postcode="1017 GC", number="12",
           suffix=None, email=None, iban=None) -> DonorRecord:
    return DonorRecord(id=id, ref=f"D{id}", kind="person", initials=initials, first_name=first, prefix=prefix,
                       last_name=last, postcode=postcode, house_number=number, house_number_suffix=suffix,
                       email=email, iban=iban)


def organisation(id, name, *, postcode="3511 AB", number="1", email=None, iban=None) -> DonorRecord:
    return DonorRecord(id=id, ref=f"O{id}", kind="organisation", organisation_name=name, postcode=postcode,
                       house_number=number, email=email, iban=iban)


# --- the plain functions -------------------------------------------------------

@pytest.mark.parametrize("a, b, expected", [
    ("martha", "marhta", 0.9611),  # the textbook examples of Jaro-Winkler
    ("dwayne", "duane", 0.84),
    ("dixon", "dicksonx", 0.8133),
    ("abc", "abc", 1.0),
    ("abc", "xyz", 0.0),
    ("", "abc", 0.0),
])
def test_jaro_winkler_known_values(a, b, expected):
    assert jaro_winkler(a, b) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("a, b", [
    ("Jansen", "Janssen"),
    ("Pieterse", "Pietersen"),
    ("Meijer", "Meyer"),
    ("Meijer", "Meier"),
    ("Smit", "Smidt"),
    ("Smit", "Smid"),
    ("Hendriks", "Hendrikx"),
    ("Bakker", "Baker"),
    ("Müller", "Muller"),
])
def test_sound_alike_spellings_share_a_phonetic_key(a, b):
    assert phonetic(a) == phonetic(b)


@pytest.mark.parametrize("a, b", [("Jansen", "Jacobs"), ("de Vries", "de Boer"), ("Smit", "Smits")])
def test_different_names_keep_different_phonetic_keys(a, b):
    assert phonetic(a) != phonetic(b)


@pytest.mark.parametrize("a, b, verdict", [
    (person(1, "Jan"), person(2, "jan"), "same"),
    (person(1, "Jan"), person(2, "Jan", "Janssen"), "similar"),
    (person(1, "Anna", "Pieterse"), person(2, "Anna", "Pietersen"), "similar"),
    (person(1, "Jan"), person(2, None, initials="J."), "initials"),  # initials for a first name
    (person(1, None, initials="J.M."), person(2, None, initials="j m"), "same"),
    (person(1, None, initials="J.M."), person(2, "Jan Maarten"), "initials"),
    (person(1, None, initials="T."), person(2, None, initials="T.J."), "initials"),
    (person(1, "Johanna"), person(2, "Johana"), "similar"),  # a slip in the first name
    (person(1, "Jan"), person(2, "J."), "initials"),  # an initial typed as first name
    (person(1, "Isa"), person(2, "Lisa"), "different"),  # alike, but not a slip of the keyboard
    (person(1, "Yusuf", "El Amrani"), person(2, "Yusuf", "Elamrani"), "same"),
    (person(1, "Jan"), person(2, None), "surname"),  # no given name on one side
    (person(1, "Jan"), person(2, "Marie"), "different"),  # a household, not a duplicate
    (person(1, None, initials="J."), person(2, None, initials="M."), "different"),
    (person(1, "Jan", "Jansen"), person(2, "Jan", "Jacobs"), "different"),
    (person(1, "Jan", "Berg", prefix="van der"), person(2, "Jan", "van der Berg"), "same"),  # prefix in last_name
    (person(1, "Jan", "Berg", prefix="v.d."), person(2, "Jan", "Berg", prefix="van der"), "similar"),
    (person(1, "Jan", "Dijk", prefix="van"), person(2, "Jan", "Dijk", prefix="ten"), "different"),
    (organisation(1, "Stichting De Regenboog"), organisation(2, "De Regenboog"), "same"),
    (organisation(1, "Bakkerij Jansen B.V."), organisation(2, "Bakkerij Janssen BV"), "similar"),
    (organisation(1, "Bakkerij Jansen B.V."), organisation(2, "Garage Pietersen"), "different"),
    (person(1, "Jan"), organisation(2, "Jansen"), "different"),
])
def test_name_similarity(a, b, verdict):
    assert name_similarity(a, b)[0] == verdict
    assert name_similarity(b, a)[0] == verdict


@pytest.mark.parametrize("a, b, same", [
    (person(1, postcode="1017 GC", number="12"), person(2, postcode="1017GC", number="12"), True),
    (person(1, number="12a"), person(2, number="12", suffix="A"), True),
    (person(1, number="12-A"), person(2, number="12", suffix="a"), True),
    (person(1, number="12"), person(2, number="12", suffix="2"), True),  # a suffix left out may be a slip
    (person(1, number="12", suffix="1"), person(2, number="12", suffix="2"), False),  # two flats
    (person(1, number="12"), person(2, number="14"), False),
    (person(1, postcode="1017 GC"), person(2, postcode="1017 GD"), False),
    (person(1, postcode=None), person(2, postcode=None), False),  # no address is not the same address
])
def test_same_address(a, b, same):
    assert same_address(a, b) is same


def test_same_iban_and_similar_name_scores_highest():
    a = person(1, "Jan", iban="NL91ABNA0417164300", postcode="9711 AA")
    b = person(2, None, initials="J.", iban="NL91 ABNA 0417 1643 00", postcode="1017 GC")  # moved house
    assert score_pair(a, b) == (0.95, ("same IBAN",))


def test_same_iban_with_another_name_is_a_weaker_pair():
    a = person(1, "Jan", iban="NL91ABNA0417164300", number="1")
    b = person(2, "Marie", iban="NL91ABNA0417164300", number="3")
    assert score_pair(a, b) == (0.7, ("same IBAN, different name (a shared account?)",))


def test_same_email_is_case_insensitive():
    a = person(1, "Jan", email="Jan.Jansen@Example.nl", number="1")
    b = person(2, "Jan", "Janssen", email="jan.jansen@example.nl", number="99")
    assert score_pair(a, b) == (0.9, ("same e-mail",))


def test_same_email_with_another_name():
    a = person(1, "Jan", email="familie@example.nl", number="1")
    b = person(2, "Marie", "Pietersen", email="familie@example.nl", number="3")
    assert score_pair(a, b) == (0.7, ("same e-mail, different name (a shared address?)",))


def test_same_name_at_same_address():
    assert score_pair(person(1, "Jan"), person(2, "JAN")) == (0.9, ("same name, postcode and house number",))


def test_near_identical_name_at_one_address_says_which_names():
    score, reasons = score_pair(person(1, "Anna", "Pieterse"), person(2, "Anna", "Pietersen"))
    assert score == 0.85
    assert reasons == ("near-identical name at the same address (Anna Pieterse / Anna Pietersen)",)


def test_initials_for_a_first_name_at_one_address_score_lower():
    assert score_pair(person(1, "Jan"), person(2, None, initials="J."))[0] == 0.75


def test_a_surname_alone_at_one_address_scores_lowest():
    assert score_pair(person(1, "Jan"), person(2, None, "Janssen"))[0] == 0.7


@pytest.mark.parametrize("a_contact, b_contact, score", [
    ({}, {}, 0.85),
    ({"email": "a@x.nl"}, {}, 0.85),  # only one side has an e-mail: no contradiction
    ({"email": "a@x.nl"}, {"email": "b@x.nl"}, 0.75),
    ({"iban": "NL91ABNA0417164300"}, {"iban": "NL20INGB0001234567"}, 0.75),
    ({"email": "a@x.nl", "iban": "NL91ABNA0417164300"}, {"email": "b@x.nl", "iban": "NL20INGB0001234567"}, 0.65),
])
def test_differing_contact_details_count_against_an_address_match(a_contact, b_contact, score):
    a = person(1, "Anna", "Pieterse", **a_contact)
    b = person(2, "Anna", "Pietersen", **b_contact)
    assert score_pair(a, b)[0] == score


def test_a_household_partner_with_a_fitting_initial_and_own_contact_details_is_left_out():
    # Joost and "J." Peeters at one address, each with an e-mail of their own: 0.75 - 0.1.
    a = person(1, "Joost", "Peeters", email="joost@example.nl")
    b = person(2, None, "Peeters", initials="J.", email="jp@example.nl")
    assert score_pair(a, b)[0] == 0.65
    assert detect([a, b]) == []


def test_household_at_one_address_is_not_a_pair():
    assert score_pair(person(1, "Jan"), person(2, "Marie")) is None


def test_neighbours_in_two_flats_are_not_a_pair():
    assert score_pair(person(1, "Jan", suffix="1"), person(2, "Jan", suffix="2")) is None


def test_a_pair_found_by_several_rules_has_the_best_score_and_every_reason():
    a = person(1, "Jan", email="jan@example.nl", iban="NL91ABNA0417164300")
    b = person(2, "Jan", email="jan@example.nl", iban="NL91ABNA0417164300")
    assert score_pair(a, b) == (0.95, ("same IBAN", "same e-mail", "same name, postcode and house number"))


def test_detect_reports_each_pair_once_strongest_first():
    records = [
        person(1, "Jan", email="jan@example.nl", iban="NL91ABNA0417164300"),
        person(2, "Jan", email="jan@example.nl", iban="NL91ABNA0417164300"),  # three rules, one pair
        person(3, "Anna", "Pieterse", number="40"),
        person(4, "Anna", "Pietersen", number="40"),
        person(5, "Marie", number="12"),  # household of 1 and 2: no pair with them
        person(6, "Kees", "Bakker", number="7", email="k@example.nl"),
    ]
    found = detect(records)
    assert [(p.ref_a, p.ref_b, p.score) for p in found] == [("D1", "D2", 0.95), ("D3", "D4", 0.85)]
    assert found[0].reason == "same IBAN; same e-mail; same name, postcode and house number"


def test_min_score_leaves_weaker_pairs_out():
    records = [person(1, "Jan", iban="NL91ABNA0417164300", number="1"),
               person(2, "Marie", iban="NL91ABNA0417164300", number="3")]
    assert [p.score for p in detect(records, min_score=0.6)] == [0.7]
    assert detect(records, min_score=0.8) == []


def test_donors_sharing_no_block_are_never_compared(monkeypatch):
    calls = []
    monkeypatch.setattr(duplicates, "score_pair", lambda a, b: calls.append((a.id, b.id)))
    records = [person(i, "Jan", postcode=f"{1000 + i} AA", iban=f"IBAN{i}", email=f"{i}@x.nl") for i in range(1, 300)]
    assert detect(records) == []
    assert calls == []


SURNAMES = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos", "Vos", "Peters",
            "Hendriks", "Dekker", "Brouwer", "Dijkstra", "Koster", "Prins", "Huisman", "Kok", "Yilmaz", "Haddad"]
FIRST_NAMES = ["Anna", "Bram", "Chloe", "Fatima", "Daan", "Emma", "Gert", "Hugo", "Ilse", "Kees",
               "Lotte", "Mohammed", "Noor", "Olga", "Ruud", "Sanne", "Tariq", "Umut", "Wim", "Zeynep"]


def test_a_huge_block_is_compared_by_sorted_neighbourhood_not_all_pairs():
    # 400 people at one address (a reception centre): all pairs would be 79,800.
    records = [person(i * 20 + j, first, last, number="1")
               for i, last in enumerate(SURNAMES) for j, first in enumerate(FIRST_NAMES)]
    assert len(records) == 400
    pairs = list(candidate_pairs(records))
    assert len(pairs) <= 400 * duplicates.WINDOW
    assert detect(records) == []
    # A real duplicate in that crowd still sits next to its twin in name order.
    records.append(person(1000, "Fatima", "Janssen", number="1"))  # D(1 * 20 + 3): Fatima Jansen
    assert [(p.ref_a, p.ref_b) for p in detect(records)] == [("D23", "D1000")]


def test_pair_as_dict():
    pair = DuplicatePair("D1", "D2", 0.8499999, ("same e-mail",))
    assert pair.as_dict() == {"ref_a": "D1", "ref_b": "D2", "score": 0.85, "reason": "same e-mail",
                              "reasons": ["same e-mail"]}


# --- against the database ------------------------------------------------------

def test_find_duplicates_reads_active_donors_only(session):
    keep = make_donor(session, ref="K1", first_name="Jan", last_name="Jansen", postcode="1017 GC", house_number="12",
                      email="jan@example.nl")
    make_donor(session, ref="K2", first_name="J.", last_name="Janssen", postcode="1017 GC", house_number="12",
               iban="NL91ABNA0417164300")
    make_donor(session, ref="K3", first_name="Jan", last_name="Bakker", postcode="3511 AB", house_number="5",
               iban="NL91ABNA0417164300")
    make_donor(session, ref="K4", first_name="Marie", last_name="Jansen", postcode="1017 GC", house_number="12")
    # Same e-mail as K1, but already merged, restricted or purged: none may show up.
    now = dt.datetime(2025, 1, 1, tzinfo=UTC)
    make_donor(session, ref="M1", first_name="Jan", last_name="Jansen", email="jan@example.nl", merged_into_id=keep.id)
    make_donor(session, ref="R1", first_name="Jan", last_name="Jansen", email="jan@example.nl", restricted_at=now)
    make_donor(session, ref="P1", first_name="Jan", last_name="Jansen", email="jan@example.nl", purged_at=now,
               restricted_at=now)
    make_donor(session, kind="organisation", ref="O1", organisation_name="Stichting Vluchtelingenhulp",
               postcode="2511 CV", house_number="8")
    make_donor(session, kind="organisation", ref="O2", organisation_name="Vluchtelingenhulp",
               postcode="2511CV", house_number="8")
    session.commit()

    found = find_duplicates(session)

    by_pair = {(p.ref_a, p.ref_b): (p.score, p.reasons) for p in found}
    assert by_pair == {
        ("K1", "K2"): (0.75, ("near-identical name at the same address (Jan Jansen / J. Janssen)",)),
        ("K2", "K3"): (0.7, ("same IBAN, different name (a shared account?)",)),
        ("O1", "O2"): (0.9, ("same name, postcode and house number",)),
    }
    assert [p.score for p in found] == sorted((p.score for p in found), reverse=True)
