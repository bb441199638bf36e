"""How the sync talks to Odoo, against the double (both protocols, both databases)
and a real Odoo when configured (see test_odoo_sync): the company's currency and the
account types checked before anything is sent, entries a lock date moves, messages
that say what happened, the dry run's partner counts, batches (a fixed number of
requests, whatever the number of partners and entries) and a sync killed mid-batch."""
# ruff: noqa: F811  (a test's parameter `odoo` is the fixture imported below)
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from donors.models import Donor
from exports.odoo.models import OdooEntry, OdooPartner
from tests.exports.test_odoo_sync import _nothing_written, seed, sync
from tests.exports.test_odoo_sync import odoo, odoo_json2  # noqa: F401  (the same fixtures: double and real Odoo)
from tests.factories import make_donation, make_donor
from tests.odoo_double import OdooException

# --- 1. the company's currency -------------------------------------------------------------


def test_a_company_booking_in_another_currency_is_refused_before_anything_is_sent(cli, engine, odoo, tmp_path):
    seed(engine, odoo)
    if odoo.state is not None:
        odoo.state.records["res.company"][1]["currency_id"] = 1     # USD, as a fresh Odoo with the generic chart
        env = odoo.config(tmp_path)
        expected = "Odoo's company 'My Company' keeps its books in USD and the gifts are in EUR: nothing was sent"
    else:
        # A real server's company books in EUR (the other tests need it): a journal in
        # USD is refused the same way.
        with odoo.client() as client:
            usd = client.search("res.currency", [["name", "=", "USD"], ["active", "in", [True, False]]], limit=1)[0]
            client.write("res.currency", [usd], {"active": True})
            code = f"U{odoo.token[:4]}"
            client.create("account.journal", {"name": f"anbi test {odoo.token}", "code": code, "type": "general",
                                              "currency_id": usd})
        env = odoo.config(tmp_path, journal=code)
        expected = f"Odoo's journal {code} keeps its books in USD and the gifts are in EUR: nothing was sent"
    result = cli("odoo", "sync", env=env)
    assert result.exit_code == 1
    assert expected in result.stderr and len(result.stderr.splitlines()) == 1
    _nothing_written(engine)
    assert odoo.moves("2025-03") == []


# --- 2. a lock date -------------------------------------------------------------------------


def test_entries_in_a_locked_period_stop_the_sync_before_anything_is_sent(cli, engine, odoo_json2, tmp_path):
    odoo = odoo_json2
    seed(engine, odoo)
    with odoo.locked_until("2025-03-03"):
        dry = sync(cli, odoo.config(tmp_path), "--dry-run")
        result = cli("odoo", "sync", env=odoo.config(tmp_path))
    assert (dry["lock_date"], dry["entries_in_locked_period"]) == ("2025-03-03", 1)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: Odoo's books are locked up to 2025-03-03: 1 entry of ours is dated on or "
                                    f"before it (the first: {odoo.prefix}:2025-03-03:bank:1 of 2025-03-03)")
    assert 'set [odoo] on_lock_date = "report"' in result.stderr and "Nothing was sent" in result.stderr
    assert odoo.moves("2025-03") == []
    with Session(engine) as session:   # the plan is kept for the next run
        assert session.scalar(select(func.count()).select_from(OdooEntry).where(OdooEntry.posted.is_(False))) == 2
    again = sync(cli, odoo.config(tmp_path))
    assert again["entries_sent"] == {"created": 2, "found": 0, "posted": 0} and again["entries_redated"] == []


