"""The ledger in Odoo and the RJ 650 income statement agree per income line and year,
to the cent — both what `plan_entries` planned and what the Odoo test double received
— on SQLite and PostgreSQL: a fresh install with every kind of income, refunds across
a year end, Stripe gifts whose payout arrives the next year and corrections; and an
install that booked Stripe gifts with their payout and classified the older way, moved
to today's rule by new entries only, without counting anything twice.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from anbi.core.migrate import alembic_config, upgrade
from donors.models import Donor
from exports.odoo import sync as odoo_sync
from exports.odoo.models import OdooBooking, OdooEntry, OdooRefundBooking
from fundraising.donations import record_adjustment
from fundraising.models import Donation
from fundraising.models_ledger import StripePayout, StripePayoutItem
from subsidies.income import income_statement
from tests.acceptance.test_ledger_reconciliation import double_config
from tests.exports.test_odoo_sync import DOUBLE_ACCOUNTS
from tests.factories import make_campaign, make_donation, make_donor
from tests.odoo_double import OdooDouble, OdooState

D = dt.date
CODE_KEY = {code: key for key, (code, _, _) in DOUBLE_ACCOUNTS.items()}
STATEMENT_KEY = {"goods_and_services": "income_for_goods_and_services"}


@pytest.fixture
def odoo(tmp_path):
    state = OdooState(analytic=True, accounts=list(DOUBLE_ACCOUNTS.values()), today=D(2026, 3, 1), currency="EUR")
    with OdooDouble(state) as double:
        yield state, double_config(tmp_path, double.url)


def run_sync(cli, env) -> dict:
    result = cli("odoo", "sync", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def received_by_odoo(state: OdooState) -> dict[tuple[str, int], int]:
    """Per [odoo.accounts] key and year of the move: debit − credit in cents, as posted."""
    moves = state.records["account.move"]
    codes = {rid: account["code"] for rid, account in state.records["account.account"].items()}
    totals: dict[tuple[str, int], int] = {}
    for line in state.records["account.move.line"].values():
        move = moves[line["move_id"]]
        assert move["state"] == "posted"
        key = (CODE_KEY[codes[line["account_id"]]], int(move["date"][:4]))
        totals[key] = totals.get(key, 0) + int((line["debit"] - line["credit"]) * 100)
    return totals


def planned(session: Session) -> dict[tuple[str, int], int]:
    """The same from our own saved plan: every entry's lines as `entry_lines` derives them."""
    totals: dict[tuple[str, int], int] = {}
    for entry in session.scalars(select(OdooEntry)):
        for line in odoo_sync.entry_lines(session, entry):
            key = (line.account, entry.entry_date.year)
            totals[key] = totals.get(key, 0) + line.debit_cents - line.credit_cents
    return totals


def assert_reconciles(session: Session, ledger: dict[tuple[str, int], int], years) -> None:
    for year in years:
        statement = income_statement(session, year)[0].values()
        for key, (_, _, kind) in DOUBLE_ACCOUNTS.items():
            if kind != "income":
                continue
            line = key.split(".", 1)[1]
            assert -ledger.get((key, year), 0) == statement[STATEMENT_KEY.get(line, line)], (key, year)


def balance(ledger, account: str) -> int:
    return sum(cents for (key, _), cents in ledger.items() if key == account)


