"""Events stored and applied together (the webhook's group commit), on both databases:
`receive_together` in one transaction, and the web app's `InboxWriter`, which falls
back to one transaction per event when a batch cannot be applied whole."""
import json
import threading
import time

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from anbi.web.webhooks import InboxWriter, _Delivery, inbox_writer
from fundraising.models import Donation, DonationAdjustment
from fundraising.stripe.models import StripeEvent
from fundraising.stripe.webhook import receive_together
from tests.fundraising.stripe import payloads as p


def statuses(engine) -> dict[str, str]:
    with Session(engine) as s:
        return dict(s.execute(select(StripeEvent.event_id, StripeEvent.status)).all())


def donations(engine) -> dict[str, tuple[int, str]]:
    with Session(engine) as s:
        return {r.reference: (r.amount_cents, r.status) for r in s.execute(select(Donation)).scalars()}


def test_a_batch_applies_in_order_and_wakes_what_waited_for_a_later_event(session, engine):
    payment = p.payment_succeeded(pi_id="pi_b1", amount=3000, customer="cus_b1", name="Anna de Vries")
    charge_id = payment["data"]["object"]["latest_charge"]["id"]
    # The refund arrives first in the batch: it waits for the payment, which comes later in the same batch.
    refund = p.charge_refunded(charge_id=charge_id, pi_id="pi_b1", amount=3000,
                               refunds=[p.refund_item(1000, charge_id=charge_id)])
    other = p.payment_succeeded(pi_id="pi_b2", amount=500, customer="cus_b1", name="Anna de Vries")
    ignored = p.event("customer.created", {"id": "cus_b9", "object": "customer"})

    receipts = receive_together(session, [refund, payment, payment, other, ignored])
    session.commit()

    assert [r.status for r in receipts] == ["waiting", "applied", "duplicate", "applied", "ignored"]
    assert statuses(engine)[refund["id"]] == "applied"  # woken at the end of the batch
    assert donations(engine) == {"pi_b1": (3000, "partially_refunded"), "pi_b2": (500, "paid")}
    with Session(engine) as s:
        assert s.scalar(select(func.sum(DonationAdjustment.taken_back_cents))) == 1000
        # One donor for the customer, made by the first payment, found by the second.
        assert len({d.donor_id for d in s.execute(select(Donation)).scalars()}) == 1


def _deliveries(events):
    return [_Delivery(dict(event)) for event in events]


def test_a_batch_with_an_event_that_cannot_be_applied_is_stored_one_by_one(web_client, engine):
    writer = InboxWriter(web_client.app)
    first = p.payment_succeeded(pi_id="pi_f1", amount=1000)
    # The same payment with other money: refused, so the batch as a whole is rolled back.
    conflicting = p.payment_succeeded(pi_id="pi_f1", amount=9999)
    last = p.payment_succeeded(pi_id="pi_f2", amount=2000)
    batch = _deliveries([first, conflicting, last])

    writer._write(batch)
    writer._let_go_of_connection()

    assert all(d.done.is_set() and d.error is None for d in batch)
    assert [d.response.status_code for d in batch] == [200, 200, 200]
    assert statuses(engine) == {first["id"]: "applied", conflicting["id"]: "failed", last["id"]: "applied"}
    assert donations(engine) == {"pi_f1": (1000, "paid"), "pi_f2": (2000, "paid")}


def test_a_batch_with_a_malformed_event_answers_400_for_it_alone(web_client, engine):
    writer = InboxWriter(web_client.app)
    good = p.payment_succeeded(pi_id="pi_m1", amount=1500)
    batch = _deliveries([good, {"object": "event", "type": "charge.refunded"}])  # no id, no data

    writer._write(batch)
    writer._let_go_of_connection()

    assert [d.response.status_code for d in batch] == [200, 400]
    assert statuses(engine) == {good["id"]: "applied"}


