"""The donor importer's steps without a database: reading one row, and the plan
that decides create, update or unchanged against the stored donors."""
from __future__ import annotations

import datetime as dt

import pytest

from anbi.core.csvfile import CsvRow
from anbi.core.errors import Problem
from donors.importer import FIELDS, ExistingDonor, ParsedRow, parse_row, plan_import


def parse(line: int = 2, **cells):
    problems: list[Problem] = []
    row = parse_row(CsvRow(line, {k: str(v) for k, v in cells.items()}), problems)
    return row, problems


def existing(ref="D1", donor_id=7, consent=None, tags=None, **values):
    stored = dict.fromkeys(FIELDS)
    stored.update(kind="person", country="NL", language="nl", last_name="Berg", first_name="Anna")
    stored.update(values)
    stored.setdefault("sort_name", "berg, anna")
    stored.setdefault("search_name", "berg anna")
    return ExistingDonor(donor_id, ref, stored, consent or {}, tags or [])


# --- parse_row --------------------------------------------------------------------

def test_parse_row_normalises_every_kind_of_value():
    row, problems = parse(
        ref="D1", kind="Person", initials="ab", first_name="Anna", prefix="Van der", last_name="Berg",
        postcode="1017gc", country="nl", email="Anna@Example.NL", phone="06-12345678",
        iban="nl91 abna 0417 1643 00", consent_email="ja", consent_post="Nee", consent_phone="",
        tags="major | newsletter|major||", language="EN", deceased_on="01-03-2024",
    )
    assert problems == []
    assert row.ref == "D1"
    assert row.values == {
        "kind": "person", "initials": "A.B.", "first_name": "Anna", "prefix": "van der", "last_name": "Berg",
        "country": "NL", "email": "Anna@example.nl", "phone": "0612345678", "iban": "NL91ABNA0417164300",
        "language": "en", "deceased_on": dt.date(2024, 3, 1),
    }
    assert row.raw_postcode == "1017gc"  # judged against the country in the plan
    assert row.consent == {"email": True, "post": False}
    assert row.tags == ["major", "newsletter"]


def test_parse_row_empty_cells_are_not_given():
    row, problems = parse(ref="D1", last_name="", email="", tags="", consent_email="")
    assert problems == []
    assert row.values == {}
    assert row.consent == {}
    assert row.tags is None
    assert row.raw_postcode is None


@pytest.mark.parametrize(
    "column, value, reason",
    [
        ("kind", "company", "is not one of person, organisation"),
        ("email", "anna@", "e-mail 'anna@' is not a valid address"),
        ("phone", "bel me", "is not a phone number"),
        ("iban", "NL92ABNA0417164300", "IBAN 'NL92ABNA0417164300' is not valid"),
        ("consent_email", "misschien", "'misschien' is not yes/no"),
        ("consent_phone", "2", "'2' is not yes/no"),
        ("language", "de", "is not one of nl, en"),
        ("organisation_type", "bank", "is not one of company, foundation"),
        ("deceased_on", "2024-02-30", "is not a date"),
        ("deceased_on", "2199-01-01", "is in the future"),
        ("deceased_on", "2999-01-01", "is outside the years 1900 to 2200"),
        ("country", "Nederland", "is not a two-letter country code"),
        ("last_name", "x" * 151, "longer than 150"),
        ("postcode", "x" * 21, "longer than 20"),
        ("tags", "a|" + "t" * 101, "longer than 100"),
    ],
)
def test_parse_row_names_line_column_and_reason(column, value, reason):
    cells = {"ref": "D1", "last_name": "Berg", column: value}
    _, problems = parse(line=9, **cells)
    assert len(problems) == 1
    assert problems[0].line == 9
    assert problems[0].field == column
    assert reason in problems[0].reason


def test_parse_row_missing_ref():
    _, problems = parse(ref="", last_name="Berg")
    assert [(p.line, p.field, p.reason) for p in problems] == [(2, "ref", "is required")]


def test_parse_row_collects_every_problem_of_a_row():
    _, problems = parse(ref="D1", email="x", iban="y", consent_post="z")
    assert [p.field for p in problems] == ["email", "iban", "consent_post"]


