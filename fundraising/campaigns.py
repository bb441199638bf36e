"""Campaigns: what the fundraising team runs to raise money (a mailing, a street
campaign, an online appeal), with a goal, a cost and an optional parent campaign.

`check_campaign` decides whether a campaign may be made or changed (a plain
function); `add_campaign` and `edit_campaign` write it, with an audit row.

What a campaign's gifts are is decided here, once: **a campaign's gifts are its own
and those of every campaign below it** (its sub-campaigns, theirs, and so on).
`campaign_ids` gives the campaign's tree and `gifts_of` the condition on donations;
the report (`fundraising.reports`), `list_campaigns`, the donation list and its
filters (`fundraising.queries`), the exports and the web pages all use them, so that
a parent campaign counts the same gifts wherever it is read. This module never
decides which donor may be shown, nor a figure's layout."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, fields, replace

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from anbi.core import audit
from anbi.core.errors import InvalidInput, Problem
from anbi.core.money import cents_to_str
from anbi.core.spelling import other_case
from fundraising.donations import EUR, is_received, sum_cents
from fundraising.errors import CampaignExists, CampaignNotFound
from fundraising.models import CAMPAIGN_CHANNELS, Campaign, Donation, DonationAdjustment

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
    """Every problem with a campaign to be made (or as it would be after a change);
    empty when it may be written."""
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
    """The campaign with exactly this code; CampaignNotFound (suggesting the code
    that differs only in case, if one does) otherwise."""
    campaign = session.scalar(select(Campaign).where(Campaign.code == code))
    if campaign is None:
        raise CampaignNotFound(code, other_case(session, Campaign.code, code))
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


# --- changing a campaign --------------------------------------------------------

# The fields `edit_campaign` may change, as CampaignInput names them.
EDITABLE = ("name", "goal_cents", "cost_cents", "start_on", "end_on", "channel", "parent_code")


def _input_of(campaign: Campaign, parent_code: str | None) -> CampaignInput:
    return CampaignInput(code=campaign.code, name=campaign.name, goal_cents=campaign.goal_cents,
                         cost_cents=campaign.cost_cents, start_on=campaign.start_on, end_on=campaign.end_on,
                         channel=campaign.channel, parent_code=parent_code)


def _audit_value(value):
    """A field's value as the audit row keeps it (JSON): dates ISO, amounts "1234.56"."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _audit_values(values: CampaignInput, names: list[str]) -> dict:
    shown = {}
    for name in names:
        value = getattr(values, name)
        if name.endswith("_cents"):
            shown[name.removesuffix("_cents")] = cents_to_str(value) if value is not None else None
        else:
            shown[name.removesuffix("_code").removesuffix("_on")] = _audit_value(value)
    return shown


