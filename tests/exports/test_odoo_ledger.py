"""Which journal entries donations make, without Odoo or a database: income
accounts, grouping by day and channel, numbering, refunds, corrections, payouts."""
from __future__ import annotations

import datetime as dt

import pytest

from anbi.core.errors import ConfigurationError
from exports.odoo import ledger as rules
from exports.odoo.client import OdooSettings, _json2_error
from exports.odoo.sync import account_codes, cents_of, wire_amount

D = dt.date
TODAY = D(2025, 4, 1)


@pytest.mark.parametrize("donor_kind, organisation_type, kind, key", [
    ("person", None, "gift", "income.private_individuals"),
    (None, None, "gift", "income.private_individuals"),          # anonymous
    ("organisation", "company", "gift", "income.companies"),
    ("organisation", None, "gift", "income.companies"),
    ("organisation", "foundation", "gift", "income.other_nonprofits"),
    ("organisation", "related_nonprofit", "gift", "income.related_nonprofits"),
    ("organisation", "other_nonprofit", "gift", "income.other_nonprofits"),
    ("person", None, "purchase", "income.goods_and_services"),
    ("person", None, "lottery", "income.private_individuals"),
])
def test_income_account_by_donor(donor_kind, organisation_type, kind, key):
    assert rules.income_key(donor_kind, organisation_type, kind) == key


def booking(cents, account="income.private_individuals", campaign=None, fund=None, consideration=0):
    return rules.Booking(cents, consideration, account, campaign, fund)


def gift(donation_id, cents, day=D(2025, 3, 3), channel="bank", **fields):
    booked = fields.pop("booked", None)
    received = fields.pop("received", True)
    return rules.Gift(donation_id, day, channel, received, booking(cents, **fields), booked)


def test_gifts_are_grouped_by_day_and_channel_with_a_line_per_account_campaign_and_fund():
    entries = rules.plan([
        gift(1, 2500, campaign=7), gift(2, 1000, campaign=7), gift(3, 1000, campaign=7, fund=9),
        gift(4, 50000, account="income.companies"), gift(5, 500, day=D(2025, 3, 4)), gift(6, 700, channel="sepa-2"),
    ], [], {}, existing={(D(2025, 3, 3), "bank"): 1}, today=TODAY)
    refs = [e.ref for e in entries]
    assert refs == ["anbi:2025-03-03:bank:2", "anbi:2025-03-03:sepa-2:1", "anbi:2025-03-04:bank:1"]
    first = entries[0]
    assert [(l.account, l.debit_cents, l.credit_cents, l.campaign, l.fund) for l in first.lines] == [
        ("income.companies", 0, 50000, None, None),
        ("income.private_individuals", 0, 3500, 7, None),
        ("income.private_individuals", 0, 1000, 7, 9),
        ("bank", 54500, 0, None, None),
    ]
    assert first.total_cents == 54500 and [d for d, _ in first.donations] == [1, 2, 3, 4]
    for entry in entries:
        rules.check_balanced(entry)


def test_a_consideration_is_income_from_goods_and_services():
    [entry] = rules.plan([gift(1, 10000, consideration=2500)], [], {}, existing={}, today=TODAY)
    assert sorted((l.account, l.credit_cents) for l in entry.lines if l.credit_cents) == [
        ("income.goods_and_services", 2500), ("income.private_individuals", 7500)]


def test_a_booked_unchanged_gift_makes_nothing_and_a_changed_one_is_reversed_and_booked_again():
    same = gift(1, 1000, booked=(11, booking(1000)))
    moved = gift(2, 1000, campaign=8, booked=(12, booking(1000, campaign=7)))
    entries = rules.plan([same, moved], [], {}, existing={(D(2025, 3, 3), "bank"): 1}, today=TODAY)
    correction, again = entries
    assert (correction.ref, correction.day, correction.reverses) == ("anbi:correction:12", TODAY, [12])
    assert [(l.account, l.debit_cents, l.credit_cents, l.campaign) for l in correction.lines] == [
        ("income.private_individuals", 1000, 0, 7), ("bank", 0, 1000, None)]
    assert again.ref == "anbi:2025-03-03:bank:2" and again.lines[0].campaign == 8


def test_a_booked_gift_that_no_longer_counts_is_only_reversed():
    entries = rules.plan([gift(1, 1000, received=False, booked=(11, booking(1000)))], [], {}, existing={}, today=TODAY)
    assert [e.kind for e in entries] == ["correction"]


def test_refunds_take_back_on_their_own_date_from_the_accounts_booked():
    refunds = [
        rules.Refund(31, 1, D(2025, 3, 20), 400, "bank", booked=booking(1000, campaign=7, consideration=500)),
        rules.Refund(32, 2, D(2025, 3, 21), 300, "stripe-po_1", booked=booking(300)),
        rules.Refund(33, 3, D(2025, 3, 22), 300, "bank", booked=None),   # its gift is not booked: waits
    ]
    entries = rules.plan([], refunds, {}, existing={}, today=TODAY)
    assert [e.ref for e in entries] == ["anbi:refund:31", "anbi:refund:32"]
    first, second = entries
    assert first.day == D(2025, 3, 20)
    # 400 of a 1000 gift with 500 consideration: 200 from goods and services, 200 from the gift.
    assert sorted((l.account, l.debit_cents, l.credit_cents) for l in first.lines) == [
        ("bank", 0, 400), ("income.goods_and_services", 200, 0), ("income.private_individuals", 200, 0)]
    assert ("stripe_clearing", 0, 300) in [(l.account, l.debit_cents, l.credit_cents) for l in second.lines]


def test_a_refund_of_a_gift_booked_in_the_same_run_is_planned_after_it():
    entries = rules.plan([gift(1, 1000)], [rules.Refund(31, 1, D(2025, 3, 20), 1000, "bank")], {}, existing={}, today=TODAY)
    assert [e.kind for e in entries] == ["donations", "refund"]


def test_a_payout_entry_is_dated_by_arrival_and_balances_fees_and_settled_refunds():
    payout = rules.PayoutTotals("po_1", D(2025, 3, 5), amount_cents=6155, charges_cents=7000, fees_cents=345,
                                refunds_cents=-500, disputes_cents=0, other_cents=0)
    [entry] = rules.plan([gift(1, 5000, day=payout.arrival_date, channel="stripe-po_1"),
                          gift(2, 2000, day=payout.arrival_date, channel="stripe-po_1")],
                         [], {"po_1": payout}, existing={}, today=TODAY)
    assert (entry.ref, entry.kind, entry.day, entry.payout) == ("anbi:2025-03-05:stripe-po_1:1", "payout", D(2025, 3, 5), "po_1")
    assert sorted((l.account, l.debit_cents, l.credit_cents) for l in entry.lines) == [
        ("bank", 6155, 0), ("income.private_individuals", 0, 7000), ("stripe_clearing", 500, 0), ("stripe_fees", 345, 0)]
    rules.check_balanced(entry)


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
    assert _json2_error(f"Unexpected status code 403: {body}")[1]["name"] == "odoo.exceptions.UserError"
    assert _json2_error("Unexpected status code 502: <html>Bad gateway</html>") == (502, None)   # not Odoo's JSON