def stripe_payout(session, payout_id, arrival, gifts, *, refunds=(), fee_per_gift=125):
    """A paid payout of these Stripe gifts (and refunds), reconciled as `anbi stripe payouts` leaves it."""
    charges = sum(g.amount_cents for g in gifts)
    refunded = -sum(cents for cents in refunds)
    fees = fee_per_gift * len(gifts)
    payout = StripePayout(payout_id=payout_id, amount_cents=charges + refunded - fees, currency="EUR",
                          arrival_date=arrival, created_on=arrival - dt.timedelta(days=2), status="paid",
                          charges_cents=charges, refunds_cents=refunded, fees_cents=fees, disputes_cents=0,
                          other_cents=0, reconciled=True)
    session.add(payout)
    session.flush()
    for n, gift in enumerate(gifts):
        session.add(StripePayoutItem(payout_pk=payout.id, balance_transaction_id=f"txn_{payout_id}_{n}", type="charge",
                                     source_id=gift.stripe_charge_id, charge_id=gift.stripe_charge_id,
                                     amount_cents=gift.amount_cents, fee_cents=fee_per_gift,
                                     net_cents=gift.amount_cents - fee_per_gift, currency="EUR",
                                     created_on=gift.received_on, donation_id=gift.id))
    return payout


def stripe_gift(session, donor, n, day, amount):
    return make_donation(session, donor=donor, source="stripe", reference=f"pi_{n}", date=day, amount=amount,
                         method="card", stripe_charge_id=f"ch_{n}")


def test_a_fresh_install_reconciles_per_line_and_year(cli, engine, odoo):
    state, env = odoo
    with Session(engine) as session:
        gala = make_campaign(session, code="GALA", name="Benefietdiner")
        person = make_donor(session)
        company = make_donor(session, kind="organisation", organisation_type="company")
        related = make_donor(session, kind="organisation", organisation_type="related_nonprofit")
        untyped = make_donor(session, kind="organisation", organisation_type=None)
        make_donation(session, donor=person, date="2024-03-01", amount="100.00")
        make_donation(session, donor=None, donor_id=None, date="2024-03-01", amount="5.00")
        make_donation(session, donor=company, date="2024-05-01", amount="500.00", reference="COMPANY")
        make_donation(session, donor=related, date="2024-05-02", amount="250.00")
        make_donation(session, donor=untyped, date="2024-05-03", amount="300.00")
        dinner = make_donation(session, donor=person, date="2024-10-11", amount="150.00", kind="purchase",
                               consideration="60.00", campaign=gala, reference="DINNER")
        make_donation(session, donor=person, date="2024-10-11", amount="20.00", kind="lottery", campaign=gala)
        make_donation(session, donor=person, date="2024-10-11", amount="30.00", kind="purchase", campaign=gala)
        make_donation(session, donor=person, date="2024-10-12", amount="7.00", status="pending", method="sepa_debit")
        make_donation(session, donor=person, date="2024-10-13", amount="9.00", currency="USD")
        late = stripe_gift(session, person, 1, "2024-12-30", "75.00")
        refunded = stripe_gift(session, person, 2, "2024-12-31", "40.00")
        record_adjustment(session, refunded, kind="refund", amount_cents=1500, occurred_on=D(2025, 1, 2),
                          source="stripe", reference="re_1")
        record_adjustment(session, dinner, kind="refund", amount_cents=5000, occurred_on=D(2025, 2, 1),
                          source="import", reference="DINNER-R")
        stripe_payout(session, "po_1", D(2025, 1, 3), [late, refunded], refunds=[1500])
        make_donation(session, donor=company, date="2025-03-03", amount="60.00")
        session.commit()
        company_id, dinner_id = company.id, dinner.id

    first = run_sync(cli, env)
    assert first["waiting_for_stripe_payout"] == 0 and first["foreign_currency_skipped"] == 1
    ledger = received_by_odoo(state)
    with Session(engine) as session:
        assert_reconciles(session, planned(session), (2024, 2025))
        assert_reconciles(session, ledger, (2024, 2025))
    assert balance(ledger, "stripe_clearing") == 0   # the payout moved the gifts less their refund to the bank
    assert balance(ledger, "stripe_fees") == 250
    assert balance(ledger, "bank") == 10_000 + 500 + 50_000 + 25_000 + 30_000 + 15_000 + 2_000 + 3_000 - 5_000 + 6_000 + 9_750

    # Corrections: the company turns out to be a foundation; the dinner was worth 80,00.
    with Session(engine) as session:
        session.get_one(Donor, company_id).organisation_type = "foundation"
        session.get_one(Donation, dinner_id).consideration_cents = 8000
        session.commit()
    second = run_sync(cli, env)
    # The company's two gifts, the dinner and the dinner's refund (its split changed).
    assert second["entries_planned"]["correction"] == 4
    with Session(engine) as session:
        assert_reconciles(session, planned(session), (2024, 2025))
        assert_reconciles(session, received_by_odoo(state), (2024, 2025))
        statement_2024 = income_statement(session, 2024)[0].values()
    assert (statement_2024["other_nonprofits"], statement_2024["companies"]) == (50_000, 30_000)
    assert statement_2024["income_for_goods_and_services"] == 8_000 + 2_000 + 3_000
    assert run_sync(cli, env)["entries_planned"] == {}


