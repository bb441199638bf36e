"""`anbi stripe sync`: catch up with Stripe for whatever the webhook missed.

Everything goes through the same idempotent path as the webhook, so a sync can be
run at any time and again after an interruption:

1. events since the date (Stripe keeps them 30 days) enter the inbox through
   `webhook.receive` — an event already received is a no-op;
2. refunds since the date: for each charge with one, all its refunds are listed and
   booked by refund id with the same rule as `charge.refunded` (needed where no
   refund event is sent, as with localstripe, or when events have expired);
3. gifts of subscriptions are linked to their recurring gift from the customer's
   invoices, where no event named the payment;
4. the Stripe fee (from the charge's balance transaction) and, where the event did
   not say, the payment method are filled in on Stripe donations, so that gross and
   net are both known;
5. events waiting for an object are tried again.

Only reading calls are made to Stripe, so no idempotency keys are needed. The client
is passed in (`fundraising.stripe.client.make_client`); nothing here commits."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import stripe
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from anbi.core.clock import AMSTERDAM, amsterdam_date, today
from anbi.core.errors import AnbiError
from anbi.core.progress import progress
from fundraising.donations import add_flag
from fundraising.models import Donation, RecurringGift
from fundraising.stripe import booking
from fundraising.stripe import events as ev
from fundraising.stripe.donors import SOURCE
from fundraising.stripe.webhook import reapply_waiting, receive

# Stripe keeps events for 30 days: a sync without --since looks that far back.
DEFAULT_DAYS = 30
PAGE = 100


@dataclass
class SyncSummary:
    since: dt.date
    events_new: int = 0
    events_known: int = 0
    refunds_booked: int = 0
    linked: int = 0
    fees_filled: int = 0
    methods_filled: int = 0
    waiting_applied: int = 0
    waiting_left: int = 0
    failed: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "since": self.since.isoformat(),
            "events_new": self.events_new,
            "events_known": self.events_known,
            "refunds_booked": self.refunds_booked,
            "linked": self.linked,
            "fees_filled": self.fees_filled,
            "methods_filled": self.methods_filled,
            "waiting_applied": self.waiting_applied,
            "waiting_left": self.waiting_left,
            "failed": self.failed,
        }

    def lines(self) -> list[str]:
        out = [
            f"Stripe sync since {self.since.isoformat()}: {self.events_new} new events ({self.events_known} already received), "
            f"{self.refunds_booked} refunds booked, {self.linked} gifts linked to their recurring gift, "
            f"{self.fees_filled} fees and {self.methods_filled} payment methods filled in.",
            f"Waiting events: {self.waiting_applied} applied now, {self.waiting_left} still waiting.",
        ]
        if self.failed:
            out.append(f"Failed ({len(self.failed)}), see `anbi stripe events --status failed`:")
            out.extend(f"  {line}" for line in self.failed)
        return out


def start_of_day(day: dt.date) -> int:
    """Midnight in Amsterdam, as a Unix time."""
    return int(dt.datetime.combine(day, dt.time(0), AMSTERDAM).timestamp())


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _newest_first(items: Iterable[Any], since_ts: int) -> Iterator[dict[str, Any]]:
    """Stripe lists newest first: stop at the first item older than the window."""
    for item in items:
        plain = _plain(item)
        if int(plain.get("created") or 0) < since_ts:
            return
        yield plain


def sync(session: Session, client: stripe.StripeClient, *, since: dt.date | None = None) -> SyncSummary:
    since = since or (today() - dt.timedelta(days=DEFAULT_DAYS))
    since_ts = start_of_day(since)
    summary = SyncSummary(since=since)
    _sync_events(session, client, since_ts, summary)
    _sync_refunds(session, client, since_ts, summary)
    _link_recurring(session, client, since, since_ts, summary)
    _fill_fees_and_methods(session, client, since, since_ts, summary)
    summary.waiting_applied, summary.waiting_left = reapply_waiting(session)
    session.flush()
    return summary


def _sync_events(session: Session, client: stripe.StripeClient, since_ts: int, summary: SyncSummary) -> None:
    listed = client.v1.events.list(params={"created": {"gte": since_ts}, "limit": PAGE})
    for event in progress(listed.auto_paging_iter(), label="Stripe events"):
        plain = _plain(event)
        if plain.get("type") not in ev.HANDLED_TYPES:
            continue
        receipt = receive(session, plain, via="sync")
        if receipt.status == "duplicate":
            summary.events_known += 1
        else:
            summary.events_new += 1
            if receipt.status == "failed":
                summary.failed.append(f"{receipt.event_id} {receipt.type}: {receipt.note}")


def refunds_of_charge(charge_id: str, payment_intent_id: str | None, currency: str, refunds: list[dict[str, Any]], on: dt.date) -> ev.Refunds:
    """Every refund of one charge, as `charge.refunded` would list them."""
    items = []
    for refund in refunds:
        created = int(refund.get("created") or 0)
        items.append(ev.RefundItem(
            refund_id=refund["id"],
            amount_cents=ev.minor_to_cents(refund.get("amount"), currency, what=f"refund {refund['id']} amount"),
            created=created,
            occurred_on=amsterdam_date(created),
            status=refund.get("status") or "succeeded",
        ))
    items.sort(key=lambda item: (item.created, item.refund_id))
    total = sum(i.amount_cents for i in items if i.status in ev.REFUND_COUNTS)
    return ev.Refunds(charge_id, payment_intent_id, currency.upper(), total, tuple(items), True, on)


def _sync_refunds(session: Session, client: stripe.StripeClient, since_ts: int, summary: SyncSummary) -> None:
    charges: dict[str, dict[str, Any]] = {}
    for refund in _newest_first(client.v1.refunds.list(params={"limit": PAGE}).auto_paging_iter(), since_ts):
        charge_id = refund.get("charge") if isinstance(refund.get("charge"), str) else (refund.get("charge") or {}).get("id")
        if charge_id:
            charges.setdefault(charge_id, refund)
    for charge_id, sample in progress(list(charges.items()), label="Stripe refunds"):
        intent = sample.get("payment_intent")
        intent_id = intent if isinstance(intent, str) else (intent or {}).get("id")
        donation = booking.find_payment(session, intent_id, charge_id)
        if donation is None:
            continue  # not a payment of ours (or not booked yet: its event will wait)
        all_refunds = [_plain(r) for r in client.v1.refunds.list(params={"charge": charge_id, "limit": PAGE}).auto_paging_iter()]
        refunds = refunds_of_charge(charge_id, donation.reference, sample.get("currency") or donation.currency, all_refunds, today())
        before = _adjustment_count(session, donation)
        try:
            with session.begin_nested():
                booking.apply_refunds(session, refunds)
        except AnbiError as exc:
            summary.failed.append(f"refunds of {charge_id}: {exc}")
            continue
        summary.refunds_booked += _adjustment_count(session, donation) - before


def _adjustment_count(session: Session, donation: Donation) -> int:
    return len(booking.stripe_refunds_booked(session, donation))


def _link_recurring(session: Session, client: stripe.StripeClient, since: dt.date, since_ts: int, summary: SyncSummary) -> None:
    """Gifts of customers with a Stripe recurring gift that are not linked to one."""
    unlinked = session.execute(
        select(Donation.reference, Donation.stripe_customer_id)
        .where(
            Donation.source == SOURCE,
            Donation.recurring_gift_id.is_(None),
            Donation.received_on >= since,
            Donation.stripe_customer_id.in_(select(RecurringGift.stripe_customer_id).where(RecurringGift.source == SOURCE)),
        )
    ).all()
    wanted = {reference for reference, _ in unlinked}
    for customer_id in progress(sorted({c for _, c in unlinked if c is not None}), label="Stripe invoices"):
        listed = client.v1.invoices.list(params={"customer": customer_id, "limit": PAGE})
        for invoice in _newest_first(listed.auto_paging_iter(), since_ts - 7 * 86400):
            subscription_id = ev.subscription_of_invoice(invoice)
            intent_id = ev.payment_intent_of_invoice(invoice)
            if intent_id is None and "payment_intent" not in invoice and invoice.get("status") == "paid":
                # From API version 2025-03-31 an invoice lists its payments separately.
                payments = client.v1.invoice_payments.list(params={"invoice": invoice["id"], "limit": 10})
                for payment in payments.auto_paging_iter():
                    intent_id = ev.payment_intent_of_invoice({"payments": {"data": [_plain(payment)]}}) or intent_id
            if intent_id not in wanted:
                continue
            gift = booking.find_recurring(session, subscription_id)
            donation = booking.find_payment(session, intent_id, None)
            if gift is None or donation is None:
                continue
            if booking.link_to_recurring(session, donation, gift) and donation.recurring_gift_id == gift.id:
                summary.linked += 1
                wanted.discard(intent_id)


def _fill_fees_and_methods(session: Session, client: stripe.StripeClient, since: dt.date, since_ts: int, summary: SyncSummary) -> None:
    """The fee from each charge's balance transaction (one paged list of balance
    transactions); a PaymentIntent is read on its own only where that list did not
    have the charge or the payment method is still unknown."""
    missing = list(session.scalars(
        select(Donation).where(
            Donation.source == SOURCE,
            Donation.received_on >= since,
            or_(Donation.fee_cents.is_(None), Donation.method == ev.UNKNOWN_METHOD),
        ).order_by(Donation.id)
    ))
    if not missing:
        return
    fees: dict[str, dict[str, Any]] = {}
    # Balance transactions are created with their charge; a day's margin for clocks.
    for transaction in _newest_first(client.v1.balance_transactions.list(params={"limit": PAGE}).auto_paging_iter(), since_ts - 86400):
        source = transaction.get("source")
        source_id = source if isinstance(source, str) else (source or {}).get("id")
        if source_id and transaction.get("type") in ("charge", "payment"):
            fees[source_id] = transaction
    for donation in progress(missing, label="Stripe fees"):
        txn: Mapping[str, Any] | None = fees.get(donation.stripe_charge_id or "")
        if donation.fee_cents is None and txn is not None and _set_fee(donation, txn):
            summary.fees_filled += 1
        if (donation.fee_cents is None and txn is None) or donation.method == ev.UNKNOWN_METHOD:
            intent = _plain(client.v1.payment_intents.retrieve(
                donation.reference, params={"expand": ["latest_charge.balance_transaction", "payment_method"]}
            ))
            charge = ev.as_object(intent.get("latest_charge")) or (ev.list_items(intent.get("charges")) or [None])[0]
            if charge is not None and donation.stripe_charge_id is None:
                donation.stripe_charge_id = charge.get("id")
            txn = ev.as_object(charge.get("balance_transaction")) if charge else None
            if donation.fee_cents is None and txn is not None and _set_fee(donation, txn):
                summary.fees_filled += 1
            if donation.method == ev.UNKNOWN_METHOD:
                method = ev.payment_method_of(intent, charge)
                if method != ev.UNKNOWN_METHOD:
                    donation.method = method
                    summary.methods_filled += 1
    session.flush()


def _set_fee(donation: Donation, txn: Mapping[str, Any]) -> bool:
    """The fee in the donation's currency; a fee settled in another currency (a USD
    gift paid out in EUR) is flagged instead of being mixed in."""
    currency = str(txn.get("currency") or "").upper()
    if currency != donation.currency:
        donation.flag = add_flag(donation.flag, f"Stripe fee is in {currency or '?'}, the gift in {donation.currency}: fee not filled in")
        return False
    donation.fee_cents = ev.minor_to_cents(txn.get("fee") or 0, currency, what="fee")
    return True
