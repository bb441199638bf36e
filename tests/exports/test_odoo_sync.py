"""`anbi odoo sync` and `anbi odoo pull-costs` against the Odoo test double — over
JSON-2 and JSON-RPC, on SQLite and PostgreSQL — and against a real Odoo when
ANBI_TEST_ODOO_URL (with _DATABASE, _KEY, optionally _LOGIN, _PROTOCOL and
_ACCOUNTS as JSON) is set. Expected entries are worked out by hand from the gifts.

The real server's company must book in EUR, with analytic accounting on. Tests that
change what the whole database does (analytic accounting off, a lock date) hold an
exclusive lock on it (`Target.exclusive`); the others share it, so they can run in
parallel (`pytest -n`) against one server."""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exports.odoo.client import OdooClient, OdooSettings
from exports.odoo.errors import AnalyticAccountingOff, OdooUnreachable, UnbalancedEntry
from exports.odoo.models import OdooBooking, OdooEntry, OdooPartner
from fundraising.donations import record_adjustment
from fundraising.models import Donation
from subsidies.models import Expense
from tests.factories import grant_toml, make_campaign, make_donation, make_donor, make_fund
from tests.odoo_double import OdooDouble, OdooState

D = dt.date
# Distinct accounts in the double, so each line's account can be told apart.
DOUBLE_ACCOUNTS = {
    "bank": ("101401", "Bank", "asset_cash"),
    "stripe_clearing": ("101402", "Stripe", "asset_current"),
    "stripe_fees": ("620000", "Payment fees", "expense"),
    "income.private_individuals": ("400100", "Baten van particulieren", "income"),
    "income.companies": ("400200", "Baten van bedrijven", "income"),
    "income.lotteries": ("400300", "Baten van loterijorganisaties", "income"),
    "income.government_grants": ("400400", "Baten van subsidies van overheden", "income"),
    "income.related_nonprofits": ("400450", "Baten van verbonden organisaties", "income"),
    "income.other_nonprofits": ("400500", "Baten van andere organisaties zonder winststreven", "income"),
    "income.goods_and_services": ("400600", "Baten als tegenprestatie", "income"),
}
# Beside them, as Odoo's generic chart has it: an equity account (given as income by mistake in tests).
DOUBLE_EXTRA_ACCOUNTS = [("301000", "Capital", "equity")]
# On a real Odoo with the generic chart: bank 101401, income 400000 (Product Sales).
REAL_DEFAULT = {"bank": "101401", "stripe_clearing": "101401", "stripe_fees": "443000",
                **{key: "400000" for key in DOUBLE_ACCOUNTS if key.startswith("income.")}}


