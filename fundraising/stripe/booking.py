"""What an interpreted Stripe event does to our records.

Each `apply_*` takes a Session and one meaning from `fundraising.stripe.events`, and
returns an `Outcome`: applied, ignored, or waiting for an object we have not seen
yet. Money goes through the money-in service only (`record_donation`,
`record_adjustment`), keyed by Stripe's own ids, so whatever arrives twice counts
once. Nothing here calls Stripe, and nothing commits: the webhook request or the
sync command owns the transaction.

References used as keys (source `stripe`):

- a donation: the PaymentIntent id;
- a refund: the refund id (or `<charge>:refunded:<running total>` without a list);
- a dispute: `<dispute id>:opened`, `:won`, `:lost`;
- a recurring gift: the subscription id.
"""
from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from anbi.core.db import one_of
from anbi.core.errors import InvalidInput, Problem
from donors.importer import ImportPlan
from donors.models import Donor
from fundraising.donations import (
    add_flag,
    book_donations,
    donation_row,
    find_donation,
    mark_failed,
    record_adjustment,
    record_donation,
)
from fundraising.models import Campaign, Donation, DonationAdjustment, Fund, RecurringGift
from fundraising.recurring import record_paid
from fundraising.stripe import events as ev
from fundraising.stripe.donors import (
    DONOR_REF_PREFIX,
    SOURCE,
    KnownDonors,
    attach_anonymous,
    create_donors,
    donor_plan,
    fill_in,
    match_donor,
)


@dataclass(frozen=True)
class EventOutcome:
    status: str  # applied, ignored, waiting
    note: str | None = None
    waiting_for: str | None = None
    # Objects that became known: events waiting for them can now be applied.
    woke: tuple[str, ...] = ()


def applied(note: str | None = None, woke: tuple[str, ...] = ()) -> EventOutcome:
    return EventOutcome("applied", note or None, None, tuple(w for w in woke if w))


def waiting(object_id: str, why: str) -> EventOutcome:
    return EventOutcome("waiting", why, object_id)


def _join(notes: list[str]) -> str | None:
    return "; ".join(n for n in notes if n) or None


# ---------------------------------------------------------------------------
# Lookups
# ---------------------------------------------------------------------------


def find_payment(session: Session, payment_intent_id: str | None, charge_id: str | None) -> Donation | None:
    """The donation booked for a PaymentIntent (its reference) or a charge."""
    if payment_intent_id:
        donation = find_donation(session, SOURCE, payment_intent_id)
        if donation is not None:
            return donation
    if charge_id:
        return session.scalar(
            select(Donation).where(Donation.source == SOURCE, Donation.stripe_charge_id == charge_id).limit(1)
        )
    return None


# Asked for nearly every event: each built once.
_RECURRING = select(RecurringGift).where(RecurringGift.source == SOURCE, RecurringGift.reference == bindparam("reference"))
_CAMPAIGN = select(Campaign).where(Campaign.code == bindparam("code"))
_FUND = select(Fund).where(Fund.code == bindparam("code"))


def find_recurring(session: Session, subscription_id: str | None) -> RecurringGift | None:
    if not subscription_id:
        return None
    return session.scalar(_RECURRING, {"reference": subscription_id})


def campaign_for(session: Session, code: str | None, notes: list[str]) -> Campaign | None:
    if not code:
        return None
    campaign = session.scalar(_CAMPAIGN, {"code": code})
    if campaign is None:
        notes.append(_unknown_campaign(code))
    return campaign


def _unknown_campaign(code: str) -> str:
    return f"metadata campaign {code!r} is not a known campaign"


def fund_for(session: Session, code: str | None) -> Fund | None:
    """A fund exists once a gift names it (as the donations import does)."""
    if not code:
        return None
    fund = session.scalar(_FUND, {"code": code})
    if fund is None:
        if len(code) > 50:
            raise InvalidInput([Problem(None, "metadata.fund", f"{code[:20]!r}... is longer than 50 characters")], "stripe")
        fund = Fund(code=code, name=code)
        session.add(fund)
        session.flush()
    return fund


# ---------------------------------------------------------------------------
# Money
# ---------------------------------------------------------------------------


def apply_payment(session: Session, payment: ev.Payment, *, event_id: str) -> EventOutcome:
    """Book a payment as a donation: the one place Stripe money enters."""
    return apply_payments(session, [(payment, event_id)])[0]


