"""The grant file, deadlines and lifecycle rules, without a database."""
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from anbi.core.errors import InvalidInput
from subsidies.errors import GrantTransitionRefused
from subsidies.grants import (
    DeadlineFacts,
    grant_deadlines,
    next_status,
    parse_grant_file,
    select_deadlines,
)
from tests.subsidies.scenario import AMIF_TOML, NPL_TOML

MINIMAL = """\
reference = "G-1"
title = "Project"
funder = "Fonds"
funder_type = "foundation"
kind = "project"
start = 2025-01-01
end = 2025-12-31
awarded = "1000.00"
"""


def test_the_issue_example_is_read_with_every_field():
    spec = parse_grant_file(AMIF_TOML)
    assert (spec.reference, spec.funder_type, spec.kind) == ("AMIF-2024-017", "eu", "project")
    assert (spec.start, spec.end) == (dt.date(2024, 1, 1), dt.date(2025, 12, 31))
    assert spec.awarded_cents == 40_000_000
    assert spec.funding_rate == Decimal("0.75") and spec.indirect_rate == Decimal("0.07")
    assert spec.indirect_base == "direct" and spec.hours_per_year == 1720
    assert spec.report_due == dt.date(2026, 3, 31) and spec.settlement_due == dt.date(2026, 6, 30)
    assert [(b.code, b.amount_cents) for b in spec.budget] == [("staff", 30_000_000), ("material", 6_000_000), ("travel", 500_000)]
    assert [(i.code, i.target) for i in spec.indicators] == [("clients", 1200)]
    assert dict(spec.odoo_budget_lines) == {"611000": "staff", "620000": "material"}
    assert spec.fund == "AMIF-2024-017" and spec.restricted is True and spec.status == "awarded"


def test_defaults_of_optional_fields():
    spec = parse_grant_file(MINIMAL)
    assert spec.funding_rate == Decimal(1)
    assert spec.indirect_rate is None and spec.indirect_base == "none"
    assert spec.hours_per_year is None and spec.accountability is None
    assert spec.allowed_shift == Decimal("0.10")
    assert spec.fund == "G-1" and spec.restricted is True
    assert spec.budget == () and spec.indicators == ()


def test_a_regular_contribution_is_unrestricted_by_default_and_feeds_no_fund():
    spec = parse_grant_file(NPL_TOML)
    assert spec.restricted is False and spec.fund is None
    assert spec.accountability == "activities"


def test_rates_and_amounts_are_exact_whether_written_as_strings_or_numbers():
    spec = parse_grant_file(MINIMAL.replace('awarded = "1000.00"', "awarded = 1234.5") + "funding_rate = 0.07\n")
    assert spec.awarded_cents == 123_450
    assert spec.funding_rate == Decimal("0.07")


def test_same_content_same_hash_whatever_the_layout_and_another_content_another_hash():
    reordered = "\n".join(reversed(MINIMAL.strip().splitlines())) + "\n# a comment\n"
    assert parse_grant_file(reordered).content_hash() == parse_grant_file(MINIMAL).content_hash()
    other = MINIMAL.replace('"1000.00"', '"1000.01"')
    assert parse_grant_file(other).content_hash() != parse_grant_file(MINIMAL).content_hash()


def problems_of(text: str) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        parse_grant_file(text, "grant.toml")
    assert caught.value.source == "grant.toml"
    return {problem.field or "": problem.reason for problem in caught.value.problems}


@pytest.mark.parametrize("field", ["reference", "title", "funder", "funder_type", "kind", "start", "end", "awarded"])
def test_each_missing_required_field_is_named(field):
    text = "\n".join(line for line in MINIMAL.splitlines() if not line.startswith(f"{field} "))
    assert problems_of(text) == {field: "is required"}