def test_report_lets_odoo_move_entries_and_keeps_both_dates(cli, engine, odoo_json2, tmp_path):
    odoo = odoo_json2
    seed(engine, odoo)
    with odoo.locked_until("2025-03-03"):
        result = sync(cli, odoo.config(tmp_path, on_lock_date="report"))
        text = cli("odoo", "sync", env=odoo.config(tmp_path, on_lock_date="report"))
    ref = f"{odoo.prefix}:2025-03-03:bank:1"
    [moved] = result["entries_redated"]
    assert (moved["ref"], moved["date"]) == (ref, "2025-03-03")
    # Odoo's next open day: the day after the lock, its month's last day once that month is over.
    odoo_day = moved["odoo_date"]
    assert odoo_day > "2025-03-03"
    assert result["entries_sent"]["created"] == 2
    moves = {m["ref"]: m for m in odoo.moves("2025-03")}
    assert moves[ref]["date"] == odoo_day and moves[f"{odoo.prefix}:2025-03-04:bank:1"]["date"] == "2025-03-04"
    with Session(engine) as session:
        entry = session.execute(select(OdooEntry).where(OdooEntry.ref == ref)).scalar_one()
        assert entry.entry_date is not None and entry.odoo_date is not None
        assert (entry.entry_date.isoformat(), entry.odoo_date.isoformat(), entry.posted) == ("2025-03-03", odoo_day, True)
        assert entry.move_name is not None
    assert text.exit_code == 0   # nothing left to send: no warning the second time
    assert "WARNING" not in text.stdout


def test_an_entry_odoo_moves_anyway_stops_the_sync_after_its_batch_is_recorded(cli, engine, odoo_json2, tmp_path, monkeypatch):
    """Odoo may move an entry for a lock the company's dates do not show (an exception
    ran out, a tax lock): the date read back decides."""
    odoo = odoo_json2
    from exports.odoo import sync as service

    seed(engine, odoo)
    monkeypatch.setattr(service, "entries_in_locked_period", lambda session, ledger: [])
    with odoo.locked_until("2025-03-03"):
        result = cli("odoo", "sync", env=odoo.config(tmp_path, batch_size=1))
    ref = f"{odoo.prefix}:2025-03-03:bank:1"
    assert result.exit_code == 1
    assert f"error: Odoo booked 1 entry on another date than ours ({ref} 2025-03-03 -> " in result.stderr
    assert "they are recorded with Odoo's date. The sync stopped after 1 of 2 entries" in result.stderr
    with Session(engine) as session:
        entries = {e.ref: e for e in session.scalars(select(OdooEntry))}
        assert entries[ref].posted and entries[ref].odoo_date is not None
        assert not entries[f"{odoo.prefix}:2025-03-04:bank:1"].posted
    monkeypatch.undo()
    assert sync(cli, odoo.config(tmp_path))["entries_sent"] == {"created": 1, "found": 0, "posted": 0}


# --- 3. account types -----------------------------------------------------------------------


def test_an_account_of_the_wrong_type_is_refused_naming_it(cli, engine, odoo, tmp_path):
    seed(engine, odoo)
    odoo.codes["income.companies"] = "301000"              # Capital (equity) in Odoo's generic chart
    odoo.codes["stripe_fees"] = odoo.codes["bank"]         # an asset as fees
    result = cli("odoo", "sync", env=odoo.config(tmp_path))
    assert result.exit_code == 1
    assert ("[odoo.accounts] income.companies = 301000 is 'Capital' of type equity in Odoo, an income account must be "
            "of type Income or Other Income") in result.stderr
    assert (f"[odoo.accounts] stripe_fees = {odoo.codes['bank']} is 'Bank' of type asset_cash in Odoo, a fees account "
            "must be of type Expenses, Other Expenses or Cost of Revenue") in result.stderr
    assert len(result.stderr.splitlines()) == 1
    _nothing_written(engine)


