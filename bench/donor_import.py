"""Benchmark: `anbi donors import` of generated donors against a bare bulk insert.

Generates N donors (100,000 by default) as a CSV, the same kind of file the demo
imports, and times the real importer on it (reading, validating every IBAN,
postcode, e-mail and phone, planning, writing donors, consent events, tags and audit
rows, commit). The baseline inserts the same donor rows, already normalised, with
one SQLAlchemy Core insert() executemany in one transaction. Each runs on a fresh,
migrated database, on SQLite and on PostgreSQL (a throwaway database
anbi_bench_<random>, dropped afterwards). Target: the import takes no more than 8x
the baseline.

    .venv/bin/python bench/donor_import.py            # 100,000 rows, both databases
    .venv/bin/python bench/donor_import.py --quick    # 10,000 rows
    .venv/bin/python bench/donor_import.py --rows 50000 --backend sqlite
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select  # noqa: E402

from anbi.core.csvfile import CsvRow  # noqa: E402
from anbi.core.db import session_scope, utcnow  # noqa: E402
from bench.common import fresh_database  # noqa: E402
from donors.demo import generate_donors, write_csv  # noqa: E402
from donors.importer import FIELDS, import_donors, parse_row, plan_import  # noqa: E402
from donors.models import Donor  # noqa: E402

TARGET = 8.0
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def stored_rows(rows: list[dict[str, str]]) -> list[dict]:
    """The donor rows exactly as the importer stores them (untimed preparation)."""
    problems: list = []
    parsed = [parse_row(CsvRow(line, row), problems) for line, row in enumerate(rows, start=2)]
    plan = plan_import(parsed, {}, problems)
    assert not problems, problems[:3]
    now = utcnow()
    out = []
    for write in plan.creates:
        row = {f: write.values[f] for f in FIELDS}
        row.update(ref=write.ref, sort_name=write.values["sort_name"], created_at=now, updated_at=now)
        out.append(row)
    return out


def run_backend(backend: str, csv_path: Path, baseline: list[dict], workdir: Path, postgres_url: str) -> float:
    count = len(baseline)
    with fresh_database(backend, workdir, postgres_url) as engine:
        start = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(insert(Donor.__table__), baseline)
        bare = time.perf_counter() - start

    with fresh_database(backend, workdir, postgres_url) as engine:
        start = time.perf_counter()
        with session_scope(engine) as session:
            summary = import_donors(session, csv_path, actor="bench")
        imported = time.perf_counter() - start
        assert summary.created == count, summary
        start = time.perf_counter()
        with session_scope(engine) as session:
            again = import_donors(session, csv_path, actor="bench")
        reimported = time.perf_counter() - start
        assert again.unchanged == count, again
        with engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(Donor)) == count

    ratio = imported / bare
    print(f"{backend:<10} bare insert {bare:6.2f} s ({count / bare:9,.0f} rows/s) | "
          f"import {imported:6.2f} s ({count / imported:9,.0f} rows/s) | ratio {ratio:4.2f}x "
          f"(target <= {TARGET:.0f}x: {'ok' if ratio <= TARGET else 'MISSED'}) | "
          f"re-import, all unchanged {reimported:6.2f} s")
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="donors to generate (default 100,000)")
    parser.add_argument("--quick", action="store_true", help="10,000 rows: a fast check")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help="server to create the throwaway database on")
    args = parser.parse_args()
    count = 10_000 if args.quick else args.rows

    with tempfile.TemporaryDirectory(prefix="anbi-bench-") as tmp:
        workdir = Path(tmp)
        generated = generate_donors(random.Random(42), count, prefix="B-")
        csv_path = write_csv(generated.rows, workdir / "donors.csv")
        baseline = stored_rows(generated.rows)
        print(f"{count:,} donors, {csv_path.stat().st_size / 1e6:.1f} MB CSV "
              f"(import also writes consent events, tags and one audit row per donor)")
        backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
        ratios = [run_backend(b, csv_path, baseline, workdir, args.postgres_url) for b in backends]
    return 0 if all(r <= TARGET for r in ratios) else 1


if __name__ == "__main__":
    sys.exit(main())