@pytest.mark.parametrize(
    ("addition", "field", "reason_part"),
    [
        ('colour = "blue"', "colour", "unknown field"),
        ('funding_rate = "1.5"', "funding_rate", "not a share between more than 0 and 1"),
        ('funding_rate = "0"', "funding_rate", "between more than 0 and 1"),
        ('indirect_rate = "1.07"', "indirect_rate", "between 0 and 1"),
        ('allowed_shift = "-0.1"', "allowed_shift", "between 0 and 1"),
        ('funding_rate = "0.123456"', "funding_rate", "more than 4 decimals"),
        ('funding_rate = "abc"', "funding_rate", "not a rate"),
        ('indirect_base = "staff"', "indirect_base", "no indirect_rate is given"),
        ('indirect_rate = "0.07"\nindirect_base = "none"', "indirect_base", "is none, but an indirect_rate is given"),
        ('indirect_base = "overhead"', "indirect_base", "not one of direct, staff, none"),
        ("hours_per_year = 0", "hours_per_year", "at least 1"),
        ('hours_per_year = "1720"', "hours_per_year", "not a whole number"),
        ("[[indicators]]\ncode = \"visits\"\nname = \"Bezoeken\"\ntarget = 111111111111111111",
         "indicators[1].target", "is too large"),
        ('accountability = "some"', "accountability", "not one of none, activities, full"),
        ("restricted = false\nfund = \"X\"", "fund", "an unrestricted grant feeds no earmarked fund"),
        ('status = "running"', "status", "not one of applied, awarded"),
        ("report_due = 2026-13-01", "", "not valid TOML"),
        ('report_due = "31/03/2026"', "report_due", "is not a date"),
        ("report_due = 2026-03-31T10:00:00", "report_due", "without a time"),
    ],
)
def test_bad_optional_fields_are_named(addition, field, reason_part):
    problems = problems_of(MINIMAL + addition + "\n")
    assert field in problems, problems
    assert reason_part in problems[field]


@pytest.mark.parametrize(
    ("replacement", "field", "reason_part"),
    [
        ('awarded = "-1000.00"', "awarded", "negative"),
        ("awarded = -5", "awarded", "negative"),
        ('awarded = "0"', "awarded", "more than zero"),
        ('awarded = "1.234"', "awarded", "ambiguous"),
        ("awarded = 10.005", "awarded", "more than two decimals"),
        ('awarded = "USD 5"', "awarded", "only euro"),
        ('kind = "loan"', "kind", "not one of project, institutional, regular_contribution"),
        ('funder_type = "bank"', "funder_type", "not one of lottery"),
        ('reference = ""', "reference", "non-empty"),
        ("end = 2024-12-31", "end", "the grant ends (2024-12-31) before it starts (2025-01-01)"),
    ],
)
def test_bad_required_fields_are_named(replacement, field, reason_part):
    key = replacement.split(" =")[0]
    text = "\n".join(replacement if line.startswith(f"{key} ") else line for line in MINIMAL.splitlines())
    problems = problems_of(text)
    assert reason_part in problems[field], problems


def test_budget_and_indicator_tables_are_checked_item_by_item():
    text = MINIMAL + """
[[budget]]
code = "staff"
name = "Personeel"
amount = "-5.00"

[[budget]]
code = "staff"
name = "Nog eens"
amount = "5.00"
owner = "me"

[[indicators]]
code = "clients"
name = "Cliënten"
target = -1

[odoo.budget_lines]
"611000" = "rent"
"""
    problems = problems_of(text)
    assert "negative" in problems["budget[1].amount"]
    assert problems["budget[2].code"] == "'staff' appears twice"
    assert "unknown field" in problems["budget[2].owner"]
    assert problems["indicators[1].target"] == "must be at least 0"
    assert problems["odoo.budget_lines.611000"] == "'rent' is not a budget line of this grant"


def test_every_problem_is_reported_at_once():
    text = MINIMAL.replace('"1000.00"', '"-1"').replace('kind = "project"', 'kind = "x"') + "extra = 1\n"
    assert set(problems_of(text)) == {"awarded", "kind", "extra"}


# --- deadlines --------------------------------------------------------------------------


