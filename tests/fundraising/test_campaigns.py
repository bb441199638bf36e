"""Campaigns: the rules for making one, the tree of sub-campaigns, the list."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from anbi.core.audit import AuditEntry
from anbi.core.errors import InvalidInput
from fundraising.campaigns import CampaignInput, add_campaign, campaign_codes_with_descendants, check_campaign, list_campaigns
from fundraising.errors import CampaignExists, CampaignNotFound
from fundraising.models import Campaign
from tests.factories import make_campaign, make_donation, make_donor


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