def test_concurrent_deliveries_through_the_app_each_get_their_own_answer(web_client, engine):
    events = [p.payment_succeeded(pi_id=f"pi_c{n}", amount=100 * (n + 1), customer=f"cus_c{n % 3}",
                                  name="Jan Jansen") for n in range(24)]
    answers: dict[str, dict] = {}

    def deliver(chunk):
        for event in chunk:
            body, headers = p.signed(event)
            answers[event["id"]] = web_client.post("/webhooks/stripe", content=body, headers=headers).json()

    threads = [threading.Thread(target=deliver, args=(events[n::6],)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert {event_id: answer["status"] for event_id, answer in answers.items()} == {e["id"]: "applied" for e in events}
    assert {ref: amount for ref, (amount, _) in donations(engine).items()} == {f"pi_c{n}": 100 * (n + 1) for n in range(24)}
    assert inbox_writer(web_client.app) is inbox_writer(web_client.app)  # one writer per app


def _recording_writer(app, monkeypatch, max_wait: float) -> tuple[InboxWriter, list[int]]:
    writer = InboxWriter(app)
    writer.MAX_WAIT_SECONDS = max_wait
    sizes: list[int] = []
    write = writer._write

    def counted(batch):
        sizes.append(len(batch))
        return write(batch)

    monkeypatch.setattr(writer, "_write", counted)
    return writer, sizes


def test_the_writer_waits_for_a_delivery_on_its_way_and_commits_both_together(web_client, engine, monkeypatch):
    writer, sizes = _recording_writer(web_client.app, monkeypatch, max_wait=30)
    first, second = p.payment_succeeded(pi_id="pi_w1"), p.payment_succeeded(pi_id="pi_w2")
    coming = writer.expect()  # a request being read and verified
    earlier = threading.Thread(target=writer.store, args=(first,))
    earlier.start()
    deadline = time.monotonic() + 10
    while not (writer._running and writer._waiting.empty()) and time.monotonic() < deadline:
        time.sleep(0.01)  # until the writer holds the first event, waiting for the one on its way
    coming.arrived()
    coming.arrived()  # told twice (the thread and the request both say it): counted once
    writer.store(second)
    earlier.join(5)
    assert sizes == [2]
    assert set(donations(engine)) == {"pi_w1", "pi_w2"}


def test_a_delivery_that_never_comes_delays_the_batch_by_the_wait_at_most(web_client, engine, monkeypatch):
    writer, sizes = _recording_writer(web_client.app, monkeypatch, max_wait=0.3)
    writer.expect()  # e.g. a request whose signature will be refused: it never says it arrived
    started = time.monotonic()
    response = writer.store(p.payment_succeeded(pi_id="pi_alone"))
    assert response.status_code == 200 and sizes == [1]
    assert 0.25 <= time.monotonic() - started < 3


def test_payments_of_new_customers_in_one_batch_each_get_their_own_donor(session, engine):
    from anbi.core.audit import AuditEntry
    from donors.models import Donor

    first = p.payment_succeeded(pi_id="pi_n1", customer="cus_n1", name="Anna de Vries", email="anna@example.nl")
    second = p.payment_succeeded(pi_id="pi_n2", customer="cus_n2", name="Kees Bakker", email="kees@example.nl")
    # Another customer with Anna's address: found by e-mail, as it would be one by one.
    third = p.payment_succeeded(pi_id="pi_n3", customer="cus_n3", name="Anna de Vries", email="anna@example.nl")
    anonymous = p.payment_succeeded(pi_id="pi_n4", customer="cus_n4", name=None)

    receipts = receive_together(session, [first, second, third, anonymous])
    session.commit()

    assert [r.status for r in receipts] == ["applied"] * 4
    with Session(engine) as s:
        donors: dict[int | None, str] = {d.id: d.ref for d in s.execute(select(Donor)).scalars()}
        gifts = {d.reference: donors.get(d.donor_id) for d in s.execute(select(Donation)).scalars()}
        audit = {a.entity_ref: (a.details or {})["source"] for a in s.execute(select(AuditEntry)).scalars()}
    assert gifts == {"pi_n1": "STRIPE-cus_n1", "pi_n2": "STRIPE-cus_n2", "pi_n3": "STRIPE-cus_n1", "pi_n4": None}
    assert audit == {"STRIPE-cus_n1": f"stripe:{first['id']}", "STRIPE-cus_n2": f"stripe:{second['id']}"}
    assert receipts[3].note is not None
    assert receipts[3].note.startswith("the payment names nobody")


def test_a_payment_booked_before_under_another_event_makes_no_donor_in_a_batch(session, engine):
    from donors.models import Donor

    payment = p.payment_succeeded(pi_id="pi_r1", customer=None, name="Jan Jansen")
    receive_together(session, [payment])
    session.commit()
    resent = dict(payment, id="evt_resent_r1")
    other = p.payment_succeeded(pi_id="pi_r2", customer=None, name="Els Bos")

    receipts = receive_together(session, [resent, other])
    session.commit()

    assert [(r.status, r.note) for r in receipts] == [("applied", "already booked"), ("applied", None)]
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Donor)) == 2
        assert s.scalar(select(func.count()).select_from(Donation)) == 2