OLD_ROWS = """
INSERT INTO odoo_entries (id, ref, kind, entry_date, channel, total_cents, currency, posted, planned_at, payout_ref)
VALUES (:id, :ref, :kind, :day, :channel, :total, 'EUR', :posted, '2025-01-05 10:00:00', :payout)
"""


@pytest.mark.fresh_database   # it goes back to revision 0016's parent and up again
def test_an_install_that_booked_stripe_gifts_with_their_payout_moves_to_the_new_rule_without_counting_twice(
        cli, engine, db_url, odoo):
    """The old version booked the Stripe gifts of 30 and 31 December 2024 in the payout
    entry of 3 January 2025, the whole dinner ticket as goods and services, the lottery
    ticket with the player's gifts, and refunds against those bookings."""
    state, env = odoo
    with Session(engine) as session:
        person = make_donor(session)
        dinner = make_donation(session, donor=person, date="2024-10-11", amount="150.00", kind="purchase",
                               consideration="60.00")
        lottery = make_donation(session, donor=person, date="2024-10-11", amount="20.00", kind="lottery")
        late = stripe_gift(session, person, 1, "2024-12-30", "75.00")
        refunded = stripe_gift(session, person, 2, "2024-12-31", "40.00")
        stripe_refund, _ = record_adjustment(session, refunded, kind="refund", amount_cents=1500, occurred_on=D(2025, 1, 2),
                                             source="stripe", reference="re_1")
        dinner_refund, _ = record_adjustment(session, dinner, kind="refund", amount_cents=5000, occurred_on=D(2025, 2, 1),
                                             source="import", reference="DINNER-R")
        stripe_payout(session, "po_OLD", D(2025, 1, 3), [late, refunded], refunds=[1500])
        session.commit()
        ids = (dinner.id, lottery.id, late.id, refunded.id, stripe_refund.id, dinner_refund.id)

    # The old version's schema and its plan, as it saved them (revision 0016 not yet applied).
    engine.dispose()
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0016-1")
    dinner_id, lottery_id, late_id, refunded_id, stripe_refund_id, dinner_refund_id = ids
    with engine.begin() as connection:
        for row in ({"id": 1, "ref": "anbi:2024-10-11:bank:1", "kind": "donations", "day": D(2024, 10, 11), "channel": "bank",
                     "total": 17000, "payout": None},
                    {"id": 2, "ref": "anbi:2025-01-03:stripe-po_OLD:1", "kind": "payout", "day": D(2025, 1, 3),
                     "channel": "stripe-po_OLD", "total": 11500, "payout": "po_OLD"},
                    {"id": 3, "ref": f"anbi:refund:{stripe_refund_id}", "kind": "refund", "day": D(2025, 1, 2),
                     "channel": "stripe-po_OLD", "total": 1500, "payout": None},
                    {"id": 4, "ref": f"anbi:refund:{dinner_refund_id}", "kind": "refund", "day": D(2025, 2, 1),
                     "channel": "bank", "total": 5000, "payout": None}):
            connection.execute(text(OLD_ROWS), {**row, "posted": False})
        for booking_id, entry_id, donation_id, amount, consideration, account in (
                (1, 1, dinner_id, 15000, 6000, "income.goods_and_services"),
                (2, 1, lottery_id, 2000, 0, "income.private_individuals"),
                (3, 2, late_id, 7500, 0, "income.private_individuals"),
                (4, 2, refunded_id, 4000, 0, "income.private_individuals")):
            connection.execute(text(
                "INSERT INTO odoo_entry_donations (id, entry_id, donation_id, amount_cents, consideration_cents, income_account)"
                " VALUES (:id, :entry, :donation, :amount, :consideration, :account)"),
                {"id": booking_id, "entry": entry_id, "donation": donation_id, "amount": amount,
                 "consideration": consideration, "account": account})
        for link_id, entry_id, adjustment_id in ((1, 3, stripe_refund_id), (2, 4, dinner_refund_id)):
            connection.execute(text("INSERT INTO odoo_entry_adjustments (id, entry_id, adjustment_id) VALUES (:id, :entry, :adj)"),
                               {"id": link_id, "entry": entry_id, "adj": adjustment_id})
        if db_url.startswith("postgresql"):
            for table in ("odoo_entries", "odoo_entry_donations", "odoo_entry_adjustments"):
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 10)"))
    upgrade(engine)
    with Session(engine) as session:
        assert [(link.id, link.booking_id) for link in session.scalars(select(OdooRefundBooking).order_by(OdooRefundBooking.id))] == [
            (1, 4), (2, 1)]   # the migration found the booking each refund was taken from

    # The old version's plan reaches Odoo as it was planned (the old payout entry credits the gifts' income) ...
    result = run_sync(cli, env)
    assert result["entries_planned"] == {"correction": 5, "donations": 3, "refund": 1}
    moves = {move["ref"]: move for move in state.records["account.move"].values()}
    assert moves["anbi:2025-01-03:stripe-po_OLD:1"]["amount_total"] == Decimal("115.00")
    assert moves["anbi:2024-10-11:bank:1"]["amount_total"] == Decimal("170.00")
    # ... and new entries move it to today's rule: the Stripe gifts on their own dates, the dinner and
    # the lottery ticket on the income statement's lines, the dinner's refund booked again to match.
    assert set(moves) >= {
        "anbi:correction:1", "anbi:correction:2", "anbi:correction:3", "anbi:correction:4", "anbi:correction:refund:2",
        "anbi:2024-10-11:bank:2", "anbi:2024-12-30:stripe:1", "anbi:2024-12-31:stripe:1", f"anbi:refund:{dinner_refund_id}:2"}
    assert moves["anbi:correction:3"]["date"] == "2025-01-03" and moves["anbi:correction:refund:2"]["date"] == "2025-02-01"
    assert not any(ref.startswith("anbi:2025-01-03:stripe-po_OLD:2") for ref in moves)   # the payout, once

    ledger = received_by_odoo(state)
    with Session(engine) as session:
        assert_reconciles(session, ledger, (2024, 2025))
        assert_reconciles(session, planned(session), (2024, 2025))
        assert session.scalar(select(OdooEntry.id).where(OdooEntry.posted.is_(False))) is None
        in_force = session.scalars(select(OdooBooking).where(OdooBooking.reversed_by_id.is_(None))).all()
        assert sorted(b.donation_id for b in in_force) == sorted([dinner_id, lottery_id, late_id, refunded_id])
    # Per year, not only in all: 2024 has the gifts, 2025 the refunds.
    assert (ledger[("income.private_individuals", 2024)], ledger[("income.goods_and_services", 2024)]) == (-20_500, -8_000)
    assert (ledger[("income.private_individuals", 2025)], ledger[("income.goods_and_services", 2025)]) == (4_500, 2_000)
    assert balance(ledger, "stripe_clearing") == 0
    assert balance(ledger, "bank") == 17_000 + 11_500 - 1_500 - 250 - 5_000
    assert run_sync(cli, env)["entries_planned"] == {}
