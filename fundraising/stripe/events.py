"""What a Stripe event means for us, decided without a database or a network.

`interpret(event)` turns one event (the parsed JSON of a webhook, or an event listed
by the API) into one plain value:

- `Payment` — `payment_intent.succeeded`: money to book. This is the ONLY event that
  books money, one-off or recurring, so nothing is booked twice;
- `FailedPayment` — `payment_intent.payment_failed`: a failed attempt;
- `Refunds` — `charge.refunded`: full or partial refunds of a payment;
- `Dispute` — `charge.dispute.created` (opened) and `charge.dispute.closed` (won/lost);
- `CheckoutCompleted`, `SubscriptionChange`, `InvoiceOutcome` — the donor, the
  recurring gift and its status only; they never book money;
- `Ignored` — every other type.

Both the current API shapes and the 2017-08-15 shapes (what localstripe sends, and old
accounts) are read: a field that moved or became an id instead of an object is looked
up in each place it has lived. Amounts arrive in the currency's minor unit and are
turned into cents; a payment is dated by the Amsterdam calendar day of the event's
`created` (DESIGN.md, Dates).
"""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from anbi.core.clock import FIRST_YEAR, LAST_YEAR, amsterdam_date
from anbi.core.money import MAX_CENTS

# Stripe's "zero-decimal" currencies: the amount is in whole units.
ZERO_DECIMAL_CURRENCIES = frozenset(
    ["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"]
)
# Three-decimal currencies: Stripe sends thousandths (and requires the last digit 0).
THREE_DECIMAL_CURRENCIES = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])

# The payment method types we record as such; anything else is "other".
METHODS = {"card": "card", "ideal": "ideal", "sepa_debit": "sepa_debit", "bancontact": "bancontact"}
UNKNOWN_METHOD = "other"

# A Stripe subscription's status -> a recurring gift's status.
SUBSCRIPTION_STATUSES = {
    "active": "active",
    "trialing": "active",
    "incomplete": "active",  # the first payment is on its way; it expires if it fails
    "past_due": "failing",
    "unpaid": "failing",
    "paused": "paused",
    "canceled": "cancelled",
    "incomplete_expired": "cancelled",
}

# Refunds in these states return money (pending ones nearly always complete).
REFUND_COUNTS = frozenset({"succeeded", "pending"})


class EventError(ValueError):
    """The event lacks what its type promises; the message names the field. An event
    that raises it is kept in the inbox as failed, with the reason, for a person to
    review — never booked."""


# The Unix times of the years anbi reads dates in (anbi.core.clock): a `created`
# outside them is not a real event's (10^12 was a 500: no calendar day that far).
_FIRST_UNIX = int(dt.datetime(FIRST_YEAR, 1, 1, tzinfo=dt.UTC).timestamp())
_LAST_UNIX = int(dt.datetime(LAST_YEAR, 12, 31, 23, 59, 59, tzinfo=dt.UTC).timestamp())


def unix_time(value: Any) -> int | None:
    """A Stripe timestamp (whole seconds) within the years anbi reads, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and _FIRST_UNIX <= value <= _LAST_UNIX:
        return value
    return None


@functools.cache
def currency_codes() -> frozenset[str]:
    """The ISO 4217 currency codes, lower case as Stripe writes them."""
    import pycountry

    return frozenset(currency.alpha_3.lower() for currency in pycountry.currencies)


# ---------------------------------------------------------------------------
# The meanings
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    line1: str | None = None
    line2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class Billing:
    """Who paid, as far as the payload says."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: Address | None = None

    @property
    def empty(self) -> bool:
        return not (self.name or self.email or self.phone or self.address)


@dataclass(frozen=True)
class Tags:
    """Our keys in Stripe's `metadata`: set by the donation form or the subscription."""

    donor_ref: str | None = None
    campaign: str | None = None
    fund: str | None = None


@dataclass(frozen=True)
class Payment:
    """`payment_intent.succeeded`: money received."""

    payment_intent_id: str
    charge_id: str | None
    amount_cents: int
    currency: str
    received_on: dt.date
    method: str
    customer_id: str | None
    billing: Billing
    tags: Tags
    invoice_id: str | None = None
    subscription_id: str | None = None

    @property
    def object_ids(self) -> tuple[str, ...]:
        return tuple(i for i in (self.payment_intent_id, self.charge_id) if i)