def test_account_types_are_checked_by_key():
    from exports.odoo.sync import wrong_account_types

    accounts = {"1": {"name": "Bank", "account_type": "asset_cash"}, "2": {"name": "Kruisposten", "account_type": "asset_current"},
                "3": {"name": "Debiteuren", "account_type": "asset_receivable"}, "4": {"name": "Giften", "account_type": "income"},
                "5": {"name": "Overige baten", "account_type": "income_other"}, "6": {"name": "Kosten", "account_type": "expense"},
                "7": {"name": "Eigen vermogen", "account_type": "equity"}}
    fine = {"bank": "1", "stripe_clearing": "2", "income.companies": "4", "income.lotteries": "5", "stripe_fees": "6",
            "something_new": "7"}   # a key this version does not know is not checked
    assert wrong_account_types(fine, accounts) == []
    wrong = wrong_account_types({"bank": "3", "stripe_clearing": "4", "income.companies": "6", "stripe_fees": "4"}, accounts)
    assert [(key, kind) for key, _, _, kind, _ in wrong] == [
        ("bank", "asset_receivable"), ("income.companies", "expense"), ("stripe_clearing", "income"), ("stripe_fees", "income")]


# --- 4. messages -----------------------------------------------------------------------------


def test_a_wrong_database_is_one_plain_line(cli, engine, odoo, tmp_path):
    seed(engine, odoo)
    result = cli("odoo", "sync", env=odoo.config(tmp_path, database=f"no_such_db_{odoo.token}"))
    assert result.exit_code == 1
    assert result.stderr == (f"error: Odoo at {odoo.url} has no database 'no_such_db_{odoo.token}' (or its --db-filter "
                             "hides it): check [odoo] database; nothing was sent\n")
    _nothing_written(engine)


def test_a_connection_dropped_mid_sync_says_how_far_it_got_and_that_a_rerun_is_safe(cli, engine, odoo, tmp_path):
    if odoo.state is None:
        pytest.skip("needs the double: a real server's connection is not dropped on cue")
    seed(engine, odoo)
    with Session(engine) as session:   # a third entry, so the second batch breaks off after the first
        make_donation(session, donor_id=None, date="2025-03-05", amount="3.00", reference="R7")
        session.commit()
    env = odoo.config(tmp_path, batch_size=2)
    creates = []

    def drop_the_second_create(model, method):
        if (model, method) == ("account.move", "create"):
            creates.append(1)
            if len(creates) == 2:
                odoo.state.drop_after.add(("account.move", "create"))

    odoo.state.after_call = drop_the_second_create
    broken = cli("odoo", "sync", env=env)
    assert broken.exit_code == 1 and len(broken.stderr.splitlines()) == 1
    assert broken.stderr.startswith(f"error: Odoo at {odoo.url} is unreachable: the connection dropped during "
                                    "account.move.create (Odoo may have done it).")
    assert ("2 of 3 entries were sent and recorded before that; the 1 in flight may or may not have reached Odoo; "
            "run `anbi odoo sync` again: it looks every partner and entry up by its ref before creating it, "
            "so nothing is booked twice") in broken.stderr
    assert "nothing was changed" not in broken.stderr
    odoo.state.after_call, odoo.state.drop_after = None, set()
    again = sync(cli, env)
    assert again["entries_sent"] == {"created": 0, "found": 0, "posted": 1}   # Odoo made it; it was not posted yet
    refs = [m["ref"] for m in odoo.moves("2025-03")]
    assert len(refs) == 3 == len(set(refs))
    assert {m["state"] for m in odoo.moves("2025-03")} == {"posted"}


def test_a_connection_dropped_while_sending_partners_says_so(cli, engine, odoo, tmp_path):
    if odoo.state is None:
        pytest.skip("needs the double: a real server's connection is not dropped on cue")
    seed(engine, odoo)
    odoo.state.drop_after.add(("res.partner", "create"))
    broken = cli("odoo", "sync", env=odoo.config(tmp_path))
    assert broken.exit_code == 1
    assert "the connection dropped during res.partner.create (Odoo may have done it)" in broken.stderr
    assert "0 of 2 partners were sent before that" in broken.stderr and "nothing is booked twice" in broken.stderr
    odoo.state.drop_after = set()
    again = sync(cli, odoo.config(tmp_path))
    assert (again["partners"]["created"], again["partners"]["unchanged"]) == (0, 2)   # found by ref, as made
    with odoo.client() as client:
        assert len(client.search("res.partner", [["ref", "like", odoo.token]])) == 2


