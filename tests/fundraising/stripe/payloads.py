"""Stripe events for tests, built from Stripe's own fixture objects.

Each builder deep-copies a real object from tests/fixtures/stripe/ (see its README),
changes only what the case is about, and wraps it in an event envelope. `signed`
makes the exact bytes and `Stripe-Signature` header Stripe would send."""
from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import time
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stripe" / "stripe_openapi_fixtures3_examples.json"
_OBJECTS: dict[str, Any] = json.loads(FIXTURES.read_text(encoding="utf-8"))
SECRET = "whsec_test_secret_for_anbi"

_seq = itertools.count(1)

# 2025-03-01 12:00 UTC: a Saturday afternoon in Amsterdam.
NOON_2025_03_01 = 1740830400
# 2025-03-01 23:30 UTC is already 2 March in Amsterdam (UTC+1 in winter).
LATE_2025_03_01 = 1740871800


def stripe_object(name: str) -> dict[str, Any]:
    return copy.deepcopy(_OBJECTS[name])


def next_id(prefix: str) -> str:
    return f"{prefix}_test{next(_seq):06d}"


def event(kind: str, obj: dict[str, Any], *, created: int = NOON_2025_03_01, event_id: str | None = None,
          api_version: str | None = "2026-10-28.endive") -> dict[str, Any]:
    envelope = stripe_object("event")
    envelope.update(id=event_id or next_id("evt"), type=kind, created=created, api_version=api_version)
    envelope["data"] = {"object": obj}
    return envelope


def charge(*, charge_id: str | None = None, payment_intent: str | None = None, amount: int = 2500,
           currency: str = "eur", method: str = "card", customer: str | None = None,
           name: str | None = "Jenny Rosen", email: str | None = None, address: dict | None = None,
           created: int = NOON_2025_03_01) -> dict[str, Any]:
    obj = stripe_object("charge")
    obj.update(id=charge_id or next_id("ch"), payment_intent=payment_intent, amount=amount, amount_captured=amount,
               currency=currency, customer=customer, created=created, status="succeeded", paid=True, captured=True)
    obj["billing_details"]["name"] = name
    obj["billing_details"]["email"] = email
    if address:
        obj["billing_details"]["address"].update(address)
    # The fixture's details are a card's; another method gets its own block.
    if method != "card":
        obj["payment_method_details"] = {"type": method, method: {}}
    obj["source"] = None
    return obj


def payment_intent(*, pi_id: str | None = None, amount: int = 2500, currency: str = "eur", method: str = "card",
                   customer: str | None = None, metadata: dict | None = None, name: str | None = "Jenny Rosen",
                   email: str | None = None, address: dict | None = None, expand_charge: bool = True,
                   created: int = NOON_2025_03_01) -> dict[str, Any]:
    """A succeeded PaymentIntent in the current shape: `latest_charge` expanded (as a
    payload made with `expand` or read back by sync), or only its id with the single
    allowed `payment_method_types` (as a plain webhook sends it)."""
    obj = stripe_object("payment_intent")
    pi_id = pi_id or next_id("pi")
    the_charge = charge(payment_intent=pi_id, amount=amount, currency=currency, method=method, customer=customer,
                        name=name, email=email, address=address, created=created)
    obj.update(id=pi_id, amount=amount, amount_received=amount, currency=currency, customer=customer,
               metadata=metadata or {}, status="succeeded", created=created, payment_method_types=[method],
               last_payment_error=None, next_action=None, canceled_at=None)
    obj["latest_charge"] = the_charge if expand_charge else the_charge["id"]
    return obj


def payment_intent_2017(**kwargs) -> dict[str, Any]:
    """The 2017-08-15 shape: charges in a `charges` list, no `latest_charge`, no
    `payment_method_types`."""
    obj = payment_intent(**kwargs)
    the_charge = obj.pop("latest_charge")
    obj.pop("payment_method_types")
    obj["charges"] = {"object": "list", "data": [the_charge], "has_more": False, "url": "/v1/charges"}
    return obj


def payment_succeeded(**kwargs) -> dict[str, Any]:
    created = kwargs.get("created", NOON_2025_03_01)
    event_id = kwargs.pop("event_id", None)
    return event("payment_intent.succeeded", payment_intent(**kwargs), created=created, event_id=event_id)


def payment_failed(*, pi_id: str | None = None, amount: int = 2500, currency: str = "eur", customer: str | None = None,
                   created: int = NOON_2025_03_01) -> dict[str, Any]:
    obj = stripe_object("payment_intent")
    obj.update(id=pi_id or next_id("pi"), amount=amount, currency=currency, customer=customer, status="requires_payment_method")
    obj["last_payment_error"] = {"type": "card_error", "code": "card_declined", "message": "Your card was declined."}
    return event("payment_intent.payment_failed", obj, created=created)


def refund_item(amount: int, *, refund_id: str | None = None, created: int = NOON_2025_03_01, status: str = "succeeded",
                charge_id: str | None = None, currency: str = "eur") -> dict[str, Any]:
    obj = stripe_object("refund")
    obj.update(id=refund_id or next_id("re"), amount=amount, created=created, status=status, charge=charge_id, currency=currency)
    return obj


