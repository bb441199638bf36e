"""What each Stripe event means, decided without a database: tables over payloads
built from Stripe's own fixture objects (tests/fixtures/stripe/)."""
import datetime as dt
from typing import Any, TypeVar

import pytest

from fundraising.stripe import events as ev
from tests.fundraising.stripe import payloads as p

SUMMER_LATE = 1751409000  # 2025-07-01 22:30 UTC = 2 July 00:30 in Amsterdam (UTC+2)

Kind = TypeVar("Kind")


def interpreted(event: Any, kind: type[Kind]) -> Kind:
    """What `event` means, which must be a `kind`."""
    meaning = ev.interpret(event)
    assert isinstance(meaning, kind), meaning
    return meaning


def test_payment_succeeded_current_shape():
    event = p.payment_succeeded(pi_id="pi_A", amount=2500, customer="cus_A", email="jenny@example.org",
                                metadata={"donor_ref": "D1", "campaign": "XMAS", "fund": "EDU"},
                                address={"line1": "Kerkstraat 12a", "postal_code": "1017GC", "city": "Amsterdam", "country": "NL"})
    payment = ev.interpret(event)
    assert isinstance(payment, ev.Payment)
    assert payment.payment_intent_id == "pi_A"
    assert payment.charge_id == event["data"]["object"]["latest_charge"]["id"]
    assert (payment.amount_cents, payment.currency) == (2500, "EUR")
    assert payment.received_on == dt.date(2025, 3, 1)
    assert payment.method == "card"
    assert payment.customer_id == "cus_A"
    assert payment.billing.name == "Jenny Rosen"
    assert payment.billing.email == "jenny@example.org"
    assert payment.billing.address == ev.Address(line1="Kerkstraat 12a", postal_code="1017GC", city="Amsterdam", country="NL")
    assert payment.tags == ev.Tags(donor_ref="D1", campaign="XMAS", fund="EDU")


@pytest.mark.parametrize(
    "created, day",
    [
        (p.NOON_2025_03_01, dt.date(2025, 3, 1)),
        (p.LATE_2025_03_01, dt.date(2025, 3, 2)),  # 23:30 UTC is 00:30 the next day in winter
        (SUMMER_LATE, dt.date(2025, 7, 2)),  # 22:30 UTC is 00:30 the next day in summer
    ],
)
def test_payment_is_dated_by_the_amsterdam_day_of_the_event(created, day):
    event = p.payment_succeeded(created=created)
    # The PaymentIntent's own created time must not matter: the event's does.
    event["data"]["object"]["created"] = created - 5 * 86400
    assert interpreted(event, ev.Payment).received_on == day


@pytest.mark.parametrize("stripe_type, ours", [
    ("card", "card"), ("ideal", "ideal"), ("sepa_debit", "sepa_debit"), ("bancontact", "bancontact"), ("paypal", "other"),
])
def test_method_from_the_charge_details(stripe_type, ours):
    assert interpreted(p.payment_succeeded(method=stripe_type), ev.Payment).method == ours


@pytest.mark.parametrize("stripe_type, ours", [("ideal", "ideal"), ("sepa_debit", "sepa_debit"), ("card", "card")])
def test_method_from_payment_method_types_when_the_charge_is_an_id(stripe_type, ours):
    event = p.payment_succeeded(method=stripe_type, expand_charge=False)
    payment = interpreted(event, ev.Payment)
    assert payment.method == ours
    assert payment.charge_id == event["data"]["object"]["latest_charge"]
    assert payment.billing.name is None  # no charge object: no billing details


def test_method_unknown_when_several_types_and_no_charge():
    event = p.payment_succeeded(expand_charge=False)
    event["data"]["object"]["payment_method_types"] = ["card", "ideal", "sepa_debit"]
    assert interpreted(event, ev.Payment).method == "other"


def test_method_from_an_expanded_payment_method():
    event = p.payment_succeeded(expand_charge=False)
    intent = event["data"]["object"]
    intent["payment_method_types"] = ["card", "ideal"]
    intent["payment_method"] = {"id": "pm_1", "object": "payment_method", "type": "ideal",
                                "billing_details": {"name": "Piet de Vries", "email": "piet@example.nl"}}
    payment = interpreted(event, ev.Payment)
    assert payment.method == "ideal"
    assert payment.billing.name == "Piet de Vries"


