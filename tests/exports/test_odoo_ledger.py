"""Which journal entries donations make, without Odoo or a database: income
accounts (the income statement's lines), grouping by day and channel, numbering,
refunds, corrections, Stripe gifts and payouts, and the move from booking Stripe
gifts with their payout."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from anbi.core.errors import ConfigurationError
from exports.odoo import ledger as rules
from exports.odoo.client import OdooSettings, _json2_error
from exports.odoo.sync import account_codes, cents_of, wire_amount
from fundraising.income import split_income

D = dt.date


def booking(cents, account="income.private_individuals", campaign=None, fund=None, consideration=0):
    return rules.Booking(cents, consideration, account, campaign, fund)


def booked(booking_id, booking_, day=dt.date(2025, 3, 3), channel="bank"):
    return rules.Booked(booking_id, booking_, day, channel)


def gift(donation_id, cents, day=dt.date(2025, 3, 3), channel="bank", **fields):
    was = fields.pop("booked", None)
    received = fields.pop("received", True)
    return rules.LedgerGift(donation_id, day, channel, received, booking(cents, **fields), was)


def credits(entry):
    return sorted((line.account, line.credit_cents) for line in entry.lines if line.credit_cents)


@pytest.mark.parametrize("donor_kind, organisation_type, kind, amount, consideration, expected", [
    # the benefit dinner: € 150, dinner worth € 60 — € 90 the donor's, € 60 goods and services
    ("person", None, "purchase", 15000, 6000, [("income.goods_and_services", 6000), ("income.private_individuals", 9000)]),
    ("organisation", "foundation", "gift", 15000, 6000, [("income.goods_and_services", 6000), ("income.other_nonprofits", 9000)]),
    # a lottery ticket is goods and services, never the player's gift (DOMAIN.md 1.4)
    ("person", None, "lottery", 2000, 0, [("income.goods_and_services", 2000)]),
    ("person", None, "purchase", 3000, 0, [("income.goods_and_services", 3000)]),
    (None, None, "gift", 500, 0, [("income.private_individuals", 500)]),
])
def test_the_ledger_books_each_part_on_the_income_statements_line(donor_kind, organisation_type, kind, amount,
                                                                   consideration, expected):
    split = split_income(donor_kind, organisation_type, kind, amount, consideration)
    [entry] = rules.plan([rules.LedgerGift(1, D(2025, 10, 11), "bank", True, rules.booking_of(split, None, None))], [], [],
                         existing={})
    assert credits(entry) == expected
    assert [(line.account, line.debit_cents) for line in entry.lines if line.debit_cents] == [("bank", amount)]


def test_gifts_are_grouped_by_day_and_channel_with_a_line_per_account_campaign_and_fund():
    entries = rules.plan([
        gift(1, 2500, campaign=7), gift(2, 1000, campaign=7), gift(3, 1000, campaign=7, fund=9),
        gift(4, 50000, account="income.companies"), gift(5, 500, day=D(2025, 3, 4)), gift(6, 700, channel="sepa-2"),
    ], [], [], existing={(D(2025, 3, 3), "bank"): 1})
    refs = [e.ref for e in entries]
    assert refs == ["anbi:2025-03-03:bank:2", "anbi:2025-03-03:sepa-2:1", "anbi:2025-03-04:bank:1"]
    first = entries[0]
    assert [(line.account, line.debit_cents, line.credit_cents, line.campaign, line.fund) for line in first.lines] == [
        ("income.companies", 0, 50000, None, None),
        ("income.private_individuals", 0, 3500, 7, None),
        ("income.private_individuals", 0, 1000, 7, 9),
        ("bank", 54500, 0, None, None),
    ]
    assert first.total_cents == 54500 and [d for d, _ in first.donations] == [1, 2, 3, 4]
    for entry in entries:
        rules.check_balanced(entry)


def test_a_consideration_is_income_from_goods_and_services():
    [entry] = rules.plan([gift(1, 10000, consideration=2500)], [], [], existing={})
    assert credits(entry) == [("income.goods_and_services", 2500), ("income.private_individuals", 7500)]


def test_a_booked_unchanged_gift_makes_nothing_and_a_changed_one_is_reversed_on_its_entrys_date_and_booked_again():
    same = gift(1, 1000, booked=booked(11, booking(1000)))
    moved = gift(2, 1000, campaign=8, booked=booked(12, booking(1000, campaign=7), day=D(2025, 3, 3)))
    entries = rules.plan([same, moved], [], [], existing={(D(2025, 3, 3), "bank"): 1})
    correction, again = entries
    # Dated as the entry it corrects: the year it changes in the ledger is the year the statement changes.
    assert (correction.ref, correction.day, correction.reverses) == ("anbi:correction:12", D(2025, 3, 3), [12])
    assert [(line.account, line.debit_cents, line.credit_cents, line.campaign) for line in correction.lines] == [
        ("income.private_individuals", 1000, 0, 7), ("bank", 0, 1000, None)]
    assert again.ref == "anbi:2025-03-03:bank:2" and again.lines[0].campaign == 8


def test_a_booked_gift_that_no_longer_counts_is_only_reversed():
    entries = rules.plan([gift(1, 1000, received=False, booked=booked(11, booking(1000)))], [], [], existing={})
    assert [e.kind for e in entries] == ["correction"]


def test_refunds_take_back_on_their_own_date_from_the_accounts_booked():
    refunds = [
        rules.Refund(31, 1, D(2025, 3, 20), 400, "bank", booked=booking(1000, campaign=7, consideration=500)),
        rules.Refund(32, 2, D(2025, 3, 21), 300, "stripe", booked=booking(300)),
        rules.Refund(33, 3, D(2025, 3, 22), 300, "bank", booked=None),   # its gift is not booked: waits
        rules.Refund(34, 4, D(2025, 3, 23), 1, "bank", booked=booking(2, consideration=1)),
    ]
    entries = rules.plan([], refunds, [], existing={})
    assert [e.ref for e in entries] == ["anbi:refund:31", "anbi:refund:32", "anbi:refund:34"]
    first, second, third = entries
    assert first.day == D(2025, 3, 20)
    # 400 of a 1000 gift with 500 consideration: 200 from goods and services, 200 from the gift.
    assert sorted((line.account, line.debit_cents, line.credit_cents) for line in first.lines) == [
        ("bank", 0, 400), ("income.goods_and_services", 200, 0), ("income.private_individuals", 200, 0)]
    assert ("stripe_clearing", 0, 300) in [(line.account, line.debit_cents, line.credit_cents) for line in second.lines]
    # 1 of 2 with 1 consideration: 0,5 → 1 (half-up, as the income statement takes it back)
    assert [(line.account, line.debit_cents) for line in third.lines if line.debit_cents] == [("income.goods_and_services", 1)]


def test_a_refund_of_a_gift_booked_in_the_same_run_is_planned_after_it():
    entries = rules.plan([gift(1, 1000)], [rules.Refund(31, 1, D(2025, 3, 20), 1000, "bank")], [], existing={})
    assert [e.kind for e in entries] == ["donations", "refund"]


PAYOUT = rules.PayoutTotals("po_1", D(2025, 3, 5), amount_cents=6155, charges_cents=7000, fees_cents=345,
                            refunds_cents=-500, disputes_cents=0, other_cents=0)


def test_a_stripe_gift_is_income_on_its_own_date_and_its_payout_moves_clearing_to_bank():
    entries = rules.plan([gift(1, 5000, day=D(2025, 3, 1), channel="stripe"), gift(2, 2000, day=D(2025, 3, 2), channel="stripe")],
                         [rules.Refund(31, 1, D(2025, 3, 3), 500, "stripe", booked=booking(5000))], [PAYOUT], existing={})
    assert [(e.ref, e.kind, e.day) for e in entries] == [
        ("anbi:2025-03-01:stripe:1", "donations", D(2025, 3, 1)),
        ("anbi:2025-03-02:stripe:1", "donations", D(2025, 3, 2)),
        ("anbi:2025-03-05:stripe-po_1:1", "payout", D(2025, 3, 5)),
        ("anbi:refund:31", "refund", D(2025, 3, 3)),
    ]
    first, _, payout, refund = entries
    assert [(line.account, line.debit_cents, line.credit_cents) for line in first.lines] == [
        ("income.private_individuals", 0, 5000), ("stripe_clearing", 5000, 0)]
    assert (payout.payout, payout.donations) == ("po_1", [])
    assert [(line.account, line.debit_cents, line.credit_cents) for line in payout.lines] == [
        ("bank", 6155, 0), ("stripe_fees", 345, 0), ("stripe_clearing", 0, 6500)]
    for entry in entries:
        rules.check_balanced(entry)
    # The clearing account: 7000 in, the refund's 500 and the payout's 6500 out.
    clearing = sum(line.debit_cents - line.credit_cents for e in entries for line in e.lines if line.account == "stripe_clearing")
    assert clearing == 0 and refund.lines[-1] == rules.Line("stripe_clearing", 0, 500, "Refund")


def test_gifts_booked_with_their_payout_by_an_older_version_move_to_their_own_dates_without_counting_twice():
    """The old rule credited the gifts' income in the payout's entry (dated its arrival).
    The correction takes them out on that date against the clearing account, the gifts
    are booked again on their own dates, and the payout is not booked again: per account
    and per year, old + new entries are what today's rule makes."""
    payout = dataclasses.replace(PAYOUT, arrival_date=D(2026, 1, 2))
    old_entry = rules.PlannedEntry("anbi:2026-01-02:stripe-po_1:1", "payout", D(2026, 1, 2), "stripe-po_1",
                                   lines=rules.legacy_payout_lines([booking(5000), booking(2000, campaign=4)], payout))
    rules.check_balanced(old_entry)
    gifts = [gift(1, 5000, day=D(2025, 12, 30), channel="stripe", booked=booked(11, booking(5000), D(2026, 1, 2), "stripe-po_1")),
             gift(2, 2000, day=D(2026, 1, 1), channel="stripe", campaign=4,
                  booked=booked(12, booking(2000, campaign=4), D(2026, 1, 2), "stripe-po_1"))]
    moved = rules.plan(gifts, [], [], existing={})
    assert [(e.ref, e.day) for e in moved] == [
        ("anbi:correction:11", D(2026, 1, 2)), ("anbi:correction:12", D(2026, 1, 2)),
        ("anbi:2025-12-30:stripe:1", D(2025, 12, 30)), ("anbi:2026-01-01:stripe:1", D(2026, 1, 1))]
    today_rule = rules.plan([gift(1, 5000, day=D(2025, 12, 30), channel="stripe"),
                             gift(2, 2000, day=D(2026, 1, 1), channel="stripe", campaign=4)],
                            [rules.Refund(9, 9, D(2025, 12, 31), 500, "stripe", booked=booking(500))], [payout], existing={})

    def by_account_and_year(entries):
        totals: dict[Any, int] = {}
        for entry in entries:
            for line in entry.lines:
                key = (line.account, line.campaign, entry.day.year)
                totals[key] = totals.get(key, 0) + line.debit_cents - line.credit_cents
        return {key: cents for key, cents in totals.items() if cents}

    old_refund = rules.plan([], [rules.Refund(9, 9, D(2025, 12, 31), 500, "stripe-po_1", booked=booking(500))], [], existing={})
    assert by_account_and_year([old_entry, *old_refund, *moved]) == by_account_and_year(today_rule)