def charge_refunded(*, charge_id: str, pi_id: str | None, amount: int, refunds: list[dict] | None,
                    amount_refunded: int | None = None, currency: str = "eur", created: int = NOON_2025_03_01,
                    event_id: str | None = None) -> dict[str, Any]:
    """`charge.refunded`; `refunds=None` leaves the list out (API 2022-11-15 and later)."""
    obj = charge(charge_id=charge_id, payment_intent=pi_id, amount=amount, currency=currency)
    if refunds is None:
        obj.pop("refunds", None)
        total = amount_refunded or 0
    else:
        total = amount_refunded if amount_refunded is not None else sum(r["amount"] for r in refunds)
        obj["refunds"] = {"object": "list", "data": list(reversed(refunds)), "has_more": False,
                          "url": f"/v1/charges/{charge_id}/refunds"}
    obj.update(amount_refunded=total, refunded=total >= amount)
    return event("charge.refunded", obj, created=created, event_id=event_id)


def dispute(kind: str, *, dispute_id: str, charge_id: str, pi_id: str | None, amount: int, status: str,
            currency: str = "eur", created: int = NOON_2025_03_01) -> dict[str, Any]:
    obj = stripe_object("dispute")
    obj.update(id=dispute_id, charge=charge_id, payment_intent=pi_id, amount=amount, status=status, currency=currency,
               reason="fraudulent")
    return event(kind, obj, created=created)


def checkout_completed(*, session_id: str | None = None, customer: str | None, pi_id: str | None,
                       subscription: str | None = None, email: str = "jenny@example.org", name: str = "Jenny Rosen",
                       metadata: dict | None = None, mode: str = "payment", address: dict | None = None,
                       created: int = NOON_2025_03_01) -> dict[str, Any]:
    obj = stripe_object("checkout.session")
    obj.update(id=session_id or next_id("cs"), customer=customer, payment_intent=pi_id, subscription=subscription,
               metadata=metadata or {}, mode=mode, status="complete", payment_status="paid", currency="eur")
    obj["customer_details"].update(email=email, name=name)
    if address:
        obj["customer_details"]["address"].update(address)
    return event("checkout.session.completed", obj, created=created)


def subscription(kind: str = "customer.subscription.created", *, sub_id: str, customer: str, unit_amount: int = 1000,
                 interval: str = "month", interval_count: int = 1, status: str = "active", metadata: dict | None = None,
                 currency: str = "eur", start: int = NOON_2025_03_01, ended_at: int | None = None,
                 created: int = NOON_2025_03_01) -> dict[str, Any]:
    obj = stripe_object("subscription")
    obj.update(id=sub_id, customer=customer, status=status, metadata=metadata or {}, currency=currency,
               start_date=start, created=start, canceled_at=ended_at, ended_at=ended_at, cancel_at=None)
    item = obj["items"]["data"][0]
    item["subscription"] = sub_id
    item["quantity"] = 1
    item["price"].update(unit_amount=unit_amount, currency=currency)
    item["price"]["recurring"].update(interval=interval, interval_count=interval_count)
    item["plan"].update(amount=unit_amount, currency=currency, interval=interval, interval_count=interval_count)
    return event(kind, obj, created=created)


def invoice(kind: str = "invoice.paid", *, invoice_id: str | None = None, customer: str, sub_id: str,
            pi_id: str | None, shape: str = "2017", email: str | None = "jenny@example.org", name: str | None = "Jenny Rosen",
            amount: int = 1000, created: int = NOON_2025_03_01) -> dict[str, Any]:
    """An invoice; `shape` "2017" names subscription and payment_intent at the top,
    "current" names the subscription under `parent` and the payment in `payments`."""
    obj = stripe_object("invoice")
    obj.update(id=invoice_id or next_id("in"), customer=customer, customer_email=email, customer_name=name,
               amount_paid=amount if kind != "invoice.payment_failed" else 0, amount_due=amount, currency="eur",
               status="paid" if kind != "invoice.payment_failed" else "open")
    if shape == "2017":
        obj["subscription"] = sub_id
        obj["payment_intent"] = pi_id
    else:
        obj["parent"] = {"type": "subscription_details", "quote_details": None,
                         "subscription_details": {"metadata": None, "subscription": sub_id}}
        for line in obj["lines"]["data"]:
            line["parent"] = {"type": "invoice_item_details", "invoice_item_details": {"subscription": None},
                              "subscription_item_details": None}
        if pi_id:
            obj["payments"] = {"object": "list", "data": [
                {"object": "invoice_payment", "payment": {"type": "payment_intent", "payment_intent": pi_id}}
            ], "has_more": False}
    return event(kind, obj, created=created)


def raw(event_doc: dict[str, Any]) -> bytes:
    return json.dumps(event_doc, indent=2).encode("utf-8")


def signature(body: bytes, *, secret: str = SECRET, timestamp: int | None = None) -> str:
    """`Stripe-Signature` exactly as Stripe makes it: HMAC-SHA256 over `t.body`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def signed(event_doc: dict[str, Any], **kwargs) -> tuple[bytes, dict[str, str]]:
    body = raw(event_doc)
    return body, {"Stripe-Signature": signature(body, **kwargs), "Content-Type": "application/json"}
