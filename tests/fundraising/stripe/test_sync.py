"""`stripe sync` for what localstripe cannot show: current API shapes (an invoice that
lists its payments separately), fees settled in another currency, refunds older than
the window. The Stripe client is injected, so a small stand-in answers here with the
shapes Stripe's API documents."""
import datetime as dt
import time
from collections.abc import Callable
from types import SimpleNamespace

from sqlalchemy import select
from sqlalchemy.orm import Session

from anbi.core.clock import today
from fundraising.models import Donation
from fundraising.stripe.sync import sync
from fundraising.stripe.webhook import receive
from tests.factories import make_donor
from tests.fundraising.stripe import payloads as p


class Listed:
    def __init__(self, items):
        self.items = items

    def auto_paging_iter(self):
        return iter(self.items)


class Service:
    """One API resource: `list` answers from a function of the params, `retrieve` by id."""

    def __init__(self, lister=None, objects=None):
        self.lister: Callable[[dict], list] = lister or (lambda params: [])
        self.objects = objects or {}
        self.calls = []

    def list(self, params=None):
        self.calls.append(("list", params))
        return Listed(self.lister(params or {}))

    def retrieve(self, object_id, params=None):
        self.calls.append(("retrieve", object_id, params))
        return self.objects[object_id]


def client(**services):
    names = ("events", "refunds", "invoices", "invoice_payments", "balance_transactions", "payment_intents")
    return SimpleNamespace(v1=SimpleNamespace(**{name: services.get(name) or Service() for name in names}))


def booked(engine, reference) -> Donation:
    with Session(engine) as s:
        return s.execute(select(Donation).where(Donation.reference == reference)).scalar_one()


NOW = int(time.time())


def test_links_a_subscription_payment_from_the_invoice_payments_list(session, engine):
    make_donor(session, ref="D-SYNC")
    session.commit()
    receive(session, p.subscription(sub_id="sub_s", customer="cus_s", metadata={"donor_ref": "D-SYNC"}, created=NOW))
    receive(session, p.payment_succeeded(pi_id="pi_s", customer="cus_s", amount=1000, expand_charge=False, created=NOW))
    session.commit()
    assert booked(engine, "pi_s").recurring_gift_id is None
    invoice = {"id": "in_s", "object": "invoice", "status": "paid", "created": NOW, "customer": "cus_s",
               "parent": {"type": "subscription_details", "subscription_details": {"subscription": "sub_s"}}}
    invoices = Service(lambda params: [invoice] if params.get("customer") == "cus_s" else [])
    payments = Service(lambda params: [{"object": "invoice_payment", "invoice": "in_s",
                                        "payment": {"type": "payment_intent", "payment_intent": "pi_s"}}])
    intents = Service(objects={"pi_s": {"id": "pi_s", "object": "payment_intent", "latest_charge": None}})
    summary = sync(session, client(invoices=invoices, invoice_payments=payments, payment_intents=intents), since=today())
    session.commit()
    assert summary.linked == 1
    assert payments.calls == [("list", {"invoice": "in_s", "limit": 10})]
    with Session(engine) as s:
        donation = s.execute(select(Donation).where(Donation.reference == "pi_s")).scalar_one()
        assert donation.recurring_gift is not None
        assert donation.recurring_gift.reference == "sub_s"


def test_fees_from_balance_transactions_and_the_payment_intent(session, engine):
    paid = p.payment_succeeded(pi_id="pi_fee", amount=2500, created=NOW)
    usd = p.payment_succeeded(pi_id="pi_usd", amount=2500, currency="usd", created=NOW)
    unknown = p.payment_succeeded(pi_id="pi_unknown", amount=1000, expand_charge=False, created=NOW)
    unknown["data"]["object"]["payment_method_types"] = ["card", "ideal"]
    unknown["data"]["object"]["latest_charge"] = None
    for event in (paid, usd, unknown):
        receive(session, event)
    session.commit()
    assert booked(engine, "pi_unknown").method == "other"
    charge_eur = paid["data"]["object"]["latest_charge"]["id"]
    charge_usd = usd["data"]["object"]["latest_charge"]["id"]
    transactions = Service(lambda params: [
        {"id": "txn_1", "source": charge_eur, "type": "charge", "fee": 61, "currency": "eur", "created": NOW},
        {"id": "txn_2", "source": charge_usd, "type": "charge", "fee": 95, "currency": "eur", "created": NOW},
    ])
    intents = Service(objects={"pi_unknown": {"id": "pi_unknown", "object": "payment_intent", "latest_charge": {
        "id": "ch_unknown", "payment_method_details": {"type": "ideal"},
        "balance_transaction": {"id": "txn_3", "fee": 29, "currency": "eur"}}}})
    summary = sync(session, client(balance_transactions=transactions, payment_intents=intents), since=today())
    session.commit()
    assert (summary.fees_filled, summary.methods_filled) == (2, 1)
    assert booked(engine, "pi_fee").fee_cents == 61
    usd_gift = booked(engine, "pi_usd")
    assert usd_gift.flag is not None
    assert usd_gift.fee_cents is None and "fee is in EUR" in usd_gift.flag
    filled = booked(engine, "pi_unknown")
    assert (filled.fee_cents, filled.method, filled.stripe_charge_id) == (29, "ideal", "ch_unknown")
    # Only the gift the balance transactions did not cover was read on its own.
    assert [c[1] for c in intents.calls] == ["pi_unknown"]


def test_refunds_window_picks_charges_and_books_all_their_refunds(session, engine):
    event = p.payment_succeeded(pi_id="pi_rf", amount=3000, created=NOW)
    receive(session, event)
    session.commit()
    charge_id = event["data"]["object"]["latest_charge"]["id"]
    refunds = {
        charge_id: [
            {"id": "re_new", "object": "refund", "amount": 500, "charge": charge_id, "payment_intent": "pi_rf",
             "currency": "eur", "status": "succeeded", "created": NOW},
            # Made long before the window: found because its charge has a refund in it.
            {"id": "re_old", "object": "refund", "amount": 700, "charge": charge_id, "payment_intent": "pi_rf",
             "currency": "eur", "status": "succeeded", "created": p.NOON_2025_03_01},
        ],
    }
    window = [refunds[charge_id][0],
              {"id": "re_other", "object": "refund", "amount": 1, "charge": "ch_not_ours", "currency": "eur",
               "status": "succeeded", "created": p.NOON_2025_03_01}]
    service = Service(lambda params: refunds.get(params["charge"], []) if "charge" in params else window)
    fees = Service(lambda params: [{"id": "txn_rf", "source": charge_id, "type": "charge", "fee": 80, "currency": "eur",
                                    "created": NOW}])
    summary = sync(session, client(refunds=service, balance_transactions=fees), since=today())
    session.commit()
    assert summary.refunds_booked == 2
    with Session(engine) as s:
        gift = s.execute(select(Donation).where(Donation.reference == "pi_rf")).scalar_one()
        assert gift.status == "partially_refunded"
        assert sorted((a.reference, a.amount_cents, a.occurred_on) for a in gift.adjustments) == [
            ("re_new", 500, today()), ("re_old", 700, dt.date(2025, 3, 1))]
    # Listing the window stopped at the first refund older than it: the other charge was never asked for.
    assert [c for c in service.calls if c[1].get("charge")] == [("list", {"charge": charge_id, "limit": 100})]