def facts(**fields) -> DeadlineFacts:
    base: dict[str, Any] = dict(reference="G", title="T", status="running", funder_type="eu", report_due=dt.date(2026, 3, 31),
                settlement_due=dt.date(2026, 6, 30), settled_on=None, last_payment_on=None)
    base.update(fields)
    return DeadlineFacts(**base)


def test_deadlines_of_a_running_eu_grant():
    found = grant_deadlines(facts(last_payment_on=dt.date(2026, 3, 12)), dt.date(2026, 1, 1))
    assert [(d.kind, d.due, d.days_left) for d in found] == [
        ("report_due", dt.date(2026, 3, 31), 89),
        ("settlement_due", dt.date(2026, 6, 30), 180),
        # DOMAIN.md 4.4: last payment 12 March 2026 → keep until 31 December 2031
        ("record_keeping_end", dt.date(2031, 12, 31), 2190),
    ]


def test_settled_grant_has_a_reclaim_window_of_five_years_and_no_more_report_or_settlement_deadline():
    found = grant_deadlines(facts(status="settled", funder_type="municipality", settled_on=dt.date(2026, 9, 15),
                                  last_payment_on=dt.date(2026, 10, 1)), dt.date(2026, 10, 1))
    assert [(d.kind, d.due, d.open) for d in found] == [("reclaim_window_end", dt.date(2031, 9, 15), False)]


def test_reported_grant_still_owes_the_settlement_request():
    kinds = [d.kind for d in grant_deadlines(facts(status="reported"), dt.date(2026, 1, 1))]
    assert kinds == ["settlement_due"]


def test_the_reclaim_window_from_29_february_ends_on_its_anniversary():
    window = [d for d in grant_deadlines(facts(status="settled", settled_on=dt.date(2024, 2, 29)), dt.date(2025, 1, 1))
              if d.kind == "reclaim_window_end"]
    assert [d.due for d in window] == [dt.date(2029, 2, 28)]   # never after the fifth anniversary


def test_within_a_window_and_overdue():
    today = dt.date(2026, 4, 15)
    found = grant_deadlines(facts(report_due=dt.date(2026, 3, 31)), today)   # report overdue by 15 days
    chosen = select_deadlines(found, 30)
    assert [(d.kind, d.overdue, d.days_left) for d in chosen] == [("report_due", True, -15)]
    assert [d.kind for d in select_deadlines(found, 90)] == ["report_due", "settlement_due"]
    assert [d.kind for d in select_deadlines(found, None)] == ["report_due", "settlement_due"]


def test_an_ended_window_is_no_longer_listed():
    found = grant_deadlines(facts(status="closed", funder_type="eu", settled_on=dt.date(2019, 1, 1),
                                  last_payment_on=dt.date(2019, 1, 1)), dt.date(2026, 1, 1))
    assert select_deadlines(found, None) == []


# --- lifecycle --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "action", "level", "after"),
    [
        ("applied", "award", "full", "awarded"),
        ("awarded", "start", "full", "running"),
        ("running", "report-sent", "full", "reported"),
        ("reported", "settle", "full", "settled"),
        ("settled", "close", "full", "closed"),
        ("awarded", "settle", "none", "settled"),    # direct settlement up to € 25.000
        ("running", "settle", "none", "settled"),
    ],
)
def test_allowed_transitions(status, action, level, after):
    assert next_status("G", status, action, level) == after


@pytest.mark.parametrize(
    ("status", "action", "level", "message"),
    [
        ("awarded", "award", "full", "grant 'G' is awarded: `award` is only possible when it is applied"),
        ("running", "settle", "full", "grant 'G' is running: `settle` is only possible when it is reported"),
        ("applied", "start", "activities", "`start` is only possible when it is awarded"),
        ("reported", "close", "full", "`close` is only possible when it is settled"),
        ("closed", "report-sent", "full", "`report-sent` is only possible when it is running"),
        ("settled", "settle", "none", "`settle` is only possible when it is awarded or running or reported"),
    ],
)
def test_refused_transitions_name_where_they_may_start(status, action, level, message):
    with pytest.raises(GrantTransitionRefused, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        next_status("G", status, action, level)
    assert caught.value.status == status and caught.value.action == action