def test_a_refused_entry_is_named_and_those_before_it_are_kept(cli, engine, odoo_json2, tmp_path):
    odoo = odoo_json2
    if odoo.state is None:
        pytest.skip("needs the double: a real server refuses none of our entries")
    seed(engine, odoo)
    original = odoo.state._create_move

    def refuse_march_4(vals):
        if vals.get("ref", "").endswith(":2025-03-04:bank:1"):
            raise OdooException("odoo.exceptions.ValidationError", "The journal is archived.", 422)
        return original(vals)

    odoo.state._create_move = refuse_march_4
    result = cli("odoo", "sync", env=odoo.config(tmp_path))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: Odoo refused account.move.create (ValidationError): The journal is archived. "
                                    f"(entry {odoo.prefix}:2025-03-04:bank:1; 1 of 2 entries were sent and recorded before it")
    assert [m["ref"] for m in odoo.moves("2025-03")] == [f"{odoo.prefix}:2025-03-03:bank:1"]
    odoo.state._create_move = original
    assert sync(cli, odoo.config(tmp_path))["entries_sent"] == {"created": 1, "found": 0, "posted": 0}


def test_the_dry_run_counts_partners_already_in_odoo(cli, engine, odoo, tmp_path):
    names = seed(engine, odoo)
    env = odoo.config(tmp_path)
    sync(cli, env)
    with Session(engine) as session:   # our links lost (a restored backup, a new install): Odoo still has them
        session.execute(delete(OdooPartner))
        session.execute(select(Donor).where(Donor.ref == names["person"])).scalar_one().email = "anna.jansen@example.nl"
        session.commit()
    dry = sync(cli, env, "--dry-run")
    assert dry["partners"] | {} == {"created": 0, "updated": 1, "unchanged": 1, "archived": 0, "anonymised": 0}
    real = sync(cli, env)
    assert real["partners"] == dry["partners"]
    with odoo.client() as client:
        rows = client.search_read("res.partner", [["ref", "=", names["person"]]], ["email"])
    assert [r["email"] for r in rows] == ["anna.jansen@example.nl"]
    assert sync(cli, env, "--dry-run")["partners"]["unchanged"] == 2


def test_refusals_of_rights_name_the_rights_the_user_needs():
    from exports.odoo.errors import refusal

    class Settings:
        url, database, protocol = "https://odoo.example", "db", "json2"

    error = refusal({"name": "odoo.exceptions.AccessError", "message": "You are not allowed to create 'Contact' "
                     "(res.partner) records.\n\nThis operation is allowed for the following groups:\n\t- Contact/Creation"},
                    "res.partner", "create", Settings())
    assert str(error) == ("Odoo refused res.partner.create (AccessError): You are not allowed to create 'Contact' "
                          "(res.partner) records. — the Odoo user of [odoo] api_key needs the rights 'Accounting: "
                          "Invoicing' and 'Contact: Creation' (docs/odoo.md, 'The Odoo user')")


# --- 7. batches ----------------------------------------------------------------------------


def test_partners_and_entries_go_in_batches(cli, engine, odoo, tmp_path):
    """The number of requests grows with the number of batches, not of partners or
    entries: 250 donors and 30 days of gifts in batches of 100."""
    if odoo.state is None:
        pytest.skip("counts the double's requests")
    with Session(engine) as session:
        donors = [make_donor(session, ref=f"B{odoo.token}{n:04d}", last_name=f"Donor {n}", country="NL") for n in range(250)]
        for n, donor in enumerate(donors):
            make_donation(session, donor=donor, date=f"2025-03-{n % 30 + 1:02d}", amount="10.00", reference=f"G{n}")
        session.commit()
    odoo.state.calls.clear()
    result = sync(cli, odoo.config(tmp_path, batch_size=100, partner_batch_size=100))
    assert result["partners"]["created"] == 250 and result["entries_sent"]["created"] == 30
    calls = [call for call in odoo.state.calls if call[0] in ("res.partner", "account.move", "res.country")]
    assert calls.count(("res.country", "search_read")) == 1
    assert calls.count(("res.partner", "search_read")) == 3 and calls.count(("res.partner", "create")) == 3
    assert calls.count(("account.move", "search_read")) == 1 and calls.count(("account.move", "create")) == 1
    assert calls.count(("account.move", "action_post")) == 1 and calls.count(("account.move", "read")) == 1
    with Session(engine) as session:   # each entry's move id and name, read back with its batch
        names = session.scalars(select(OdooEntry.move_name).order_by(OdooEntry.entry_date)).all()
    assert names[0] == "MISC/2025/03/0001" and len(set(names)) == 30


