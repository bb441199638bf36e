"""Benchmark: `anbi donors import` of generated donors against the fastest plain
write of the same rows.

Generates N donors (100,000 by default) as a CSV, the same kind of file the demo
imports, and times the real importer on it (reading, validating every IBAN,
postcode, e-mail and phone, planning, writing donors, consent events, tags and audit
rows, commit). The baseline writes the same donor rows, already normalised and bound
(untimed), the fastest way each database takes them: COPY (binary) on PostgreSQL,
the driver's executemany of one prepared INSERT on SQLite, and commits. Each is
timed three times, alternately, on a fresh migrated database each time; the medians
count. On SQLite and on PostgreSQL (a throwaway database anbi_bench_<random>,
dropped afterwards). Target: the import takes no more than 4x the baseline.

    .venv/bin/python bench/donor_import.py            # 100,000 rows, both databases
    .venv/bin/python bench/donor_import.py --quick    # 5,000 rows
    .venv/bin/python bench/donor_import.py --rows 50000 --backend sqlite
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from anbi.core.csvfile import CsvRow
from anbi.core.db import session_scope, utcnow
from bench.common import DEFAULT_POSTGRES, Result, finish, fresh_database
from anbi.demo.donors import generate_donors, write_csv
from donors.importer import FIELDS, import_donors, parse_row, plan_import
from donors.models import Donor

TARGET = 4.0
RUNS = 3


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


def plain_write(engine, rows: list[dict]) -> float:
    """Seconds to write `rows` into donors the fastest plain way the database has, and
    commit. The values are bound by the column types beforehand (untimed): this is the
    database and its driver storing rows, nothing else."""
    table = Donor.__table__
    names = list(rows[0])
    with engine.connect() as connection:
        processors = [table.c[name].type.bind_processor(connection.dialect) for name in names]
    bound = [tuple(process(row[name]) if process else row[name] for name, process in zip(names, processors))
             for row in rows]
    columns = ", ".join(names)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            cursor.execute(f"SELECT {columns} FROM donors WHERE false")
            types = [column.type_code for column in cursor.description]
            raw.commit()
            started = time.perf_counter()
            with cursor.copy(f"COPY donors ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for values in bound:
                    copy.write_row(values)
        else:
            started = time.perf_counter()
            cursor.executemany(f"INSERT INTO donors ({columns}) VALUES ({', '.join('?' * len(names))})", bound)
        raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def timed_import(engine, csv_path: Path):
    """(seconds, summary) of one import of the file, committed."""
    started = time.perf_counter()
    with session_scope(engine) as session:
        summary = import_donors(session, csv_path, actor="bench")
    return time.perf_counter() - started, summary


def run_backend(backend: str, csv_path: Path, rows: list[dict], workdir: Path, postgres_url: str) -> Result:
    count = len(rows)
    bare_times, import_times = [], []
    for attempt in range(RUNS):
        with fresh_database(backend, workdir, postgres_url) as engine:
            bare_times.append(plain_write(engine, rows))
        with fresh_database(backend, workdir, postgres_url) as engine:
            seconds, summary = timed_import(engine, csv_path)
            import_times.append(seconds)
            if summary.created != count:
                raise SystemExit(f"the import created {summary.created} donors of {count}")
            if attempt == 0:
                reimported, again = timed_import(engine, csv_path)
                if again.unchanged != count:
                    raise SystemExit(f"a second import of the same file changed {count - again.unchanged} donors")
                with engine.connect() as connection:
                    stored = connection.scalar(select(func.count()).select_from(Donor))
                if stored != count:
                    raise SystemExit(f"{stored} donors stored of {count}")
    bare, imported = statistics.median(bare_times), statistics.median(import_times)
    plain = "COPY" if backend == "postgresql" else "executemany"
    print(f"{backend:<10} {plain} {bare:6.2f} s ({count / bare:9,.0f} rows/s) | import {imported:6.2f} s "
          f"({count / imported:9,.0f} rows/s) | ratio {imported / bare:4.2f}x | re-import, all unchanged {reimported:6.2f} s"
          f"  [runs: {', '.join(f'{t:.2f}' for t in bare_times)} / {', '.join(f'{t:.2f}' for t in import_times)}]",
          flush=True)
    return Result("donor_import", backend, imported, bare, "s", "<=", TARGET)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="donors to generate (default 100,000)")
    parser.add_argument("--quick", action="store_true", help="5,000 rows: a fast check that it runs")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help="server to create the throwaway database on")
    args = parser.parse_args()
    count = 5_000 if args.quick else args.rows

    with tempfile.TemporaryDirectory(prefix="anbi-bench-") as tmp:
        workdir = Path(tmp)
        generated = generate_donors(random.Random(42), count, prefix="B-")
        csv_path = write_csv(generated.rows, workdir / "donors.csv")
        rows = stored_rows(generated.rows)
        print(f"{count:,} donors, {csv_path.stat().st_size / 1e6:.1f} MB CSV (import also writes consent events, "
              f"tags and one audit row per donor); each timed {RUNS} times, medians", flush=True)
        backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
        results = [run_backend(b, csv_path, rows, workdir, args.postgres_url) for b in backends]
    return finish(results)


if __name__ == "__main__":
    sys.exit(main())