# --- plan_import ------------------------------------------------------------------

def plan(rows, stored=(), problems=None):
    problems = [] if problems is None else problems
    return plan_import(rows, {d.ref: d for d in stored}, problems), problems


def test_new_person_gets_the_defaults():
    row, _ = parse(ref="D1", last_name="Berg", prefix="van der", first_name="Anna", postcode="1017gc")
    result, problems = plan([row])
    assert problems == []
    [create] = result.creates
    assert create.values["kind"] == "person"
    assert create.values["country"] == "NL"
    assert create.values["language"] == "nl"
    assert create.values["organisation_type"] is None
    assert create.values["postcode"] == "1017 GC"
    assert create.values["sort_name"] == "berg, van der, anna"
    assert create.consent == []
    assert create.tags == []


def test_new_organisation_is_a_company_unless_said_otherwise():
    company, _ = parse(ref="O1", kind="organisation", organisation="Bakkerij B.V.")
    fund, _ = parse(ref="O2", kind="organisation", organisation="Oranje Fonds", organisation_type="foundation")
    result, problems = plan([company, fund])
    assert problems == []
    assert [c.values["organisation_type"] for c in result.creates] == ["company", "foundation"]
    assert result.creates[0].values["sort_name"] == "bakkerij b.v."


def test_new_person_without_last_name_and_organisation_without_name():
    person, _ = parse(line=2, ref="P1", first_name="Piet")
    organisation, _ = parse(line=3, ref="O1", kind="organisation")
    _, problems = plan([person, organisation])
    assert [(p.line, p.field) for p in problems] == [(2, "last_name"), (3, "organisation")]
    assert "a new person needs last_name" in problems[0].reason
    assert "a new organisation needs" in problems[1].reason


def test_existing_person_may_leave_last_name_empty():
    row, _ = parse(ref="D1", city="Utrecht")
    result, problems = plan([row], [existing()])
    assert problems == []
    assert result.updates[0].values == {"city": "Utrecht"}


def test_organisation_type_is_refused_for_a_person():
    row, _ = parse(ref="D1", last_name="Berg", organisation_type="foundation")
    _, problems = plan([row])
    assert [(p.field, p.reason) for p in problems] == [("organisation_type", "is only for organisations (kind is person)")]


def test_dutch_postcode_checked_only_for_dutch_addresses():
    dutch, _ = parse(line=2, ref="N1", last_name="Berg", postcode="12345")
    german, _ = parse(line=3, ref="G1", last_name="Müller", postcode="10115", country="DE")
    british, _ = parse(line=4, ref="B1", last_name="Smith", postcode="SW1A 1AA", country="gb")
    stored_abroad, _ = parse(line=5, ref="S1", postcode="B-1000")
    result, problems = plan([dutch, german, british, stored_abroad], [existing("S1", 9, country="BE")])
    assert [(p.line, p.field) for p in problems] == [(2, "postcode")]
    assert "not a Dutch postcode" in problems[0].reason
    postcodes = {w.ref: w.values["postcode"] for w in result.creates + result.updates if w.ref != "N1"}
    assert postcodes == {"G1": "10115", "B1": "SW1A 1AA", "S1": "B-1000"}


def test_update_changes_only_given_fields():
    row, _ = parse(ref="D1", email="anna@example.nl", city="", last_name="")
    stored = existing(email="old@example.nl", city="Utrecht")
    result, problems = plan([row], [stored])
    assert problems == []
    [update] = result.updates
    assert update.donor_id == 7
    assert update.values == {"email": "anna@example.nl"}
    assert update.changed == ["email"]


def test_same_values_are_unchanged():
    row, _ = parse(ref="D1", first_name="Anna", last_name="Berg", country="nl", tags="b|a")
    result, _ = plan([row], [existing(tags=["a", "b"])])
    assert result.unchanged == 1
    assert result.updates == [] and result.creates == []


