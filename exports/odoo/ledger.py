"""Which journal entries the donations make: plain functions over plain values.

Which income account each part of a donation goes to is decided by the one table in
`fundraising.income` (RJ 650, DOMAIN.md 2.2), the same as the income statement's, so
that the ledger and the statement agree per income line and year to the cent. Nothing
here talks to Odoo or the database: `exports.odoo.sync` gathers the values, saves the
plan and sends it.

The entries:

- donations, one entry per day and channel — bank transfers (`bank`), each SEPA
  collection batch (`sepa-<batch>`) and Stripe (`stripe`) — with one credit line per
  income account × campaign × grant/fund and one debit where the money is: the bank,
  or for Stripe the clearing account (`stripe_clearing`). A Stripe gift is income on
  its own date like any other (DESIGN.md, Dates), not when its payout arrives;
- a Stripe payout, once it is paid and reconciled: its own entry on its arrival date
  (`<prefix>:<arrival>:stripe-<payout>:<n>`) that moves the money from the clearing
  account to the bank, with Stripe's fees. The refunds and disputes it settled were
  taken off the clearing account by their own refund entries;
- a refund, chargeback, settled reversal or lost dispute: an entry of its own on its
  own date (`<prefix>:refund:<id>`) that takes the income back from the accounts and
  analytics its gift was booked on (the consideration in proportion, as the table
  says) and credits the gift's bank or clearing account;
- a correction: a booked donation whose amount, consideration, campaign, fund, income
  account or channel changed since, or that no longer counts as received, is taken
  out by an entry of ours (`<prefix>:correction:<booking id>`) dated the day of the
  entry it corrects — so each year's figures in the ledger are the statement's — and
  booked again in the next entry for its day and channel. Its refunds follow: one
  whose lines would now differ is taken out on its own date
  (`<prefix>:correction:refund:<refund booking id>`) and booked again
  (`<prefix>:refund:<id>:<n>`). A posted entry is never edited.

An install that booked Stripe gifts with their payout (before this rule) has them in
entries of kind payout, channel `stripe-<payout>`: each such booking is a channel
change. Its correction takes the income out on the payout's date against the clearing
account — the old payout entry and that correction together are exactly a payout
entry of today's rule (bank and fees debited, clearing credited) — and the gift is
booked again on its own date against the clearing account. The payout already has its
entry, so it is not booked again: nothing is counted twice.

Refs are stable (`<prefix>:<day>:<channel>:<n>`), so an entry is looked up by its ref
before it is created.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from fundraising.income import GOODS_AND_SERVICES, IncomeSplit, taken_back_consideration

INCOME = "income."
STRIPE = "stripe"
Analytic = tuple[str, str]  # (code, name) of an analytic account


@dataclass(frozen=True)
class Booking:
    """How a donation is (or was) booked: what a correction compares and a refund undoes.
    `consideration_cents` went to goods and services, the rest to `income_account`."""

    amount_cents: int
    consideration_cents: int
    income_account: str          # [odoo.accounts] key of the gift part: income.<line>
    campaign_id: int | None
    fund_id: int | None


def booking_of(split: IncomeSplit, campaign_id: int | None, fund_id: int | None) -> Booking:
    """The booking of a donation split over the income lines by `fundraising.income`."""
    return Booking(split.amount_cents, split.consideration_cents, INCOME + split.gift_line, campaign_id, fund_id)


@dataclass(frozen=True)
class BookedRefund:
    """A refund in the ledger, with the booking of its gift its lines were taken from."""

    refund_booking_id: int
    adjustment_id: int
    day: dt.date
    cents: int
    channel: str
    booking: Booking
    times_booked: int = 1        # this one included: the next booking of it is number times_booked + 1


@dataclass(frozen=True)
class Booked:
    """A booking that is in the ledger, with the day and channel of its entry and the
    refunds booked against its donation."""

    booking_id: int
    booking: Booking
    day: dt.date
    channel: str
    refunds: tuple[BookedRefund, ...] = ()


@dataclass(frozen=True)
class LedgerGift:
    """One donation as the planner sees it."""

    donation_id: int
    day: dt.date                 # received_on
    channel: str                 # bank, sepa-<batch>, stripe
    received: bool               # money that reached us (not pending, not failed)
    booking: Booking             # how it would be booked now
    booked: Booked | None = None  # how it is booked, if it is


@dataclass(frozen=True)
class Refund:
    adjustment_id: int
    donation_id: int
    day: dt.date
    cents: int                   # taken back
    channel: str                 # of the gift it undoes: decides bank or Stripe clearing
    booked: Booking | None = None  # how its gift is booked now, if it is
    times_booked: int = 0        # booked before and taken back out by a correction: the ref's number


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
    refunded_donation: int | None = None                                 # the donation it undoes
    reverses: list[int] = field(default_factory=list)                    # booking ids taken out
    reverses_refunds: list[int] = field(default_factory=list)            # refund booking ids taken out
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
            totals[(INCOME + GOODS_AND_SERVICES, booking.campaign_id, booking.fund_id)] += booking.consideration_cents
    lines = []
    for (account, campaign, fund), cents in sorted(totals.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0, kv[0][2] or 0)):
        if cents == 0:
            continue
        lines.append(Line(account, cents if sign < 0 else 0, cents if sign > 0 else 0, label, campaign, fund))
    return lines


def settlement_account(channel: str) -> str:
    """Where the money of a channel sits: Stripe holds it until a payout reaches the bank."""
    return "stripe_clearing" if channel == STRIPE or channel.startswith(STRIPE + "-") else "bank"


def signed_line(account: str, cents: int, label: str) -> list[Line]:
    """A debit for a positive amount, a credit for a negative one, nothing for 0."""
    if cents == 0:
        return []
    return [Line(account, cents, 0, label) if cents > 0 else Line(account, 0, -cents, label)]


def donation_lines(bookings: list[Booking], channel: str, label: str = "Gifts") -> list[Line]:
    """Income credited per account × campaign × fund, the money debited where it sits."""
    return income_lines(bookings, sign=1, label=label) + [
        Line(settlement_account(channel), sum(b.amount_cents for b in bookings), 0, label)]


def correction_lines(bookings: list[Booking], channel: str) -> list[Line]:
    """The bookings taken back out: income debited, the money credited where it was booked."""
    return income_lines(bookings, sign=-1, label="Correction") + [
        Line(settlement_account(channel), 0, sum(b.amount_cents for b in bookings), "Correction")]


def refund_lines(booking: Booking, cents: int, channel: str) -> list[Line]:
    return income_lines([refunded_share(booking, cents)], sign=-1, label="Refund") + [
        Line(settlement_account(channel), 0, cents, "Refund")]


def refund_correction_lines(booking: Booking, cents: int, channel: str) -> list[Line]:
    """A refund taken back out: its lines the other way round."""
    return [Line(line.account, line.credit_cents, line.debit_cents, "Correction", line.campaign, line.fund)
            for line in refund_lines(booking, cents, channel)]


def refund_ref(prefix: str, adjustment_id: int, times_booked: int) -> str:
    """`<prefix>:refund:<id>`; booked again after a correction: `...:<id>:<n>`."""
    return f"{prefix}:refund:{adjustment_id}" + (f":{times_booked + 1}" if times_booked else "")


def payout_lines(payout: PayoutTotals) -> list[Line]:
    """A payout moves what Stripe holds for us to the bank: the bank gets the payout,
    Stripe keeps its fees, and the clearing account gives up both."""
    label = f"Stripe payout {payout.payout_id}"
    return (signed_line("bank", payout.amount_cents, label) + signed_line("stripe_fees", payout.fees_cents, label)
            + signed_line("stripe_clearing", -(payout.amount_cents + payout.fees_cents), label))


def legacy_payout_lines(bookings: list[Booking], payout: PayoutTotals) -> list[Line]:
    """An entry of kind payout planned before Stripe gifts were booked on their own
    dates (the gifts' income credited with the payout): sent as it was planned."""
    label = f"Stripe payout {payout.payout_id}"
    lines = income_lines(bookings, sign=1, label=label) + signed_line("bank", payout.amount_cents, label)
    lines += signed_line("stripe_fees", payout.fees_cents, label)
    return lines + signed_line("stripe_clearing", -(payout.refunds_cents + payout.disputes_cents + payout.other_cents), label)


def plan(
    gifts: list[LedgerGift],
    refunds: list[Refund],
    payouts: list[PayoutTotals],
    *,
    existing: dict[tuple[dt.date, str], int],
    prefix: str = "anbi",
) -> list[PlannedEntry]:
    """The entries a sync makes now. `payouts` are the paid, reconciled payouts that
    have no entry yet; `existing[(day, channel)]` counts entries already made for that
    day and channel, so the next one gets the next number."""
    entries: list[PlannedEntry] = []
    counts = dict(existing)
    booked_now: dict[int, Booking] = {}

    def ref(day: dt.date, channel: str) -> str:
        counts[(day, channel)] = counts.get((day, channel), 0) + 1
        return f"{prefix}:{day.isoformat()}:{channel}:{counts[(day, channel)]}"

    # Corrections first: a changed donation is taken out, then booked again below.
    rebook: set[int] = set()
    taken_out: set[int] = set()
    corrected: list[LedgerGift] = []
    for gift in gifts:
        was = gift.booked
        if was is None:
            continue
        if gift.received and was.booking == gift.booking and was.channel == gift.channel:
            booked_now[gift.donation_id] = was.booking
            continue
        entries.append(PlannedEntry(f"{prefix}:correction:{was.booking_id}", "correction", was.day, was.channel,
                                    lines=correction_lines([was.booking], was.channel), reverses=[was.booking_id]))
        taken_out.add(gift.donation_id)
        corrected.append(gift)
        if gift.received:
            rebook.add(gift.donation_id)

    # Donations not (or no longer) booked, by day and channel.
    groups: dict[tuple[dt.date, str], list[LedgerGift]] = defaultdict(list)
    for gift in gifts:
        if gift.received and (gift.booked is None or gift.donation_id in rebook):
            groups[(gift.day, gift.channel)].append(gift)
    for (day, channel), members in sorted(groups.items()):
        entry = PlannedEntry(ref(day, channel), "donations", day, channel)
        entry.lines = donation_lines([g.booking for g in members], channel)
        entry.donations = [(g.donation_id, g.booking) for g in members]
        booked_now.update((g.donation_id, g.booking) for g in members)
        entries.append(entry)

    # A corrected gift's refunds follow it: a refund whose lines would now differ (its
    # split or its account changed) is taken out on its own date and booked again.
    refunds = list(refunds)
    for gift in corrected:
        new = gift.booking if gift.donation_id in rebook else None
        assert gift.booked is not None  # a corrected gift was booked
        for earlier in gift.booked.refunds:
            if new is not None and refund_lines(earlier.booking, earlier.cents, earlier.channel) == refund_lines(
                    new, earlier.cents, gift.channel):
                continue
            entries.append(PlannedEntry(
                f"{prefix}:correction:refund:{earlier.refund_booking_id}", "correction", earlier.day, earlier.channel,
                lines=refund_correction_lines(earlier.booking, earlier.cents, earlier.channel),
                reverses_refunds=[earlier.refund_booking_id]))
            if new is not None:
                refunds.append(Refund(earlier.adjustment_id, gift.donation_id, earlier.day, earlier.cents, gift.channel,
                                      times_booked=earlier.times_booked))

    # Payouts: Stripe's money moves from the clearing account to the bank.
    for payout in sorted(payouts, key=lambda p: (p.arrival_date, p.payout_id)):
        lines = payout_lines(payout)
        if lines:
            channel = f"{STRIPE}-{payout.payout_id}"
            entries.append(PlannedEntry(ref(payout.arrival_date, channel), "payout", payout.arrival_date, channel,
                                        lines=lines, payout=payout.payout_id))

    for refund in refunds:
        booking = booked_now.get(refund.donation_id)
        if booking is None and refund.donation_id not in taken_out:
            booking = refund.booked
        if booking is None or refund.cents <= 0:
            continue  # its gift is not booked (yet): the refund waits for it
        entries.append(PlannedEntry(refund_ref(prefix, refund.adjustment_id, refund.times_booked), "refund", refund.day,
                                    refund.channel, lines=refund_lines(booking, refund.cents, refund.channel),
                                    refund=refund.adjustment_id, refunded_donation=refund.donation_id))
    return entries


def refunded_share(booking: Booking, cents: int) -> Booking:
    """The part of a booking a refund takes back: the consideration in proportion,
    rounded half-up (`fundraising.income`, as the income statement takes it back)."""
    consideration = taken_back_consideration(cents, booking.amount_cents, booking.consideration_cents)
    return Booking(cents, consideration, booking.income_account, booking.campaign_id, booking.fund_id)


def check_balanced(entry: PlannedEntry) -> None:
    debit = sum(line.debit_cents for line in entry.lines)
    credit = sum(line.credit_cents for line in entry.lines)
    if debit != credit:
        raise ValueError(f"entry {entry.ref} does not balance: debit {debit}, credit {credit} (cents)")