def test_payment_2017_shape_reads_the_charges_list():
    event = p.event("payment_intent.succeeded", p.payment_intent_2017(pi_id="pi_old", amount=1234, method="sepa_debit"),
                    api_version="2017-08-15")
    payment = interpreted(event, ev.Payment)
    assert (payment.payment_intent_id, payment.amount_cents, payment.method) == ("pi_old", 1234, "sepa_debit")
    assert payment.charge_id == event["data"]["object"]["charges"]["data"][0]["id"]


def test_payment_with_invoice_object_names_its_subscription():
    intent = p.payment_intent_2017(pi_id="pi_sub")
    intent["invoice"] = {"id": "in_1", "object": "invoice", "subscription": "sub_1"}
    payment = interpreted(p.event("payment_intent.succeeded", intent), ev.Payment)
    assert (payment.invoice_id, payment.subscription_id) == ("in_1", "sub_1")


def test_amount_received_wins_over_amount():
    event = p.payment_succeeded(amount=5000)
    event["data"]["object"]["amount_received"] = 4000
    assert interpreted(event, ev.Payment).amount_cents == 4000


@pytest.mark.parametrize("amount, currency, cents", [
    (1099, "eur", 1099),
    (500, "jpy", 50000),  # zero-decimal: 500 yen is 500.00
    (1230, "kwd", 123),  # three decimals: 1.230 dinar is 1.23
    (0, "eur", 0),
])
def test_minor_units_to_cents(amount, currency, cents):
    assert ev.minor_to_cents(amount, currency) == cents


@pytest.mark.parametrize("amount, currency", [(1235, "kwd"), (-1, "eur"), (12.5, "eur"), ("10", "eur")])
def test_minor_units_refused(amount, currency):
    with pytest.raises(ev.EventError):
        ev.minor_to_cents(amount, currency)


def test_non_eur_payment_keeps_its_currency():
    payment = interpreted(p.payment_succeeded(amount=1000, currency="usd"), ev.Payment)
    assert (payment.amount_cents, payment.currency) == (1000, "USD")


def test_payment_without_currency_names_the_field():
    event = p.payment_succeeded()
    event["data"]["object"]["currency"] = None
    with pytest.raises(ev.EventError, match="currency"):
        ev.interpret(event)


def test_payment_failed():
    failed = ev.interpret(p.payment_failed(pi_id="pi_F", amount=700, customer="cus_F"))
    assert isinstance(failed, ev.FailedPayment)
    assert (failed.payment_intent_id, failed.amount_cents, failed.customer_id) == ("pi_F", 700, "cus_F")
    assert failed.reason == "Your card was declined. (card_declined)"


def test_charge_refunded_with_list_sorts_refunds_oldest_first():
    refunds = [p.refund_item(300, refund_id="re_1", created=100), p.refund_item(200, refund_id="re_2", created=200)]
    meaning = ev.interpret(p.charge_refunded(charge_id="ch_1", pi_id="pi_1", amount=1000, refunds=refunds))
    assert isinstance(meaning, ev.Refunds)
    assert [i.refund_id for i in meaning.items] == ["re_1", "re_2"]
    assert meaning.amount_refunded_cents == 500
    assert meaning.items_complete
    assert meaning.object_id == "pi_1"


def test_charge_refunded_without_list():
    meaning = interpreted(p.charge_refunded(charge_id="ch_1", pi_id=None, amount=1000, refunds=None, amount_refunded=400), ev.Refunds)
    assert meaning.items == ()
    assert not meaning.items_complete
    assert meaning.amount_refunded_cents == 400
    assert meaning.object_id == "ch_1"


def _refunds(items, *, amount_refunded=None, complete=True, charge_id="ch_1"):
    refund_items = tuple(
        ev.RefundItem(refund_id=rid, amount_cents=amount, created=created, occurred_on=dt.date(2025, 3, 5), status=status)
        for rid, amount, created, status in items
    )
    total = amount_refunded if amount_refunded is not None else sum(i.amount_cents for i in refund_items if i.status != "failed")
    return ev.Refunds(charge_id, "pi_1", "EUR", total, refund_items, complete, dt.date(2025, 3, 6))


