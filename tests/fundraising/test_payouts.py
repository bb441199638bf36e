"""Stripe payouts: split into charges, refunds, disputes and fees and reconciled to
the cent (plain, on Stripe's own fixture objects), then end to end against
localstripe on both databases with the bank statement as the third corner."""
from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import stripe
from sqlalchemy import select
from sqlalchemy.orm import Session

from fundraising.bank import camt_writer as w
from fundraising.models_ledger import BankLine, StripePayout, StripePayoutItem
from fundraising.stripe.payouts import BalanceItem, PayoutFacts, _item, payout_facts, reconcile, sweep
from tests.factories import make_donation, make_donor

FIXTURES = json.loads((Path(__file__).parents[1] / "fixtures" / "stripe" / "stripe_openapi_fixtures3_examples.json").read_text())
D = dt.date


def txn(**changes) -> dict:
    """Stripe's own balance_transaction fixture, with the fields a case needs changed."""
    value = copy.deepcopy(FIXTURES["balance_transaction"])
    value.update(currency="eur", **changes)
    value["net"] = value["amount"] - value["fee"]
    return value


def payout(amount: int, items, **changes) -> PayoutFacts:
    value = copy.deepcopy(FIXTURES["payout"])
    value.update(amount=amount, currency="eur", status="paid", **changes)
    return payout_facts(value, [_item(t, None, {}) for t in items])


def test_a_payout_reconciles_to_its_donations_to_the_cent():
    items = [
        txn(id="txn_1", amount=5000, fee=200, source="ch_1"),
        txn(id="txn_2", amount=2000, fee=145, source="ch_2"),
        txn(id="txn_3", amount=-500, fee=0, source="re_1", type="refund", reporting_category="refund"),
        txn(id="txn_4", amount=-1500, fee=1500, source="dp_1", type="adjustment", reporting_category="dispute"),
    ]
    facts = payout(5000 - 200 + 2000 - 145 - 500 - 3000, items)
    assert facts.arrival_date == D(2009, 2, 14)   # Stripe's fixture: 1234567890 is 14 February 2009 in Amsterdam
    result = reconcile(facts, {"ch_1": (1, 5000), "ch_2": (2, 2000)})
    assert (result.charges_cents, result.refunds_cents, result.disputes_cents, result.fees_cents, result.other_cents) == (
        7000, -500, -1500, 1845, 0)
    assert result.difference_cents == 0 and result.reconciled
    assert facts.amount_cents == 7000 - 500 - 1500 - 1845


def test_a_payout_that_does_not_add_up_or_carries_foreign_charges_is_not_reconciled():
    items = [txn(id="txn_1", amount=5000, fee=200, source="ch_1"), txn(id="txn_2", amount=2000, fee=0, source="ch_9")]
    short = reconcile(payout(6700, items), {"ch_1": (1, 5000), "ch_9": (9, 2000)})
    assert (short.reconciled, short.difference_cents) == (False, -100)
    assert "100 more than the payout" not in (short.note() or "") and "1.00 more than the payout" in (short.note() or "")
    unknown = reconcile(payout(6800, items), {"ch_1": (1, 5000)})
    assert not unknown.reconciled and unknown.unknown_charges == ("ch_9",)
    mismatch = reconcile(payout(6800, items), {"ch_1": (1, 5000), "ch_9": (9, 2500)})
    assert not mismatch.reconciled and mismatch.mismatched == ("ch_9",)


def test_sweep_assigns_each_transaction_to_the_next_payout_created_after_it():
    items = [BalanceItem(f"txn_{n}", "charge", 100 * n, 0, 100 * n, "EUR", f"ch_{n}", f"ch_{n}", created)
             for n, created in ((1, 10), (2, 20), (3, 30), (4, 40))]
    first = PayoutFacts("po_a", 300, "EUR", D(2025, 3, 1), 25, "paid")
    second = PayoutFacts("po_b", 300, "EUR", D(2025, 3, 2), 35, "paid")
    a, b = sweep([second, first], items, taken={"txn_2"})
    assert [i.id for i in a.items] == ["txn_1"] and [i.id for i in b.items] == ["txn_3"]


