"""End to end against localstripe, on both databases: real payments made through
the `stripe` client, delivered by localstripe's own signed webhooks to the HTTP
service running on a free port (as `anbi serve` runs it), then `anbi stripe sync`.

localstripe sends 2017-08-15 shapes; its payment events do not say which payment
method was used (its charges carry no `payment_method_details`), so the method is
`other` until `anbi stripe sync` reads the payment method — as it does for the fee."""
import json
import threading
import time
from typing import Any, cast

import httpx
import pytest
import stripe
import uvicorn
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anbi.core.clock import today
from anbi.core.settings import Settings
from anbi.web.app import create_app
from fundraising.models import Donation, RecurringGift
from fundraising.stripe.client import make_client
from fundraising.stripe.models import StripeEvent
from tests.conftest import STRIPE_WEBHOOK_SECRET, free_port
from tests.factories import make_campaign, make_donor

pytestmark = pytest.mark.localstripe

CARD: dict[str, Any] = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
DECLINED_CARD = {"number": "4000000000000341", "exp_month": 12, "exp_year": 2030, "cvc": "123"}


@pytest.fixture
def served(db_url, engine, localstripe):
    """The HTTP service in a thread on a free port, registered as localstripe's webhook."""
    settings = Settings(database_url=db_url, sections={"stripe": {
        "webhook_secret": STRIPE_WEBHOOK_SECRET, "api_key": "sk_test_anbi", "api_base": localstripe, "max_network_retries": 0,
    }})
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, engine=engine), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "the HTTP service did not start"
        time.sleep(0.05)
    response = httpx.post(f"{localstripe}/_config/webhooks/anbi", data={"url": f"http://127.0.0.1:{port}/webhooks/stripe",
                                                                          "secret": STRIPE_WEBHOOK_SECRET})
    assert response.status_code == 200
    yield settings
    # localstripe delivers about a second after each event: let the last ones arrive
    # here rather than at the next test's server.
    time.sleep(1.5)
    server.should_exit = True
    thread.join(10)


def wait_for(check, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def donations(engine) -> list[Donation]:
    with Session(engine, expire_on_commit=False) as s:
        rows = list(s.scalars(select(Donation).order_by(Donation.id)))
        for row in rows:
            _ = (row.donor, row.campaign, row.recurring_gift, list(row.adjustments))
        return rows


def inbox(engine) -> list[tuple[str, str]]:
    with Session(engine) as s:
        return sorted(s.execute(select(StripeEvent.type, StripeEvent.status)).all())


def paying_customer(client: stripe.StripeClient, card=CARD, **fields):
    # The test's fields and card are Stripe's params as they are written in its API reference.
    customer = client.v1.customers.create(params=cast("stripe.params.CustomerCreateParams", fields))
    method = client.v1.payment_methods.create(
        params={"type": "card", "card": cast("stripe.params.PaymentMethodCreateParamsCard", dict(card))})
    client.v1.payment_methods.attach(method.id, params={"customer": customer.id})
    client.v1.customers.update(customer.id, params={"invoice_settings": {"default_payment_method": method.id}})
    return customer, method


def sync(cli, localstripe):
    result = cli("stripe", "sync", "--since", today().isoformat(), "--json",
                 env={"ANBI_STRIPE_API_KEY": "sk_test_anbi", "ANBI_STRIPE_API_BASE": localstripe})
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_card_donation_webhook_refunds_and_sync(served, engine, session, cli, localstripe):
    donor = make_donor(session, ref="D-LS-1")
    make_campaign(session, code="WEB25")
    session.commit()
    client = make_client(served)
    customer, method = paying_customer(client, email="anna@example.nl", name="Anna de Wit")
    intent = client.v1.payment_intents.create(params={
        "amount": 2500, "currency": "eur", "customer": customer.id, "payment_method": method.id,
        "metadata": {"donor_ref": "D-LS-1", "campaign": "WEB25"},
    })
    intent = client.v1.payment_intents.confirm(intent.id)
    assert intent.status == "succeeded"

    wait_for(lambda: donations(engine), "the payment_intent.succeeded webhook")
    [gift] = donations(engine)
    assert gift.campaign is not None
    assert (gift.source, gift.reference, gift.donor_id, gift.campaign.code) == ("stripe", intent.id, donor.id, "WEB25")
    assert (gift.amount_cents, gift.currency, gift.status) == (2500, "EUR", "paid")
    assert gift.received_on == today()
    assert gift.method == "other" and gift.fee_cents is None  # not in localstripe's payload; sync fills them in
    assert ("payment_intent.succeeded", "applied") in inbox(engine)

    client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1000})
    first = sync(cli, localstripe)
    assert first["refunds_booked"] == 1 and first["fees_filled"] == 1 and first["methods_filled"] == 1
    assert first["events_known"] >= 1  # the webhook had delivered them already
    [gift] = donations(engine)
    assert (gift.status, gift.method, gift.fee_cents) == ("partially_refunded", "card", 0)
    assert [(a.kind, a.amount_cents, a.source) for a in gift.adjustments] == [("refund", 1000, "stripe")]

    # The rest (localstripe refunds the whole charge when no amount is given).
    client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1500})
    second = sync(cli, localstripe)
    assert second["refunds_booked"] == 1 and second["events_new"] == 0
    [gift] = donations(engine)
    assert gift.status == "refunded"
    assert sorted(a.amount_cents for a in gift.adjustments) == [1000, 1500]

    third = sync(cli, localstripe)  # nothing left to do
    assert (third["refunds_booked"], third["fees_filled"], third["events_new"]) == (0, 0, 0)
    assert len(donations(engine)) == 1


