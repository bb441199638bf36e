"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

Each backend is migrated once per run into a template (a SQLite file; a PostgreSQL
database used as `TEMPLATE`), and each test gets a fresh copy, so a test may commit
as the CLI does and still start from a clean schema.

PostgreSQL comes from $ANBI_TEST_POSTGRES_URL (default: the local server). When it is
not reachable its tests are skipped with a visible reason, unless
ANBI_REQUIRE_POSTGRES=1 (CI), which makes them fail instead.
"""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from anbi.core.db import make_engine
from anbi.core.migrate import upgrade

POSTGRES_URL = os.environ.get("ANBI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("ANBI_REQUIRE_POSTGRES") == "1"
BACKENDS = ["sqlite", "postgresql"]


def _admin_engine() -> Engine:
    return create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    try:
        admin = _admin_engine()
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # the server is not there: say so, and fail in CI
        message = f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.__class__.__name__}"
        if REQUIRE_POSTGRES:
            pytest.fail(message + " (ANBI_REQUIRE_POSTGRES=1)")
        pytest.skip(message)
    name = f"anbi_tpl_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(_with_database(POSTGRES_URL, name))
    upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> Iterator[str]:
    """A fresh, migrated database of each backend."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "anbi.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("postgres_template")
    name = f"anbi_t_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield _with_database(POSTGRES_URL, name)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def engine(db_url) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def backend(db_url) -> str:
    return "sqlite" if db_url.startswith("sqlite") else "postgresql"


class Cli:
    """Runs `anbi` in-process against one database, as a person would from a shell."""

    def __init__(self, db_url: str, workdir: Path):
        self.db_url = db_url
        self.workdir = workdir

    def __call__(self, *args: str, input: str | None = None, env: dict | None = None):
        from anbi.cli import cli

        runner = CliRunner()
        environment = {"ANBI_CONFIG": "", "ANBI_DATABASE_URL": ""}
        environment.update(env or {})
        return runner.invoke(
            cli, ["--database-url", self.db_url, "--actor", "tester", *args], input=input, env=environment, catch_exceptions=False
        )


@pytest.fixture
def cli(db_url, tmp_path, monkeypatch) -> Cli:
    monkeypatch.chdir(tmp_path)
    return Cli(db_url, tmp_path)
