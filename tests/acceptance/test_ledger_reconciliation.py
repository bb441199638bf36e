"""A year of demo data reconciles three ways: gifts, bank lines and Stripe payouts,
and the journal entries in Odoo (the test double), on both databases.

The demo's donors and fundraising year (2025) are seeded, the January 2026 SEPA
batch is written, the generated statement that confirms and returns part of it is
imported with a Stripe payout on it, and `anbi odoo sync` books everything. Then:

1. gifts = journal: the income booked in Odoo, net of refund entries, equals the
   EUR donations received, net of what was taken back;
2. bank = gifts: every line of money in is matched except the one unknown payer,
   and every confirmed collection's line carries its gift's amount;
3. bank = journal: January's movement on the bank account in Odoo equals the
   statement's matched money in less the returns.
"""
from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anbi.context import AppContext
from anbi.core.settings import load_settings
from anbi.demo import ledger as ledger_demo
from exports.odoo.client import OdooClient, OdooSettings
from fundraising.donations import RECEIVED_STATUSES, record_donation
from fundraising.models import Donation, DonationAdjustment
from fundraising.models_ledger import BankLine, StripePayout
from tests.exports.test_odoo_sync import DOUBLE_ACCOUNTS
from tests.odoo_double import OdooDouble, OdooState

D = dt.date


def double_config(directory, url: str) -> dict:
    """Environment for `cli`: an anbi.toml with [odoo] at the double and its accounts."""
    config = directory / "anbi.toml"
    config.write_text("\n".join([
        "[odoo]", f'url = "{url}"', 'database = "anbi_test"', 'api_key = "secret"', "retries = 0", "",
        "[odoo.accounts]", *(f'{key} = "{code}"' for key, (code, _, _) in DOUBLE_ACCOUNTS.items()), ""]))
    return {"ANBI_CONFIG": str(config)}


def cents(value) -> int:
    return int(Decimal(str(value)) * 100)


def test_a_year_of_demo_data_reconciles_three_ways(db_url, engine, cli, tmp_path):
    from anbi.demo.donors import seed_donors
    from anbi.demo.fundraising import seed_fundraising

    app = AppContext(settings=load_settings(environ={}, database_url=db_url), actor="tester")
    rng = random.Random(2025)
    out = tmp_path / "demo"
    out.mkdir()
    seed_donors(app, out, rng)
    seed_fundraising(app, out, rng)
    with Session(engine) as session:   # two card gifts paid through Stripe, for the payout
        donors = session.scalars(select(Donation.donor_id).where(Donation.donor_id.is_not(None)).limit(2)).all()
        from donors.models import Donor

        for n, donor_id in enumerate(donors, 1):
            record_donation(session, source="stripe", reference=f"pi_demo_{n}", donor=session.get(Donor, donor_id),
                            received_on=D(2026, 1, 3), amount_cents=2500 * n, currency="EUR", method="card",
                            stripe_charge_id=f"ch_demo_{n}")
        session.commit()
    # 153: the demo's failing gift (AM04 in November) is collected again: its retry.
    assert ledger_demo.sepa_batch(app, out, rng)[0].startswith("153 collections")
    lines = ledger_demo.bank_statement(app, out, rng)
    assert "1 Stripe payout matched" in lines[0]

    state = OdooState(analytic=True, accounts=list(DOUBLE_ACCOUNTS.values()), today=D(2026, 1, 31), currency="EUR")
    with OdooDouble(state) as double:
        result = cli("odoo", "sync", "--json", env=double_config(tmp_path, double.url))
        assert result.exit_code == 0, result.stderr
        summary = json.loads(result.stdout)
        assert summary["waiting_for_stripe_payout"] == 0
        client = OdooClient(OdooSettings(double.url, "anbi_test", "json2", "", "secret", retries=0))
        with client:
            moves = client.search_read("account.move", [["ref", "like", "anbi:"]], ["ref", "date", "state"])
            move_lines = client.search_read("account.move.line", [["move_id", "in", [m["id"] for m in moves]]],
                                            ["move_id", "account_id", "debit", "credit"])
    assert {m["state"] for m in moves} == {"posted"}
    move_date = {m["id"]: m["date"] for m in moves}
    codes = {key: code for key, (code, _, _) in DOUBLE_ACCOUNTS.items()}
    income_codes = {code for key, code in codes.items() if key.startswith("income.")}

    def code_of(line):
        return line["account_id"][1].split(" ")[0]

    # 1. gifts = journal
    with Session(engine) as session:
        received = session.scalar(select(func.sum(Donation.amount_cents)).where(
            Donation.status.in_(RECEIVED_STATUSES), Donation.currency == "EUR")) or 0
        taken_back = session.scalar(select(func.sum(DonationAdjustment.taken_back_cents))
                                    .join(Donation, Donation.id == DonationAdjustment.donation_id)
                                    .where(Donation.currency == "EUR")) or 0
    income = sum(cents(x["credit"]) - cents(x["debit"]) for x in move_lines if code_of(x) in income_codes)
    assert income == received - taken_back

    # 2. bank = gifts
    with Session(engine) as session:
        bank_lines = session.scalars(select(BankLine).where(BankLine.statement.has())).all()
        money_in = [line for line in bank_lines if line.direction == "credit"]
        assert [line.counterparty_name for line in money_in if line.state != "matched"] == ["J. Onbekend"]
        collected = session.scalars(select(Donation).where(Donation.source == "sepa")).all()
        # 153 collected: one returned the day it was booked (failed), two undone later (refunded), the rest paid.
        assert sorted(d.status for d in collected).count("paid") == 150
        assert [d.status for d in collected].count("failed") == 1 and [d.status for d in collected].count("refunded") == 2
        assert {d.received_on for d in collected} == {D(2026, 1, 5)}
        payout = session.execute(select(StripePayout)).scalar_one()
        assert payout.reconciled and payout.charges_cents == 7500
        [payout_line] = [line for line in bank_lines if line.payout_id == payout.id]
        assert payout_line.amount_cents == payout.amount_cents
        statement_in = sum(line.amount_cents for line in money_in if line.state == "matched")
        returns = sum(line.amount_cents for line in bank_lines if line.kind == "return")

    # 3. bank = journal, for January 2026
    january = sum(cents(x["debit"]) - cents(x["credit"]) for x in move_lines
                  if code_of(x) == codes["bank"] and move_date[x["move_id"][0]].startswith("2026-01"))
    assert january == statement_in - returns