@dataclass
class Target:
    url: str
    database: str
    login: str
    key: str
    protocol: str
    codes: dict[str, str]
    prefix: str
    token: str                     # makes refs and codes unique on a shared real server
    state: OdooState | None = None
    lock: IO[Any] | None = None  # the real database's lock file (see the module docstring)

    def client(self) -> OdooClient:
        return OdooClient(OdooSettings(self.url, self.database, self.protocol, self.login, self.key, timeout=10, retries=0))

    def config(self, directory: Path, **odoo) -> dict:
        """Environment for `cli`: an anbi.toml with [odoo] and [odoo.accounts]."""
        values = {"url": self.url, "database": self.database, "protocol": self.protocol, "login": self.login,
                  "api_key": self.key, "timeout": 10, "retries": 0, "ref_prefix": self.prefix, **odoo}
        lines = ["[odoo]"] + [f"{k} = {json.dumps(v)}" for k, v in values.items()]
        lines += ["", "[odoo.accounts]"] + [f'{k.split(".")[0]}{"." + k.split(".")[1] if "." in k else ""} = "{v}"'
                                              for k, v in self.codes.items()]
        path = directory / "anbi.toml"
        path.write_text("\n".join(lines) + "\n")
        return {"ANBI_CONFIG": str(path)}

    def moves(self, ref_part: str) -> list[dict]:
        with self.client() as client:
            return client.search_read("account.move", [["ref", "like", f"{self.prefix}:{ref_part}"]],
                                      ["name", "ref", "date", "state", "amount_total"], order="id")

    def lines(self, move_id: int) -> list[dict]:
        with self.client() as client:
            return client.search_read("account.move.line", [["move_id", "=", move_id]],
                                      ["account_id", "debit", "credit", "analytic_distribution"], order="id")

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """No other test uses the real database meanwhile (the double is this test's own)."""
        if self.lock is None:
            yield
            return
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self.lock, fcntl.LOCK_SH)

    def set_analytic(self, on: bool) -> None:
        """Analytic accounting on or off, as an admin does it in Settings; on a real
        server, waited for until Odoo answers accordingly."""
        if self.state is not None:
            self.state.analytic = on
            return
        with self.client() as client:
            [wizard] = client.create_many("res.config.settings", [{"group_analytic_accounting": on}])
            client.call("res.config.settings", "execute", [wizard])
            deadline = time.monotonic() + 20
            while True:
                try:
                    client.search("account.analytic.plan", [], limit=1)
                    if on:
                        return
                except AnalyticAccountingOff:
                    if not on:
                        return
                assert time.monotonic() < deadline, f"Odoo did not turn analytic accounting {'on' if on else 'off'}"
                time.sleep(0.5)

    @contextmanager
    def locked_until(self, day: str) -> Iterator[None]:
        """The company's books locked up to `day` (its global lock date), for this test only."""
        with self.exclusive(), self.client() as client:
            [journal] = client.search_read("account.journal", [["type", "=", "general"]], ["company_id"], limit=1)
            company = journal["company_id"][0]
            client.write("res.company", [company], {"fiscalyear_lock_date": day})
            try:
                yield
            finally:
                client.write("res.company", [company], {"fiscalyear_lock_date": False})


