"""Benchmark: the demo's `anbi odoo sync` against a real Odoo 19 (issue 14).

    ANBI_BENCH_ODOO_URL=http://127.0.0.1:8069 ANBI_BENCH_ODOO_DATABASE=bench ANBI_BENCH_ODOO_KEY=... \\
        .venv/bin/python bench/odoo_sync.py [--protocol jsonrpc --login admin] [--batch-size 100] [--partner-batch-size 1000]
        [--backend postgresql]
    .venv/bin/python bench/odoo_sync.py          # no real Odoo: the test double, request counts only

Seeds a throwaway database with `anbi demo` (3,001 donors; 659 entries: a day of bank
gifts, SEPA batches, a Stripe payout, refunds), untimed, then times the sync as the
command runs it: the partners (with the ledger's checks: key, accounts and their
types, journal, company, plans) and the entries (planned, sent in batches, posted,
read back). Against them, the least Odoo does for the same records: one bare batched
JSON-2 `create` of the same partner values, one of the same entries' values (refs
suffixed `-bare`), and — what a posted entry costs besides — one `action_post` of
those entries. Prints the time per partner and per entry of each and their ratios,
and the sync's number of requests.

The Odoo database must be a throwaway one (it gets the demo's partners and entries
twice): Odoo 19 with `-i account`, the company in EUR, analytic accounting on, and the
accounts of [odoo.accounts] (ANBI_BENCH_ODOO_ACCOUNTS, JSON; by default the codes of
DESIGN.md's example, which Odoo's generic chart only partly has). docs/odoo.md says
how to prepare one.

Targets (issue 14): the sync at most 2x the bare batch, and at least 5x faster than
the sync of one request per partner and per entry it replaces (measured on the demo
in issue 14: 3 min 28 s over JSON-2, 2 min 29 s over JSON-RPC).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import select

from bench.common import fresh_database

POSTGRES_ADMIN = os.environ.get("ANBI_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# DESIGN.md's example of [odoo.accounts].
ACCOUNTS = {
    "bank": "101401", "stripe_clearing": "101402", "stripe_fees": "620000",
    "income.private_individuals": "400100", "income.companies": "400200", "income.lotteries": "400300",
    "income.government_grants": "400400", "income.related_nonprofits": "400450", "income.other_nonprofits": "400500",
    "income.goods_and_services": "400600",
}
ACCOUNT_TYPES = {"bank": "asset_cash", "stripe_clearing": "asset_current", "stripe_fees": "expense"}
BEFORE = {"json2": 208.0, "jsonrpc": 149.0}   # seconds, issue 14: one request per partner and per entry


class Counting(httpx.HTTPTransport):
    """Counts the requests the sync makes, by Odoo model and method."""

    def __init__(self):
        super().__init__()
        self.requests: Counter = Counter()

    def handle_request(self, request):
        if request.url.path.startswith("/json/2/"):
            self.requests[request.url.path[len("/json/2/"):].replace("/", ".")] += 1
        else:
            body = json.loads(request.content or b"{}").get("params", {})
            args = body.get("args", [])
            self.requests[".".join(args[3:5]) if body.get("method") == "execute_kw" else f"{body.get('service')}.{body.get('method')}"] += 1
        return super().handle_request(request)


def seed_demo(engine) -> None:
    """`anbi demo` without its Odoo step (untimed)."""
    from anbi.context import AppContext
    from anbi.core.settings import Settings
    from anbi.demo import run_demo

    app = AppContext(Settings(database_url=str(engine.url)), actor="bench", _engine=engine)
    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()):
        run_demo(app, out)


@contextlib.contextmanager
def odoo_target(args):
    """The [odoo] section for a real Odoo from the environment, or the double's."""
    url = os.environ.get("ANBI_BENCH_ODOO_URL")
    accounts = {**ACCOUNTS, **json.loads(os.environ.get("ANBI_BENCH_ODOO_ACCOUNTS", "{}"))}
    if url:
        yield {"url": url, "database": os.environ["ANBI_BENCH_ODOO_DATABASE"], "api_key": os.environ["ANBI_BENCH_ODOO_KEY"],
               "protocol": args.protocol, "login": args.login, "timeout": 600, "retries": 0, "batch_size": args.batch_size,
               "partner_batch_size": args.partner_batch_size,
               "accounts": _nested(accounts)}, None
        return
    from tests.odoo_double import OdooDouble, OdooState

    state = OdooState(analytic=True, currency="EUR", accounts=[
        (code, key, ACCOUNT_TYPES.get(key, "income")) for key, code in accounts.items()])
    with OdooDouble(state) as double:
        yield {"url": double.url, "database": state.database, "api_key": state.api_key, "protocol": args.protocol,
               "login": state.login, "timeout": 600, "retries": 0, "batch_size": args.batch_size,
               "partner_batch_size": args.partner_batch_size,
               "accounts": _nested(accounts)}, state


def _nested(flat: dict[str, str]) -> dict:
    accounts: dict = {}
    for key, code in flat.items():
        head, _, sub = key.partition(".")
        if sub:
            accounts.setdefault(head, {})[sub] = code
        else:
            accounts[head] = code
    return accounts