def test_a_customer_named_later_takes_over_the_gifts_booked_without_a_donor(session, engine):
    from donors.models import Donor

    nameless = p.payment_succeeded(pi_id="pi_a1", customer="cus_a1", name=None)
    other_nameless = p.payment_succeeded(pi_id="pi_a2", customer="cus_a2", name=None)
    receive_together(session, [nameless, other_nameless])
    session.commit()
    # In one batch: cus_a1 named (a donor made, the gift taken over), and cus_a2's
    # nameless gift followed by a named one (the next round, which sees the first).
    named = p.payment_succeeded(pi_id="pi_a3", customer="cus_a1", name="Fatima Bakker")
    again_nameless = p.payment_succeeded(pi_id="pi_a4", customer="cus_a2", name=None)
    named_too = p.payment_succeeded(pi_id="pi_a5", customer="cus_a2", name="Willem Smit")
    receive_together(session, [named, again_nameless, named_too])
    session.commit()

    with Session(engine) as s:
        refs: dict[int | None, str] = {d.id: d.ref for d in s.execute(select(Donor)).scalars()}
        owners = {d.reference: refs.get(d.donor_id) for d in s.execute(select(Donation)).scalars()}
    assert owners == {"pi_a1": "STRIPE-cus_a1", "pi_a3": "STRIPE-cus_a1",
                      "pi_a2": "STRIPE-cus_a2", "pi_a4": "STRIPE-cus_a2", "pi_a5": "STRIPE-cus_a2"}


def test_after_its_connection_broke_the_writer_stores_the_next_event_on_a_new_one(web_client, engine):
    writer = InboxWriter(web_client.app)
    try:
        writer.store(p.payment_succeeded(pi_id="pi_k1"))
        assert writer._connection is not None and writer._connection.connection.dbapi_connection is not None
        writer._connection.connection.dbapi_connection.close()  # the database went away under it
        lost = p.payment_succeeded(pi_id="pi_k2")
        try:
            first = json.loads(bytes(writer.store(lost).body))["status"]  # the driver may have reconnected by itself
        except DBAPIError:
            first = "error"  # a 500: Stripe delivers it again
        assert first in ("applied", "error")
        again = json.loads(bytes(writer.store(lost).body))["status"]  # the redelivery
        assert again == ("duplicate" if first == "applied" else "applied")
        assert set(donations(engine)) == {"pi_k1", "pi_k2"}
    finally:
        writer._let_go_of_connection()


def _deliver_later(writer: InboxWriter, events, after: float) -> threading.Thread:
    def put():
        time.sleep(after)
        for event in events:
            writer._waiting.put(_Delivery(dict(event)))

    thread = threading.Thread(target=put)
    thread.start()
    return thread


def test_in_a_burst_the_writer_waits_for_the_senders_it_just_answered(web_client):
    writer = InboxWriter(web_client.app)
    writer.MAX_WAIT_SECONDS = 5
    writer._last_batch = 3  # three senders were answered together: their next events are on their way
    writer._waiting.put(_Delivery(dict(p.payment_succeeded(pi_id="pi_s1"))))
    later = _deliver_later(writer, [p.payment_succeeded(pi_id=f"pi_s{n}") for n in (2, 3)], after=0.2)
    batch = writer._gather()
    later.join()
    assert [d.event["data"]["object"]["id"] for d in batch] == ["pi_s1", "pi_s2", "pi_s3"]


def test_a_lone_sender_is_not_kept_waiting(web_client):
    writer = InboxWriter(web_client.app)
    writer.MAX_WAIT_SECONDS = 5
    writer._last_batch = 1
    writer._waiting.put(_Delivery(dict(p.payment_succeeded(pi_id="pi_l1"))))
    later = _deliver_later(writer, [p.payment_succeeded(pi_id="pi_l2")], after=1.0)
    started = time.monotonic()
    batch = writer._gather()
    assert len(batch) == 1 and time.monotonic() - started < 0.5
    later.join()