def _target(kind: str):
    token = uuid.uuid4().hex[:6]
    if kind == "real":
        url = os.environ.get("ANBI_TEST_ODOO_URL")
        if not url:
            pytest.skip("no real Odoo: set ANBI_TEST_ODOO_URL, ANBI_TEST_ODOO_DATABASE and ANBI_TEST_ODOO_KEY to run these against one")
        codes = {**REAL_DEFAULT, **json.loads(os.environ.get("ANBI_TEST_ODOO_ACCOUNTS", "{}"))}
        database = os.environ["ANBI_TEST_ODOO_DATABASE"]
        name = hashlib.sha256(f"{url} {database}".encode()).hexdigest()[:16]
        with open(Path(tempfile.gettempdir()) / f"anbi-test-odoo-{name}.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_SH)
            yield Target(url, database, os.environ.get("ANBI_TEST_ODOO_LOGIN", "admin"), os.environ["ANBI_TEST_ODOO_KEY"],
                         os.environ.get("ANBI_TEST_ODOO_PROTOCOL", "json2"), codes, f"anbitest{token}", token, lock=lock)
        return
    state = OdooState(analytic=True, accounts=list(DOUBLE_ACCOUNTS.values()) + DOUBLE_EXTRA_ACCOUNTS,
                      today=D(2025, 4, 1), currency="EUR")
    with OdooDouble(state) as double:
        yield Target(double.url, state.database, state.login, state.api_key, kind,
                     {k: v[0] for k, v in DOUBLE_ACCOUNTS.items()}, "anbi", token, state)


@pytest.fixture(params=["json2", "jsonrpc", "real"])
def odoo(request):
    """Both protocols against the double, and a real Odoo when configured."""
    yield from _target(request.param)


@pytest.fixture(params=["json2", "real"])
def odoo_json2(request):
    """For what does not depend on the protocol: the double over JSON-2, and a real Odoo."""
    yield from _target(request.param)


def code(odoo: Target, key: str) -> str:
    return odoo.codes[key]


def account_code(line: dict) -> str:
    return line["account_id"][1].split(" ")[0]


def seed(engine, odoo: Target) -> dict:
    with Session(engine) as session:
        campaign = make_campaign(session, code=f"VJ{odoo.token}", name="Voorjaarsactie")
        fund = make_fund(session, code=f"NOOD{odoo.token}", name="Noodhulp")
        person = make_donor(session, ref=f"P{odoo.token}", first_name="Anna", last_name="Jansen", email="anna@example.nl")
        company = make_donor(session, ref=f"C{odoo.token}", kind="organisation", organisation_name="Bakkerij B.V.")
        make_donation(session, donor=person, date="2025-03-03", amount="25.00", campaign=campaign, reference="R1")
        make_donation(session, donor=person, date="2025-03-03", amount="10.00", campaign=campaign, fund=fund, reference="R2")
        make_donation(session, donor=company, date="2025-03-03", amount="500.00", reference="R3")
        make_donation(session, donor=None, donor_id=None, date="2025-03-04", amount="5.00", reference="R4")
        make_donation(session, donor=person, date="2025-03-04", amount="7.00", status="pending", method="sepa_debit",
                      source="sepa", reference="R5")
        session.commit()
        return {"campaign": campaign.code, "fund": fund.code, "person": person.ref, "company": company.ref}


def sync(cli, env, *args):
    result = cli("odoo", "sync", "--json", *args, env=env)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_donations_are_booked_once_per_day_and_channel(cli, engine, odoo, tmp_path):
    names = seed(engine, odoo)
    env = odoo.config(tmp_path)
    first = sync(cli, env)
    assert first["entries_planned"] == {"donations": 2}
    assert first["donations"] == 4 and first["income_total"] == "540.00"
    assert first["entries_sent"] == {"created": 2, "found": 0, "posted": 0}
    assert first["partners"]["created"] == 2

    moves = {m["ref"]: m for m in odoo.moves("2025-03")}
    march3, march4 = f"{odoo.prefix}:2025-03-03:bank:1", f"{odoo.prefix}:2025-03-04:bank:1"
    assert set(moves) == {march3, march4}
    assert {m["state"] for m in moves.values()} == {"posted"}
    assert (moves[march3]["date"], moves[march3]["amount_total"]) == ("2025-03-03", 535.0)
    lines = odoo.lines(moves[march3]["id"])
    by_key = sorted((account_code(x), x["debit"], x["credit"], bool(x["analytic_distribution"])) for x in lines)
    assert by_key == sorted([
        (code(odoo, "bank"), 535.0, 0.0, False),
        (code(odoo, "income.private_individuals"), 0.0, 25.0, True),   # campaign only
        (code(odoo, "income.private_individuals"), 0.0, 10.0, True),   # campaign and fund
        (code(odoo, "income.companies"), 0.0, 500.0, False),
    ])
    combined = next(x for x in lines if x["credit"] == 10.0)["analytic_distribution"]
    assert list(combined.values()) == [100.0] and "," in next(iter(combined))

    with odoo.client() as client:
        analytic = client.search_read("account.analytic.account", [["code", "in", [names["campaign"], names["fund"]]]],
                                      ["code", "plan_id"])
        assert {(a["code"], a["plan_id"][1]) for a in analytic} == {(names["campaign"], "Campaigns"), (names["fund"], "Grants")}
        partner = client.search_read("res.partner", [["ref", "=", names["company"]]], ["name", "is_company"])
        assert partner == [{"id": partner[0]["id"], "name": "Bakkerij B.V.", "is_company": True}]

    again = sync(cli, env)
    assert (again["entries_planned"], again["entries_sent"], again["partners"]["created"]) == ({}, {"created": 0, "found": 0, "posted": 0}, 0)
    assert again["partners"]["unchanged"] == 2

    with Session(engine) as session:   # a gift that arrives later for a day already exported
        make_donation(session, donor_id=None, date="2025-03-03", amount="1.50", reference="R6")
        session.commit()
    later = sync(cli, env)
    assert later["entries_sent"]["created"] == 1
    assert f"{odoo.prefix}:2025-03-03:bank:2" in {m["ref"] for m in odoo.moves("2025-03-03")}
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(OdooBooking)) == 5


