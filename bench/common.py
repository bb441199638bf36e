"""What the benchmarks share: a fresh, migrated database of either backend, removed
afterwards, so a benchmark never touches anyone's data; the bulk insert that fills
it; the timing helpers; and the one RESULT line per figure that every benchmark ends
with (`bench/run_all.py` reads them).

A benchmark exits 0 when every target is met, `EXIT_MISSED` when a figure misses its
target, and anything else (a traceback's 1, a SystemExit message) when it failed to
run or found the product wrong — which `run_all.py` reports as a crash.
"""
from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Table, create_engine, insert, select, text
from sqlalchemy.engine import Connection, Engine, make_url

from anbi.core.db import make_engine
from anbi.core.migrate import upgrade

# A server where throwaway databases may be created (and dropped).
DEFAULT_POSTGRES = os.environ.get("ANBI_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# The exit code of a benchmark that ran and measured, but missed a target.
EXIT_MISSED = 3


@contextmanager
def fresh_database(backend: str, workdir: Path, postgres_url: str) -> Iterator[Engine]:
    """A new, migrated database: a SQLite file in `workdir`, or a throwaway
    `anbi_bench_<random>` database on the PostgreSQL server of `postgres_url`."""
    if backend == "sqlite":
        path = workdir / f"bench_{uuid.uuid4().hex[:8]}.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = f"anbi_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(postgres_url).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


BATCH = 20_000


def insert_in_batches(connection: Connection, table: Table, rows: Iterable[dict]) -> None:
    """Untimed set-up: `rows` into `table`, an executemany per 20,000."""
    rows = list(rows)
    for start in range(0, len(rows), BATCH):
        connection.execute(insert(table), rows[start:start + BATCH])


def insert_donors(connection: Connection, count: int, now) -> list[int]:
    """Untimed set-up: `count` plain donors (refs B0000001...), their ids in order."""
    from donors.models import Donor

    insert_in_batches(connection, Donor.__table__, [
        {"ref": f"B{n:07d}", "kind": "person", "last_name": f"Donor{n}", "sort_name": f"donor{n}", "country": "NL",
         "language": "nl", "created_at": now, "updated_at": now}
        for n in range(1, count + 1)
    ])
    return list(connection.scalars(select(Donor.id).order_by(Donor.id)))


# --- timing ------------------------------------------------------------------------


def median_time(work: Callable[[], object], runs: int = 3) -> tuple[float, object]:
    """The median wall time of `runs` runs of `work`, and the last run's result."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) process `pid` has used so far, from /proc: what the
    other work on a shared machine does not inflate as it does wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pid(connection) -> int | None:
    """The PostgreSQL backend process serving `connection`, when it runs on this
    machine (its CPU time can then be read); None otherwise."""
    pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    return pid if Path(f"/proc/{pid}/stat").exists() else None


# --- results -----------------------------------------------------------------------

OPERATORS = {"<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, ">": lambda a, b: a > b}


@dataclass(frozen=True)
class Result:
    """One measured figure against its baseline: `ratio` is figure / baseline, and the
    target is a bound on that ratio (`<=` 4: at most four times the baseline's time;
    `>=` 0.4: at least four tenths of the baseline's rate)."""

    bench: str
    db: str
    figure: float
    baseline: float
    unit: str
    op: str
    target: float
    baseline_unit: str | None = None

    @property
    def ratio(self) -> float:
        return self.figure / self.baseline if self.baseline else float("inf")

    @property
    def met(self) -> bool:
        return OPERATORS[self.op](round(self.ratio, 3), self.target)

    def line(self) -> str:
        baseline_unit = self.unit if self.baseline_unit is None else self.baseline_unit
        return (f"RESULT bench={self.bench} db={self.db} figure={_number(self.figure)}{self.unit} "
                f"baseline={_number(self.baseline)}{baseline_unit} ratio={self.ratio:.3f} "
                f"target={self.op}{self.target:g} met={'yes' if self.met else 'no'}")


def _number(value: float) -> str:
    """Four significant digits, never in exponent form (units follow the number); a
    count as it is."""
    if isinstance(value, int):
        return str(value)
    if value == 0 or abs(value) >= 1000:
        return f"{value:.0f}"
    digits = max(0, 3 - int(f"{abs(value):e}".split("e")[1]))
    return f"{value:.{digits}f}"


def finish(results: Sequence[Result]) -> int:
    """Print the RESULT lines; the exit code: 0 when every target is met, else EXIT_MISSED."""
    print(flush=True)
    for result in results:
        print(result.line(), flush=True)
    return 0 if all(result.met for result in results) else EXIT_MISSED
