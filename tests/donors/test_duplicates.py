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
    fold,
    jaro_winkler,
    name_similarity,
    one_slip,
    phonetic,
    same_address,
    score_pair,
    spoken_shape,
    transliterated,
)
from tests.factories import make_donor

UTC = dt.UTC


def person(id, first=None, last="Jansen", *, initials=None, prefix=None, postcode="1017 GC", number="12",
           suffix=None, email=None, iban=None) -> DonorRecord:
    return DonorRecord(id=id, ref=f"D{id}", kind="person", initials=initials, first_name=first, prefix=prefix,
                       last_name=last, postcode=postcode, house_number=number, house_number_suffix=suffix,
                       email=email, iban=iban)


def scored(a: DonorRecord, b: DonorRecord) -> tuple[float, tuple[str, ...]]:
    """score_pair of two records that must be a candidate pair."""
    found = score_pair(a, b)
    assert found is not None, (a, b)
    return found


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
    (person(1, "Jan"), person(2, None, "Janssen", initials="J."), "initials, respelled"),
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
    (person(1, "Jan", "Jansen"), person(2, "Marie", "Jacobs"), "different"),
    (person(1, "Anna", "de Vries"), person(2, "Anna", "Jansen"), "married"),  # one first name, another surname
    (person(1, None, "de Vries", initials="A."), person(2, "Anna", "Jansen"), "different"),  # A. may be her husband
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


def test_same_iban_under_another_first_name_is_a_joint_account_below_the_threshold():
    a = person(1, "Jan", iban="NL91ABNA0417164300", number="1")
    b = person(2, "Marie", iban="NL91ABNA0417164300", number="3")
    assert score_pair(a, b) == (0.6, ("same IBAN, different name (a shared account?)",))
    assert detect([a, b]) == []


def test_same_email_is_case_insensitive():
    a = person(1, "Jan", email="Jan.Jansen@Example.nl", number="1")
    b = person(2, "Jan", "Janssen", email="jan.jansen@example.nl", number="99")
    assert score_pair(a, b) == (0.9, ("same e-mail",))


def test_same_email_with_another_name():
    a = person(1, "Jan", email="familie@example.nl", number="1")
    b = person(2, "Marie", "Pietersen", email="familie@example.nl", number="3")
    assert score_pair(a, b) == (0.6, ("same e-mail, different name (a shared address?)",))


def test_same_name_at_same_address():
    assert score_pair(person(1, "Jan"), person(2, "JAN")) == (0.9, ("same name, postcode and house number",))


def test_near_identical_name_at_one_address_says_which_names():
    score, reasons = scored(person(1, "Anna", "Pieterse"), person(2, "Anna", "Pietersen"))
    assert score == 0.85
    assert reasons == ("near-identical name at the same address (Anna Pieterse / Anna Pietersen)",)


def test_initials_for_a_first_name_at_one_address_alone_stay_below_the_threshold():
    # Jan and J. Jansen at one address are as often Jan and his wife Joke.
    assert scored(person(1, "Jan"), person(2, None, initials="J."))[0] == 0.65
    joint_account = scored(person(1, "Jan", iban="NL91ABNA0417164300"),
                           person(2, None, initials="J.", iban="NL91ABNA0417164300"))
    assert joint_account[0] == 0.65
    assert detect([person(1, "Jan"), person(2, None, initials="J.")]) == []


def test_initials_under_a_surname_spelled_another_way_at_one_address_are_listed():
    # A partner's surname is spelled the same, or is another: J. Janssen is Jan Jansen again.
    assert score_pair(person(1, "Jan"), person(2, None, "Janssen", initials="J.")) == (
        0.75, ("near-identical name at the same address (Jan Jansen / J. Janssen)",))


def test_initials_for_a_first_name_at_one_address_with_one_e_mail_are_listed():
    a, b = person(1, "Jan", email="jan@example.nl"), person(2, None, initials="J.", email="Jan@example.nl")
    assert score_pair(a, b) == (0.75, ("same e-mail at the same address (Jan Jansen / J. Jansen)",
                                       "near-identical name at the same address (Jan Jansen / J. Jansen)"))