def edit_campaign(session: Session, code: str, changes: dict, *, actor: str) -> list[str]:
    """Change the fields in `changes` (keys from EDITABLE; None removes an optional
    value: the goal, a date, the channel or the parent). The changed campaign is
    checked as `add_campaign` checks a new one, and a parent may be neither the
    campaign itself nor one below it (that would make a loop, and a tree whose gifts
    cannot be added up). Returns the names of the fields that changed (empty: nothing
    did, and nothing is written); an audit row keeps each before and after.

    Raises InvalidInput naming the field, or CampaignNotFound for the campaign or
    the new parent."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValueError(f"not editable: {', '.join(unknown)}")  # a programming error, not a person's
    campaign = get_campaign(session, code)
    parent_code = session.scalar(select(Campaign.code).where(Campaign.id == campaign.parent_id)) \
        if campaign.parent_id is not None else None
    before = _input_of(campaign, parent_code)
    after = replace(before, **changes)
    problems = check_campaign(after)
    parent = None
    if after.parent_code is not None and after.parent_code != code:
        parent = get_campaign(session, after.parent_code)
        if parent.id in campaign_ids(session, code):
            problems.append(Problem(None, "parent", f"{parent.code} is below {code}: a campaign cannot be part "
                                                    "of one of its own sub-campaigns"))
    if problems:
        raise InvalidInput(problems, f"campaign {code}")
    changed = [f.name for f in fields(CampaignInput) if f.name in EDITABLE and getattr(before, f.name) != getattr(after, f.name)]
    if not changed:
        return []
    campaign.name = after.name.strip()
    campaign.goal_cents, campaign.cost_cents = after.goal_cents, after.cost_cents
    campaign.start_on, campaign.end_on, campaign.channel = after.start_on, after.end_on, after.channel
    campaign.parent_id = parent.id if parent is not None else None
    session.flush()
    audit.record(session, actor=actor, action="campaign.edit", entity="campaign", entity_ref=campaign.code,
                 details={"before": _audit_values(before, changed), "after": _audit_values(after, changed)})
    return changed


# --- a campaign's gifts: its own and its sub-campaigns' ---------------------------


def _children(session: Session) -> dict[int, list[int]]:
    """Each campaign's direct sub-campaigns, by id. Campaign trees are small (tens to
    hundreds of rows): read in one query and walked in Python."""
    children: dict[int, list[int]] = {}
    for campaign_id, parent_id in session.execute(select(Campaign.id, Campaign.parent_id)):
        if parent_id is not None:
            children.setdefault(parent_id, []).append(campaign_id)
    return children


def tree_below(children: dict[int, list[int]], root: int) -> list[int]:
    """Every id below `root` (children, their children, ...), `root` left out."""
    below: list[int] = []
    seen = {root}
    todo = list(children.get(root, []))
    while todo:
        current = todo.pop()
        if current in seen:
            continue  # edit_campaign refuses a loop; never walk one
        seen.add(current)
        below.append(current)
        todo.extend(children.get(current, []))
    return below


def campaign_ids(session: Session, code: str) -> list[int]:
    """The ids whose gifts are campaign CODE's: its own id first, then every campaign
    below it. Raises CampaignNotFound."""
    campaign = get_campaign(session, code)
    return [campaign.id, *sorted(tree_below(_children(session), campaign.id))]


def gifts_of(ids: list[int]) -> ColumnElement[bool]:
    """The condition on donations for the gifts of the campaign whose `campaign_ids`
    these are. One id stays `campaign_id = :id`, so that a campaign without
    sub-campaigns is read from the (campaign_id, received_on, id) index exactly as
    before; a parent becomes `campaign_id IN (...)`."""
    if len(ids) == 1:
        return Donation.campaign_id == ids[0]
    return Donation.campaign_id.in_(ids)


def campaign_codes_with_descendants(session: Session, code: str) -> tuple[Campaign, list[Campaign]]:
    """The campaign and every campaign below it, by code."""
    campaign = get_campaign(session, code)
    below = tree_below(_children(session), campaign.id)
    descendants = list(session.scalars(select(Campaign).where(Campaign.id.in_(below)).order_by(Campaign.code))) if below else []
    return campaign, descendants


# --- the list ---------------------------------------------------------------------


@dataclass
class _Raised:
    gifts: int = 0
    gross_cents: int = 0
    fees_cents: int = 0
    refunds_cents: int = 0
    lost_disputes_cents: int = 0

    def add(self, other: _Raised) -> None:
        self.gifts += other.gifts
        self.gross_cents += other.gross_cents
        self.fees_cents += other.fees_cents
        self.refunds_cents += other.refunds_cents
        self.lost_disputes_cents += other.lost_disputes_cents

    @property
    def net_cents(self) -> int:
        """As the report's net: gross less refunds, lost disputes and fees."""
        return self.gross_cents - self.refunds_cents - self.lost_disputes_cents - self.fees_cents


