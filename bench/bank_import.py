"""Benchmark: `anbi bank import` of a generated camt.053 with 100,000 entries, against
parsing the same file with lxml alone.

The statement (written by `fundraising.bank.camt_writer`, untimed) holds N entries as a
Dutch charity's account shows them: 80% transfers from known donors (found by IBAN,
one in ten naming a campaign code), 15% from payers we do not know (they go to the
review list), 5% money out. The donors are bulk-inserted first (untimed).

Timed three times each, each import right after a run of the baseline (the
machine's load drifts), medians taken, as wall-clock time and as CPU time (which
other work on a shared machine does not inflate as much):
- baseline: lxml parses the file and reads each entry's amount, direction, booking
  date, end-to-end id, payer IBAN and text (what any camt reader must do);
- import: `fundraising.bank.booking.import_statement` in one transaction, as the
  command runs it — schema check, reading, matching, the donations and bank lines
  written, the commit — on a fresh database each time. Its CPU time is this
  process's and, on PostgreSQL, the server process's that served it (the COPY and
  the index updates are work the import makes the server do).
Prints entries/s of each and the ratios import/baseline, on CPU (`bank_import`) and
wall-clock time (`bank_import-wall`), target at least 0.2 for both, on SQLite and on
PostgreSQL (a throwaway database anbi_bench_<random>, dropped after).

    .venv/bin/python bench/bank_import.py                     # 100,000 entries, both databases
    .venv/bin/python bench/bank_import.py --quick             # 10,000 entries
    .venv/bin/python bench/bank_import.py --entries 50000 --backend sqlite
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lxml import etree
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session
from stdnum import iban as stdnum_iban

from anbi.core.db import utcnow
from bench.common import DEFAULT_POSTGRES, Result, finish, fresh_database, insert_in_batches, process_cpu, server_pid
from donors.models import Donor
from fundraising.bank import camt_writer as w
from fundraising.bank.booking import BankImportSummary, import_statement
from fundraising.models import Campaign
from fundraising.models_ledger import BankLine

TARGET = 0.2
RUNS = 3
NS = "{urn:iso:std:iso:20022:tech:xsd:camt.053.001.02}"


def make_iban(number: int) -> str:
    account = f"{number:010d}"
    check = stdnum_iban.calc_check_digits(f"NLXXINGB{account}")
    return f"NL{check}INGB{account}"


def generate(path: Path, entries: int, donors: list[tuple[str, str]], seed: int = 1) -> None:
    rng = random.Random(seed)
    start = dt.date(2025, 1, 2)
    rows = []
    for n in range(entries):
        day = start + dt.timedelta(days=n * 360 // entries)
        roll = rng.random()
        if roll < 0.80:
            ref, iban = donors[rng.randrange(len(donors))]
            text = f"gift {'VOORJAAR ' if rng.random() < 0.1 else ''}{rng.randint(1, 9999)}"
            rows.append(w.transfer(day, rng.choice((500, 1000, 2500, 5000, 10000, 1750)), name=f"Donor {ref}", iban=iban,
                                   remittance=text))
        elif roll < 0.95:
            rows.append(w.transfer(day, rng.randint(100, 50000), name="Onbekend", iban=make_iban(5_000_000 + n),
                                   remittance="voor het goede doel"))
        else:
            rows.append(w.Entry(day, "debit", [w.Transaction(rng.randint(1000, 500000), None, None, "Leverancier",
                                                             make_iban(9_000_000 + n), f"factuur {n}")]))
    w.write(path, w.StatementSpec("NL91ABNA0417164300", f"BENCH-{entries}", 10_000_000, rows))


def baseline(path: Path) -> tuple[float, float]:
    """lxml alone: parse, and read per entry what a reader must."""
    started, cpu = time.perf_counter(), time.process_time()
    tree = etree.parse(str(path), etree.XMLParser(huge_tree=True))
    count = 0
    for entry in tree.getroot().iter(f"{NS}Ntry"):
        entry.findtext(f"{NS}Amt")
        entry.findtext(f"{NS}CdtDbtInd")
        entry.findtext(f"{NS}BookgDt/{NS}Dt")
        tx = entry.find(f"{NS}NtryDtls/{NS}TxDtls")
        if tx is not None:
            tx.findtext(f"{NS}Refs/{NS}EndToEndId")
            tx.findtext(f"{NS}RltdPties/{NS}DbtrAcct/{NS}Id/{NS}IBAN")
            tx.findtext(f"{NS}RmtInf/{NS}Ustrd")
        count += 1
    elapsed = time.perf_counter() - started, time.process_time() - cpu
    assert count > 0
    return elapsed


def seed(engine, count: int) -> list[tuple[str, str]]:
    now = utcnow()
    donors = [(f"B{n:07d}", make_iban(n + 1)) for n in range(count)]
    with engine.begin() as connection:
        insert_in_batches(connection, Donor.__table__, (
            dict(ref=ref, kind="person", last_name=f"Donor{n}", sort_name=f"donor{n}", country="NL", iban=iban,
                 language="nl", created_at=now, updated_at=now)
            for n, (ref, iban) in enumerate(donors)))
        connection.execute(insert(Campaign), [dict(code="VOORJAAR", name="Voorjaar", cost_cents=0, currency="EUR",
                                                   created_at=now, updated_at=now)])
    return donors


def run_import(engine, data: bytes) -> tuple[tuple[float, float], BankImportSummary]:
    """((wall seconds, CPU seconds), summary) of one import; the CPU time includes the
    PostgreSQL server process's, when it runs on this machine."""
    with Session(engine) as session:
        pid = server_pid(session.connection()) if engine.dialect.name == "postgresql" else None
        server_before = process_cpu(pid) if pid else 0.0
        started, cpu = time.perf_counter(), time.process_time()
        summary = import_statement(session, data, name="bench.xml", actor="bench")
        session.commit()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        if pid:
            cpu += process_cpu(pid) - server_before
    return (wall, cpu), summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="5,000 entries")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    args = parser.parse_args()
    entries = 5_000 if args.quick else args.entries
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        work = Path(workdir)
        donor_count = max(100, entries // 5)
        donors = [(f"B{n:07d}", make_iban(n + 1)) for n in range(donor_count)]
        path = work / "statement.xml"
        generate(path, entries, donors)
        data = path.read_bytes()
        print(f"camt.053 with {entries:,} entries, {len(data) / 1e6:.1f} MB", flush=True)
        baseline(path)
        for backend in backends:
            bare_runs, import_runs = [], []
            for _ in range(RUNS):
                bare_runs.append(baseline(path))
                with fresh_database(backend, work, args.postgres_url) as engine:
                    seed(engine, donor_count)
                    took, summary = run_import(engine, data)
                    with Session(engine) as session:
                        lines = session.scalar(select(func.count()).select_from(BankLine))
                    if lines != entries:
                        raise SystemExit(f"{backend}: {lines} bank lines stored of {entries}")
                import_runs.append(took)
            wall_bare, cpu_bare = (statistics.median(run[i] for run in bare_runs) for i in (0, 1))
            wall, cpu = (statistics.median(run[i] for run in import_runs) for i in (0, 1))
            server = " (with the server's)" if backend == "postgresql" else ""
            print(f"  {backend}:")
            print(f"    lxml alone  {wall_bare:7.2f} s wall {entries / wall_bare:9,.0f} entries/s   "
                  f"{cpu_bare:7.2f} s CPU {entries / cpu_bare:9,.0f} entries/s")
            print(f"    import      {wall:7.2f} s wall {entries / wall:9,.0f} entries/s   "
                  f"{cpu:7.2f} s CPU{server} {entries / cpu:9,.0f} entries/s")
            print(f"    ratio import/lxml: {wall_bare / wall:.2f} wall, {cpu_bare / cpu:.2f} CPU  "
                  f"[{summary.donations:,} donations, {summary.unmatched:,} to review, {summary.ignored:,} money out]",
                  flush=True)
            results.append(Result("bank_import", backend, entries / cpu, entries / cpu_bare, "entries/cpu-s", ">=", TARGET))
            results.append(Result("bank_import-wall", backend, entries / wall, entries / wall_bare, "entries/s", ">=",
                                  TARGET))
    return finish(results)


if __name__ == "__main__":
    sys.exit(main())