@dataclass(frozen=True)
class FailedPayment:
    """`payment_intent.payment_failed`: an attempt that moved no money."""

    payment_intent_id: str
    customer_id: str | None
    amount_cents: int
    currency: str
    occurred_on: dt.date
    reason: str
    invoice_id: str | None = None


@dataclass(frozen=True)
class RefundItem:
    refund_id: str
    amount_cents: int
    created: int  # Unix time: orders the refunds of one charge
    occurred_on: dt.date
    status: str


@dataclass(frozen=True)
class Refunds:
    """`charge.refunded`: the charge's refunds so far.

    `items` holds each refund when the payload lists them (older API versions, and
    the fixtures); from API version 2022-11-15 the list is not expanded and only the
    running total `amount_refunded_cents` is known."""

    charge_id: str
    payment_intent_id: str | None
    currency: str
    amount_refunded_cents: int
    items: tuple[RefundItem, ...]
    items_complete: bool
    occurred_on: dt.date

    @property
    def object_id(self) -> str:
        return self.payment_intent_id or self.charge_id


@dataclass(frozen=True)
class Dispute:
    """A dispute (chargeback) opened, or closed won or lost."""

    dispute_id: str
    charge_id: str | None
    payment_intent_id: str | None
    amount_cents: int
    currency: str
    outcome: str  # opened, won, lost
    occurred_on: dt.date
    reason: str | None

    @property
    def object_id(self) -> str | None:
        return self.payment_intent_id or self.charge_id


@dataclass(frozen=True)
class CheckoutCompleted:
    """`checkout.session.completed`: who the donor is, and what the session made."""

    session_id: str
    customer_id: str | None
    billing: Billing
    tags: Tags
    mode: str
    payment_intent_id: str | None
    subscription_id: str | None


@dataclass(frozen=True)
class SubscriptionChange:
    """`customer.subscription.created|updated|deleted`: the recurring gift."""

    subscription_id: str
    customer_id: str | None
    amount_cents: int | None
    currency: str | None
    interval: str | None  # monthly, quarterly, yearly; None when Stripe's does not map
    interval_text: str  # as Stripe says it, for messages ("every 2 weeks")
    status: str  # our recurring status
    started_on: dt.date
    ended_on: dt.date | None
    tags: Tags
    deleted: bool = False


@dataclass(frozen=True)
class InvoiceOutcome:
    """`invoice.paid|payment_succeeded` (paid) or `invoice.payment_failed`."""

    invoice_id: str
    customer_id: str | None
    subscription_id: str | None
    payment_intent_id: str | None
    billing: Billing
    paid: bool
    occurred_on: dt.date


@dataclass(frozen=True)
class Ignored:
    reason: str


Meaning = (
    Payment | FailedPayment | Refunds | Dispute | CheckoutCompleted | SubscriptionChange | InvoiceOutcome | Ignored
)


@dataclass(frozen=True)
class Envelope:
    """The event itself: id, type, when, and its object."""

    event_id: str
    type: str
    created: int
    livemode: bool
    api_version: str | None
    obj: Mapping[str, Any] = field(repr=False)

    @property
    def created_at(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.created, dt.UTC)


# ---------------------------------------------------------------------------
# Reading the event
# ---------------------------------------------------------------------------


def envelope(event: Mapping[str, Any]) -> Envelope:
    """Check the event's frame: an id, a type, a created time and a data object."""
    if not isinstance(event, Mapping):
        raise EventError("the event is not a JSON object")
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise EventError("the event has no id")
    kind = event.get("type")
    if not isinstance(kind, str) or not kind:
        raise EventError(f"event {event_id}: no type")
    created = unix_time(event.get("created"))
    if created is None:
        raise EventError(f"event {event_id}: created is not a Unix time between {FIRST_YEAR} and {LAST_YEAR}")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(obj, Mapping):
        raise EventError(f"event {event_id}: data.object is missing")
    api_version = event.get("api_version")
    return Envelope(
        event_id=event_id,
        type=kind,
        created=created,
        livemode=bool(event.get("livemode", False)),
        api_version=api_version if isinstance(api_version, str) else None,
        obj=obj,
    )


