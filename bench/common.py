"""What the benchmarks share: a fresh, migrated database of either backend, removed
afterwards, so a benchmark never touches anyone's data; and the bulk insert that
fills it."""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Table, create_engine, insert, select, text
from sqlalchemy.engine import Connection, Engine, make_url

from anbi.core.db import make_engine
from anbi.core.migrate import upgrade


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