def run_sync(engine, section, transport) -> dict:
    """The command's steps, timed: partners (with Ledger.open) and entries."""
    from anbi.context import AppContext
    from anbi.core.settings import Settings
    from exports.odoo import sync
    from exports.odoo.client import OdooClient, OdooSettings

    app = AppContext(Settings(database_url=str(engine.url), sections={"odoo": section}), actor="bench", _engine=engine)
    client = OdooClient(OdooSettings.from_settings(section), transport=transport)
    start = time.perf_counter()
    ledger = sync.Ledger.open(client, section)
    with app.session() as session:
        partners = sync.sync_partners(session, ledger)
    middle = time.perf_counter()
    with app.session() as session:
        planned = sync.plan_entries(session, since=None, prefix=ledger.prefix, require=ledger.require)
    sent = sync.send_entries(app.session, ledger)
    with app.session() as session:
        sync.record_names(session, ledger)
    end = time.perf_counter()
    return {"ledger": ledger, "client": client, "partners": partners, "entries": sum(planned.entries.values()),
            "sent": sent, "partner_seconds": middle - start, "entry_seconds": end - middle}


def run_bare(engine, section, ledger) -> dict:
    """One JSON-2 create of the same partner values, one of the same entries' values
    (refs suffixed -bare), and one post of those entries."""
    from sqlalchemy.orm import Session

    from donors.models import Donor
    from exports.odoo import sync
    from exports.odoo.client import OdooClient, OdooSettings
    from exports.odoo.models import OdooEntry

    with Session(engine) as session:
        donors = list(session.scalars(select(Donor).where(Donor.merged_into_id.is_(None), Donor.restricted_at.is_(None),
                                                         Donor.purged_at.is_(None)).order_by(Donor.id)))
        partners = [{**sync.partner_values(d, ledger.country(d.country)), "ref": f"{d.ref}-bare"} for d in donors]
        entries = list(session.scalars(select(OdooEntry).order_by(OdooEntry.id)))
        moves = [{**values, "ref": f"{values['ref']}-bare"} for values in sync.move_values(session, ledger, entries)]
    bare = OdooClient(OdooSettings.from_settings({**section, "protocol": "json2", "login": ""}))
    with bare:
        start = time.perf_counter()
        bare.create_many("res.partner", partners)
        created = time.perf_counter()
        ids = bare.create_many("account.move", moves)
        moved = time.perf_counter()
        bare.call("account.move", "action_post", ids)
        posted = time.perf_counter()
    return {"partners": len(partners), "entries": len(moves), "partner_seconds": created - start,
            "entry_seconds": moved - created, "post_seconds": posted - moved}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--protocol", choices=["json2", "jsonrpc"], default=os.environ.get("ANBI_BENCH_ODOO_PROTOCOL", "json2"))
    parser.add_argument("--login", default=os.environ.get("ANBI_BENCH_ODOO_LOGIN", "admin"), help="for jsonrpc")
    parser.add_argument("--batch-size", type=int, default=100, help="entries per request ([odoo] batch_size)")
    parser.add_argument("--partner-batch-size", type=int, default=1000, help="partners per request")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir, fresh_database(args.backend, Path(workdir), POSTGRES_ADMIN) as engine:
        seed_demo(engine)
        with odoo_target(args) as (section, double):
            transport = Counting()
            result = run_sync(engine, section, transport)
            requests = sum(transport.requests.values())
            n_partners, n_entries = result["partners"].created, result["entries"]
            where = (f"Odoo at {section['url']} ({args.protocol}), database {section['database']}" if double is None
                     else f"no real Odoo (set ANBI_BENCH_ODOO_URL, _DATABASE and _KEY): the test double ({args.protocol}), "
                          "request counts only")
            print(f"{where}; the demo: {n_partners} partners created, {n_entries} entries, batches of {args.batch_size} entries "
                  f"and {args.partner_batch_size} partners, "
                  f"{args.backend}")
            print(f"sync: {requests} requests — " + ", ".join(f"{n} {name}" for name, n in transport.requests.most_common()))
            if double is not None:
                print("times against the double say nothing about Odoo; run against a real Odoo 19 for them")
                return
            total = result["partner_seconds"] + result["entry_seconds"]
            bare = run_bare(engine, section, result["ledger"])
            ms = lambda seconds, n: f"{seconds * 1000 / max(n, 1):.1f} ms"  # noqa: E731
            print(f"sync: {total:.1f} s — partners {result['partner_seconds']:.1f} s ({ms(result['partner_seconds'], n_partners)} "
                  f"a partner), entries {result['entry_seconds']:.1f} s ({ms(result['entry_seconds'], n_entries)} an entry, "
                  "posted and read back)")
            print(f"bare JSON-2: create {bare['partners']} partners {bare['partner_seconds']:.1f} s "
                  f"({ms(bare['partner_seconds'], bare['partners'])}), create {bare['entries']} entries "
                  f"{bare['entry_seconds']:.1f} s ({ms(bare['entry_seconds'], bare['entries'])}), post them "
                  f"{bare['post_seconds']:.1f} s ({ms(bare['post_seconds'], bare['entries'])})")
            partner_ratio = result["partner_seconds"] / bare["partner_seconds"]
            entry_ratio = result["entry_seconds"] / bare["entry_seconds"]
            posted_ratio = result["entry_seconds"] / (bare["entry_seconds"] + bare["post_seconds"])
            print(f"ratio to the bare batch: partners {partner_ratio:.2f}x the create; entries {entry_ratio:.2f}x the "
                  f"create, {posted_ratio:.2f}x create and post (target: at most 2x)")
            print(f"against one request per record (issue 14: {BEFORE[args.protocol]:.0f} s on the demo over "
                  f"{args.protocol}): {BEFORE[args.protocol] / total:.1f}x faster (target: at least 5x; measure the "
                  "old code on the same server for a fair figure)")


if __name__ == "__main__":
    main()