def test_refund_and_correction_are_entries_of_our_own(cli, engine, odoo_json2, tmp_path):
    odoo = odoo_json2
    seed(engine, odoo)
    env = odoo.config(tmp_path)
    sync(cli, env)
    with Session(engine) as session:
        r1 = session.execute(select(Donation).where(Donation.reference == "R1")).scalar_one()
        adjustment, _ = record_adjustment(session, r1, kind="refund", amount_cents=1000, occurred_on=D(2025, 3, 10),
                                          source="import", reference="REF-1")
        r3 = session.execute(select(Donation).where(Donation.reference == "R3")).scalar_one()
        r3.campaign_id = None
        r3.kind = "purchase"   # corrected: it paid for goods (income from goods and services)
        r3.consideration_cents = 50000
        session.commit()
        adjustment_id = adjustment.id
    result = sync(cli, env)
    assert result["entries_planned"] == {"correction": 1, "donations": 1, "refund": 1}
    refund = next(m for m in odoo.moves("refund:") if m["ref"] == f"{odoo.prefix}:refund:{adjustment_id}")
    assert (refund["date"], refund["amount_total"]) == ("2025-03-10", 10.0)
    refund_lines = sorted((account_code(x), x["debit"], x["credit"]) for x in odoo.lines(refund["id"]))
    assert refund_lines == sorted([(code(odoo, "income.private_individuals"), 10.0, 0.0), (code(odoo, "bank"), 0.0, 10.0)])
    [correction] = odoo.moves("correction:")
    correction_lines = sorted((account_code(x), x["debit"], x["credit"]) for x in odoo.lines(correction["id"]))
    assert correction_lines == sorted([(code(odoo, "income.companies"), 500.0, 0.0), (code(odoo, "bank"), 0.0, 500.0)])
    rebooked = next(m for m in odoo.moves("2025-03-03") if m["ref"].endswith(":bank:2"))
    assert sorted((account_code(x), x["debit"], x["credit"]) for x in odoo.lines(rebooked["id"])) == sorted([
        (code(odoo, "bank"), 500.0, 0.0), (code(odoo, "income.goods_and_services"), 0.0, 500.0)])
    # The entry first booked is untouched: posted entries are never edited.
    original = next(m for m in odoo.moves("2025-03-03") if m["ref"].endswith(":bank:1"))
    assert original["amount_total"] == 535.0


def test_a_sync_broken_off_after_odoo_created_an_entry_creates_nothing_twice(cli, engine, odoo_json2, tmp_path, monkeypatch):
    odoo = odoo_json2
    from exports.odoo import sync as service

    seed(engine, odoo)
    env = odoo.config(tmp_path, batch_size=1)   # one entry per batch
    real_send = service.send_batch
    sent: list[Any] = []

    def send_then_break(session, ledger, entry_ids):
        if sent:
            # Odoo makes the second entry, then the connection dies before we record it.
            real_send(session, ledger, entry_ids)
            raise OdooUnreachable(odoo.url, "connection reset", maybe_done=True)
        sent.append(entry_ids)
        return real_send(session, ledger, entry_ids)

    monkeypatch.setattr(service, "send_batch", send_then_break)
    broken = cli("odoo", "sync", env=env)
    assert broken.exit_code == 1 and "unreachable" in broken.stderr
    assert "1 of 2 entries were sent and recorded before that; the 1 in flight may or may not have reached Odoo" in broken.stderr
    assert "run `anbi odoo sync` again" in broken.stderr and len(broken.stderr.splitlines()) == 1
    monkeypatch.setattr(service, "send_batch", real_send)
    result = sync(cli, env)
    assert result["entries_planned"] == {}                      # the plan was saved before sending
    assert result["entries_sent"] == {"created": 0, "found": 1, "posted": 0}
    refs = [m["ref"] for m in odoo.moves("2025-03")]
    assert sorted(refs) == sorted({*refs}) and len(refs) == 2   # no entry twice


def test_dry_run_changes_nothing(cli, engine, odoo_json2, tmp_path):
    odoo = odoo_json2
    seed(engine, odoo)
    result = sync(cli, odoo.config(tmp_path), "--dry-run")
    assert result["entries_planned"] == {"donations": 2} and result["partners"]["created"] == 2
    assert odoo.moves("2025-03") == []
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(OdooEntry)) == 0
        assert session.scalar(select(func.count()).select_from(OdooPartner)) == 0