def interpret(event: Mapping[str, Any], env: Envelope | None = None) -> Meaning:
    """What `event` means for us. Raises EventError when it lacks what its type needs.
    `env`: its `envelope`, when the caller has read it already."""
    if env is None:
        env = envelope(event)
    handler = _HANDLERS.get(env.type)
    if handler is None:
        return Ignored(f"{env.type} is not an event anbi-crm acts on")
    return handler(env)


def minor_to_cents(amount: Any, currency: str, *, what: str = "amount") -> int:
    """Stripe's amount in the currency's minor unit -> our cents (1/100 of the unit).

    An unknown currency (not ISO 4217: its minor unit is unknown) and an amount
    beyond `anbi.core.money.MAX_CENTS` (past what the database columns and their
    totals hold) raise EventError: the event is parked for review, not booked."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        raise EventError(f"{what} {amount!r} is not a whole, non-negative number of minor units")
    code = currency.lower()
    if code not in currency_codes():
        raise EventError(f"{what}: currency {currency.upper()!r} is unknown (not ISO 4217): parked for review")
    if code in ZERO_DECIMAL_CURRENCIES:
        cents = amount * 100
    elif code in THREE_DECIMAL_CURRENCIES:
        if amount % 10:
            raise EventError(f"{what} {amount} {code.upper()} has a fraction below a cent")
        cents = amount // 10
    else:
        cents = amount
    if cents > MAX_CENTS:
        raise EventError(f"{what} {amount} {code.upper()} is more than anbi books in one amount: parked for review")
    return cents


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _id(value: Any) -> str | None:
    """An expandable field: an id, an expanded object with an id, or nothing."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping):
        return _str(value.get("id"))
    return None


def as_object(value: Any) -> Mapping[str, Any] | None:
    """An expandable field when it is expanded (an object), else None."""
    return value if isinstance(value, Mapping) else None


def list_items(value: Any) -> list[Any]:
    """A Stripe list object (`{"object": "list", "data": [...]}`) or a plain list."""
    if isinstance(value, Mapping):
        value = value.get("data")
    return list(value) if isinstance(value, list) else []


_obj = as_object
_list = list_items


def _required_id(obj: Mapping[str, Any], key: str, what: str) -> str:
    value = _str(obj.get("id")) if key == "id" else _id(obj.get(key))
    if not value:
        raise EventError(f"{what}: {key} is missing")
    return value


def _currency(obj: Mapping[str, Any], what: str) -> str:
    value = obj.get("currency")
    if not isinstance(value, str) or len(value) != 3 or not value.isalpha():
        raise EventError(f"{what}: currency {value!r} is not a three-letter code")
    return value.upper()


def _tags(*sources: Any) -> Tags:
    """Our metadata keys, the first source that has each one winning."""
    found: dict[str, str] = {}
    for source in sources:
        if not isinstance(source, Mapping):
            continue
        for key in ("donor_ref", "campaign", "fund"):
            value = source.get(key)
            if key not in found and isinstance(value, str) and value.strip():
                found[key] = value.strip()
    return Tags(**found)


def _address(value: Any) -> Address | None:
    if not isinstance(value, Mapping):
        return None
    address = Address(
        line1=_str(value.get("line1")),
        line2=_str(value.get("line2")),
        postal_code=_str(value.get("postal_code")),
        city=_str(value.get("city")),
        country=_str(value.get("country")),
    )
    return address if any(vars(address).values()) else None


def _billing(details: Any) -> Billing:
    if not isinstance(details, Mapping):
        return Billing()
    return Billing(
        name=_str(details.get("name")),
        email=_str(details.get("email")),
        phone=_str(details.get("phone")),
        address=_address(details.get("address")),
    )


def merge_billing(*sources: Billing) -> Billing:
    """Each field from the first source that has it."""
    values: dict[str, Any] = {}
    for source in sources:
        for key in ("name", "email", "phone", "address"):
            if values.get(key) is None and getattr(source, key) is not None:
                values[key] = getattr(source, key)
    return Billing(**values)


