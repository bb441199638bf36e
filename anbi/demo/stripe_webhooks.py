"""`anbi demo`, Stripe step: Stripe webhooks posted over HTTP to the service.

A season of online giving as Stripe would report it — iDEAL, card, Bancontact and
SEPA payments from demo donors and from new ones, a refund and a partial refund, a
dispute that is lost, a monthly subscription with its paid invoice, a declined card,
a type we ignore, a redelivery and a refund that arrives before its payment — each
signed with the demo's own endpoint secret and posted to `POST /webhooks/stripe` of
the real app (in-process), so the demo runs the same code path as production. Event
ids are fixed: running the demo again changes nothing."""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from anbi.core.clock import AMSTERDAM
from anbi.core.money import format_dutch
from donors.models import Donor
from fundraising.models import Donation, RecurringGift
from fundraising.stripe.models import StripeEvent

SECRET = "whsec_anbi_demo"
CAMPAIGN = "ONLINE-2025"


def _unix(day: dt.date, hour: int = 12) -> int:
    return int(dt.datetime.combine(day, dt.time(hour), AMSTERDAM).timestamp())


def _event(event_id: str, kind: str, obj: dict[str, Any], day: dt.date) -> dict[str, Any]:
    return {"id": event_id, "object": "event", "type": kind, "created": _unix(day), "livemode": False,
            "api_version": "2026-10-28.endive", "pending_webhooks": 1, "data": {"object": obj}}


def _charge(n: int, pi_id: str, amount: int, method: str, customer: str | None, billing: dict | None, day: dt.date) -> dict:
    return {"id": f"ch_demo_{n:03d}", "object": "charge", "amount": amount, "currency": "eur", "customer": customer,
            "payment_intent": pi_id, "status": "succeeded", "paid": True, "created": _unix(day),
            "payment_method_details": {"type": method, method: {}},
            "billing_details": billing or {"name": None, "email": None, "phone": None, "address": None}}


def _payment(n: int, day: dt.date, amount: int, method: str, *, customer: str | None = None, donor_ref: str | None = None,
             billing: dict | None = None, campaign: str | None = CAMPAIGN) -> dict:
    pi_id = f"pi_demo_{n:03d}"
    metadata = {k: v for k, v in (("donor_ref", donor_ref), ("campaign", campaign)) if v}
    intent = {"id": pi_id, "object": "payment_intent", "amount": amount, "amount_received": amount, "currency": "eur",
              "customer": customer, "metadata": metadata, "status": "succeeded", "payment_method_types": [method],
              "latest_charge": _charge(n, pi_id, amount, method, customer, billing, day)}
    return _event(f"evt_demo_pay_{n:03d}", "payment_intent.succeeded", intent, day)


def _refund(n: int, tag: str, day: dt.date, charge_amount: int, refunds: list[tuple[str, int]]) -> dict:
    charge = _charge(n, f"pi_demo_{n:03d}", charge_amount, "card", None, None, day)
    charge["refunds"] = {"object": "list", "has_more": False, "data": [
        {"id": refund_id, "object": "refund", "amount": amount, "status": "succeeded", "created": _unix(day)}
        for refund_id, amount in refunds]}
    charge["amount_refunded"] = sum(amount for _, amount in refunds)
    return _event(f"evt_demo_refund_{tag}", "charge.refunded", charge, day)


