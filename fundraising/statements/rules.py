"""What a donor's annual gift statement (jaaroverzicht giften) says — as plain values.

One pure function, `compute_statement`, takes one donor's gifts (with the rows that
undo them) and that donor's periodic gift agreements, and returns the statement's
figures for one calendar year: the ordinary gifts, the periodic gifts per agreement,
the non-deductible part, and every gift line. A second, `check_agreement`, compares
what a periodic gift agreement promised in a year with what arrived. And `decide`
says, from the figures' `content_hash` and the statements already issued, whether a
donor's statement is new, a correction, or unchanged.

This module never touches a database, a file or the clock: the statement run gathers
the inputs (`exports.statements.issue`) and renders the output (`exports.statements.pdf`). The
rules are DOMAIN.md 1.1–1.6 as settled by issue 4 and DESIGN.md (Dates, Refunds,
Receipt output); each is cited where it is applied.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from anbi.core.calendar import add_months, term_end
from anbi.core.money import round_half_up
from fundraising.models import TAKEN_BACK_KINDS

STATEMENT_CURRENCY = "EUR"

# Adjustment kinds that take money back from a gift (DESIGN.md, Refunds): refund,
# chargeback, reversal, lost dispute. An opened or won dispute takes nothing.
MONEY_BACK_KINDS = frozenset(TAKEN_BACK_KINDS)
# Statuses under which no money has (yet) become a gift (DESIGN.md, Payments that
# happen): a pending direct debit is no gift until the bank statement confirms it; a
# collection returned before it settled is none at all.
NOT_A_GIFT_STATUSES = frozenset({"pending", "failed"})

# Why (part of) a gift is not deductible; also printed on the statement.
CASH = "cash"  # DOMAIN.md 1.1: cash is not a gift (art. 6.37 Wet IB)
LOTTERY = "lottery"  # DOMAIN.md 1.4: a lottery ticket is never a gift
PURCHASE = "purchase"  # DOMAIN.md 1.4: a purchase at its value is not a gift
CONSIDERATION = "consideration"  # DOMAIN.md 1.4: the value received in return

# Why a gift linked to an agreement is (partly) ordinary rather than periodic.
NOT_THIS_DONORS_AGREEMENT = "agreement_of_another_donor"
BEFORE_SIGNING = "before_signing"
BEFORE_START = "before_start"
AFTER_TERM = "after_term"
AFTER_EARLY_END = "after_early_end"
ABOVE_ANNUAL_AMOUNT = "above_annual_amount"
NOT_A_PLAIN_GIFT = "consideration_or_not_a_gift"


@dataclass(frozen=True)
class Adjustment:
    """A row that undoes or contests a gift: refund, chargeback, reversal, dispute."""

    kind: str
    amount_cents: int
    occurred_on: dt.date
    # What the row actually took back, as recorded by fundraising.donations (capped at
    # what was left of the gift); None: the whole amount for a money-back kind.
    taken_back_cents: int | None = None

    @property
    def money_back_cents(self) -> int:
        if self.kind not in MONEY_BACK_KINDS:
            return 0
        return self.amount_cents if self.taken_back_cents is None else self.taken_back_cents


@dataclass(frozen=True)
class Gift:
    """One donation as the statement sees it."""

    id: int
    received_on: dt.date
    amount_cents: int
    currency: str = STATEMENT_CURRENCY
    method: str = "bank_transfer"
    kind: str = "gift"  # gift, lottery, purchase
    consideration_cents: int = 0
    status: str = "paid"
    campaign: str | None = None
    mandate_ref: str | None = None  # the SEPA mandate id, printed for direct debits
    agreement_id: int | None = None
    adjustments: tuple[Adjustment, ...] = ()

    @property
    def money_back_cents(self) -> int:
        return sum(a.money_back_cents for a in self.adjustments)

    @property
    def net_cents(self) -> int:
        """What we kept: the amount less refunds, never below zero (a refund of more
        than was paid is a data error flagged elsewhere, not a negative gift)."""
        return max(0, self.amount_cents - self.money_back_cents)


@dataclass(frozen=True)
class Agreement:
    """A periodic gift agreement (overeenkomst periodieke gift, DOMAIN.md 1.3)."""

    id: int
    number: str  # the transactienummer
    annual_amount_cents: int
    start_date: dt.date
    signed_on: dt.date
    years: int | None  # None: indefinite, until death
    end_date: dt.date | None = None  # an early end (death, job loss, ...)
    currency: str = STATEMENT_CURRENCY

    @property
    def term_end(self) -> dt.date | None:
        """The first day no longer covered: start date + years (DOMAIN.md 1.3, "After
        the term"); None for an indefinite agreement, whose term never ends."""
        if self.years is None:
            return None
        # Exclusive: from 29 February into a common year the term ends on 1 March.
        return term_end(self.start_date, self.years)

    def why_not_covered(self, day: dt.date) -> str | None:
        """None when a payment on `day` falls within the agreement, else the reason."""
        if day < self.signed_on:
            return BEFORE_SIGNING  # DOMAIN.md 1.3 "Agreement first"
        if day < self.start_date:
            return BEFORE_START
        if self.term_end is not None and day >= self.term_end:
            return AFTER_TERM  # DOMAIN.md 1.3: year 6 of a 5-year agreement is ordinary
        if self.end_date is not None and day > self.end_date:
            return AFTER_EARLY_END
        return None


@dataclass(frozen=True)
class GiftLine:
    """One gift on the statement, split into its deductible and non-deductible parts."""

    gift_id: int
    received_on: dt.date
    amount_cents: int  # net of refunds: what the donor gave
    method: str
    campaign: str | None
    mandate_ref: str | None
    regular_cents: int
    periodic_cents: int
    non_deductible_cents: int
    refunded_cents: int = 0
    agreement_number: str | None = None
    non_deductible_reason: str | None = None  # cash, lottery, purchase, consideration
    notes: tuple[str, ...] = ()  # why a linked gift is (partly) ordinary


@dataclass(frozen=True)
class PeriodicTotal:
    """Periodic gifts under one agreement within the year."""

    number: str
    start_year: int
    annual_amount_cents: int
    amount_cents: int


@dataclass(frozen=True)
class ExcludedGift:
    """A gift left off the statement that a person should know about."""

    gift_id: int
    received_on: dt.date
    amount_cents: int
    currency: str
    reason: str


@dataclass(frozen=True)
class StatementFigures:
    """What one donor's statement for one year says."""

    year: int
    regular_cents: int
    periodic: tuple[PeriodicTotal, ...]
    non_deductible_cents: int
    lines: tuple[GiftLine, ...]
    excluded: tuple[ExcludedGift, ...] = ()

    @property
    def periodic_cents(self) -> int:
        return sum(p.amount_cents for p in self.periodic)

    @property
    def deductible_cents(self) -> int:
        return self.regular_cents + self.periodic_cents

    @property
    def total_paid_cents(self) -> int:
        """All money received from the donor in the year, net of refunds (DESIGN.md,
        Receipt output): always regular + periodic + non-deductible."""
        return self.regular_cents + self.periodic_cents + self.non_deductible_cents

    @property
    def has_deductible(self) -> bool:
        return self.deductible_cents > 0


def compute_statement(year: int, gifts: Iterable[Gift], agreements: Iterable[Agreement]) -> StatementFigures:
    """The statement for one donor and one calendar year.

    `gifts` are the donor's (including those of donors merged into it); `agreements`
    are the donor's periodic gift agreements — a gift linked to any other agreement is
    ordinary. Gifts outside `year` are ignored; refunds count in the gift's own year
    whatever their date (DESIGN.md, Refunds)."""
    agreements_by_id = {a.id: a for a in agreements}
    in_year = sorted(
        (g for g in gifts if g.received_on.year == year),
        key=lambda g: (g.received_on, g.id),
    )
    # Room left under each agreement's annual amount in this calendar year (DOMAIN.md
    # 1.3: the same annual amount every year; more than that is an ordinary gift).
    room: dict[int, int] = {}
    periodic_paid: dict[int, int] = {}
    lines: list[GiftLine] = []
    excluded: list[ExcludedGift] = []

    for gift in in_year:
        if gift.status in NOT_A_GIFT_STATUSES:
            continue
        if gift.currency != STATEMENT_CURRENCY:
            excluded.append(
                ExcludedGift(gift.id, gift.received_on, gift.amount_cents, gift.currency, "not in euro")
            )
            continue
        net = gift.net_cents
        if net == 0:
            continue  # wholly refunded: it was never a gift (DESIGN.md, Refunds)

        non_deductible, reason = _non_deductible_part(gift, net)
        gift_part = net - non_deductible
        periodic = 0
        notes: list[str] = []
        agreement: Agreement | None = None
        if gift.agreement_id is not None and gift_part > 0:
            agreement = agreements_by_id.get(gift.agreement_id)
            why_not = _why_not_periodic(gift, agreement)
            if why_not is None:
                assert agreement is not None  # _why_not_periodic says why when there is none
                left = room.setdefault(agreement.id, agreement.annual_amount_cents)
                periodic = min(gift_part, left)
                room[agreement.id] = left - periodic
                periodic_paid[agreement.id] = periodic_paid.get(agreement.id, 0) + periodic
                if periodic < gift_part:
                    notes.append(ABOVE_ANNUAL_AMOUNT)
            else:
                notes.append(why_not)
        lines.append(
            GiftLine(
                gift_id=gift.id,
                received_on=gift.received_on,
                amount_cents=net,
                method=gift.method,
                campaign=gift.campaign,
                mandate_ref=gift.mandate_ref if gift.method == "sepa_debit" else None,
                regular_cents=gift_part - periodic,
                periodic_cents=periodic,
                non_deductible_cents=non_deductible,
                refunded_cents=gift.amount_cents - net,
                agreement_number=agreement.number if agreement is not None and periodic > 0 else None,
                non_deductible_reason=reason,
                notes=tuple(notes),
            )
        )

    periodic_totals = tuple(
        PeriodicTotal(
            number=agreements_by_id[agreement_id].number,
            start_year=agreements_by_id[agreement_id].start_date.year,
            annual_amount_cents=agreements_by_id[agreement_id].annual_amount_cents,
            amount_cents=amount,
        )
        for agreement_id, amount in sorted(periodic_paid.items(), key=lambda item: agreements_by_id[item[0]].number)
        if amount > 0
    )
    return StatementFigures(
        year=year,
        regular_cents=sum(line.regular_cents for line in lines),
        periodic=periodic_totals,
        non_deductible_cents=sum(line.non_deductible_cents for line in lines),
        lines=tuple(lines),
        excluded=tuple(excluded),
    )


def _non_deductible_part(gift: Gift, net: int) -> tuple[int, str | None]:
    """The part of what the donor paid that is no gift, and why."""
    if gift.method == "cash":
        return net, CASH  # DOMAIN.md 1.1
    if gift.kind == "lottery":
        return net, LOTTERY  # DOMAIN.md 1.4
    if gift.kind == "purchase" and gift.consideration_cents == 0:
        # DESIGN.md import files: a purchase with no consideration given is wholly
        # the consideration (DOMAIN.md 1.4, merchandise at market price).
        return net, PURCHASE
    if gift.consideration_cents > 0:
        # DOMAIN.md 1.4: only the amount above the value received is a gift. A partial
        # refund takes back the gift part first: the consideration was still received.
        part = min(gift.consideration_cents, net)
        return part, CONSIDERATION
    return 0, None


def _why_not_periodic(gift: Gift, agreement: Agreement | None) -> str | None:
    """None when the gift's deductible part counts as periodic (DOMAIN.md 1.3)."""
    if agreement is None:
        return NOT_THIS_DONORS_AGREEMENT
    if gift.consideration_cents > 0 or gift.kind != "gift":
        # DOMAIN.md 1.3 "No consideration": a periodic gift gets nothing in return.
        return NOT_A_PLAIN_GIFT
    return agreement.why_not_covered(gift.received_on)


# --- whether a statement is due: new, a correction, or unchanged ------------------
# (the run in exports.statements.issue compares what it computed with what it issued)


def content_hash(year: int, donor_name: str, lines_of_address: tuple[str, ...], figures: StatementFigures) -> str:
    """What decides whether a new statement is due (issue 4 item 3): the amounts, the
    gifts, the donor's name and address. Not the language, not the organisation, not a
    campaign's name."""
    payload = {
        "year": year,
        "name": donor_name,
        "address": list(lines_of_address),
        "amounts": [figures.regular_cents, figures.periodic_cents, figures.non_deductible_cents, figures.total_paid_cents],
        "periodic": [[p.number, p.start_year, p.annual_amount_cents, p.amount_cents] for p in figures.periodic],
        "gifts": [
            [line.gift_id, line.received_on.isoformat(), line.amount_cents, line.method, line.mandate_ref, line.regular_cents,
             line.periodic_cents, line.non_deductible_cents, line.agreement_number, line.non_deductible_reason]
            for line in figures.lines
        ],
    }
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()


NEW, CORRECTION, UNCHANGED, NOTHING = "new", "correction", "unchanged", "nothing"


@dataclass(frozen=True)
class Issued:
    """A current statement already issued to the donor or to a donor merged into it."""

    id: int
    number: str
    donor_id: int
    content_hash: str


def decide(has_deductible: bool, new_hash: str, own: list[Issued], merged: list[Issued]) -> str:
    """What the run does for one donor."""
    if not own and not merged:
        return NEW if has_deductible else NOTHING
    if len(own) == 1 and not merged and own[0].content_hash == new_hash:
        return UNCHANGED
    # Changed data, or statements of merged-away donors to absorb: a correction, even
    # when nothing deductible is left (the donor must know the old one is void).
    return CORRECTION


# --- the agreements check ---------------------------------------------------------

INTERVAL_MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}