def apply_payments(session: Session, payments: Sequence[tuple[ev.Payment, str]]) -> list[EventOutcome]:
    """Book payments, each with the id of the event that brought it, as donations;
    their outcomes, in order.

    A burst of webhooks is mostly payments that have nothing to do with each other.
    Payments that share no key (payment, charge, customer, e-mail, subscription,
    donor ref) are decided together, from lookups made once for all of them, and
    written with one statement per table; a payment that shares a key with an earlier
    one starts the next round, which sees what the earlier ones wrote. The outcome is
    that of booking them one by one."""
    outcomes: list[EventOutcome] = []
    for run in _unrelated_runs(payments):
        outcomes.extend(_book_run(session, run))
    return outcomes


def _unrelated_runs(payments: Sequence[tuple[ev.Payment, str]]) -> Iterator[list[tuple[ev.Payment, str]]]:
    run: list[tuple[ev.Payment, str]] = []
    keys: set[str] = set()
    for payment, event_id in payments:
        # The keys a payment locks, and the ref of the donor it may make.
        own = {*lock_keys(payment), "donor:" + _new_donor_ref(payment)}
        if keys & own:
            yield run
            run, keys = [], set()
        run.append((payment, event_id))
        keys |= own
    if run:
        yield run


def _new_donor_ref(payment: ev.Payment) -> str:
    return DONOR_REF_PREFIX + (payment.customer_id or payment.payment_intent_id)


@dataclass
class _Booking:
    """A payment of a run, as decided before anything is written."""

    payment: ev.Payment
    event_id: str
    gift: RecurringGift | None = None
    donor: Donor | None = None
    how: str | None = None  # how the donor was found (DonorMatch.how), or None
    new_donor: ImportPlan | None = None
    notes: list[str] = field(default_factory=list)
    booked_before: bool = False


class _RunLookups:
    """What the payments of a run look up, read with one query per kind."""

    def __init__(self, session: Session, payments: list[ev.Payment]):
        self.donors = KnownDonors(session)
        dialect = session.get_bind().dialect.name
        subscriptions = sorted({p.subscription_id for p in payments if p.subscription_id})
        self.gifts = ({g.reference: g for g in session.scalars(_recurring_gifts(dialect), {"references": subscriptions})}
                      if subscriptions else {})
        codes = sorted({p.tags.campaign for p in payments if p.tags.campaign})
        self.campaigns = {c.code: c for c in session.scalars(_campaigns(dialect), {"codes": codes})} if codes else {}
        self.donors.read_customers(p.customer_id for p in payments if p.customer_id and p.subscription_id not in self.gifts)

    def campaign(self, code: str | None, notes: list[str]) -> Campaign | None:
        if code and code not in self.campaigns:
            notes.append(_unknown_campaign(code))
        return self.campaigns.get(code) if code else None


@functools.cache
def _recurring_gifts(dialect: str):
    return select(RecurringGift).where(RecurringGift.source == SOURCE, one_of(RecurringGift.reference, "references", dialect))


@functools.cache
def _campaigns(dialect: str):
    return select(Campaign).where(one_of(Campaign.code, "codes", dialect))


@functools.cache
def _booked(dialect: str):
    return select(Donation.reference).where(Donation.source == SOURCE, one_of(Donation.reference, "references", dialect))