@pytest.mark.parametrize(
    "items, amount_refunded, complete, booked, expected",
    [
        # a full refund, nothing booked yet
        ([("re_1", 1000, 1, "succeeded")], None, True, {}, [("re_1", 1000)]),
        # the same event again: nothing
        ([("re_1", 1000, 1, "succeeded")], None, True, {"re_1": 1000}, []),
        # a second partial refund: only the new one
        ([("re_1", 300, 1, "succeeded"), ("re_2", 200, 2, "succeeded")], None, True, {"re_1": 300}, [("re_2", 200)]),
        # two refunds made in the same second, the later-sorting one booked first
        ([("re_b", 1000, 5, "succeeded"), ("re_a", 1500, 5, "succeeded")], None, True, {"re_b": 1000}, [("re_a", 1500)]),
        # the older event (one refund) after the newer one (two): nothing left to book
        ([("re_1", 300, 1, "succeeded")], None, True, {"re_1": 300, "re_2": 200}, []),
        # a failed refund returns no money
        ([("re_1", 300, 1, "failed"), ("re_2", 200, 2, "succeeded")], 200, True, {}, [("re_2", 200)]),
        # no list: the running total, under a key a redelivery reproduces
        ([], 400, False, {}, [("ch_1:refunded:400", 400)]),
        ([], 400, False, {"ch_1:refunded:400": 400}, []),
        ([], 1000, False, {"ch_1:refunded:400": 400}, [("ch_1:refunded:1000", 600)]),
        # a total booked without a list, then the list arrives: the covered refund is skipped
        ([("re_1", 400, 1, "succeeded"), ("re_2", 600, 2, "succeeded")], None, True, {"ch_1:refunded:400": 400}, [("re_2", 600)]),
        ([("re_1", 400, 1, "succeeded"), ("re_2", 600, 2, "succeeded")], None, True, {"ch_1:refunded:1000": 1000}, []),
        # a partial list (has_more): book what is listed, then catch up with the total
        ([("re_2", 200, 2, "succeeded")], 500, False, {}, [("re_2", 200), ("ch_1:refunded:500", 300)]),
    ],
)
def test_refunds_to_book(items, amount_refunded, complete, booked, expected):
    refunds = _refunds(items, amount_refunded=amount_refunded, complete=complete)
    bookings = ev.refunds_to_book(refunds, booked=booked)
    assert [(b.reference, b.amount_cents) for b in bookings] == expected


@pytest.mark.parametrize("kind, status, outcome", [
    ("charge.dispute.created", "needs_response", "opened"),
    ("charge.dispute.created", "warning_needs_response", "opened"),
    ("charge.dispute.closed", "won", "won"),
    ("charge.dispute.closed", "lost", "lost"),
    ("charge.dispute.closed", "warning_closed", "won"),
])
def test_dispute_outcomes(kind, status, outcome):
    meaning = ev.interpret(p.dispute(kind, dispute_id="dp_1", charge_id="ch_1", pi_id="pi_1", amount=2500, status=status))
    assert isinstance(meaning, ev.Dispute)
    assert (meaning.outcome, meaning.amount_cents, meaning.object_id) == (outcome, 2500, "pi_1")


def test_dispute_closed_in_another_state_is_ignored():
    meaning = ev.interpret(p.dispute("charge.dispute.closed", dispute_id="dp_1", charge_id="ch_1", pi_id=None, amount=1, status="under_review"))
    assert isinstance(meaning, ev.Ignored)


def test_checkout_completed():
    meaning = ev.interpret(p.checkout_completed(customer="cus_C", pi_id="pi_C", metadata={"campaign": "WEB"}, name="Piet de Vries"))
    assert isinstance(meaning, ev.CheckoutCompleted)
    assert (meaning.customer_id, meaning.payment_intent_id, meaning.mode) == ("cus_C", "pi_C", "payment")
    assert meaning.billing.name == "Piet de Vries"
    assert meaning.billing.email == "jenny@example.org"
    assert meaning.tags.campaign == "WEB"


@pytest.mark.parametrize("interval, count, ours", [
    ("month", 1, "monthly"), ("month", 3, "quarterly"), ("year", 1, "yearly"), ("month", 12, "yearly"),
    ("week", 1, None), ("month", 2, None), ("day", 1, None),
])
def test_subscription_intervals(interval, count, ours):
    meaning = interpreted(p.subscription(sub_id="sub_1", customer="cus_1", interval=interval, interval_count=count), ev.SubscriptionChange)
    assert meaning.interval == ours