MISSED = "missed"
REFUNDED = "refunded_or_reversed"
MORE_THAN_AGREED = "more_than_agreed"
FAILED = "failed_collection"
PENDING = "pending"


@dataclass(frozen=True)
class AgreementCheck:
    """Expected against received under one agreement in one calendar year."""

    number: str
    year: int
    expected_cents: int
    received_cents: int
    instalments_due: int
    payments: int
    refunded_cents: int
    pending_cents: int
    problems: tuple[str, ...] = field(default=())

    @property
    def difference_cents(self) -> int:
        return self.received_cents - self.expected_cents

    @property
    def differs(self) -> bool:
        return self.expected_cents != self.received_cents


def due_dates(agreement: Agreement, year: int, interval: str = "yearly") -> list[dt.date]:
    """The instalment dates of `agreement` that fall in `year`: every `interval` from
    the start date, while the agreement runs (on/after signing, before the term ends,
    not after an early end)."""
    months = INTERVAL_MONTHS[interval]
    dates: list[dt.date] = []
    step = 0
    while True:
        day = add_months(agreement.start_date, months * step)
        step += 1
        if day.year > year:
            break
        if agreement.term_end is not None and day >= agreement.term_end:
            break
        if agreement.end_date is not None and day > agreement.end_date:
            break
        if day.year == year and day >= agreement.signed_on:
            dates.append(day)
    return dates