def test_since_leaves_earlier_donations_for_later(cli, engine, odoo_json2, tmp_path):
    odoo = odoo_json2
    seed(engine, odoo)
    result = sync(cli, odoo.config(tmp_path), "--since", "2025-03-04")
    assert result["entries_planned"] == {"donations": 1} and result["donations"] == 1


def test_merged_donor_partner_is_archived_and_erased_donor_anonymised(cli, engine, odoo_json2, tmp_path):
    odoo = odoo_json2
    from anbi.core.clock import utcnow

    names = seed(engine, odoo)
    env = odoo.config(tmp_path)
    with Session(engine) as session:
        survivor_id = make_donor(session, ref=f"S{odoo.token}", last_name="Jansen").id
        session.commit()
    sync(cli, env)
    with Session(engine) as session:
        from donors.models import Donor

        person = session.execute(select(Donor).where(Donor.ref == names["person"])).scalar_one()
        company = session.execute(select(Donor).where(Donor.ref == names["company"])).scalar_one()
        person.merged_into_id = survivor_id
        company.restricted_at = utcnow()
        session.commit()
    result = sync(cli, env)
    assert (result["partners"]["archived"], result["partners"]["anonymised"]) == (1, 1)
    with odoo.client() as client:
        rows = client.search_read("res.partner", [["ref", "in", [names["person"], names["company"]]],
                                                  ["active", "in", [True, False]]], ["ref", "name", "active", "email"])
    by_ref = {r["ref"]: r for r in rows}
    assert by_ref[names["person"]]["active"] is False and by_ref[names["person"]]["name"] == "Anna Jansen"
    assert by_ref[names["company"]]["name"] == "Anonymised donor" and by_ref[names["company"]]["email"] is False


def test_stripe_gifts_are_income_on_their_own_dates_and_the_payout_moves_them_to_the_bank(cli, engine, odoo_json2, tmp_path):
    odoo = odoo_json2
    from fundraising.models_ledger import StripePayout, StripePayoutItem

    with Session(engine) as session:
        donor = make_donor(session, ref=f"P{odoo.token}")
        a = make_donation(session, donor=donor, source="stripe", reference="pi_1", date="2025-03-01", amount="50.00",
                          method="card", stripe_charge_id="ch_1")
        b = make_donation(session, donor=donor, source="stripe", reference="pi_2", date="2025-03-02", amount="20.00",
                          method="ideal", stripe_charge_id="ch_2")
        payout = StripePayout(payout_id="po_TEST", amount_cents=6655, currency="EUR", arrival_date=D(2025, 3, 5),
                              created_on=D(2025, 3, 3), status="paid", charges_cents=7000, fees_cents=345,
                              refunds_cents=0, disputes_cents=0, other_cents=0, reconciled=True)
        session.add(payout)
        session.flush()
        for n, (donation, gross, fee) in enumerate(((a, 5000, 200), (b, 2000, 145)), 1):
            session.add(StripePayoutItem(payout_pk=payout.id, balance_transaction_id=f"txn_{n}", type="charge",
                                         source_id=f"ch_{n}", charge_id=f"ch_{n}", amount_cents=gross, fee_cents=fee,
                                         net_cents=gross - fee, currency="EUR", created_on=D(2025, 3, n), donation_id=donation.id))
        session.commit()
    result = sync(cli, odoo.config(tmp_path))
    assert result["entries_planned"] == {"donations": 2, "payout": 1} and result["waiting_for_stripe_payout"] == 0
    for day, cents in (("2025-03-01", 50.0), ("2025-03-02", 20.0)):
        [gift] = odoo.moves(f"{day}:stripe:1")
        assert (gift["date"], gift["amount_total"]) == (day, cents)
        assert sorted((account_code(x), x["debit"], x["credit"]) for x in odoo.lines(gift["id"])) == sorted([
            (code(odoo, "stripe_clearing"), cents, 0.0), (code(odoo, "income.private_individuals"), 0.0, cents)])
    [move] = odoo.moves("2025-03-05:stripe-po_TEST")
    assert (move["date"], move["amount_total"]) == ("2025-03-05", 70.0)
    assert sorted((account_code(x), x["debit"], x["credit"]) for x in odoo.lines(move["id"])) == sorted([
        (code(odoo, "bank"), 66.55, 0.0), (code(odoo, "stripe_fees"), 3.45, 0.0),
        (code(odoo, "stripe_clearing"), 0.0, 70.0)])
    assert sync(cli, odoo.config(tmp_path))["entries_planned"] == {}   # the payout is booked once


