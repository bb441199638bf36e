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
        # ANBI_DEBUG: a bug in a command fails its test with the traceback, not one line.
        environment = {"ANBI_CONFIG": "", "ANBI_DATABASE_URL": "", "ANBI_DEBUG": "1"}
        environment.update(env or {})
        return runner.invoke(
            cli, ["--database-url", self.db_url, "--actor", "tester", *args], input=input, env=environment, catch_exceptions=False
        )


@pytest.fixture
def cli(db_url, tmp_path, monkeypatch) -> Cli:
    monkeypatch.chdir(tmp_path)
    return Cli(db_url, tmp_path)


# --- the HTTP service and Stripe (added by the Stripe/API part) ---------------------

STRIPE_WEBHOOK_SECRET = "whsec_test_secret_for_anbi"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def web_settings(db_url):
    """Settings for the HTTP service against the test database, with a webhook secret."""
    from anbi.core.settings import Settings

    return Settings(database_url=db_url, sections={"stripe": {"webhook_secret": STRIPE_WEBHOOK_SECRET}})


@pytest.fixture
def web_client(web_settings, engine):
    """The FastAPI app (`anbi serve`'s) in-process, on the test database."""
    from fastapi.testclient import TestClient

    from anbi.web.app import create_app

    with TestClient(create_app(web_settings, engine=engine)) as client:
        yield client


@pytest.fixture
def api_token(engine):
    """`api_token("viewer")` -> a committed token's secret for that role."""
    from anbi.core.db import session_scope
    from anbi.web.identity.tokens import create_token

    def make(role: str, name: str | None = None) -> str:
        with session_scope(engine) as session:
            return create_token(session, role=role, name=name or f"test {role}", actor="tester").secret

    return make


@pytest.fixture(scope="session")
def localstripe_server(tmp_path_factory) -> Iterator[str]:
    """A localstripe server on 127.0.0.1 (its base URL), for the whole run.

    localstripe pickles its store to the fixed file /tmp/localstripe.pickle after
    every write and reloads it at start; the server here keeps it in memory instead,
    so runs in parallel neither share nor clobber it. Skipped with a visible reason
    when it cannot start, except in CI (ANBI_REQUIRE_POSTGRES=1), where it fails."""
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    workdir = tmp_path_factory.mktemp("localstripe")
    code = (
        "import localstripe.resources as r\n"
        "r.Store.dump_to_disk = lambda self: None\n"
        "r.Store.try_load_from_disk = lambda self: None\n"
        "import localstripe.server as s\n"
        "from aiohttp import web\n"
        f"web.run_app(s.app, host='127.0.0.1', port={port}, print=None)\n"
    )
    log = open(workdir / "localstripe.log", "wb")  # noqa: SIM115  (open while the server runs; closed when it stops)
    process: subprocess.Popen[bytes] | None
    problem: str | None
    try:
        process = subprocess.Popen([sys.executable, "-c", code], cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "HOME": str(workdir)})
    except OSError as exc:
        process, problem = None, f"cannot start localstripe: {exc}"
    else:
        problem = None
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/_config/data", method="DELETE"), timeout=2)
                break
            except Exception as exc:  # not up yet
                if process.poll() is not None or time.monotonic() > deadline:
                    problem = f"localstripe did not start ({exc}); see {workdir / 'localstripe.log'}"
                    break
                time.sleep(0.2)
    if problem:
        if process is not None:
            process.kill()
        log.close()
        if REQUIRE_POSTGRES:
            pytest.fail(problem + " (required in CI)")
        pytest.skip(problem)
    yield f"http://127.0.0.1:{port}"
    assert process is not None
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture
def localstripe(localstripe_server) -> str:
    """localstripe with an empty store: its base URL."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{localstripe_server}/_config/data", method="DELETE"), timeout=5)
    return localstripe_server
