"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

Each backend is migrated once per worker (pytest-xdist) into a template: a SQLite
file, and a PostgreSQL database used as `TEMPLATE`. How a test gets its database
depends on what it asks for:

- `session` alone: the test's work runs in one transaction on the worker's own
  database, rolled back at the end (Polar's pattern: the session is joined to an
  outer transaction of its connection with `join_transaction_mode="create_savepoint"`,
  so the code's own `commit()` and `rollback()` act on a savepoint). Nothing is
  written to disk, and the next test finds the database as the template left it.
- `db_url`, `engine`, `cli`, `web_client`, ... (anything that makes its own
  connections: the CLI, the web app, a second process), or marked `committed` (a
  test of two runs at once through `session.get_bind()`): the data is committed, as
  in production. PostgreSQL: the worker's database, emptied
  after the test (every table's rows deleted, every sequence back at its start);
  SQLite: a fresh copy of the template file. A `session` in such a test is a plain
  session on that database.
- marked `fresh_database` (the test changes the schema, a downgrade): a database of
  its own made from the template, dropped after.

PostgreSQL comes from $ANBI_TEST_POSTGRES_URL (default: the local server). When it is
not reachable its tests are skipped with a visible reason, unless
ANBI_REQUIRE_POSTGRES=1 (CI), which makes them fail instead.
"""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from anbi.core.db import make_engine
from anbi.core.migrate import upgrade

POSTGRES_URL = os.environ.get("ANBI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("ANBI_REQUIRE_POSTGRES") == "1"
BACKENDS = ["sqlite", "postgresql"]
# What a PostgreSQL database holds after every table was emptied: its sequences start
# again (a sequence is not rolled back with the rows it numbered).
_RESTART_SEQUENCES = text(
    "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'S' AND n.nspname = current_schema()"
)


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


def _create_from_template(template: str) -> str:
    name = f"anbi_t_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return name


def _drop(name: str) -> None:
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass
class WorkerDatabase:
    """One backend's database of this worker, made once from the template."""

    backend: str
    url: str
    template: str | Path
    name: str = ""                                   # PostgreSQL: the database's name
    engine: Engine = field(init=False)
    versions: set[str] = field(init=False)           # the template's alembic_version

    def __post_init__(self) -> None:
        self.engine = make_engine(self.url)
        with self.engine.connect() as connection:
            self.versions = set(connection.scalars(text("SELECT version_num FROM alembic_version")))

    @classmethod
    def postgresql(cls, template: str) -> WorkerDatabase:
        name = _create_from_template(template)
        return cls("postgresql", _with_database(POSTGRES_URL, name), template, name)

    @classmethod
    def sqlite(cls, template: Path, folder: Path) -> WorkerDatabase:
        path = folder / "worker.db"
        shutil.copyfile(template, path)
        return cls("sqlite", f"sqlite:///{path}", template)

    @contextmanager
    def rolled_back(self) -> Iterator[Session]:
        """A session whose work is all undone at the end, commits included."""
        connection = self.engine.connect()
        outer = connection.begin()
        if self.backend == "sqlite":
            # The driver begins a transaction only before a write, so the session's
            # first SAVEPOINT would begin it, and releasing that savepoint (the
            # code's commit) would commit: begin it here, so every commit is nested.
            connection.exec_driver_sql("BEGIN")
        session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield session
        finally:
            session.close()
            outer.rollback()
            if self.backend == "postgresql":
                with connection.begin():
                    connection.execute(_RESTART_SEQUENCES)
            connection.close()

    def empty(self) -> str | None:
        """After a test that committed (PostgreSQL): every table emptied, the sequences
        back at their start, in one round trip. A problem, when the test left the
        database otherwise than it found it (the schema changed, or a connection of
        the test still holds locks: then the database is made again)."""
        import anbi.models  # noqa: F401  (fills the metadata)
        from anbi.core.db import Base

        with self.engine.connect() as connection:
            versions = set(connection.scalars(text("SELECT version_num FROM alembic_version")))
        if versions != self.versions:
            self.recreate()
            return (f"the test changed the schema (alembic_version {sorted(versions)}, not {sorted(self.versions)}): "
                    "mark it @pytest.mark.fresh_database")
        dialect = self.engine.dialect
        script = ";\n".join(
            ["SET LOCAL lock_timeout = '10s'"]
            + [str(delete(table).compile(dialect=dialect)) for table in reversed(Base.metadata.sorted_tables)]
            + [str(_RESTART_SEQUENCES)]
        )
        try:
            with self.engine.begin() as connection:
                # Several statements in one call: psycopg sends a query without
                # parameters as one message.
                connection.connection.dbapi_connection.cursor().execute(script)
        except OperationalError:
            self.recreate()
            return "a connection of the test still held locks on the database ten seconds after it ended"
        return None

    def recreate(self) -> None:
        self.engine.dispose()
        _drop(self.name)
        self.name = _create_from_template(str(self.template))
        self.url = _with_database(POSTGRES_URL, self.name)
        self.engine = make_engine(self.url)

    def close(self) -> None:
        self.engine.dispose()
        if self.backend == "postgresql":
            _drop(self.name)


@pytest.fixture(scope="session")
def _postgresql_database(postgres_template) -> Iterator[WorkerDatabase]:
    database = WorkerDatabase.postgresql(postgres_template)
    yield database
    database.close()


@pytest.fixture(scope="session")
def _sqlite_database(sqlite_template, tmp_path_factory) -> Iterator[WorkerDatabase]:
    database = WorkerDatabase.sqlite(sqlite_template, tmp_path_factory.mktemp("worker"))
    yield database
    database.close()


@pytest.fixture(params=BACKENDS)
def database(request) -> WorkerDatabase:
    """The worker's database of each backend (what `session`, `db_url` and `backend`
    are made from)."""
    return request.getfixturevalue(f"_{request.param}_database")


@pytest.fixture
def db_url(database, request, tmp_path) -> Iterator[str]:
    """A migrated database of each backend, for a test whose data is committed."""
    if database.backend == "sqlite":
        path = tmp_path / "anbi.db"
        shutil.copyfile(database.template, path)
        yield f"sqlite:///{path}"
        return
    if request.node.get_closest_marker("fresh_database"):
        name = _create_from_template(str(database.template))
        yield _with_database(POSTGRES_URL, name)
        _drop(name)
        return
    yield database.url
    problem = database.empty()
    if problem:
        pytest.fail(f"{request.node.nodeid}: {problem}")


@pytest.fixture
def engine(db_url) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(database, request) -> Iterator[Session]:
    """A session on the test's database: rolled back at the end, unless the test
    commits through other connections too (it asks for `db_url`, `engine`, `cli`,
    ..., or is marked `committed`): then a plain session on that database, closed
    before the database is emptied."""
    if "db_url" in request.fixturenames or request.node.get_closest_marker("committed"):
        engine = request.getfixturevalue("engine")
        with Session(engine, expire_on_commit=False) as session:
            yield session
        return
    with database.rolled_back() as session:
        yield session


@pytest.fixture
def backend(database) -> str:
    return database.backend


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