def _events(refs: list[str]) -> list[dict]:
    D = dt.date
    methods = ["ideal", "ideal", "card", "bancontact", "ideal", "sepa_debit", "card", "ideal"]
    events = []
    for n, ref in enumerate(refs[:8], start=1):
        events.append(_payment(n, D(2025, 3, 1) + dt.timedelta(days=9 * n), [1000, 2500, 5000, 1500][n % 4], methods[n - 1],
                               donor_ref=ref, customer=f"cus_demo_{n:03d}"))
    newcomer = {"name": "Sanne van der Linden", "email": "sanne.vanderlinden@example.nl", "phone": None,
                "address": {"line1": "Lindengracht 88b", "postal_code": "1015 KK", "city": "Amsterdam", "country": "NL",
                            "line2": None, "state": None}}
    events.append(_payment(20, D(2025, 6, 3), 3500, "ideal", customer="cus_demo_new", billing=newcomer))
    events.append(_payment(21, D(2025, 6, 20), 3500, "ideal", customer="cus_demo_new", billing=newcomer))
    # A refund that arrives before its payment: it waits, and is applied when the payment comes.
    events.append(_refund(22, "early", D(2025, 7, 2), 2000, [("re_demo_early", 2000)]))
    events.append(_payment(22, D(2025, 7, 1), 2000, "card", donor_ref=refs[8] if len(refs) > 8 else None,
                           billing={"name": "Kees Bakker", "email": None, "phone": None, "address": None}))
    # A partial refund on a payment of a demo donor.
    events.append(_refund(3, "partial", D(2025, 7, 10), [1000, 2500, 5000, 1500][3 % 4], [("re_demo_partial", 1000)]))
    # A dispute, lost.
    dispute = {"id": "dp_demo_1", "object": "dispute", "amount": 2500, "currency": "eur", "charge": "ch_demo_001",
               "payment_intent": "pi_demo_001", "reason": "fraudulent", "status": "needs_response"}
    events.append(_event("evt_demo_dispute_open", "charge.dispute.created", dict(dispute), D(2025, 8, 4)))
    events.append(_event("evt_demo_dispute_lost", "charge.dispute.closed", {**dispute, "status": "lost"}, D(2025, 9, 15)))
    # A monthly gift by subscription: its first payment, linked by the paid invoice.
    subscription_donor = refs[9] if len(refs) > 9 else None
    subscription = {"id": "sub_demo_1", "object": "subscription", "customer": "cus_demo_sub", "status": "active",
                    "start_date": _unix(D(2025, 9, 1)), "metadata": {"donor_ref": subscription_donor, "campaign": CAMPAIGN},
                    "items": {"object": "list", "data": [{"quantity": 1, "price": {
                        "unit_amount": 1500, "currency": "eur", "recurring": {"interval": "month", "interval_count": 1}}}]}}
    events.append(_event("evt_demo_sub_created", "customer.subscription.created", subscription, D(2025, 9, 1)))
    events.append(_payment(30, D(2025, 9, 1), 1500, "sepa_debit", customer="cus_demo_sub", campaign=None))
    invoice = {"id": "in_demo_1", "object": "invoice", "customer": "cus_demo_sub", "status": "paid", "amount_paid": 1500,
               "currency": "eur", "parent": {"type": "subscription_details",
                                            "subscription_details": {"subscription": "sub_demo_1"}},
               "payments": {"object": "list", "data": [{"payment": {"type": "payment_intent", "payment_intent": "pi_demo_030"}}]}}
    events.append(_event("evt_demo_invoice_paid", "invoice.paid", invoice, D(2025, 9, 1)))
    # A declined card: recorded, no money.
    declined = {"id": "pi_demo_040", "object": "payment_intent", "amount": 5000, "currency": "eur", "customer": None,
                "last_payment_error": {"code": "card_declined", "message": "Your card was declined."}}
    events.append(_event("evt_demo_declined", "payment_intent.payment_failed", declined, D(2025, 10, 2)))
    # Something we do not act on.
    events.append(_event("evt_demo_payout", "payout.paid", {"id": "po_demo_1", "object": "payout", "amount": 10000,
                                                             "currency": "eur"}, D(2025, 10, 3)))
    return events


def _signed(body: bytes) -> dict[str, str]:
    timestamp = int(time.time())
    mac = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={timestamp},v1={mac}", "Content-Type": "application/json"}


def stripe_webhooks(app, out_dir: Path, rng: random.Random) -> list[str]:
    import secrets
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's note about its own test client
        from fastapi.testclient import TestClient

    from anbi.web.app import create_app

    with app.session() as session:
        refs = list(session.scalars(
            select(Donor.ref).where(Donor.merged_into_id.is_(None), Donor.restricted_at.is_(None), Donor.purged_at.is_(None))
            .order_by(Donor.ref).limit(10)
        ))
    # The app is only used in-process here: a throwaway cookie key keeps it quiet.
    settings = dataclasses.replace(app.settings, stripe=dataclasses.replace(app.settings.stripe, webhook_secret=SECRET),
                                   web=dataclasses.replace(app.settings.web, secret_key=secrets.token_hex(32)))

    events = _events(refs)
    events.append(events[0])  # Stripe delivers at least once: a redelivery
    statuses: Counter[str] = Counter()
    with TestClient(create_app(settings, engine=app.engine)) as client:
        for event in events:
            body = json.dumps(event).encode("utf-8")
            response = client.post("/webhooks/stripe", content=body, headers=_signed(body))
            statuses[response.json().get("status", str(response.status_code))] += 1

    with app.session() as session:
        booked = session.execute(
            select(func.count(), func.coalesce(func.sum(Donation.amount_cents), 0)).where(Donation.source == "stripe")
        ).one()
        by_status = dict(session.execute(
            select(Donation.status, func.count()).where(Donation.source == "stripe").group_by(Donation.status)
        ).all())
        gift = session.scalar(select(RecurringGift).where(RecurringGift.reference == "sub_demo_1"))
        linked = session.scalar(select(func.count()).select_from(Donation).where(Donation.recurring_gift_id == (gift.id if gift else -1)))
        new_donors = session.scalar(select(func.count()).select_from(Donor).where(Donor.ref.like("STRIPE-%")))
        inbox = dict(session.execute(select(StripeEvent.status, func.count()).group_by(StripeEvent.status)).all())
    lines = [
        f"{len(events)} signed events posted to POST /webhooks/stripe: "
        + ", ".join(f"{count} {status}" for status, count in sorted(statuses.items())),
        f"Stripe donations: {booked[0]}, {format_dutch(int(booked[1]))} gross; "
        + ", ".join(f"{count} {status}" for status, count in sorted(by_status.items())),
        f"new donors from billing details: {new_donors}; recurring gift sub_demo_1: "
        + (f"{gift.status}, {format_dutch(gift.amount_cents)} {gift.interval}, {linked} payment linked" if gift else "not made"),
        "inbox now: " + ", ".join(f"{count} {status}" for status, count in sorted(inbox.items()))
        + " (an event that waited for its payment was applied when it came); see `anbi stripe events`",
    ]
    return lines
