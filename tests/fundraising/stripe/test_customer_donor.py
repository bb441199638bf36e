"""Which donor a Stripe customer id stands for, on both databases: the donor of the
customer's first gift, else of their first recurring gift, else the donor we made for
the customer (STRIPE-<id>); a merged donor resolves to the one it was merged into."""
from sqlalchemy import event

from fundraising.stripe.donors import KnownDonors
from tests.factories import make_donation, make_donor, make_recurring


def donor_for_customer(session, customer_id):
    return KnownDonors(session).for_customer(customer_id)


def test_nobody_for_a_customer_never_seen(session):
    make_donor(session, ref="D1")
    assert donor_for_customer(session, "cus_new") is None


def test_the_donor_we_made_for_the_customer(session):
    made = make_donor(session, ref="STRIPE-cus_1")
    assert donor_for_customer(session, "cus_1") == made


def test_a_recurring_gift_of_the_customer_comes_before_the_donor_made_for_it(session):
    make_donor(session, ref="STRIPE-cus_2")
    giver = make_donor(session, ref="D2")
    make_recurring(session, donor=giver, stripe_customer_id="cus_2", method="stripe")
    assert donor_for_customer(session, "cus_2") == giver


def test_the_first_gift_of_the_customer_comes_first(session):
    make_donor(session, ref="STRIPE-cus_3")
    make_recurring(session, donor=make_donor(session, ref="D3a"), stripe_customer_id="cus_3", method="stripe")
    make_donation(session, donor_id=None, source="stripe", stripe_customer_id="cus_3")  # anonymous: nobody to find
    first, later = make_donor(session, ref="D3b"), make_donor(session, ref="D3c")
    make_donation(session, donor=first, source="stripe", stripe_customer_id="cus_3")
    make_donation(session, donor=later, source="stripe", stripe_customer_id="cus_3")
    assert donor_for_customer(session, "cus_3") == first


def test_a_merged_donor_resolves_to_the_one_it_was_merged_into(session):
    kept = make_donor(session, ref="D4")
    merged = make_donor(session, ref="D5", merged_into_id=kept.id)
    make_donation(session, donor=merged, source="stripe", stripe_customer_id="cus_4")
    assert donor_for_customer(session, "cus_4") == kept


def test_many_customers_and_addresses_are_read_at_once_with_the_same_answers(session):
    made = make_donor(session, ref="STRIPE-cus_m1")
    giver = make_donor(session, ref="D6")
    make_donation(session, donor=giver, source="stripe", stripe_customer_id="cus_m2")
    older = make_donor(session, ref="D7", email="anna@example.nl")
    make_donor(session, ref="D8", email="anna@example.nl")
    mixed = make_donor(session, ref="D9", email="kees@example.nl")
    known = KnownDonors(session)
    known.read_customers(["cus_m1", "cus_m2", "cus_m3"])
    known.read_emails(["anna@example.nl", "Kees@Example.NL", "kees@example.nl", "not an address", "nobody@example.nl"])
    queries: list[str] = []

    def record(conn, cursor, statement, *rest):
        queries.append(statement)

    event.listen(session.get_bind(), "before_cursor_execute", record)
    try:
        answers = ([known.for_customer(c) for c in ("cus_m1", "cus_m2", "cus_m3")],
                   [known.for_email(e) for e in ("anna@example.nl", "Kees@Example.NL", "not an address", "nobody@example.nl")])
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", record)
    assert answers == ([made, giver, None], [older, mixed, None, None])
    assert queries == []  # all read before
    assert [donor_for_customer(session, c) for c in ("cus_m1", "cus_m2", "cus_m3")] == answers[0]