def test_sort_and_search_names_follow_a_name_change():
    row, _ = parse(ref="D1", prefix="van den")
    [update] = plan([row], [existing()])[0].updates
    assert update.values == {"prefix": "van den", "sort_name": "berg, van den, anna", "search_name": "berg van den anna"}
    assert update.changed == ["prefix"]  # what a person changed: the keys follow from it


def test_a_search_name_kept_by_an_older_version_is_brought_up_to_date():
    row, _ = parse(ref="D1", first_name="Anna")
    [update] = plan([row], [existing(search_name="")])[0].updates
    assert update.values == {"search_name": "berg anna"}


def test_consent_event_only_when_the_value_changes():
    row, _ = parse(ref="D1", consent_email="ja", consent_post="nee", consent_phone="ja")
    stored = existing(consent={"email": (True, "consent"), "phone": (False, "consent")})
    [update] = plan([row], [stored])[0].updates
    # e-mail already granted; post never granted (no event is no consent); phone changes
    assert update.consent == [("phone", True)]
    assert update.changed == ["consent_phone"]


def test_new_donor_consent_records_only_what_is_granted():
    row, _ = parse(ref="D9", last_name="Berg", consent_email="yes", consent_post="no", consent_phone="1")
    [create] = plan([row])[0].creates
    assert create.consent == [("email", True), ("phone", True)]


def test_withdrawal_is_recorded():
    row, _ = parse(ref="D1", consent_email="nee")
    [update] = plan([row], [existing(consent={"email": (True, "consent")})])[0].updates
    assert update.consent == [("email", False)]


def test_yes_never_overrides_an_objection():
    row, _ = parse(line=4, ref="D1", consent_phone="ja")
    result, problems = plan([row], [existing(consent={"phone": (False, "objection")})])
    assert problems == []
    assert result.updates == [] and result.unchanged == 1
    assert [(n.line, n.ref) for n in result.warnings] == [(4, "D1")]
    assert "objected" in result.warnings[0].message


def test_tags_replaced_when_given_and_different():
    row, _ = parse(ref="D1", tags="volunteer")
    [update] = plan([row], [existing(tags=["major", "newsletter"])])[0].updates
    assert update.tags == ["volunteer"]
    assert update.changed == ["tags"]


def test_kind_change_to_organisation_needs_a_name_and_takes_company():
    without_name, _ = parse(line=2, ref="D1", kind="organisation")
    _, problems = plan([without_name], [existing()])
    assert [(p.line, p.field) for p in problems] == [(2, "organisation")]
    with_name, _ = parse(ref="D1", kind="organisation", organisation="Berg Holding B.V.")
    [update] = plan([with_name], [existing()])[0].updates
    assert update.values["organisation_type"] == "company"
    assert update.values["sort_name"] == "berg holding b.v."
    assert update.values["search_name"] == "berg holding b v"


def test_rows_for_inactive_donors_are_skipped():
    row, _ = parse(line=3, ref="D1", city="Zwolle")
    stored = existing()
    stored.inactive = "merged into D2"
    result, problems = plan([row], [stored])
    assert problems == []
    assert result.updates == [] and result.unchanged == 0
    assert [str(n) for n in result.skipped] == ["line 3 (D1): merged into D2; row not applied"]


def test_row_without_ref_is_left_to_the_parse_problem():
    row = ParsedRow(line=2, ref="", values={}, consent={}, tags=None)
    result, problems = plan([row])
    assert problems == [] and result.creates == []


def test_moving_a_foreign_address_to_nl_needs_a_dutch_postcode():
    stored = existing(country="DE", postcode="10115")
    moved_without_postcode, _ = parse(line=6, ref="D1", country="NL")
    _, problems = plan([moved_without_postcode], [stored])
    assert [(p.line, p.field) for p in problems] == [(6, "postcode")]
    assert "stored postcode '10115' is not Dutch" in problems[0].reason
    moved_with_postcode, _ = parse(ref="D1", country="NL", postcode="3511aa")
    result, problems = plan([moved_with_postcode], [stored])
    assert problems == []
    assert result.updates[0].values == {"country": "NL", "postcode": "3511 AA"}