def test_batch_size_and_on_lock_date_are_checked(cli, engine, odoo_json2, tmp_path):
    odoo = odoo_json2
    result = cli("odoo", "sync", env=odoo.config(tmp_path, batch_size=0, on_lock_date="later", partner_batch_size="many"))
    assert result.exit_code == 1
    # Refused when anbi starts, all three in the one line, each naming the file.
    (line,) = result.stderr.splitlines()
    config = str(tmp_path / "anbi.toml")
    for problem in ('[odoo] on_lock_date must be "stop" or "report", not \'later\'',
                    "[odoo] batch_size must be a whole number from 1 to 5000, not 0",
                    "[odoo] partner_batch_size must be a whole number from 1 to 5000, not 'many'"):
        assert f"{config} {problem}" in line


# --- a sync killed mid-batch ----------------------------------------------------------------


def test_a_sync_killed_while_odoo_makes_a_batch_loses_and_doubles_nothing(cli, db_url, engine, odoo_json2, tmp_path):
    """`anbi odoo sync` as a process, killed (SIGKILL) once Odoo has made its second
    batch of entries and before the answer reaches it: the run again finds that batch
    by its refs, records it and creates nothing twice."""
    odoo = odoo_json2
    if odoo.state is None:
        pytest.skip("needs the double: the kill is timed to the moment Odoo has made the batch")
    seed(engine, odoo)
    env = odoo.config(tmp_path, batch_size=1)
    creates, killed = [], threading.Event()
    process: list[subprocess.Popen] = []

    def kill_during_the_second_create(model, method):
        if (model, method) == ("account.move", "create"):
            creates.append(1)
            if len(creates) == 2:
                process[0].send_signal(signal.SIGKILL)
                process[0].wait()
                killed.set()

    odoo.state.after_call = kill_during_the_second_create
    process.append(subprocess.Popen(
        [sys.executable, "-c", "from anbi.cli import main; main()", "--database-url", db_url, "odoo", "sync"],
        cwd=tmp_path, env={**os.environ, "ANBI_DATABASE_URL": "", **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    process[0].communicate(timeout=120)
    assert killed.is_set() and process[0].returncode == -signal.SIGKILL
    odoo.state.after_call = None
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(OdooEntry).where(OdooEntry.posted.is_(True))) == 1
    again = sync(cli, env)
    assert again["entries_planned"] == {} and again["entries_sent"] == {"created": 0, "found": 0, "posted": 1}
    refs = [m["ref"] for m in odoo.moves("2025-03")]
    assert sorted(refs) == [f"{odoo.prefix}:2025-03-03:bank:1", f"{odoo.prefix}:2025-03-04:bank:1"]
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(OdooEntry).where(OdooEntry.posted.is_(False))) == 0
    assert json.loads(cli("odoo", "sync", "--json", env=env).stdout)["entries_sent"] == {"created": 0, "found": 0, "posted": 0}


def test_sync_options_read_numbers_from_the_environment_too():
    from exports.odoo.sync import sync_options

    assert sync_options({}) == ("stop", 100, 1000)
    assert sync_options({"batch_size": "20", "partner_batch_size": 500, "on_lock_date": "report"}) == ("report", 20, 500)
