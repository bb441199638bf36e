"""Campaigns: the rules for making one, the tree of sub-campaigns, the list."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from anbi.core.audit import AuditEntry
from anbi.core.errors import InvalidInput
from fundraising.campaigns import (
    CampaignInput,
    add_campaign,
    campaign_codes_with_descendants,
    check_campaign,
    edit_campaign,
    get_campaign,
    list_campaigns,
    tree_below,
)
from fundraising.errors import CampaignExists, CampaignNotFound
from fundraising.models import Campaign
from tests.factories import make_adjustment, make_campaign, make_donation, make_donor


def test_a_complete_campaign_has_no_problems():
    values = CampaignInput("XMAS-2025", "Kerst", goal_cents=5_000_000, cost_cents=120_000,
                           start_on=dt.date(2025, 11, 1), end_on=dt.date(2025, 12, 31), channel="mail")
    assert check_campaign(values) == []


@pytest.mark.parametrize(
    "values, field",
    [
        (CampaignInput("", "Kerst"), "code"),
        (CampaignInput("has space", "Kerst"), "code"),
        (CampaignInput("-X", "Kerst"), "code"),
        (CampaignInput("X", "  "), "name"),
        (CampaignInput("X", "Kerst", goal_cents=0), "goal"),
        (CampaignInput("X", "Kerst", cost_cents=-1), "cost"),
        (CampaignInput("X", "Kerst", channel="radio"), "channel"),
        (CampaignInput("X", "Kerst", start_on=dt.date(2025, 2, 1), end_on=dt.date(2025, 1, 31)), "end"),
        (CampaignInput("X", "Kerst", parent_code="X"), "parent"),
    ],
)
def test_each_bad_value_is_named(values, field):
    assert [p.field for p in check_campaign(values)] == [field]


def test_add_campaign_writes_it_with_an_audit_row(session):
    parent = add_campaign(session, CampaignInput("XMAS", "Kerst"), actor="tester")
    child = add_campaign(session, CampaignInput("XMAS-MAIL", "Kerst post", goal_cents=100_000, channel="mail",
                                                parent_code="XMAS"), actor="tester")
    assert child.parent_id == parent.id
    assert (child.goal_cents, child.cost_cents, child.currency) == (100_000, 0, "EUR")
    actions = session.scalars(select(AuditEntry.entity_ref).where(AuditEntry.action == "campaign.add")).all()
    assert sorted(actions) == ["XMAS", "XMAS-MAIL"]


def test_add_campaign_refuses_a_known_code_an_unknown_parent_and_bad_values(session):
    add_campaign(session, CampaignInput("XMAS", "Kerst"), actor="tester")
    with pytest.raises(CampaignExists):
        add_campaign(session, CampaignInput("XMAS", "Again"), actor="tester")
    with pytest.raises(CampaignNotFound):
        add_campaign(session, CampaignInput("CHILD", "Kind", parent_code="NOPE"), actor="tester")
    with pytest.raises(InvalidInput) as caught:
        add_campaign(session, CampaignInput("BAD", "Slecht", goal_cents=-5), actor="tester")
    assert caught.value.problems[0].field == "goal"
    assert session.scalar(select(func.count()).select_from(Campaign)) == 1


def test_descendants_are_found_through_every_level(session):
    top = make_campaign(session, code="TOP")
    middle = make_campaign(session, code="MID", parent=top)
    make_campaign(session, code="LEAF", parent=middle)
    make_campaign(session, code="OTHER")
    campaign, below = campaign_codes_with_descendants(session, "TOP")
    assert campaign.code == "TOP"
    assert [c.code for c in below] == ["LEAF", "MID"]


def test_list_shows_received_euro_gifts_per_campaign(session):
    spring = make_campaign(session, code="SPRING", goal="1000.00")
    make_campaign(session, code="EMPTY")
    donor = make_donor(session)
    make_donation(session, donor=donor, campaign=spring, amount="25.00")
    make_donation(session, donor=donor, campaign=spring, amount="10.50")
    make_donation(session, donor=donor, campaign=spring, amount="99.00", status="failed")
    make_donation(session, donor=donor, campaign=spring, amount="99.00", status="pending")
    make_donation(session, donor=donor, campaign=spring, amount="99.00", currency="USD")
    items = {item["code"]: item for item in list_campaigns(session)}
    assert (items["SPRING"]["gifts"], items["SPRING"]["gross"], items["SPRING"]["goal"]) == (2, "35.50", "1000.00")
    assert (items["EMPTY"]["gifts"], items["EMPTY"]["gross"], items["EMPTY"]["goal"]) == (0, "0.00", None)


# --- changing a campaign ----------------------------------------------------------


def _audit_rows(session, action):
    return session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


def test_edit_changes_only_what_is_given_and_audits_before_and_after(session):
    add_campaign(session, CampaignInput("XMAS", "Kerst", goal_cents=100_000, start_on=dt.date(2025, 11, 1)), actor="t")
    add_campaign(session, CampaignInput("SPRING", "Voorjaar"), actor="t")
    changed = edit_campaign(session, "XMAS", {"goal_cents": 250_000, "cost_cents": 12_345, "end_on": dt.date(2025, 12, 31),
                                              "parent_code": "SPRING"}, actor="editor")
    assert changed == ["goal_cents", "cost_cents", "end_on", "parent_code"]
    campaign = get_campaign(session, "XMAS")
    assert (campaign.name, campaign.goal_cents, campaign.cost_cents, campaign.start_on, campaign.end_on) == (
        "Kerst", 250_000, 12_345, dt.date(2025, 11, 1), dt.date(2025, 12, 31))
    assert campaign.parent is not None
    assert campaign.parent.code == "SPRING"
    [entry] = _audit_rows(session, "campaign.edit")
    assert (entry.actor, entry.entity_ref) == ("editor", "XMAS")
    assert entry.details == {
        "before": {"goal": "1000.00", "cost": "0.00", "end": None, "parent": None},
        "after": {"goal": "2500.00", "cost": "123.45", "end": "2025-12-31", "parent": "SPRING"},
    }


def test_edit_removes_an_optional_value_with_none_and_writes_nothing_when_nothing_changes(session):
    add_campaign(session, CampaignInput("TOP", "Boven"), actor="t")
    add_campaign(session, CampaignInput("XMAS", "Kerst", goal_cents=100_000, parent_code="TOP",
                                        start_on=dt.date(2025, 11, 1)), actor="t")
    assert edit_campaign(session, "XMAS", {"parent_code": None, "goal_cents": None, "start_on": None}, actor="t") == [
        "goal_cents", "start_on", "parent_code"]
    campaign = get_campaign(session, "XMAS")
    assert (campaign.parent_id, campaign.goal_cents, campaign.start_on) == (None, None, None)
    assert edit_campaign(session, "XMAS", {"name": "Kerst", "parent_code": None}, actor="t") == []
    assert len(_audit_rows(session, "campaign.edit")) == 1


@pytest.mark.parametrize("changes, field, reason", [
    ({"parent_code": "XMAS"}, "parent", "its own parent"),
    ({"parent_code": "XMAS-MAIL"}, "parent", "XMAS-MAIL is below XMAS"),
    ({"parent_code": "XMAS-MAIL-2"}, "parent", "XMAS-MAIL-2 is below XMAS"),
    ({"end_on": dt.date(2025, 10, 31)}, "end", "before the start"),
    ({"goal_cents": 0}, "goal", "more than zero"),
    ({"cost_cents": -1}, "cost", "not be negative"),
    ({"name": "  "}, "name", "is required"),
    ({"channel": "radio"}, "channel", "not one of"),
])
def test_edit_refuses_a_loop_and_what_add_refuses_and_writes_nothing(session, changes, field, reason):
    add_campaign(session, CampaignInput("XMAS", "Kerst", start_on=dt.date(2025, 11, 1)), actor="t")
    add_campaign(session, CampaignInput("XMAS-MAIL", "Kerst post", parent_code="XMAS"), actor="t")
    add_campaign(session, CampaignInput("XMAS-MAIL-2", "Kerst post 2", parent_code="XMAS-MAIL"), actor="t")
    with pytest.raises(InvalidInput) as caught:
        edit_campaign(session, "XMAS", changes, actor="t")
    [problem] = caught.value.problems
    assert problem.field == field and reason in problem.reason
    campaign = get_campaign(session, "XMAS")
    assert (campaign.parent_id, campaign.start_on, campaign.end_on, campaign.name) == (None, dt.date(2025, 11, 1), None, "Kerst")
    assert _audit_rows(session, "campaign.edit") == []


def test_edit_names_an_unknown_campaign_or_parent_and_suggests_the_code_in_another_case(session):
    add_campaign(session, CampaignInput("KERST-2025", "Kerst"), actor="t")
    with pytest.raises(CampaignNotFound, match=r"campaign 'kerst-2025' does not exist; did you mean KERST-2025\?"):
        edit_campaign(session, "kerst-2025", {"name": "Kerst!"}, actor="t")
    with pytest.raises(CampaignNotFound, match=r"'NOPE' does not exist$"):
        edit_campaign(session, "KERST-2025", {"parent_code": "NOPE"}, actor="t")


def test_moving_a_sub_campaign_moves_its_gifts_to_the_new_parent(session):
    top = make_campaign(session, code="TOP")
    other = make_campaign(session, code="OTHER")
    leaf = make_campaign(session, code="LEAF", parent=top)
    make_donation(session, campaign=leaf, amount="10.00")
    items = {item["code"]: item for item in list_campaigns(session)}
    assert (items["TOP"]["gifts"], items["OTHER"]["gifts"]) == (1, 0)
    edit_campaign(session, "LEAF", {"parent_code": other.code}, actor="t")
    items = {item["code"]: item for item in list_campaigns(session)}
    assert (items["TOP"]["gifts"], items["OTHER"]["gifts"], items["OTHER"]["includes"]) == (0, 1, ["LEAF"])


def test_a_loop_in_the_stored_tree_is_never_walked_forever():
    assert sorted(tree_below({1: [2], 2: [3], 3: [1]}, 1)) == [2, 3]
    assert tree_below({}, 1) == []


def test_the_list_adds_up_as_the_report_does(session):
    from fundraising.reports import campaign_report

    top = make_campaign(session, code="TOP", goal="400.00")
    below = make_campaign(session, code="BELOW", parent=top)
    donor = make_donor(session)
    make_donation(session, donor=donor, campaign=top, amount="100.00", fee_cents=150)
    lost = make_donation(session, donor=donor, campaign=below, amount="200.00", status="dispute_lost")
    make_adjustment(session, lost, kind="dispute_lost", amount="200.00", taken_back_cents=200_00)
    refunded = make_donation(session, donor=donor, campaign=below, amount="60.00", status="partially_refunded")
    make_adjustment(session, refunded, kind="refund", amount="20.00", taken_back_cents=20_00)
    make_donation(session, donor=donor, campaign=below, amount="70.00", currency="USD")  # never in euro figures
    make_donation(session, donor=donor, campaign=below, amount="80.00", status="failed")
    [listed] = [c for c in list_campaigns(session) if c["code"] == "TOP"]
    report = campaign_report(session, "TOP").as_json()
    # 100 + 200 + 60 received; 20 refunded, 200 lost in a dispute, 1.50 in fees.
    assert {k: listed[k] for k in ("gifts", "gross", "refunds", "lost_disputes", "fees", "net")} == {
        "gifts": 3, "gross": "360.00", "refunds": "20.00", "lost_disputes": "200.00", "fees": "1.50", "net": "138.50"}
    assert {k: report[k] for k in ("gifts", "gross", "refunds", "lost_disputes", "fees", "net", "progress_pct")} == {
        k: listed[k] for k in ("gifts", "gross", "refunds", "lost_disputes", "fees", "net", "progress_pct")}