def _book_run(session: Session, run: list[tuple[ev.Payment, str]]) -> list[EventOutcome]:
    """Book payments that share no key (see `apply_payments`)."""
    lookups = _RunLookups(session, [payment for payment, _ in run])
    bookings = [_Booking(payment, event_id, gift=lookups.gifts.get(payment.subscription_id)) for payment, event_id in run]
    unmatched = [b for b in bookings if b.gift is None and not b.payment.tags.donor_ref
                 and not (b.payment.customer_id and lookups.donors.for_customer(b.payment.customer_id))]
    lookups.donors.read_emails(b.payment.billing.email for b in unmatched if b.payment.billing.email)
    for booking in bookings:
        _find_donor(session, booking, lookups.donors)
    # Making a donor is the one step a replay must not repeat: payments booked before are found first.
    new = [b for b in bookings if b.donor is None and b.how is None]
    if new:
        booked = set(session.scalars(_booked(session.get_bind().dialect.name),
                                     {"references": [b.payment.payment_intent_id for b in new]}))
        for booking in new:
            if booking.payment.payment_intent_id in booked:
                booking.booked_before = True
            else:
                booking.new_donor, made_notes = donor_plan(booking.payment.billing, _new_donor_ref(booking.payment))
                booking.notes.extend(made_notes)
                booking.how = "created" if booking.new_donor is not None else "none"
    made = create_donors(session, [(b.new_donor, f"stripe:{b.event_id}") for b in bookings if b.new_donor is not None])

    to_book = [b for b in bookings if not b.booked_before]
    rows = [_donation_row(session, b, lookups, made) for b in to_book]
    for booking, (_, created) in zip(to_book, book_donations(session, rows)):
        booking.booked_before = not created
    attach_anonymous(session, [(b.payment.customer_id, row["donor_id"]) for b, row in zip(to_book, rows)
                               if not b.booked_before and _takes_over_anonymous_gifts(b, lookups.donors)])
    return [_booked_before(session, b.payment) if b.booked_before
            else applied(_join(b.notes), woke=(*b.payment.object_ids, b.payment.customer_id or ""))
            for b in bookings]


def _takes_over_anonymous_gifts(booking: _Booking, known: KnownDonors) -> bool:
    """A donor found by the customer has that customer's gifts already; one found or
    made otherwise takes over the gifts booked for the customer without a donor."""
    customer = booking.payment.customer_id
    return (booking.gift is None and booking.how != "customer" and customer is not None
            and known.has_anonymous_gifts(customer))


def _find_donor(session: Session, booking: _Booking, known: KnownDonors) -> None:
    """The donor of a payment: the subscription's, else as `match_donor` finds it
    (filling in the details of a donor we made from an earlier payment)."""
    payment = booking.payment
    if booking.gift is not None:
        booking.donor = booking.gift.donor  # a subscription's payments belong to the subscription's donor
        return
    match = match_donor(
        session, donor_ref=payment.tags.donor_ref, customer_id=payment.customer_id, billing=payment.billing,
        new_ref=None, source=f"stripe:{booking.event_id}", create=False, known=known,
    )
    booking.notes.extend(match.notes)
    if match.donor is not None:
        booking.donor, booking.how = match.donor, match.how
        if match.how in ("customer", "email"):
            booking.notes.extend(fill_in(session, match.donor, payment.billing, source=f"stripe:{booking.event_id}"))


def _donation_row(session: Session, booking: _Booking, lookups: _RunLookups, made: dict[str, int]) -> dict:
    payment, gift, notes = booking.payment, booking.gift, booking.notes
    campaign = lookups.campaign(payment.tags.campaign, notes) or (gift.campaign if gift else None)
    fund = fund_for(session, payment.tags.fund) or (gift.fund if gift else None)
    flag = None
    for note in notes:  # so far, each is something a person should check
        flag = add_flag(flag, note)
    donor_id = booking.donor.id if booking.donor is not None else made.get(_new_donor_ref(payment))
    if donor_id is None:
        notes.append("the payment names nobody: booked without a donor until the customer is known")
    if payment.method == ev.UNKNOWN_METHOD:
        notes.append("payment method not in the event: `anbi stripe sync` fills it in")
    return donation_row(
        session,
        source=SOURCE,
        reference=payment.payment_intent_id,
        donor_id=donor_id,
        received_on=payment.received_on,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        method=payment.method,
        campaign=campaign,
        fund=fund,
        recurring_gift=gift,
        agreement=gift.agreement if gift is not None else None,
        status="paid",
        stripe_customer_id=payment.customer_id,
        stripe_charge_id=payment.charge_id,
        flag=flag,
    )


def _booked_before(session: Session, payment: ev.Payment) -> EventOutcome:
    existing = find_donation(session, SOURCE, payment.payment_intent_id)
    assert existing is not None  # booked before: that is why we are here
    # The same money (record_donation refuses other money); only what we did not know.
    if existing.stripe_charge_id is None and payment.charge_id:
        existing.stripe_charge_id = payment.charge_id
    if existing.amount_cents != payment.amount_cents or existing.currency != payment.currency:
        record_donation(  # raises DonationConflict, naming the difference
            session, source=SOURCE, reference=payment.payment_intent_id, donor=existing.donor,
            received_on=existing.received_on, amount_cents=payment.amount_cents, currency=payment.currency,
            method=existing.method,
        )
    return applied("already booked", woke=payment.object_ids)