# --- localstripe ------------------------------------------------------------------------

CARD: Any = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}  # Stripe's card params


@pytest.mark.localstripe
def test_payouts_from_localstripe_reconcile_and_meet_the_bank_statement(cli, engine, localstripe, tmp_path):
    client = stripe.StripeClient("sk_test_anbi", base_addresses={"api": localstripe}, max_network_retries=0)
    customer = client.v1.customers.create(params={"email": "anna@example.nl"})
    method = client.v1.payment_methods.create(params={"type": "card", "card": CARD})
    client.v1.payment_methods.attach(method.id, params={"customer": customer.id})
    charges = []
    for amount in (2500, 1000):
        intent = client.v1.payment_intents.create(params={"amount": amount, "currency": "eur", "customer": customer.id,
                                                          "payment_method": method.id, "confirm": True})
        charges.append((intent.id, intent.to_dict()["charges"]["data"][0]["id"], amount))
    client.v1.refunds.create(params={"charge": charges[0][1], "amount": 500})
    with Session(engine) as session:
        donor = make_donor(session, ref="S1")
        for intent_id, charge_id, amount in charges:
            make_donation(session, donor=donor, source="stripe", reference=intent_id, amount_cents=amount,
                          stripe_charge_id=charge_id, method="card")
        session.commit()
    # localstripe takes a status to make the payout paid at once; Stripe's params have none.
    paid = client.v1.payouts.create(params={"amount": 3000, "currency": "eur", "status": "paid"})  # type: ignore[typeddict-unknown-key]
    env = {"ANBI_STRIPE_API_KEY": "sk_test_anbi", "ANBI_STRIPE_API_BASE": localstripe, "ANBI_STRIPE_MAX_NETWORK_RETRIES": "0"}

    result = cli("stripe", "payouts", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    [entry] = report["payouts"]
    assert (entry["payout"], entry["amount"], entry["charges"], entry["refunds"], entry["fees"], entry["reconciled"]) == (
        paid.id, "30.00", "35.00", "-5.00", "0.00", True)
    with Session(engine) as session:
        items = session.scalars(select(StripePayoutItem).order_by(StripePayoutItem.id)).all()
        assert sorted(i.type for i in items) == ["charge", "charge", "refund"]
        assert sum(1 for i in items if i.donation_id) == 2
        arrival = session.scalars(select(StripePayout.arrival_date)).first()
        assert arrival is not None

    # The bank statement: the payout, and a Stripe line that is no payout of ours.
    statement = w.render(w.StatementSpec("NL91ABNA0417164300", "S-STRIPE", 0, [
        w.transfer(arrival, 3000, name="STRIPE PAYMENTS", iban="IE13CITI99005156781099", remittance=f"STRIPE {paid.id}"),
        w.transfer(arrival, 4242, name="STRIPE PAYMENTS", iban="IE13CITI99005156781099", remittance="STRIPE PAYOUT"),
    ]))
    (tmp_path / "s.xml").write_bytes(statement)
    assert cli("bank", "import", str(tmp_path / "s.xml")).exit_code == 0
    again = json.loads(cli("stripe", "payouts", "--json", env=env).stdout)
    assert again["not_on_statement"] == []
    assert [(line["amount"], line["note"]) for line in again["unmatched_bank_lines"]] == [
        ("42.42", "no Stripe payout of this amount and date yet (run `anbi stripe payouts`)")]
    with Session(engine) as session:
        line = session.execute(select(BankLine).where(BankLine.amount_cents == 3000)).scalar_one()
        assert line.payout is not None
        assert line.payout.payout_id == paid.id and line.state == "matched"


def test_stripe_unreachable_is_one_clear_line(cli, engine):
    env = {"ANBI_STRIPE_API_KEY": "sk_test_anbi", "ANBI_STRIPE_API_BASE": "http://127.0.0.1:9", "ANBI_STRIPE_MAX_NETWORK_RETRIES": "0"}
    result = cli("stripe", "payouts", env=env)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: Stripe could not be read") and len(result.stderr.splitlines()) == 1