def test_wire_amounts_are_exact():
    assert wire_amount(123456) == 1234.56 and wire_amount(1) == 0.01
    assert cents_of(1234.56) == 123456 and cents_of(-120.0) == -12000 and cents_of(0.1 + 0.2) == 30


def test_accounts_table_is_flattened():
    assert account_codes({"accounts": {"bank": "101401", "income": {"companies": 400200}}}) == {
        "bank": "101401", "income.companies": "400200"}


def test_odoo_settings_are_checked_together():
    with pytest.raises(ConfigurationError) as caught:
        OdooSettings.from_settings({"url": "odoo.example", "protocol": "xmlrpc", "timeout": "soon"})
    message = str(caught.value)
    for part in ("[odoo] database is required", "[odoo] api_key is required", "protocol must be json2",
                 "timeout must be a number", "must look like https://odoo.example"):
        assert part in message
    settings = OdooSettings.from_settings({"url": "https://odoo.example/", "database": "db", "api_key": "k"})
    assert (settings.url, settings.protocol, settings.timeout, settings.retries) == ("https://odoo.example", "json2", 60.0, 3)


def test_json2_error_bodies_are_read_back_from_odoolibs_messages():
    body = '{"name": "odoo.exceptions.UserError", "message": "The entry is not balanced.", "arguments": []}'
    assert _json2_error(f"Invalid request: {body} for data {{'vals_list': []}}") == (422, {
        "name": "odoo.exceptions.UserError", "message": "The entry is not balanced."})
    assert (_json2_error(f"Unexpected status code 403: {body}")[1] or {})["name"] == "odoo.exceptions.UserError"
    assert _json2_error("Unexpected status code 502: <html>Bad gateway</html>") == (502, None)   # not Odoo's JSON