def apply_failed_payment(session: Session, failed: ev.FailedPayment) -> EventOutcome:
    """A failed attempt moves no money, so no donation is made for it (DESIGN.md,
    Payments that happen); a pending one we hold for it fails. A subscription's
    failures are counted from `invoice.payment_failed`, which Stripe sends for every
    one of them — counting here as well would count each failure twice."""
    donation = find_donation(session, SOURCE, failed.payment_intent_id)
    if donation is not None and donation.status == "pending":
        mark_failed(session, donation, reason=failed.reason)
        return applied(f"pending payment failed: {failed.reason}")
    return applied(f"failed attempt, no money moved: {failed.reason}")


def stripe_refunds_booked(session: Session, donation: Donation) -> dict[str, int]:
    """The refunds booked from Stripe for a donation: reference -> amount."""
    rows = session.execute(
        select(DonationAdjustment.reference, DonationAdjustment.amount_cents).where(
            DonationAdjustment.donation_id == donation.id,
            DonationAdjustment.source == SOURCE,
            DonationAdjustment.kind == "refund",
        )
    ).all()
    return dict(rows)


def apply_refunds(session: Session, refunds: ev.Refunds) -> EventOutcome:
    donation = find_payment(session, refunds.payment_intent_id, refunds.charge_id)
    if donation is None:
        return waiting(refunds.object_id, f"refund of {refunds.object_id}: that payment has not been booked yet")
    if refunds.currency != donation.currency:
        raise InvalidInput(
            [Problem(None, "currency", f"refund in {refunds.currency} for a donation in {donation.currency}")],
            f"charge {refunds.charge_id}",
        )
    bookings = ev.refunds_to_book(refunds, booked=stripe_refunds_booked(session, donation))
    for booking in bookings:
        record_adjustment(
            session, donation, kind="refund", amount_cents=booking.amount_cents, occurred_on=booking.occurred_on,
            source=SOURCE, reference=booking.reference,
        )
    if donation.stripe_charge_id is None:
        donation.stripe_charge_id = refunds.charge_id
    if not bookings:
        return applied("refunds already booked")
    return applied(f"{len(bookings)} refund(s) booked")


_DISPUTE_KINDS = {"opened": "dispute_opened", "won": "dispute_won", "lost": "dispute_lost"}


def apply_dispute(session: Session, dispute: ev.Dispute) -> EventOutcome:
    donation = find_payment(session, dispute.payment_intent_id, dispute.charge_id)
    if donation is None:
        return waiting(dispute.object_id or dispute.dispute_id, f"dispute {dispute.dispute_id}: its payment has not been booked yet")
    if dispute.outcome == "opened":
        closed = session.scalar(
            select(func.count()).select_from(DonationAdjustment).where(
                DonationAdjustment.source == SOURCE,
                DonationAdjustment.reference.in_([f"{dispute.dispute_id}:won", f"{dispute.dispute_id}:lost"]),
            )
        )
        if closed:
            # The close arrived first: opening it now would move the status back.
            return applied("dispute already closed")
    _, created = record_adjustment(
        session, donation, kind=_DISPUTE_KINDS[dispute.outcome], amount_cents=dispute.amount_cents,
        occurred_on=dispute.occurred_on, source=SOURCE, reference=f"{dispute.dispute_id}:{dispute.outcome}",
        reason_code=(dispute.reason or None) and dispute.reason[:20],
    )
    return applied(f"dispute {dispute.outcome}" if created else "dispute already recorded")


# ---------------------------------------------------------------------------
# Donor and recurring gift only: never money
# ---------------------------------------------------------------------------


def link_to_recurring(session: Session, donation: Donation, gift: RecurringGift) -> str | None:
    """Make a payment an instalment of its recurring gift."""
    if donation.recurring_gift_id == gift.id:
        return None
    if donation.donor_id is None:
        donation.donor_id = gift.donor_id
    if donation.donor_id != gift.donor_id:
        donation.flag = add_flag(
            donation.flag, f"paid for recurring gift {gift.reference} of another donor: not linked, check the donor"
        )
        return f"payment {donation.reference} booked to another donor than the recurring gift's"
    donation.recurring_gift_id = gift.id
    if donation.campaign_id is None:
        donation.campaign_id = gift.campaign_id
    if donation.fund_id is None:
        donation.fund_id = gift.fund_id
    if donation.agreement_id is None:
        donation.agreement_id = gift.agreement_id
    session.flush()
    return f"payment {donation.reference} linked to recurring gift {gift.reference}"