# --- refusals: a clear message, nothing written on our side, a re-run completes ------------

def _nothing_written(engine):
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(OdooEntry)) == 0
        assert session.scalar(select(func.count()).select_from(OdooPartner)) == 0


def test_unreachable_odoo(cli, engine, odoo, tmp_path):
    if odoo.state is None:
        pytest.skip("needs the double: a real server cannot be made unreachable here")
    seed(engine, odoo)
    result = cli("odoo", "sync", env=odoo.config(tmp_path, url="http://127.0.0.1:9"))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: Odoo at http://127.0.0.1:9 is unreachable") and len(result.stderr.splitlines()) == 1
    _nothing_written(engine)


def test_wrong_key(cli, engine, odoo, tmp_path):
    seed(engine, odoo)
    result = cli("odoo", "sync", env=odoo.config(tmp_path, api_key="not-the-key"))
    assert result.exit_code == 1 and "refused our" in result.stderr and "[odoo] api_key" in result.stderr
    _nothing_written(engine)


def test_account_code_missing_in_odoo_then_fixed(cli, engine, odoo, tmp_path):
    seed(engine, odoo)
    # No chart has it: Odoo's account codes are letters, digits and dots only (999999
    # is "Undistributed Profits/Losses" in Odoo's generic chart).
    odoo.codes["income.companies"] = "NO-SUCH-CODE"
    result = cli("odoo", "sync", env=odoo.config(tmp_path))
    assert result.exit_code == 1
    assert ("account code(s) not found in Odoo's chart of accounts: NO-SUCH-CODE ([odoo.accounts] income.companies)"
            in result.stderr)
    _nothing_written(engine)
    odoo.codes["income.companies"] = DOUBLE_ACCOUNTS["income.companies"][0] if odoo.state else REAL_DEFAULT["income.companies"]
    assert sync(cli, odoo.config(tmp_path))["entries_sent"]["created"] == 2


def test_analytic_accounting_off_says_how_to_turn_it_on(cli, engine, odoo, tmp_path):
    seed(engine, odoo)
    with odoo.exclusive():
        odoo.set_analytic(False)
        try:
            result = cli("odoo", "sync", env=odoo.config(tmp_path))
        finally:
            odoo.set_analytic(True)
    assert result.exit_code == 1
    assert "analytic accounting is off in Odoo: turn it on under Accounting > Configuration > Settings" in result.stderr
    _nothing_written(engine)
    assert sync(cli, odoo.config(tmp_path))["entries_sent"]["created"] == 2


def test_odoo_refuses_an_unbalanced_entry_with_a_clear_error(odoo):
    with odoo.client() as client:
        journal = client.search("account.journal", [["type", "=", "general"]], limit=1)[0]
        accounts = {row["code"]: row["id"] for row in client.search_read(
            "account.account", [["code", "in", [odoo.codes["bank"], odoo.codes["income.private_individuals"]]]], ["code"])}
        with pytest.raises(UnbalancedEntry, match="The entry is not balanced"):
            client.create("account.move", {"move_type": "entry", "journal_id": journal, "ref": f"{odoo.prefix}:unbalanced", "line_ids": [
                [0, 0, {"account_id": accounts[odoo.codes["bank"]], "name": "x", "debit": 50.0, "credit": 0.0}],
                [0, 0, {"account_id": accounts[odoo.codes["income.private_individuals"]], "name": "x", "debit": 0.0, "credit": 40.0}]]})


# --- costs back ------------------------------------------------------------------------------