def test_initials_for_a_first_name_with_one_iban_after_a_move_score_high():
    a = person(1, "Jan", iban="NL91ABNA0417164300", postcode="9711 AA")
    b = person(2, None, initials="J.", iban="NL91ABNA0417164300", postcode="1017 GC")
    assert score_pair(a, b) == (0.95, ("same IBAN",))


def test_a_surname_alone_at_one_address_scores_lowest():
    assert scored(person(1, "Jan"), person(2, None, "Janssen"))[0] == 0.7


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
    assert scored(a, b)[0] == score


def test_a_household_partner_with_a_fitting_initial_and_own_contact_details_is_left_out():
    # Joost and "J." Peeters at one address, each with an e-mail of their own: 0.65 - 0.1.
    a = person(1, "Joost", "Peeters", email="joost@example.nl")
    b = person(2, None, "Peeters", initials="J.", email="jp@example.nl")
    assert scored(a, b)[0] == 0.55
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
    assert [p.score for p in detect(records, min_score=0.6)] == [0.6]
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


# --- what real Dutch files hold (bench/duplicates.py plants each kind) -----------

@pytest.mark.parametrize("text, folded", [
    ("Öztürk", "ozturk"), ("Hélène", "helene"), ("Yılmaz", "yilmaz"), ("Łukasz", "lukasz"), ("Kılıç", "kilic"),
    ("Søren", "soren"), ("Weiß", "weiss"), ("Berg, van den", "berg van den"),
])
def test_fold_drops_diacritics_also_of_letters_unicode_does_not_decompose(text, folded):
    assert fold(text) == folded


@pytest.mark.parametrize("a, b, slip", [
    ("jansen", "jasnen", True),  # transposed
    ("bakker", "abkker", True),  # transposed at the front
    ("jansen", "jnsen", True),  # dropped
    ("jansen", "ansen", True),  # dropped at the front of a long name
    ("jan", "jann", True),  # doubled
    ("anna", "ana", True),  # a doubled letter typed once
    ("lisa", "isa", False),  # a letter less at the front of a short name is another name
    ("hanna", "anna", False),
    ("jansen", "hansen", False),  # a letter changed is not one of these slips
    ("jansen", "jansen", False),
])
def test_one_slip(a, b, slip):
    assert one_slip(a, b) is slip
    assert one_slip(b, a) is slip


@pytest.mark.parametrize("a, b", [
    ("Mohammed", "Muhammad"), ("Mohammed", "Mohamed"), ("Hussein", "Hussain"), ("Hussein", "Hossein"),
    ("Khaled", "Khalid"), ("Mustafa", "Moustafa"), ("Rashid", "Rachid"), ("Yasmin", "Jasmin"), ("Omar", "Omer"),
    ("Tesfay", "Tesfaye"), ("Tesfay", "Tesfai"), ("Gebremedhin", "Ghebremedhin"), ("Yohannes", "Yohanes"),
    ("Girmay", "Germay"), ("Al-Khatib", "El Khatib"), ("Shaikh", "Sheikh"),
])
def test_latin_spellings_of_one_arabic_or_tigrinya_name_are_transliterated(a, b):
    a, b = "".join(fold(a).split()), "".join(fold(b).split())
    assert transliterated(a, b)


@pytest.mark.parametrize("a, b", [
    ("Hassan", "Hussein"),  # brothers' names, not spellings of one
    ("Martijn", "Maarten"), ("Petra", "Pieter"), ("Willem", "Wilma"), ("Sem", "Sam"), ("Tim", "Tom"), ("Samir", "Semhar"),
])
def test_other_names_are_not_transliterated(a, b):
    assert not transliterated(fold(a), fold(b))


def test_spoken_shape():
    assert spoken_shape("mohammed") == spoken_shape("muhammad") == "mOhAmAd"
    assert spoken_shape("tesfaye") == spoken_shape("tesfai") == "tAsfA"
    assert spoken_shape("fatimah") == spoken_shape("fatima")