def apply_checkout(session: Session, checkout: ev.CheckoutCompleted, *, event_id: str) -> EventOutcome:
    """The donor of a Checkout session, and the campaign and fund of what it made."""
    notes: list[str] = []
    match = match_donor(
        session,
        donor_ref=checkout.tags.donor_ref,
        customer_id=checkout.customer_id,
        billing=checkout.billing,
        new_ref=DONOR_REF_PREFIX + checkout.customer_id if checkout.customer_id else None,
        source=f"stripe:{event_id}",
    )
    notes.extend(match.notes)
    donor = match.donor
    if donor is not None and match.how in ("customer", "email"):
        notes.extend(fill_in(session, donor, checkout.billing, source=f"stripe:{event_id}"))
    attach_anonymous(session, [(checkout.customer_id, donor.id if donor is not None else None)])
    campaign = campaign_for(session, checkout.tags.campaign, notes)
    fund = fund_for(session, checkout.tags.fund)
    woke = (checkout.customer_id or "",) if donor is not None else ()

    if checkout.payment_intent_id:
        donation = find_donation(session, SOURCE, checkout.payment_intent_id)
        if donation is None:
            return waiting(checkout.payment_intent_id, f"checkout {checkout.session_id}: its payment has not been booked yet")
        if donation.donor_id is None and donor is not None:
            donation.donor_id = donor.id
        if donation.campaign_id is None and campaign is not None:
            donation.campaign_id = campaign.id
        if donation.fund_id is None and fund is not None:
            donation.fund_id = fund.id
        if donation.stripe_customer_id is None:
            donation.stripe_customer_id = checkout.customer_id
    if checkout.subscription_id:
        gift = find_recurring(session, checkout.subscription_id)
        if gift is None:
            return waiting(checkout.subscription_id, f"checkout {checkout.session_id}: its subscription is not known yet")
        if gift.campaign_id is None and campaign is not None:
            gift.campaign_id = campaign.id
        if gift.fund_id is None and fund is not None:
            gift.fund_id = fund.id
    session.flush()
    return applied(_join(notes), woke=woke)


def apply_subscription(session: Session, change: ev.SubscriptionChange) -> EventOutcome:
    """Create or update the recurring gift a Stripe subscription stands for."""
    notes: list[str] = []
    gift = find_recurring(session, change.subscription_id)
    if gift is None:
        match = match_donor(
            session, donor_ref=change.tags.donor_ref, customer_id=change.customer_id, billing=ev.Billing(),
            new_ref=None, source="stripe", create=False,
        )
        notes.extend(match.notes)
        if match.donor is None:
            if not change.customer_id:
                return EventOutcome("ignored", _join(notes + ["subscription without a customer or donor_ref"]))
            return waiting(change.customer_id, f"subscription {change.subscription_id}: the donor of {change.customer_id} is not known yet")
        if change.interval is None:
            raise InvalidInput(
                [Problem(None, "interval", f"{change.interval_text} is not monthly, quarterly or yearly")],
                f"subscription {change.subscription_id}",
            )
        if change.amount_cents is None or change.currency is None:
            raise InvalidInput([Problem(None, "amount", "the subscription names no price")], f"subscription {change.subscription_id}")
        gift = RecurringGift(
            source=SOURCE,
            reference=change.subscription_id,
            donor_id=match.donor.id,
            amount_cents=change.amount_cents,
            currency=change.currency,
            interval=change.interval,
            method="stripe",
            start_date=change.started_on,
            end_date=change.ended_on,
            status=change.status,
            stripe_customer_id=change.customer_id,
            campaign=campaign_for(session, change.tags.campaign, notes),
            fund=fund_for(session, change.tags.fund),
        )
        session.add(gift)
        session.flush()
        attach_anonymous(session, [(change.customer_id, match.donor.id)])
        return applied(_join(notes + [f"recurring gift {gift.reference} created"]), woke=(change.subscription_id,))

    if gift.status == "cancelled":
        # Stripe never revives a cancelled subscription: an older event arriving late
        # must not make it active again.
        return applied("recurring gift already cancelled")
    if change.amount_cents is not None and change.interval is not None:
        gift.amount_cents = change.amount_cents
        gift.interval = change.interval
        if change.currency:
            gift.currency = change.currency
    gift.status = change.status
    if change.ended_on is not None:
        gift.end_date = change.ended_on
    if gift.campaign_id is None:
        campaign = campaign_for(session, change.tags.campaign, notes)
        gift.campaign_id = campaign.id if campaign else None
    if gift.fund_id is None:
        fund = fund_for(session, change.tags.fund)
        gift.fund_id = fund.id if fund else None
    session.flush()
    return applied(_join(notes + [f"recurring gift {gift.reference} {gift.status}"]), woke=(change.subscription_id,))


