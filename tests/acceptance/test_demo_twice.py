"""`anbi demo` twice on the same database: the second run changes nothing and says so."""
from __future__ import annotations

from sqlalchemy import func, select

import anbi.models  # noqa: F401  (every table on the metadata)
from anbi.core.db import Base


def table_counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {table.name: connection.scalar(select(func.count()).select_from(table))
                for table in Base.metadata.sorted_tables}


def files(folder) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_the_demo_run_twice_changes_nothing_the_second_time(cli, engine, tmp_path):
    out = tmp_path / "demo-output"
    first = cli("demo", "--out", str(out))
    assert first.exit_code == 0, first.stderr
    assert "Demo ready." in first.stdout
    counts, written = table_counts(engine), files(out)
    assert counts["donors"] > 3000 and counts["statements"] > 1000 and counts["timesheets"] > 1000

    second = cli("demo", "--out", str(out))
    assert second.exit_code == 0, second.stderr
    assert "The demo is already in" in second.stdout and "nothing was changed" in second.stdout
    assert "To start again: remove the database file" in second.stdout
    assert table_counts(engine) == counts
    assert files(out) == written