def check_agreement(
    agreement: Agreement, gifts: Sequence[Gift], year: int, interval: str = "yearly"
) -> AgreementCheck:
    """What `agreement` promised in `year` and what arrived under it.

    Expected: the annual amount spread over the instalments due in the year (`interval`
    is how the donor pays — from the linked recurring gift, yearly when unknown); a
    whole year's instalments make exactly the annual amount. Received: the gifts linked
    to the agreement dated in the year, net of refunds applied in the gift's year
    (DESIGN.md, Refunds); pending and failed collections bring nothing."""
    dates = due_dates(agreement, year, interval)
    per_year = 12 // INTERVAL_MONTHS[interval]
    expected = round_half_up(Decimal(agreement.annual_amount_cents) * len(dates) / per_year)

    received = refunded = pending = 0
    payments = 0
    failed = False
    for gift in gifts:
        if gift.agreement_id != agreement.id or gift.received_on.year != year:
            continue
        if gift.currency != agreement.currency:
            continue
        if gift.status == "pending":
            pending += gift.amount_cents
            continue
        if gift.status == "failed":
            failed = True
            continue
        back = min(gift.money_back_cents, gift.amount_cents)
        refunded += back
        received += gift.net_cents
        if gift.net_cents > 0:
            payments += 1

    problems: list[str] = []
    if received < expected and payments < len(dates):
        problems.append(MISSED)
    if failed:
        problems.append(FAILED)
    if refunded:
        problems.append(REFUNDED)
    if received > expected:
        problems.append(MORE_THAN_AGREED)
    if pending:
        problems.append(PENDING)
    return AgreementCheck(
        number=agreement.number,
        year=year,
        expected_cents=expected,
        received_cents=received,
        instalments_due=len(dates),
        payments=payments,
        refunded_cents=refunded,
        pending_cents=pending,
        problems=tuple(problems),
    )