def apply_invoice(session: Session, invoice: ev.InvoiceOutcome, *, event_id: str) -> EventOutcome:
    """A subscription's invoice paid or failed: the recurring gift's status, its
    failed attempts, and the link from the payment to the gift."""
    if not invoice.subscription_id:
        return EventOutcome("ignored", f"invoice {invoice.invoice_id} is not for a subscription")
    gift = find_recurring(session, invoice.subscription_id)
    if gift is None:
        return waiting(invoice.subscription_id, f"invoice {invoice.invoice_id}: subscription {invoice.subscription_id} is not known yet")
    notes = fill_in(session, gift.donor, invoice.billing, source=f"stripe:{event_id}")
    if not invoice.paid:
        gift.failed_attempts = (gift.failed_attempts or 0) + 1
        if gift.status != "cancelled":
            gift.status = "failing"
        session.flush()
        return applied(_join(notes + [f"recurring gift {gift.reference}: failed attempt {gift.failed_attempts}"]))
    # The recovery rule of the bank's returns too: a paid instalment clears the count
    # and makes a failing gift active again (Stripe does its own retrying).
    record_paid(gift)
    if invoice.payment_intent_id:
        donation = find_donation(session, SOURCE, invoice.payment_intent_id)
        if donation is None:
            session.flush()
            return waiting(invoice.payment_intent_id, f"invoice {invoice.invoice_id}: payment {invoice.payment_intent_id} not booked yet")
        notes.append(link_to_recurring(session, donation, gift) or "")
    else:
        notes.append("the invoice names no payment: `anbi stripe sync` links it")
    session.flush()
    return applied(_join(notes))


def apply(session: Session, meaning: ev.Meaning, *, event_id: str) -> EventOutcome:
    """Apply one interpreted event."""
    if isinstance(meaning, ev.Payment):
        return apply_payment(session, meaning, event_id=event_id)
    if isinstance(meaning, ev.FailedPayment):
        return apply_failed_payment(session, meaning)
    if isinstance(meaning, ev.Refunds):
        return apply_refunds(session, meaning)
    if isinstance(meaning, ev.Dispute):
        return apply_dispute(session, meaning)
    if isinstance(meaning, ev.CheckoutCompleted):
        return apply_checkout(session, meaning, event_id=event_id)
    if isinstance(meaning, ev.SubscriptionChange):
        return apply_subscription(session, meaning)
    if isinstance(meaning, ev.InvoiceOutcome):
        return apply_invoice(session, meaning, event_id=event_id)
    return EventOutcome("ignored", meaning.reason)


def lock_keys(meaning: ev.Meaning) -> list[str]:
    """The Stripe ids (and e-mail) an event touches: concurrent events that share one
    are applied one after the other, so two of them never both decide that a donor
    or a payment is missing."""
    keys: set[str] = set()
    for name in ("payment_intent_id", "charge_id", "customer_id", "subscription_id", "invoice_id", "dispute_id"):
        value = getattr(meaning, name, None)
        if value:
            keys.add(value)
    billing = getattr(meaning, "billing", None)
    if billing is not None and billing.email:
        keys.add("email:" + billing.email.strip().lower())
    tags = getattr(meaning, "tags", None)
    if tags is not None and tags.donor_ref:
        keys.add("donor:" + tags.donor_ref)
    return sorted(keys)


def object_of(meaning: ev.Meaning) -> str | None:
    """The main Stripe object an event is about, for the inbox."""
    for name in ("payment_intent_id", "subscription_id", "charge_id", "invoice_id", "session_id", "dispute_id"):
        value = getattr(meaning, name, None)
        if value:
            return value
    return None