def method_of(type_name: str | None) -> str:
    return METHODS.get(type_name or "", UNKNOWN_METHOD)


# ---------------------------------------------------------------------------
# Payment intents
# ---------------------------------------------------------------------------


def _charges_of(intent: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The charge objects a PaymentIntent payload carries: `latest_charge` when it is
    expanded (current shape), else the deprecated `charges` list (2017-2022 shapes)."""
    latest = _obj(intent.get("latest_charge"))
    charges = [c for c in _list(intent.get("charges")) if isinstance(c, Mapping)]
    if latest is not None:
        return [latest] + [c for c in charges if c.get("id") != latest.get("id")]
    return charges


def _succeeded_charge(intent: Mapping[str, Any]) -> Mapping[str, Any] | None:
    charges = _charges_of(intent)
    for charge in charges:
        if charge.get("status") == "succeeded" or charge.get("paid") is True:
            return charge
    return charges[0] if charges else None


def payment_method_of(intent: Mapping[str, Any], charge: Mapping[str, Any] | None) -> str:
    """card, ideal, sepa_debit, bancontact, or `other` when the payload does not say.

    In order: the charge's `payment_method_details.type`; an expanded `payment_method`;
    an old-style `source`; the intent's `payment_method_types` when it allows only one."""
    if charge is not None:
        details = _obj(charge.get("payment_method_details"))
        if details and _str(details.get("type")):
            return method_of(details["type"])
    method = _obj(intent.get("payment_method"))
    if method and _str(method.get("type")):
        return method_of(method["type"])
    if charge is not None:
        source = _obj(charge.get("source"))
        if source:
            kind = _str(source.get("type")) or _str(source.get("object"))
            if kind:
                return method_of(kind)
    types = intent.get("payment_method_types")
    if isinstance(types, list) and len(types) == 1 and isinstance(types[0], str):
        return method_of(types[0])
    return UNKNOWN_METHOD


def _payment_billing(intent: Mapping[str, Any], charge: Mapping[str, Any] | None) -> Billing:
    sources = []
    if charge is not None:
        sources.append(_billing(charge.get("billing_details")))
        source = _obj(charge.get("source"))
        if source:
            sources.append(_billing(source.get("owner")))
    method = _obj(intent.get("payment_method"))
    if method:
        sources.append(_billing(method.get("billing_details")))
    shipping = _obj(intent.get("shipping"))
    sources.append(
        Billing(
            email=_str(intent.get("receipt_email")) or (charge and _str(charge.get("receipt_email"))) or None,
            name=_str(shipping.get("name")) if shipping else None,
            address=_address(shipping.get("address")) if shipping else None,
        )
    )
    return merge_billing(*sources)


def _payment_succeeded(env: Envelope) -> Payment:
    intent = env.obj
    what = f"payment_intent.succeeded {env.event_id}"
    intent_id = _required_id(intent, "id", what)
    currency = _currency(intent, what)
    received = intent.get("amount_received")
    amount = received if isinstance(received, int) and not isinstance(received, bool) and received > 0 else intent.get("amount")
    cents = minor_to_cents(amount, currency, what=f"{what}: amount")
    if cents <= 0:
        raise EventError(f"{what}: amount is zero")
    charge = _succeeded_charge(intent)
    charge_id = _id(intent.get("latest_charge")) or (_str(charge.get("id")) if charge else None)
    invoice = intent.get("invoice")
    invoice_obj = _obj(invoice)
    return Payment(
        payment_intent_id=intent_id,
        charge_id=charge_id,
        amount_cents=cents,
        currency=currency,
        received_on=amsterdam_date(env.created),
        method=payment_method_of(intent, charge),
        customer_id=_id(intent.get("customer")) or (_id(charge.get("customer")) if charge else None),
        billing=_payment_billing(intent, charge),
        tags=_tags(intent.get("metadata"), charge.get("metadata") if charge else None),
        invoice_id=_id(invoice),
        subscription_id=subscription_of_invoice(invoice_obj) if invoice_obj else None,
    )


def _payment_failed(env: Envelope) -> FailedPayment:
    intent = env.obj
    what = f"payment_intent.payment_failed {env.event_id}"
    currency = _currency(intent, what)
    error = _obj(intent.get("last_payment_error")) or {}
    reason = _str(error.get("message")) or _str(error.get("code")) or _str(error.get("decline_code")) or "no reason given"
    code = _str(error.get("decline_code")) or _str(error.get("code"))
    if code and code not in reason:
        reason = f"{reason} ({code})"
    return FailedPayment(
        payment_intent_id=_required_id(intent, "id", what),
        customer_id=_id(intent.get("customer")),
        amount_cents=minor_to_cents(intent.get("amount"), currency, what=f"{what}: amount"),
        currency=currency,
        occurred_on=amsterdam_date(env.created),
        reason=reason,
        invoice_id=_id(intent.get("invoice")),
    )


# ---------------------------------------------------------------------------
# Refunds and disputes
# ---------------------------------------------------------------------------


def _charge_refunded(env: Envelope) -> Refunds:
    charge = env.obj
    what = f"charge.refunded {env.event_id}"
    currency = _currency(charge, what)
    refunds_field = charge.get("refunds")
    items = []
    for raw in _list(refunds_field):
        if not isinstance(raw, Mapping):
            continue
        refund_id = _str(raw.get("id"))
        if not refund_id:
            raise EventError(f"{what}: a refund in the list has no id")
        created = unix_time(raw.get("created"))
        if created is None:
            created = env.created
        items.append(
            RefundItem(
                refund_id=refund_id,
                amount_cents=minor_to_cents(raw.get("amount"), currency, what=f"{what}: refund {refund_id} amount"),
                created=created,
                occurred_on=amsterdam_date(created),
                status=_str(raw.get("status")) or "succeeded",
            )
        )
    items.sort(key=lambda item: (item.created, item.refund_id))
    complete = (isinstance(refunds_field, Mapping) and isinstance(refunds_field.get("data"), list)
                and not refunds_field.get("has_more", False))
    return Refunds(
        charge_id=_required_id(charge, "id", what),
        payment_intent_id=_id(charge.get("payment_intent")),
        currency=currency,
        amount_refunded_cents=minor_to_cents(charge.get("amount_refunded", 0), currency, what=f"{what}: amount_refunded"),
        items=tuple(items),
        items_complete=complete,
        occurred_on=amsterdam_date(env.created),
    )


# charge.dispute.closed statuses: a closed inquiry (warning_closed) never took money.
DISPUTE_OUTCOMES = {"won": "won", "lost": "lost", "warning_closed": "won"}


def _dispute(env: Envelope) -> Dispute | Ignored:
    dispute = env.obj
    what = f"{env.type} {env.event_id}"
    outcome: str | None
    if env.type == "charge.dispute.created":
        outcome = "opened"
    else:
        status = _str(dispute.get("status"))
        outcome = DISPUTE_OUTCOMES.get(status or "")
        if outcome is None:
            return Ignored(f"dispute closed with status {status!r}: nothing to record")
    currency = _currency(dispute, what)
    charge_id = _id(dispute.get("charge"))
    intent_id = _id(dispute.get("payment_intent"))
    if not charge_id and not intent_id:
        raise EventError(f"{what}: the dispute names neither a charge nor a payment intent")
    return Dispute(
        dispute_id=_required_id(dispute, "id", what),
        charge_id=charge_id,
        payment_intent_id=intent_id,
        amount_cents=minor_to_cents(dispute.get("amount"), currency, what=f"{what}: amount"),
        currency=currency,
        outcome=outcome,
        occurred_on=amsterdam_date(env.created),
        reason=_str(dispute.get("reason")),
    )


# ---------------------------------------------------------------------------
# Checkout, subscriptions, invoices: donor and recurring gift only
# ---------------------------------------------------------------------------


def _checkout_completed(env: Envelope) -> CheckoutCompleted:
    session = env.obj
    what = f"checkout.session.completed {env.event_id}"
    details = _billing(session.get("customer_details"))
    return CheckoutCompleted(
        session_id=_required_id(session, "id", what),
        customer_id=_id(session.get("customer")),
        billing=merge_billing(details, Billing(email=_str(session.get("customer_email")))),
        tags=_tags(session.get("metadata")),
        mode=_str(session.get("mode")) or "payment",
        payment_intent_id=_id(session.get("payment_intent")),
        subscription_id=_id(session.get("subscription")),
    )


def interval_of(interval: str | None, count: Any) -> str | None:
    """Stripe's (interval, interval_count) -> monthly, quarterly, yearly, or None."""
    count = count if isinstance(count, int) and not isinstance(count, bool) else 1
    return {("month", 1): "monthly", ("month", 3): "quarterly", ("month", 12): "yearly", ("year", 1): "yearly"}.get(
        (interval or "", count)
    )


def _price_of(subscription: Mapping[str, Any]) -> tuple[int | None, str | None, str | None, Any, int]:
    """(unit amount, currency, interval, interval_count, quantity) of the first item,
    from a Price (current) or a Plan (2017 shape, also top-level `plan`)."""
    items = [i for i in _list(subscription.get("items")) if isinstance(i, Mapping)]
    item = items[0] if items else {}
    quantity = item.get("quantity", subscription.get("quantity", 1))
    quantity = quantity if isinstance(quantity, int) and not isinstance(quantity, bool) and quantity > 0 else 1
    price = _obj(item.get("price"))
    if price is not None and isinstance(price.get("unit_amount"), int):
        recurring = _obj(price.get("recurring")) or {}
        return price["unit_amount"], _str(price.get("currency")), _str(recurring.get("interval")), recurring.get("interval_count"), quantity
    plan = _obj(item.get("plan")) or _obj(subscription.get("plan"))
    if plan is not None and isinstance(plan.get("amount"), int):
        return plan["amount"], _str(plan.get("currency")), _str(plan.get("interval")), plan.get("interval_count"), quantity
    return None, None, None, None, quantity


def _date_or_none(value: Any) -> dt.date | None:
    moment = unix_time(value)
    return amsterdam_date(moment) if moment is not None and moment > 0 else None


def _subscription(env: Envelope) -> SubscriptionChange:
    subscription = env.obj
    what = f"{env.type} {env.event_id}"
    subscription_id = _required_id(subscription, "id", what)
    unit, currency, interval, count, quantity = _price_of(subscription)
    currency = (currency or _str(subscription.get("currency")) or "").upper() or None
    amount_cents = None
    if unit is not None and currency:
        amount_cents = minor_to_cents(unit * quantity, currency, what=f"{what}: amount")
    deleted = env.type == "customer.subscription.deleted"
    stripe_status = _str(subscription.get("status")) or ("canceled" if deleted else "active")
    status = "cancelled" if deleted else SUBSCRIPTION_STATUSES.get(stripe_status, "active")
    started = _date_or_none(subscription.get("start_date")) or _date_or_none(subscription.get("created")) or amsterdam_date(env.created)
    ended = None
    if status == "cancelled":
        ended = (
            _date_or_none(subscription.get("ended_at"))
            or _date_or_none(subscription.get("canceled_at"))
            or amsterdam_date(env.created)
        )
    count_text = count if isinstance(count, int) and count > 1 else None
    interval_text = f"every {count_text} {interval}s" if count_text else f"every {interval or '?'}"
    return SubscriptionChange(
        subscription_id=subscription_id,
        customer_id=_id(subscription.get("customer")),
        amount_cents=amount_cents,
        currency=currency,
        interval=interval_of(interval, count),
        interval_text=interval_text,
        status=status,
        started_on=started,
        ended_on=ended,
        tags=_tags(subscription.get("metadata")),
        deleted=deleted,
    )


def subscription_of_invoice(invoice: Mapping[str, Any]) -> str | None:
    """An invoice's subscription: top-level `subscription` until 2025, then
    `parent.subscription_details.subscription`, or on its lines."""
    direct = _id(invoice.get("subscription"))
    if direct:
        return direct
    parent = _obj(invoice.get("parent")) or {}
    details = _obj(parent.get("subscription_details")) or {}
    if parent.get("type") == "subscription_details" and _id(details.get("subscription")):
        return _id(details.get("subscription"))
    for line in _list(invoice.get("lines")):
        if not isinstance(line, Mapping):
            continue
        if _id(line.get("subscription")):
            return _id(line.get("subscription"))
        line_parent = _obj(line.get("parent")) or {}
        item_details = _obj(line_parent.get("subscription_item_details")) or {}
        if line_parent.get("type") == "subscription_item_details" and _id(item_details.get("subscription")):
            return _id(item_details.get("subscription"))
    return None


def payment_intent_of_invoice(invoice: Mapping[str, Any]) -> str | None:
    """An invoice's PaymentIntent: top-level `payment_intent` until 2025, then in
    the (expanded) `payments` list."""
    direct = _id(invoice.get("payment_intent"))
    if direct:
        return direct
    for entry in _list(invoice.get("payments")):
        payment = _obj(_obj(entry) and entry.get("payment")) or {}
        if _id(payment.get("payment_intent")):
            return _id(payment.get("payment_intent"))
    return None


def _invoice(env: Envelope) -> InvoiceOutcome:
    invoice = env.obj
    what = f"{env.type} {env.event_id}"
    return InvoiceOutcome(
        invoice_id=_required_id(invoice, "id", what),
        customer_id=_id(invoice.get("customer")),
        subscription_id=subscription_of_invoice(invoice),
        payment_intent_id=payment_intent_of_invoice(invoice),
        billing=Billing(
            name=_str(invoice.get("customer_name")),
            email=_str(invoice.get("customer_email")),
            phone=_str(invoice.get("customer_phone")),
            address=_address(invoice.get("customer_address")),
        ),
        paid=env.type in ("invoice.paid", "invoice.payment_succeeded"),
        occurred_on=amsterdam_date(env.created),
    )


_HANDLERS: dict[str, Callable[[Envelope], Meaning]] = {
    "payment_intent.succeeded": _payment_succeeded,
    "payment_intent.payment_failed": _payment_failed,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute,
    "charge.dispute.closed": _dispute,
    "checkout.session.completed": _checkout_completed,
    "customer.subscription.created": _subscription,
    "customer.subscription.updated": _subscription,
    "customer.subscription.deleted": _subscription,
    "invoice.paid": _invoice,
    "invoice.payment_succeeded": _invoice,
    "invoice.payment_failed": _invoice,
}

HANDLED_TYPES = frozenset(_HANDLERS)


# ---------------------------------------------------------------------------
# Refunds: which to book, exactly once each
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RefundBooking:
    reference: str
    amount_cents: int
    occurred_on: dt.date


def refunds_to_book(refunds: Refunds, *, booked: Mapping[str, int]) -> list[RefundBooking]:
    """The refund rows still to record for a charge, so each refund counts exactly once.

    `booked` maps the references already booked for the charge's donation to their
    amounts. With the refunds listed, each one not booked yet is booked under its own
    id — so a redelivery, or an older event arriving after a newer one, books nothing.
    Money booked under other keys (a running total from a payload without the list)
    covers the unbooked refunds oldest first, so it is not counted twice. Without the
    list (API versions from 2022-11-15), the difference between the charge's
    `amount_refunded` and what is booked is booked under a key made of the charge and
    that running total, which a redelivery reproduces."""
    bookings: list[RefundBooking] = []
    counting = [item for item in refunds.items if item.status in REFUND_COUNTS]
    listed = {item.refund_id for item in counting}
    uncovered_other = sum(amount for reference, amount in booked.items() if reference not in listed)
    for item in counting:
        if item.refund_id in booked:
            continue
        covered = min(item.amount_cents, uncovered_other)
        uncovered_other -= covered
        if item.amount_cents > covered:
            bookings.append(RefundBooking(item.refund_id, item.amount_cents - covered, item.occurred_on))
    if refunds.items and refunds.items_complete:
        return bookings
    # No list (or a partial one): catch up with the charge's own running total.
    missing = refunds.amount_refunded_cents - sum(booked.values()) - sum(b.amount_cents for b in bookings)
    if missing > 0:
        bookings.append(
            RefundBooking(f"{refunds.charge_id}:refunded:{refunds.amount_refunded_cents}", missing, refunds.occurred_on)
        )
    return bookings
