"""Which journal entries the donations make: plain functions over plain values.

A donation is booked once, in the entry of its day and channel — bank transfers,
each SEPA collection batch, each Stripe payout (dated by its arrival) — with one
credit line per income account × campaign × grant/fund, and one debit on the bank
(for a payout also the Stripe fees and the refunds it settled, through the clearing
account). Nothing here talks to Odoo or the database: `exports.odoo.sync` gathers
the values, saves the plan and sends it.

Rules:
- the income account comes from the donor (RJ 650, DOMAIN.md 2.2): persons (and
  anonymous gifts) private individuals, companies, foundations and other
  non-profits, related non-profits; a purchase, and the consideration part of a
  gift (DOMAIN.md 1.4), is income from goods and services;
- a refund, chargeback, settled reversal or lost dispute is an entry of its own on
  its own date (`<prefix>:refund:<id>`) that takes the income back from the
  accounts and analytics its gift was booked on;
- a booked donation whose amount, consideration, campaign, fund or income account
  changed since, or that no longer counts as received, is taken back out by a
  correction entry of ours (`<prefix>:correction:<booking id>`, dated the day of the
  sync) and booked again in the next entry for its day and channel;
- refs are stable (`<prefix>:<day>:<channel>:<n>`), so an entry is looked up by its
  ref before it is created.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

INCOME_KEYS = (
    "private_individuals", "companies", "lotteries", "government_grants", "related_nonprofits",
    "other_nonprofits", "goods_and_services",
)
ORGANISATION_INCOME = {
    "company": "companies",
    "foundation": "other_nonprofits",      # vermogensfondsen count as other non-profits (RJ 650, 2016)
    "related_nonprofit": "related_nonprofits",
    "other_nonprofit": "other_nonprofits",
}
Analytic = tuple[str, str]  # (code, name) of an analytic account


def income_key(donor_kind: str | None, organisation_type: str | None, donation_kind: str) -> str:
    """The [odoo.accounts] key of the income account a donation is booked on."""
    if donation_kind == "purchase":
        return "income.goods_and_services"
    if donor_kind != "organisation":
        return "income.private_individuals"
    return "income." + ORGANISATION_INCOME.get(organisation_type or "company", "companies")


@dataclass(frozen=True)
class Booking:
    """How a donation is (or was) booked: what a correction compares and a refund undoes."""

    amount_cents: int
    consideration_cents: int
    income_account: str
    campaign_id: int | None
    fund_id: int | None


@dataclass(frozen=True)
class Gift:
    """One donation as the planner sees it."""

    donation_id: int
    day: dt.date                 # the entry's date: received_on, or the payout's arrival
    channel: str                 # bank, sepa-<batch>, stripe-<payout>
    received: bool               # money that reached us (not pending, not failed)
    booking: Booking             # how it would be booked now
    booked: tuple[int, Booking] | None = None   # (booking id, how it was booked), if it is


@dataclass(frozen=True)
class Refund:
    adjustment_id: int
    donation_id: int
    day: dt.date
    cents: int                   # taken back
    channel: str                 # of the gift it undoes: decides bank or Stripe clearing
    booked: Booking | None = None  # how its gift is booked now, if it is


@dataclass(frozen=True)
class PayoutTotals:
    payout_id: str
    arrival_date: dt.date
    amount_cents: int
    charges_cents: int
    fees_cents: int
    refunds_cents: int           # negative
    disputes_cents: int          # negative
    other_cents: int


@dataclass(frozen=True)
class Line:
    account: str                 # [odoo.accounts] key
    debit_cents: int
    credit_cents: int
    label: str
    campaign: int | None = None  # campaign id (resolved to an analytic account when sent)
    fund: int | None = None


@dataclass
class PlannedEntry:
    ref: str
    kind: str                    # donations, refund, correction, payout
    day: dt.date
    channel: str
    lines: list[Line] = field(default_factory=list)
    donations: list[tuple[int, Booking]] = field(default_factory=list)   # booked by this entry
    refund: int | None = None                                            # adjustment id
    reverses: list[int] = field(default_factory=list)                    # booking ids taken out
    payout: str | None = None

    @property
    def total_cents(self) -> int:
        return sum(line.debit_cents for line in self.lines)

    def accounts(self) -> set[str]:
        return {line.account for line in self.lines}


def income_lines(bookings: list[Booking], *, sign: int, label: str) -> list[Line]:
    """Credit (sign +1) or debit (sign -1) lines per income account × campaign × fund."""
    totals: dict[tuple[str, int | None, int | None], int] = defaultdict(int)
    for booking in bookings:
        rest = booking.amount_cents - booking.consideration_cents
        if rest:
            totals[(booking.income_account, booking.campaign_id, booking.fund_id)] += rest
        if booking.consideration_cents:
            totals[("income.goods_and_services", booking.campaign_id, booking.fund_id)] += booking.consideration_cents
    lines = []
    for (account, campaign, fund), cents in sorted(totals.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0, kv[0][2] or 0)):
        if cents == 0:
            continue
        lines.append(Line(account, cents if sign < 0 else 0, cents if sign > 0 else 0, label, campaign, fund))
    return lines


def settlement_account(channel: str) -> str:
    """Where the money of a channel sits: Stripe holds it until a payout reaches the bank."""
    return "stripe_clearing" if channel.startswith("stripe-") else "bank"


def plan(
    gifts: list[Gift],
    refunds: list[Refund],
    payouts: dict[str, PayoutTotals],
    *,
    existing: dict[tuple[dt.date, str], int],
    today: dt.date,
    prefix: str = "anbi",
) -> list[PlannedEntry]:
    """The entries a sync makes now. `existing[(day, channel)]` counts entries already
    made for that day and channel, so the next one gets the next number."""
    entries: list[PlannedEntry] = []
    counts = dict(existing)
    booked_now: dict[int, Booking] = {}

    # Corrections first: a changed donation is taken out, then booked again below.
    rebook: set[int] = set()
    taken_out: set[int] = set()
    for gift in gifts:
        if gift.booked is None:
            continue
        booking_id, was = gift.booked
        if gift.received and was == gift.booking:
            booked_now[gift.donation_id] = was
            continue
        entry = PlannedEntry(f"{prefix}:correction:{booking_id}", "correction", today, gift.channel, reverses=[booking_id])
        entry.lines = income_lines([was], sign=-1, label="Correction") + [
            Line(settlement_account(gift.channel), 0, was.amount_cents, "Correction")]
        entries.append(entry)
        taken_out.add(gift.donation_id)
        if gift.received:
            rebook.add(gift.donation_id)

    # Donations not (or no longer) booked, by day and channel; payouts as a whole.
    groups: dict[tuple[dt.date, str], list[Gift]] = defaultdict(list)
    for gift in gifts:
        if gift.received and (gift.booked is None or gift.donation_id in rebook):
            groups[(gift.day, gift.channel)].append(gift)
    for (day, channel), members in sorted(groups.items()):
        counts[(day, channel)] = counts.get((day, channel), 0) + 1
        entry = PlannedEntry(f"{prefix}:{day.isoformat()}:{channel}:{counts[(day, channel)]}",
                             "payout" if channel.startswith("stripe-") else "donations", day, channel)
        bookings = [g.booking for g in members]
        label = "Gifts" if not channel.startswith("stripe-") else f"Stripe payout {channel[len('stripe-'):]}"
        entry.lines = income_lines(bookings, sign=1, label=label)
        total = sum(b.amount_cents for b in bookings)
        if channel.startswith("stripe-"):
            payout = payouts[channel[len("stripe-"):]]
            entry.payout = payout.payout_id
            entry.lines += payout_debits(payout, label)
        else:
            entry.lines.append(Line("bank", total, 0, label))
        entry.donations = [(g.donation_id, g.booking) for g in members]
        for g in members:
            booked_now[g.donation_id] = g.booking
        entries.append(entry)

    for refund in refunds:
        booking = booked_now.get(refund.donation_id)
        if booking is None and refund.donation_id not in taken_out:
            booking = refund.booked
        if booking is None or refund.cents <= 0:
            continue  # its gift is not booked (yet): the refund waits for it
        entry = PlannedEntry(f"{prefix}:refund:{refund.adjustment_id}", "refund", refund.day, refund.channel,
                             refund=refund.adjustment_id)
        share = refunded_share(booking, refund.cents)
        entry.lines = income_lines([share], sign=-1, label="Refund") + [
            Line(settlement_account(refund.channel), 0, refund.cents, "Refund")]
        entries.append(entry)
    return entries


def payout_debits(payout: PayoutTotals, label: str) -> list[Line]:
    """Bank gets the payout, Stripe keeps its fees; refunds and disputes the payout
    settled were booked on the clearing account by their own refund entries."""
    lines = [Line("bank", payout.amount_cents, 0, label)]
    if payout.fees_cents:
        lines.append(Line("stripe_fees", payout.fees_cents, 0, label))
    clearing = -(payout.refunds_cents + payout.disputes_cents + payout.other_cents)
    if clearing > 0:
        lines.append(Line("stripe_clearing", clearing, 0, label))
    elif clearing < 0:
        lines.append(Line("stripe_clearing", 0, -clearing, label))
    return lines


def refunded_share(booking: Booking, cents: int) -> Booking:
    """The part of a booking a refund takes back: the consideration in proportion, the
    rounding remainder on the gift part."""
    consideration = 0
    if booking.consideration_cents and booking.amount_cents:
        consideration = booking.consideration_cents * cents // booking.amount_cents
    return Booking(cents, consideration, booking.income_account, booking.campaign_id, booking.fund_id)


def check_balanced(entry: PlannedEntry) -> None:
    debit = sum(line.debit_cents for line in entry.lines)
    credit = sum(line.credit_cents for line in entry.lines)
    if debit != credit:
        raise ValueError(f"entry {entry.ref} does not balance: debit {debit}, credit {credit} (cents)")