def _raised_by_campaign(session: Session) -> dict[int, _Raised]:
    """What each campaign raised by itself (its direct gifts), as the report counts:
    received euro gifts, their fees, and what refunds, chargebacks, reversals and lost
    disputes took back of them (whenever that was). Two GROUP BYs."""
    raised: dict[int, _Raised] = {}
    for campaign_id, gifts, gross, fees in session.execute(
        select(Donation.campaign_id, func.count(), sum_cents(Donation.amount_cents), sum_cents(Donation.fee_cents))
        .where(is_received(), Donation.currency == EUR, Donation.campaign_id.is_not(None))
        .group_by(Donation.campaign_id)
    ):
        assert campaign_id is not None  # selected so
        raised[campaign_id] = _Raised(int(gifts), int(gross), int(fees))
    # Adjustments are few next to donations: each looks up its own donation by primary
    # key (as the report does), rather than the database scanning every donation.
    campaign_of = (
        select(Donation.campaign_id)
        .where(Donation.id == DonationAdjustment.donation_id, is_received(), Donation.currency == EUR)
        .scalar_subquery()
    )
    taken = (
        select(campaign_of.label("campaign_id"), DonationAdjustment.kind.label("kind"),
               DonationAdjustment.taken_back_cents.label("cents"))
        .where(DonationAdjustment.taken_back_cents > 0)
        .subquery("taken")
    )
    lost = taken.c.kind == "dispute_lost"
    for campaign_id, refunds, lost_disputes in session.execute(
        select(taken.c.campaign_id, sum_cents(case((lost, 0), else_=taken.c.cents)),
               sum_cents(case((lost, taken.c.cents), else_=0)))
        .where(taken.c.campaign_id.is_not(None))
        .group_by(taken.c.campaign_id)
    ):
        figures = raised.setdefault(campaign_id, _Raised())
        figures.refunds_cents += int(refunds)
        figures.lost_disputes_cents += int(lost_disputes)
    return raised


def list_campaigns(session: Session) -> list[dict]:
    """Every campaign, by code, with what it raised so far, sub-campaigns included
    (as its report counts): gifts and gross (EUR received), refunds (what refunds,
    chargebacks and settled reversals took back), lost disputes, payment fees, net
    (gross less those three) and progress to the goal (net / goal)."""
    campaigns = list(session.scalars(select(Campaign).order_by(Campaign.code)))
    code_of = {c.id: c.code for c in campaigns}
    children: dict[int, list[int]] = {}
    for c in campaigns:
        if c.parent_id is not None:
            children.setdefault(c.parent_id, []).append(c.id)
    direct = _raised_by_campaign(session)
    items = []
    for campaign in campaigns:
        below = tree_below(children, campaign.id)
        total = _Raised()
        for campaign_id in (campaign.id, *below):
            if campaign_id in direct:
                total.add(direct[campaign_id])
        parent_code = code_of[campaign.parent_id] if campaign.parent_id is not None else None
        items.append(campaign_json(campaign, parent_code=parent_code,
                                   includes=sorted(code_of[i] for i in below), raised=total))
    return items


def campaign_json(campaign: Campaign, *, parent_code: str | None, includes: list[str], raised: _Raised) -> dict:
    from fundraising.reports import percentage  # the report's own rounding (reports imports this module)

    return {
        "code": campaign.code,
        "name": campaign.name,
        "channel": campaign.channel,
        "start": campaign.start_on.isoformat() if campaign.start_on else None,
        "end": campaign.end_on.isoformat() if campaign.end_on else None,
        "goal": cents_to_str(campaign.goal_cents) if campaign.goal_cents is not None else None,
        "cost": cents_to_str(campaign.cost_cents),
        "parent": parent_code,
        "includes": includes,
        "gifts": raised.gifts,
        "gross": cents_to_str(raised.gross_cents),
        "refunds": cents_to_str(raised.refunds_cents),
        "lost_disputes": cents_to_str(raised.lost_disputes_cents),
        "fees": cents_to_str(raised.fees_cents),
        "net": cents_to_str(raised.net_cents),
        "progress_pct": percentage(raised.net_cents, campaign.goal_cents) if campaign.goal_cents else None,
    }
