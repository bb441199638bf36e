"""Benchmark: `anbi sepa batch` for 50,000 collections — time and peak memory.

Bulk-inserts (untimed) N donors, each with a mandate and a monthly recurring SEPA
gift (one in twenty with a changed account since its last collection, so the
amendment path is exercised), then times the whole batch as the command runs it:
reading the registers, deciding, recording N pending donations and collections,
building the pain.008.001.02 file, checking it against the ISO schema and writing
it, and the commit. Peak memory is measured in a second run under tracemalloc
(Python allocations), next to the process's peak resident size. On SQLite and on
PostgreSQL (a throwaway database anbi_bench_<random>, dropped afterwards).

Baseline: sepaxml alone building and exporting the same N payments, then checking
the file against the same ISO schema the way anbi does (lxml's XMLSchema with the
XSD sepaxml ships) and writing it — the least any batch writer that validates its
file has to do; no database. Each is timed three times, the medians count.
Targets: the batch takes no more than 4x the baseline (`sepa_batch`); peak Python
memory under 1 GiB (`sepa_batch-memory`).

    .venv/bin/python bench/sepa_batch.py                      # 50,000 collections, both databases
    .venv/bin/python bench/sepa_batch.py --quick              # 5,000
    .venv/bin/python bench/sepa_batch.py --collections 20000 --backend sqlite
"""
from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from anbi.core.db import utcnow
from bench.bank_import import make_iban
from bench.common import DEFAULT_POSTGRES, Result, finish, fresh_database
from donors.models import Donor
from exports.sepa import pain008
from exports.sepa.batch import run_batch
from fundraising.models import Donation, Mandate, RecurringGift
from fundraising.models_ledger import SepaCollection

SETTINGS = {"creditor_id": "NL33ZZZ140946600000", "name": "Stichting Voorbeeld", "iban": "NL91ABNA0417164300",
            "bic": "ABNANL2A", "lead_days": 1}
TODAY = dt.date(2025, 2, 26)
COLLECT_ON = dt.date(2025, 3, 5)
TARGET = 4.0
MEMORY_LIMIT_MB = 1024
RUNS = 3


def seed(engine, count: int) -> None:
    now = utcnow()
    with engine.begin() as connection:
        for start in range(0, count, 10_000):
            part = range(start, min(count, start + 10_000))
            connection.execute(insert(Donor), [dict(id=n + 1, ref=f"S{n:07d}", kind="person", first_name="Anna",
                                                    last_name=f"Jansen{n}", sort_name=f"jansen{n}", country="NL",
                                                    language="nl", created_at=now, updated_at=now) for n in part])
            connection.execute(insert(Mandate), [dict(id=n + 1, mandate_id=f"MDT-{n:07d}", donor_id=n + 1,
                                                      iban=make_iban(n + 1), signed_on=dt.date(2024, 1, 2), status="active",
                                                      last_collected_on=dt.date(2025, 2, 5), created_at=now, updated_at=now)
                                                 for n in part])
            connection.execute(insert(RecurringGift), [dict(id=n + 1, source="import", reference=f"RG-{n:07d}", donor_id=n + 1,
                                                            amount_cents=500 + (n % 40) * 125, currency="EUR", interval="monthly",
                                                            method="sepa_debit", start_date=dt.date(2024, 2, 1), status="active",
                                                            failed_attempts=0, mandate_id=n + 1, created_at=now, updated_at=now)
                                                       for n in part])


def run(engine, out: Path, *, trace: bool) -> tuple[float, int, int]:
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    with Session(engine) as session:
        result = run_batch(session, SETTINGS, collection_date=COLLECT_ON, actor="bench", file_name=str(out), today=TODAY)
        assert result.xml is not None  # the bench's gifts are due: there is a file
        out.write_bytes(result.xml)
        session.commit()
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    if trace:
        tracemalloc.stop()
    return elapsed, peak, result.count


def baseline(count: int, out: Path) -> float:
    """sepaxml alone: the same payments, built and exported, the file checked against
    the ISO schema as anbi checks it (lxml, the XSD sepaxml ships) and written."""
    from lxml import etree
    from sepaxml import SepaDD

    schema = pain008.pain008_schema()  # loaded once per process, as anbi's is
    started = time.perf_counter()
    document = SepaDD({"name": SETTINGS["name"], "IBAN": SETTINGS["iban"], "BIC": SETTINGS["bic"], "batch": True,
                       "creditor_id": SETTINGS["creditor_id"], "currency": "EUR"}, schema=pain008.PAIN_SCHEMA, clean=True)
    for n in range(count):
        document.add_payment({"name": f"Anna Jansen{n}", "IBAN": make_iban(n + 1), "amount": 500 + (n % 40) * 125,
                              "type": "RCUR", "collection_date": COLLECT_ON, "mandate_id": f"MDT-{n:07d}",
                              "mandate_date": dt.date(2024, 1, 2), "description": "Gift", "endtoend_id": f"SDD-{n}"})
    tree = etree.fromstring(document.export(validate=False), parser=etree.XMLParser(huge_tree=True))
    if not schema.validate(tree):
        raise SystemExit(f"sepaxml's own file fails the schema: {schema.error_log.last_error}")
    out.write_bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collections", type=int, default=50_000)
    parser.add_argument("--quick", action="store_true", help="2,000 collections")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    args = parser.parse_args()
    count = 2_000 if args.quick else args.collections
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    results = []
    print(f"SEPA batch of {count:,} collections", flush=True)
    with tempfile.TemporaryDirectory() as workdir:
        work = Path(workdir)
        pain008.pain008_schema()
        for backend in backends:
            bare_runs, batch_runs = [], []
            for _ in range(RUNS):
                bare_runs.append(baseline(count, work / "baseline.xml"))
                with fresh_database(backend, work, args.postgres_url) as engine:
                    seed(engine, count)
                    elapsed, _, collected = run(engine, work / "batch.xml", trace=False)
                    with Session(engine) as session:
                        stored = session.scalar(select(func.count()).select_from(SepaCollection))
                        pending = session.scalar(select(func.count()).select_from(Donation).where(Donation.status == "pending"))
                    if not stored == pending == collected == count:
                        raise SystemExit(f"{backend}: {collected} collected, {stored} collections and {pending} pending "
                                         f"donations stored, of {count}")
                batch_runs.append(elapsed)
            size = (work / "batch.xml").stat().st_size
            with fresh_database(backend, work, args.postgres_url) as engine:
                seed(engine, count)
                _, peak, _ = run(engine, work / "batch2.xml", trace=True)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            bare, elapsed = statistics.median(bare_runs), statistics.median(batch_runs)
            print(f"  {backend:<10}  sepaxml + schema check + write {bare:6.2f} s | batch {elapsed:6.2f} s "
                  f"{count / elapsed:8,.0f} collections/s | ratio {elapsed / bare:.2f}x | file {size / 1e6:.1f} MB | "
                  f"peak Python memory {peak / 1e6:.0f} MB (process peak RSS so far {rss:.0f} MB)", flush=True)
            results.append(Result("sepa_batch", backend, elapsed, bare, "s", "<=", TARGET))
            results.append(Result("sepa_batch-memory", backend, peak / 2**20, MEMORY_LIMIT_MB, "MiB", "<", 1))
    return finish(results)


if __name__ == "__main__":
    sys.exit(main())
