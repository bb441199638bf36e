"""The figures on the dashboard, gathered with a few grouped SQL queries.

Income is money that reached us (paid, and later refunded or disputed) in euros,
dated by the day it arrived; what refunds, chargebacks and lost disputes took back
is booked in the month it happened (DESIGN.md, Refunds: every report other than the
receipts books a refund on its own date). Other currencies are left out of the
euro figures, as every report does. The year's income by origin is split over the
RJ 650 income lines by `fundraising.income`, the one table the income statement and
the ledger use too, so the dashboard shows the statement's donation figures."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import extract, select
from sqlalchemy.orm import Session

from anbi.core.clock import today
from anbi.core.runs import ImportRun
from donors import names
from donors.models import Donor
from donors.service import active_filter
from fundraising.donations import is_received, sum_cents, taken_back_total
from fundraising.income import DUTCH_NAMES, INCOME_LINES, income_by_line
from fundraising.models import Campaign, Donation, DonationAdjustment, RecurringGift
from fundraising.reports import retention

EUR = "EUR"
TOP_CAMPAIGNS = 8


@dataclass(frozen=True)
class Amount:
    key: str | None
    label: str
    cents: int


@dataclass(frozen=True)
class DonorCounts:
    new: int
    returning: int
    lapsed: int


@dataclass(frozen=True)
class FailingGift:
    donor_ref: str
    donor_name: str
    reference: str
    amount_cents: int
    currency: str
    interval: str
    method: str
    failed_attempts: int


@dataclass
class Dashboard:
    year: int
    months_current: list[int]
    months_previous: list[int]
    by_campaign: list[Amount]
    by_channel: list[Amount]
    by_origin: list[Amount]
    donors: DonorCounts
    failing: list[FailingGift]
    imports: list[ImportRun] = field(default_factory=list)


def _year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def income_by_month(session: Session, year: int) -> list[int]:
    """Twelve net euro amounts in cents: gifts received less what was taken back, by month."""
    start, end = _year_bounds(year)
    month = extract("month", Donation.received_on)
    months = [0] * 12
    for number, cents in session.execute(
        select(month, sum_cents(Donation.amount_cents))
        .where(Donation.currency == EUR, is_received(), Donation.received_on.between(start, end))
        .group_by(month)
    ):
        months[int(number) - 1] += int(cents)
    back_month = extract("month", DonationAdjustment.occurred_on)
    for number, cents in session.execute(
        select(back_month, taken_back_total())
        .join(Donation, Donation.id == DonationAdjustment.donation_id)
        .where(Donation.currency == EUR, DonationAdjustment.occurred_on.between(start, end))
        .group_by(back_month)
    ):
        months[int(number) - 1] -= int(cents)
    return months


def _net_by(session: Session, year: int, key, join_campaign: bool) -> dict:
    """Net euro income of the year grouped by `key` (a campaign column)."""
    start, end = _year_bounds(year)
    totals: dict = {}
    gross = select(key, sum_cents(Donation.amount_cents)).where(
        Donation.currency == EUR, is_received(), Donation.received_on.between(start, end))
    back = (select(key, taken_back_total())
            .join(Donation, Donation.id == DonationAdjustment.donation_id)
            .where(Donation.currency == EUR, DonationAdjustment.occurred_on.between(start, end)))
    if join_campaign:
        gross = gross.select_from(Donation).outerjoin(Campaign, Campaign.id == Donation.campaign_id)
        back = back.outerjoin(Campaign, Campaign.id == Donation.campaign_id)
    for value, cents in session.execute(gross.group_by(key)):
        totals[value] = totals.get(value, 0) + int(cents)
    for value, cents in session.execute(back.group_by(key)):
        totals[value] = totals.get(value, 0) - int(cents)
    return totals


def income_by_campaign(session: Session, year: int, *, no_campaign: str, others: str) -> list[Amount]:
    totals = _net_by(session, year, Donation.campaign_id, join_campaign=False)
    ids = [i for i in totals if i is not None]
    info = {row.id: (row.code, row.name) for row in session.execute(
        select(Campaign.id, Campaign.code, Campaign.name).where(Campaign.id.in_(ids)))} if ids else {}
    items = [Amount(info[i][0], info[i][1], cents) for i, cents in totals.items() if i is not None]
    items.sort(key=lambda a: (-a.cents, a.key or ""))
    rest = items[TOP_CAMPAIGNS:]
    items = items[:TOP_CAMPAIGNS]
    if rest:
        items.append(Amount(None, others, sum(a.cents for a in rest)))
    if totals.get(None):
        items.append(Amount(None, no_campaign, totals[None]))
    return items


def income_by_channel(session: Session, year: int, *, no_channel: str) -> list[Amount]:
    totals = _net_by(session, year, Campaign.channel, join_campaign=True)
    items = [Amount(channel, channel or no_channel, cents) for channel, cents in totals.items()]
    items.sort(key=lambda a: (a.key is None, -a.cents, a.key or ""))
    return items


def income_by_origin(session: Session, year: int) -> list[Amount]:
    """The year's donation income per RJ 650 income line (the gift part by who gave
    it, the consideration part as goods and services), net of refunds."""
    lines = income_by_line(session, year, year).get(year, {})
    return [Amount(line, DUTCH_NAMES[line], lines[line]) for line in INCOME_LINES if lines.get(line)]


def donor_counts(session: Session, year: int) -> DonorCounts:
    """New: no gift ever before `year`. Returning: gave in `year` and before it
    (retained from last year, or reactivated). Lapsed: gave last year, not (yet) in
    `year`. From the fundraising part's retention report, so the numbers agree."""
    figures = retention(session, year)
    return DonorCounts(new=figures.new, returning=figures.retained + figures.reactivated, lapsed=figures.lapsed)


def failing_recurring(session: Session, limit: int = 20) -> list[FailingGift]:
    rows = session.execute(
        select(RecurringGift, Donor)
        .join(Donor, Donor.id == RecurringGift.donor_id)
        .where(RecurringGift.status == "failing", *active_filter())
        .order_by(RecurringGift.failed_attempts.desc(), RecurringGift.id)
        .limit(limit)
    ).all()
    return [
        FailingGift(donor.ref, names.display_name(donor), gift.reference, gift.amount_cents, gift.currency,
                    gift.interval, gift.method, gift.failed_attempts)
        for gift, donor in rows
    ]


def last_imports(session: Session, limit: int = 8) -> list[ImportRun]:
    return list(session.scalars(select(ImportRun).order_by(ImportRun.at.desc(), ImportRun.id.desc()).limit(limit)))


def build(session: Session, *, year: int | None = None, no_campaign: str = "no campaign",
          others: str = "other campaigns", no_channel: str = "no channel") -> Dashboard:
    year = year or today().year
    return Dashboard(
        year=year,
        months_current=income_by_month(session, year),
        months_previous=income_by_month(session, year - 1),
        by_campaign=income_by_campaign(session, year, no_campaign=no_campaign, others=others),
        by_channel=income_by_channel(session, year, no_channel=no_channel),
        by_origin=income_by_origin(session, year),
        donors=donor_counts(session, year),
        failing=failing_recurring(session),
        imports=last_imports(session),
    )