def _grant_with_costs(engine, odoo: Target, mapping: dict[str, str]) -> str:
    from subsidies.grants import add_grant, parse_grant_file

    reference = f"GR{odoo.token}"
    text = grant_toml(reference=reference, budget=[("PERS", "Personeel", "6000.00"), ("MAT", "Materiaal", "4000.00")])
    text += "\n[odoo.budget_lines]\n" + "".join(f'"{k}" = "{v}"\n' for k, v in mapping.items())
    with Session(engine) as session:
        add_grant(session, parse_grant_file(text), actor="tester")
        session.commit()
    with odoo.client() as client:
        plans = client.search("account.analytic.plan", [["name", "=", "Grants"]], limit=1)
        plan = plans[0] if plans else client.create("account.analytic.plan", {"name": "Grants"})
        analytic = client.create("account.analytic.account", {"name": "Project", "code": reference, "plan_id": plan})
        journal = client.search("account.journal", [["type", "=", "general"]], limit=1)[0]
        ids = {r["code"]: r["id"] for r in client.search_read("account.account", [["code", "in", [
            odoo.codes["stripe_fees"], odoo.codes["bank"], odoo.codes["income.private_individuals"]]]], ["code"])}
        for amount, account, day in ((120.0, odoo.codes["stripe_fees"], "2025-03-10"), (30.5, odoo.codes["stripe_fees"], "2025-04-02")):
            move = client.create("account.move", {"move_type": "entry", "journal_id": journal, "date": day,
                                                   "ref": f"{odoo.prefix}:cost:{amount}", "line_ids": [
                [0, 0, {"account_id": ids[account], "name": "Drukwerk", "debit": amount, "credit": 0.0,
                        "analytic_distribution": {str(analytic): 100.0}}],
                [0, 0, {"account_id": ids[odoo.codes["bank"]], "name": "Drukwerk", "debit": 0.0, "credit": amount}]]})
            client.call("account.move", "action_post", [move])
        # Income on the grant's analytic account is not a cost and is left alone.
        move = client.create("account.move", {"move_type": "entry", "journal_id": journal, "date": "2025-03-11",
                                               "ref": f"{odoo.prefix}:income", "line_ids": [
            [0, 0, {"account_id": ids[odoo.codes["bank"]], "name": "Gift", "debit": 75.0, "credit": 0.0}],
            [0, 0, {"account_id": ids[odoo.codes["income.private_individuals"]], "name": "Gift", "debit": 0.0,
                    "credit": 75.0, "analytic_distribution": {str(analytic): 100.0}}]]})
        client.call("account.move", "action_post", [move])
    return reference


def test_pull_costs_imports_cost_lines_once_on_their_budget_line(cli, engine, odoo, tmp_path):
    reference = _grant_with_costs(engine, odoo, {odoo.codes["stripe_fees"]: "MAT"})
    env = odoo.config(tmp_path)
    result = cli("odoo", "pull-costs", "--grant", reference, "--json", env=env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) | {"notes": []} == {"grants": 1, "created": 2, "already_imported": 0,
                                                          "total": "150.50", "notes": []}
    with Session(engine) as session:
        expenses = session.scalars(select(Expense).order_by(Expense.spent_on)).all()
        assert [(e.source, e.spent_on, e.amount_cents, e.budget_line and e.budget_line.code) for e in expenses] == [
            ("odoo", D(2025, 3, 10), 12000, "MAT"), ("odoo", D(2025, 4, 2), 3050, "MAT")]
    again = json.loads(cli("odoo", "pull-costs", "--grant", reference, "--json", env=env).stdout)
    assert (again["created"], again["already_imported"]) == (0, 2)


def test_pull_costs_stops_on_an_unmapped_account_naming_it(cli, engine, odoo, tmp_path):
    reference = _grant_with_costs(engine, odoo, {"999000": "MAT"})
    result = cli("odoo", "pull-costs", "--grant", reference, env=odoo.config(tmp_path))
    assert result.exit_code == 1
    assert f"grant {reference} [odoo.budget_lines]" in result.stderr
    assert f"Odoo account {odoo.codes['stripe_fees']}" in result.stderr and "maps to no budget line" in result.stderr
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Expense)) == 0
