"""The money-in service: recording donations and what undoes or contests them.

The state rules are tested as plain functions first; the service on both databases."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select

from anbi.core.errors import Conflict, InvalidInput
from fundraising.donations import (
    DonationFacts,
    book_donations,
    check_donation,
    donation_row,
    confirm_paid,
    is_received,
    mark_failed,
    net_cents,
    next_status,
    record_adjustment,
    record_donation,
    refunded_cents,
    taken_back_by_donation,
    taken_back_for,
    taken_back_total,
)
from fundraising.errors import AdjustmentConflict, DonationConflict, DonationStateError
from fundraising.models import Donation, DonationAdjustment
from tests.factories import make_agreement, make_campaign, make_donor, make_mandate

D = dt.date


# --- pure rules -------------------------------------------------------------


def facts(**overrides) -> DonationFacts:
    values: dict[str, Any] = dict(source="import", reference="R1", amount_cents=2500, currency="EUR", method="ideal")
    values.update(overrides)
    return DonationFacts(**values)


def test_a_plain_gift_has_no_problems():
    assert check_donation(facts()) == []


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"amount_cents": 0}, "amount"),
        ({"amount_cents": -100}, "amount"),
        ({"currency": "eur"}, "currency"),
        ({"currency": "EURO"}, "currency"),
        ({"method": "cheque"}, "method"),
        ({"kind": "membership"}, "kind"),
        ({"status": "refunded"}, "status"),
        ({"consideration_cents": 2501}, "consideration"),
        ({"consideration_cents": -1}, "consideration"),
        ({"reference": ""}, "reference"),
        ({"source": ""}, "source"),
    ],
)
def test_bad_donation_values_name_the_field(overrides, field):
    problems = check_donation(facts(**overrides))
    assert [p.field for p in problems] == [field]


def test_consideration_equal_to_the_amount_is_allowed():
    assert check_donation(facts(kind="purchase", consideration_cents=2500)) == []


@pytest.mark.parametrize(
    "kind, amount, already, status, expected",
    [
        ("refund", 1000, 0, "paid", 1000),
        ("refund", 3000, 0, "paid", 2500),        # more than the gift: capped at 25.00
        ("refund", 1000, 2000, "partially_refunded", 500),  # only 5.00 left
        ("refund", 1000, 2500, "refunded", 0),
        ("chargeback", 2500, 0, "disputed", 2500),
        ("reversal", 2500, 0, "paid", 2500),      # MD06 after settlement
        ("reversal", 2500, 0, "pending", 0),      # returned before it settled: nothing arrived
        ("dispute_opened", 2500, 0, "paid", 0),
        ("dispute_won", 2500, 0, "disputed", 0),
        ("dispute_lost", 2500, 0, "disputed", 2500),
    ],
)
def test_taken_back_is_capped_at_what_is_left(kind, amount, already, status, expected):
    assert taken_back_for(kind, amount, donation_amount_cents=2500, already_taken_cents=already, status=status) == expected


@pytest.mark.parametrize(
    "status, kind, after, expected",
    [
        ("paid", "refund", 2500, "refunded"),
        ("paid", "refund", 1000, "partially_refunded"),
        ("partially_refunded", "refund", 2500, "refunded"),
        ("paid", "chargeback", 2500, "refunded"),
        ("paid", "reversal", 2500, "refunded"),
        ("pending", "reversal", 0, "failed"),
        ("pending", "refund", 0, None),
        ("pending", "dispute_opened", 0, None),
        ("failed", "refund", 0, None),
        ("failed", "reversal", 0, None),
        ("paid", "dispute_opened", 0, "disputed"),
        ("disputed", "dispute_won", 0, "dispute_won"),
        ("disputed", "dispute_lost", 2500, "dispute_lost"),
        ("disputed", "refund", 1000, "disputed"),
        ("paid", "lost_in_the_post", 0, None),
    ],
)
def test_status_after_an_adjustment(status, kind, after, expected):
    assert next_status(status, kind, donation_amount_cents=2500, taken_back_after_cents=after) == expected


def test_refunded_and_net_from_plain_values():
    adjustments = [SimpleNamespace(taken_back_cents=1000), SimpleNamespace(taken_back_cents=0), SimpleNamespace(taken_back_cents=500)]
    assert refunded_cents(adjustments) == 1500
    assert net_cents(SimpleNamespace(status="partially_refunded", amount_cents=2500, adjustments=adjustments)) == 1000
    assert net_cents(SimpleNamespace(status="failed", amount_cents=2500, adjustments=[])) == 0
    capped = [SimpleNamespace(taken_back_cents=2500)]
    assert net_cents(SimpleNamespace(status="refunded", amount_cents=2500, adjustments=capped)) == 0


# --- the service, on both databases ------------------------------------------


def book(session, donor, **overrides):
    values: dict[str, Any] = dict(
        source="stripe", reference="pi_1", donor=donor, received_on=D(2025, 3, 1), amount_cents=2500,
        currency="EUR", method="card",
    )
    values.update(overrides)
    return record_donation(session, **values)


def test_record_donation_creates_once_and_replays_as_a_no_op(session):
    donor = make_donor(session)
    campaign = make_campaign(session, code="SPRING")
    first, created = book(session, donor, campaign=campaign)
    again, created_again = book(session, donor, campaign=campaign)
    assert created is True and created_again is False
    assert again.id == first.id
    assert session.scalar(select(func.count()).select_from(Donation)) == 1
    assert (first.status, first.campaign.code, first.flag) == ("paid", "SPRING", None)


def _row(session, donor, reference, amount_cents=2500):
    return donation_row(session, source="stripe", reference=reference, donor=donor, received_on=dt.date(2025, 3, 1),
                        amount_cents=amount_cents, currency="EUR", method="card")


def test_many_donations_are_booked_with_one_statement_each_once(session):
    """`book_donations`: one INSERT for any number of rows (on PostgreSQL one array per
    column), new rows created, known keys and a key given twice found, in order."""
    donor = make_donor(session)
    (known_id, _), = book_donations(session, [_row(session, donor, "pi_known")])
    rows = [_row(session, donor, "pi_a", 500), _row(session, donor, "pi_known"), _row(session, donor, "pi_b", 700),
            _row(session, donor, "pi_a", 500)]
    booked = book_donations(session, rows)
    ids = {d.reference: d.id for d in session.scalars(select(Donation))}
    assert booked == [(ids["pi_a"], True), (known_id, False), (ids["pi_b"], True), (ids["pi_a"], False)]
    assert {d.reference: d.amount_cents for d in session.scalars(select(Donation))} == {"pi_known": 2500, "pi_a": 500, "pi_b": 700}


def test_many_donations_with_a_known_key_and_other_money_are_refused(session):
    donor = make_donor(session)
    book_donations(session, [_row(session, donor, "pi_known")])
    with pytest.raises(DonationConflict):
        book_donations(session, [_row(session, donor, "pi_new"), _row(session, donor, "pi_known", 9999)])


def test_same_reference_with_other_money_is_refused(session):
    donor = make_donor(session)
    book(session, donor)
    with pytest.raises(DonationConflict) as caught:
        book(session, donor, amount_cents=3000)
    assert isinstance(caught.value, Conflict)
    assert "amount_cents 2500 -> 3000" in str(caught.value)
    assert session.scalar(select(Donation.amount_cents)) == 2500


def test_same_reference_from_another_source_is_another_donation(session):
    donor = make_donor(session)
    book(session, donor, source="stripe")
    _, created = book(session, donor, source="bank")
    assert created is True


def test_foreign_currency_is_recorded_and_flagged(session):
    donation, _ = book(session, make_donor(session), currency="USD")
    assert donation.currency == "USD"
    assert donation.flag == "currency USD: not included in EUR totals"


def test_invalid_donation_names_the_field_and_writes_nothing(session):
    with pytest.raises(InvalidInput) as caught:
        book(session, make_donor(session), amount_cents=0, method="cheque")
    assert {p.field for p in caught.value.problems} == {"amount", "method"}
    assert session.scalar(select(func.count()).select_from(Donation)) == 0


def test_agreement_of_another_donor_is_refused(session):
    donor, other = make_donor(session), make_donor(session)
    agreement = make_agreement(session, donor=other)
    mandate = make_mandate(session, donor=other)
    with pytest.raises(InvalidInput) as caught:
        book(session, donor, agreement=agreement, mandate=mandate)
    assert {p.field for p in caught.value.problems} == {"agreement", "mandate"}


def test_partial_then_full_refund(session):
    donation, _ = book(session, make_donor(session))
    record_adjustment(session, donation, kind="refund", amount_cents=1000, occurred_on=D(2025, 3, 5), source="stripe", reference="re_1")
    assert donation.status == "partially_refunded"
    record_adjustment(session, donation, kind="refund", amount_cents=1500, occurred_on=D(2025, 4, 1), source="stripe", reference="re_2")
    assert donation.status == "refunded"
    assert refunded_cents(donation.adjustments) == 2500
    assert net_cents(donation) == 0
    assert donation.flag is None


def test_a_refund_larger_than_what_is_left_is_recorded_capped_and_flagged(session):
    donation, _ = book(session, make_donor(session))
    record_adjustment(session, donation, kind="refund", amount_cents=2000, occurred_on=D(2025, 3, 5), source="stripe", reference="re_1")
    big, created = record_adjustment(
        session, donation, kind="refund", amount_cents=1000, occurred_on=D(2025, 3, 6), source="stripe", reference="re_2"
    )
    assert created and big.amount_cents == 1000 and big.taken_back_cents == 500
    assert donation.status == "refunded"
    assert net_cents(donation) == 0
    assert donation.flag == "refund re_2 of € 10,00 is more than the € 5,00 left; counted as € 5,00"


def test_adjustment_replay_is_a_no_op_and_other_content_is_refused(session):
    donation, _ = book(session, make_donor(session))
    first, _ = record_adjustment(session, donation, kind="refund", amount_cents=1000, occurred_on=D(2025, 3, 5), source="stripe", reference="re_1")
    again, created = record_adjustment(session, donation, kind="refund", amount_cents=1000, occurred_on=D(2025, 3, 5), source="stripe", reference="re_1")
    assert (again.id, created) == (first.id, False)
    assert refunded_cents(donation.adjustments) == 1000
    with pytest.raises(AdjustmentConflict):
        record_adjustment(session, donation, kind="refund", amount_cents=2000, occurred_on=D(2025, 3, 5), source="stripe", reference="re_1")


def test_dispute_opened_then_lost_takes_the_disputed_amount_back(session):
    donation, _ = book(session, make_donor(session))
    record_adjustment(session, donation, kind="dispute_opened", amount_cents=2500, occurred_on=D(2025, 4, 1), source="stripe", reference="dp_1:created")
    assert donation.status == "disputed"
    assert net_cents(donation) == 2500
    record_adjustment(session, donation, kind="dispute_lost", amount_cents=2500, occurred_on=D(2025, 5, 1), source="stripe", reference="dp_1:closed")
    assert donation.status == "dispute_lost"
    assert net_cents(donation) == 0


def test_dispute_won_keeps_the_money(session):
    donation, _ = book(session, make_donor(session))
    record_adjustment(session, donation, kind="dispute_opened", amount_cents=2500, occurred_on=D(2025, 4, 1), source="stripe", reference="dp_1:created")
    record_adjustment(session, donation, kind="dispute_won", amount_cents=2500, occurred_on=D(2025, 5, 1), source="stripe", reference="dp_1:closed")
    assert donation.status == "dispute_won"
    assert net_cents(donation) == 2500


def test_reversal_before_settlement_fails_a_pending_debit(session):
    donor = make_donor(session)
    donation, _ = book(session, donor, source="sepa", reference="E2E-1", method="sepa_debit", status="pending")
    adjustment, _ = record_adjustment(
        session, donation, kind="reversal", amount_cents=2500, occurred_on=D(2025, 3, 4), source="bank", reference="E2E-1:AM04", reason_code="AM04"
    )
    assert donation.status == "failed"
    assert adjustment.taken_back_cents == 0
    assert net_cents(donation) == 0


def test_reversal_after_settlement_is_a_refund(session):
    donation, _ = book(session, make_donor(session), source="sepa", reference="E2E-2", method="sepa_debit")
    record_adjustment(session, donation, kind="reversal", amount_cents=2500, occurred_on=D(2025, 4, 20), source="bank", reference="E2E-2:MD06", reason_code="MD06")
    assert donation.status == "refunded"


def test_guarded_state_changes(session):
    donor = make_donor(session)
    pending, _ = book(session, donor, source="sepa", reference="E2E-3", method="sepa_debit", status="pending")
    with pytest.raises(DonationStateError):
        record_adjustment(session, pending, kind="refund", amount_cents=100, occurred_on=D(2025, 3, 2), source="bank", reference="x1")
    confirm_paid(session, pending, received_on=D(2025, 3, 3))
    assert (pending.status, pending.received_on) == ("paid", D(2025, 3, 3))
    with pytest.raises(DonationStateError):
        confirm_paid(session, pending, received_on=D(2025, 3, 4))
    with pytest.raises(DonationStateError):
        mark_failed(session, pending)

    other, _ = book(session, donor, source="sepa", reference="E2E-4", method="sepa_debit", status="pending")
    mark_failed(session, other, reason="AC04")
    assert other.status == "failed" and other.flag == "failed: AC04"
    with pytest.raises(DonationStateError):
        record_adjustment(session, other, kind="refund", amount_cents=100, occurred_on=D(2025, 3, 5), source="bank", reference="x2")
    assert session.scalar(select(func.count()).select_from(DonationAdjustment)) == 0


def test_sql_taken_back_total_matches_the_rows(session):
    donor = make_donor(session)
    a, _ = book(session, donor, reference="pi_a", amount_cents=1000)
    b, _ = book(session, donor, reference="pi_b", amount_cents=4000)
    record_adjustment(session, a, kind="refund", amount_cents=1500, occurred_on=D(2025, 3, 5), source="stripe", reference="re_a")  # capped to 10.00
    record_adjustment(session, b, kind="refund", amount_cents=500, occurred_on=D(2025, 3, 5), source="stripe", reference="re_b")
    record_adjustment(session, b, kind="dispute_opened", amount_cents=3500, occurred_on=D(2025, 3, 6), source="stripe", reference="dp_b")
    total = session.scalar(select(taken_back_total()).select_from(DonationAdjustment))
    assert total == 1000 + 500
    per_donation = taken_back_by_donation()
    rows = dict(session.execute(select(per_donation.c.donation_id, per_donation.c.taken_back_cents)).all())
    assert rows == {a.id: 1000, b.id: 500}
    received = session.scalar(select(func.count()).select_from(Donation).where(is_received()))
    assert received == 2