def test_plan_subscription_becomes_a_recurring_gift(served, engine, session, cli, localstripe):
    donor = make_donor(session, ref="D-LS-2")
    make_campaign(session, code="MONTHLY")
    session.commit()
    client = make_client(served)
    customer, _ = paying_customer(client, email="piet@example.nl", name="Piet Klaassen")
    product = client.v1.products.create(params={"name": "Maandelijkse gift", "type": "service"})
    plan = client.v1.plans.create(params={"amount": 1000, "currency": "eur", "interval": "month", "product": product.id})
    subscription = client.v1.subscriptions.create(params={
        "customer": customer.id, "items": [{"plan": plan.id}], "metadata": {"donor_ref": "D-LS-2", "campaign": "MONTHLY"},
    })
    assert subscription.status == "active"

    def settled():
        rows = donations(engine)
        return rows if rows and rows[0].recurring_gift is not None else None

    [paid] = wait_for(settled, "the subscription's payment linked to its recurring gift")
    with Session(engine) as s:
        gift = s.execute(select(RecurringGift)).scalar_one()
        assert (gift.source, gift.reference, gift.donor_id) == ("stripe", subscription.id, donor.id)
        assert (gift.amount_cents, gift.interval, gift.method, gift.status) == (1000, "monthly", "stripe", "active")
        assert gift.stripe_customer_id == customer.id
    assert (paid.donor_id, paid.amount_cents, paid.campaign.code, paid.status) == (donor.id, 1000, "MONTHLY", "paid")
    assert paid.recurring_gift.reference == subscription.id
    assert ("invoice.payment_succeeded", "applied") in inbox(engine)

    client.v1.subscriptions.cancel(subscription.id)
    wait_for(lambda: ("customer.subscription.deleted", "applied") in inbox(engine), "the cancellation")
    with Session(engine) as s:
        assert s.scalar(select(RecurringGift.status)) == "cancelled"
    assert len(donations(engine)) == 1


def test_declined_card_books_nothing(served, engine, localstripe):
    client = make_client(served)
    customer, method = paying_customer(client, card=DECLINED_CARD, email="kees@example.nl", name="Kees Smit")
    with pytest.raises(stripe.CardError):
        client.v1.payment_intents.create(params={
            "amount": 1500, "currency": "eur", "customer": customer.id, "payment_method": method.id, "confirm": True,
        })
    wait_for(lambda: ("payment_intent.payment_failed", "applied") in inbox(engine), "the payment_failed webhook")
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Donation)) == 0
        note = s.scalar(select(StripeEvent.error).where(StripeEvent.type == "payment_intent.payment_failed"))
    assert note is not None and "declined" in note
