"""Campaigns: what the fundraising team runs to raise money (a mailing, a street
campaign, an online appeal), with a goal, a cost and an optional parent campaign.

`check_campaign` decides whether a campaign may be made (a plain function);
`add_campaign` writes it. Reports on what a campaign raised live in
`fundraising.reports`."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anbi.core import audit
from anbi.core.errors import InvalidInput, Problem
from anbi.core.money import cents_to_str
from fundraising.donations import EUR, is_received, sum_cents
from fundraising.errors import CampaignExists, CampaignNotFound
from fundraising.models import CAMPAIGN_CHANNELS, Campaign, Donation

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,49}$")


@dataclass(frozen=True)
class CampaignInput:
    code: str
    name: str
    goal_cents: int | None = None
    cost_cents: int = 0
    start_on: dt.date | None = None
    end_on: dt.date | None = None
    channel: str | None = None
    parent_code: str | None = None


def check_campaign(values: CampaignInput) -> list[Problem]:
    """Every problem with a campaign to be made; empty when it may be written."""
    problems: list[Problem] = []
    if not _CODE.match(values.code or ""):
        problems.append(Problem(None, "code", "use 1-50 letters, digits, '-', '_' or '.', starting with a letter or digit"))
    if not (values.name or "").strip() or len(values.name) > 200:
        problems.append(Problem(None, "name", "is required (at most 200 characters)"))
    if values.goal_cents is not None and values.goal_cents <= 0:
        problems.append(Problem(None, "goal", "must be more than zero"))
    if values.cost_cents < 0:
        problems.append(Problem(None, "cost", "must not be negative"))
    if values.channel is not None and values.channel not in CAMPAIGN_CHANNELS:
        problems.append(Problem(None, "channel", f"{values.channel!r} is not one of {', '.join(CAMPAIGN_CHANNELS)}"))
    if values.start_on and values.end_on and values.end_on < values.start_on:
        problems.append(Problem(None, "end", "is before the start"))
    if values.parent_code is not None and values.parent_code == values.code:
        problems.append(Problem(None, "parent", "a campaign cannot be its own parent"))
    return problems


def get_campaign(session: Session, code: str) -> Campaign:
    campaign = session.scalar(select(Campaign).where(Campaign.code == code))
    if campaign is None:
        raise CampaignNotFound(code)
    return campaign


def add_campaign(session: Session, values: CampaignInput, *, actor: str) -> Campaign:
    """Make a campaign. Raises InvalidInput (naming the field), CampaignExists, or
    CampaignNotFound for an unknown parent."""
    problems = check_campaign(values)
    if problems:
        raise InvalidInput(problems, f"campaign {values.code}")
    if session.scalar(select(Campaign.id).where(Campaign.code == values.code)) is not None:
        raise CampaignExists(values.code)
    parent = get_campaign(session, values.parent_code) if values.parent_code else None
    campaign = Campaign(
        code=values.code,
        name=values.name.strip(),
        channel=values.channel,
        start_on=values.start_on,
        end_on=values.end_on,
        goal_cents=values.goal_cents,
        cost_cents=values.cost_cents,
        currency=EUR,
        parent=parent,
    )
    session.add(campaign)
    session.flush()
    audit.record(session, actor=actor, action="campaign.add", entity="campaign", entity_ref=campaign.code,
                 details={"name": campaign.name, "channel": campaign.channel})
    return campaign


def campaign_codes_with_descendants(session: Session, code: str) -> tuple[Campaign, list[Campaign]]:
    """The campaign and every campaign below it (children, their children, ...).

    Campaign trees are small (tens to hundreds of rows), so the tree is walked in
    Python over one query."""
    campaign = get_campaign(session, code)
    rows = session.execute(select(Campaign.id, Campaign.parent_id)).all()
    children: dict[int, list[int]] = {}
    for campaign_id, parent_id in rows:
        if parent_id is not None:
            children.setdefault(parent_id, []).append(campaign_id)
    below: list[int] = []
    todo = list(children.get(campaign.id, []))
    while todo:
        current = todo.pop()
        if current in below or current == campaign.id:
            continue  # a cycle cannot be made through add_campaign, but never loop
        below.append(current)
        todo.extend(children.get(current, []))
    descendants = list(session.scalars(select(Campaign).where(Campaign.id.in_(below)).order_by(Campaign.code))) if below else []
    return campaign, descendants


def list_campaigns(session: Session) -> list[dict]:
    """Every campaign with what it raised so far (EUR received, before refunds), in
    one GROUP BY."""
    raised = (
        select(Donation.campaign_id, func.count().label("gifts"), sum_cents(Donation.amount_cents).label("gross"))
        .where(is_received(), Donation.currency == EUR, Donation.campaign_id.is_not(None))
        .group_by(Donation.campaign_id)
        .subquery()
    )
    parent = select(Campaign.id, Campaign.code).subquery("parent")
    rows = session.execute(
        select(Campaign, parent.c.code, raised.c.gifts, raised.c.gross)
        .outerjoin(parent, parent.c.id == Campaign.parent_id)
        .outerjoin(raised, raised.c.campaign_id == Campaign.id)
        .order_by(Campaign.code)
    ).all()
    return [
        campaign_json(campaign, parent_code=parent_code, gifts=gifts or 0, gross_cents=gross or 0)
        for campaign, parent_code, gifts, gross in rows
    ]


def campaign_json(campaign: Campaign, *, parent_code: str | None, gifts: int, gross_cents: int) -> dict:
    return {
        "code": campaign.code,
        "name": campaign.name,
        "channel": campaign.channel,
        "start": campaign.start_on.isoformat() if campaign.start_on else None,
        "end": campaign.end_on.isoformat() if campaign.end_on else None,
        "goal": cents_to_str(campaign.goal_cents) if campaign.goal_cents is not None else None,
        "cost": cents_to_str(campaign.cost_cents),
        "parent": parent_code,
        "gifts": gifts,
        "gross": cents_to_str(int(gross_cents)),
    }