def test_subscription_created():
    meaning = ev.interpret(p.subscription(sub_id="sub_1", customer="cus_1", unit_amount=1500,
                                          metadata={"donor_ref": "D9", "campaign": "MONTHLY"}))
    assert isinstance(meaning, ev.SubscriptionChange)
    assert (meaning.amount_cents, meaning.currency, meaning.interval, meaning.status) == (1500, "EUR", "monthly", "active")
    assert meaning.started_on == dt.date(2025, 3, 1)
    assert meaning.ended_on is None
    assert meaning.tags == ev.Tags(donor_ref="D9", campaign="MONTHLY")


@pytest.mark.parametrize("status, ours", [("past_due", "failing"), ("unpaid", "failing"), ("paused", "paused"),
                                          ("trialing", "active"), ("incomplete_expired", "cancelled")])
def test_subscription_statuses(status, ours):
    assert interpreted(p.subscription(sub_id="sub_1", customer="cus_1", status=status), ev.SubscriptionChange).status == ours


def test_subscription_deleted_is_cancelled_on_its_end_day():
    meaning = interpreted(p.subscription("customer.subscription.deleted", sub_id="sub_1", customer="cus_1",
                                         status="canceled", ended_at=p.LATE_2025_03_01), ev.SubscriptionChange)
    assert meaning.deleted and meaning.status == "cancelled"
    assert meaning.ended_on == dt.date(2025, 3, 2)


def test_subscription_2017_shape_with_plans():
    obj = {
        "id": "sub_old", "object": "subscription", "customer": "cus_old", "status": "active", "metadata": {},
        "start_date": p.NOON_2025_03_01, "quantity": 2,
        "plan": {"id": "plan_1", "amount": 750, "currency": "eur", "interval": "month", "interval_count": 3},
        "items": {"object": "list", "data": [{"id": "si_1", "plan": {"id": "plan_1", "amount": 750, "currency": "eur",
                                                                      "interval": "month", "interval_count": 3}, "quantity": 2}]},
    }
    meaning = interpreted(p.event("customer.subscription.created", obj, api_version="2017-08-15"), ev.SubscriptionChange)
    assert (meaning.amount_cents, meaning.interval, meaning.currency) == (1500, "quarterly", "EUR")


@pytest.mark.parametrize("shape", ["2017", "current"])
def test_invoice_names_subscription_and_payment_in_both_shapes(shape):
    meaning = ev.interpret(p.invoice("invoice.paid", customer="cus_1", sub_id="sub_1", pi_id="pi_9", shape=shape))
    assert isinstance(meaning, ev.InvoiceOutcome)
    assert (meaning.subscription_id, meaning.payment_intent_id, meaning.paid) == ("sub_1", "pi_9", True)
    assert meaning.billing.email == "jenny@example.org"


def test_invoice_payment_failed_is_not_paid():
    meaning = interpreted(p.invoice("invoice.payment_failed", customer="cus_1", sub_id="sub_1", pi_id=None), ev.InvoiceOutcome)
    assert meaning.paid is False


def test_the_fixture_invoice_as_is_has_no_subscription():
    # Its `parent` is a quote, whose placeholder subscription must not be taken for one.
    meaning = interpreted(p.event("invoice.paid", p.stripe_object("invoice")), ev.InvoiceOutcome)
    assert meaning.subscription_id is None


def test_the_fixture_event_as_is_is_ignored():
    meaning = ev.interpret(p.stripe_object("event"))  # plan.created
    assert isinstance(meaning, ev.Ignored)
    assert "plan.created" in meaning.reason


@pytest.mark.parametrize("mutate, message", [
    (lambda e: e.pop("id"), "no id"),
    (lambda e: e.pop("type"), "no type"),
    (lambda e: e.update(created="yesterday"), "created"),
    (lambda e: e.update(data={}), "data.object"),
])
def test_envelope_refuses_events_without_their_frame(mutate, message):
    event = p.payment_succeeded()
    mutate(event)
    with pytest.raises(ev.EventError, match=message):
        ev.interpret(event)