@pytest.mark.parametrize("a, b, verdict", [
    (person(1, "Anna", "Jasnen"), person(2, "Anna", "Jansen"), "similar"),  # typing error
    (person(1, "Anna", "aBkker"), person(2, "Anna", "Bakker"), "similar"),
    (person(1, "Frnak", "Bakker"), person(2, "Frank", "Bakker"), "similar"),
    (person(1, "Ömer", "Öztürk"), person(2, "Omer", "Ozturk"), "same"),  # diacritics lost
    (person(1, "Jan", "Berg", prefix="van den"), person(2, "Jan", "Berg, van den"), "same"),  # tussenvoegsel moved
    (person(1, "Jan", "Berg", prefix="van den"), person(2, "Jan", "Berg van den"), "same"),
    (person(1, "Jan", "Berg", prefix="van den"), person(2, "Jan", "Berg"), "similar"),  # tussenvoegsel dropped
    (person(1, "Pieter", "Jansen"), person(2, "Jansen", "Pieter"), "similar"),  # first and last name swapped
    (person(1, "Jan", "Dijk", prefix="van"), person(2, "van Dijk", "Jan"), "similar"),
    (person(1, "Rutger", "Ruiter", prefix="de"), person(2, "de Ruiter", "Rutger"), "similar"),
    (person(1, "Mohammed", "Al-Khatib"), person(2, "Muhammad", "El Khatib"), "similar"),  # transliterated
    (person(1, "Wolde Mariam", "Tesfay"), person(2, "Weldemariam", "Tesfaye"), "similar"),
    (person(1, "Anna", "de Vries"), person(2, "Anna", "Jansen-de Vries"), "married"),
    (person(1, "Gebremedhin", "Tesfay"), person(2, "Yohannes", "Gebremedhin"), "different"),  # father and son
    (person(1, "Hassan", "Haddad"), person(2, "Hussein", "Haddad"), "different"),  # brothers
])
def test_name_similarity_of_what_real_files_hold(a, b, verdict):
    assert name_similarity(a, b)[0] == verdict
    assert name_similarity(b, a)[0] == verdict


@pytest.mark.parametrize("a, b, same", [
    (person(1, number="12", suffix="II"), person(2, number="12-2"), True),
    (person(1, number="12", suffix="hs"), person(2, number="12-H"), True),
    (person(1, number="12 huis"), person(2, number="12", suffix="H"), True),
    (person(1, number="12bis"), person(2, number="12", suffix="Bis"), True),
    (person(1, number="12/1"), person(2, number="12 I"), True),
    (person(1, number="12", suffix="hs"), person(2, number="12", suffix="I"), False),  # ground floor and first floor
])
def test_same_address_reads_house_number_suffixes_written_in_any_usual_way(a, b, same):
    assert same_address(a, b) is same


def test_a_married_name_beside_a_maiden_name_at_one_address_with_one_iban():
    a = person(1, "Anna", "de Vries", iban="NL91ABNA0417164300")
    b = person(2, "Anna", "Jansen", iban="NL91ABNA0417164300")
    assert score_pair(a, b) == (0.85, ("same IBAN at the same address, same first name, another surname "
                                       "(a maiden and a married name?) (Anna de Vries / Anna Jansen)",))
    assert score_pair(person(1, "Anna", "de Vries"), person(2, "Anna", "Jansen")) is None  # one address alone: no


def test_a_double_surname_holding_the_other_at_one_address():
    score, reasons = scored(person(1, "Anna", "Vries", prefix="de"), person(2, "Anna", "Jansen-de Vries"))
    assert score == 0.75
    assert reasons == ("a double surname holding the other at the same address (Anna de Vries / Anna Jansen-de Vries)",)


def test_a_household_with_a_joint_account_and_a_family_e_mail_is_not_a_pair():
    a = person(1, "Jan", iban="NL91ABNA0417164300", email="fam.jansen@example.nl")
    b = person(2, "Marie", iban="NL91ABNA0417164300", email="fam.jansen@example.nl")
    assert detect([a, b]) == []


# --- against the database ------------------------------------------------------

def test_find_duplicates_reads_active_donors_only(session):
    keep = make_donor(session, ref="K1", first_name="Jan", last_name="Jansen", postcode="1017 GC", house_number="12",
                      email="jan@example.nl")
    make_donor(session, ref="K2", first_name="J.", last_name="Janssen", postcode="1017 GC", house_number="12",
               iban="NL91ABNA0417164300")
    # Another surname, initials for a first name, one IBAN: as likely a couple's joint account (below the threshold).
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
        ("O1", "O2"): (0.9, ("same name, postcode and house number",)),
    }
    assert [p.score for p in found] == sorted((p.score for p in found), reverse=True)
