"""Database base class, engines and sessions.

The edge (a CLI command, an HTTP request, a test) owns the transaction: it opens a
session with `session_scope` and commits once. Services take a session and may
`flush()`, never `commit()`.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Integer,
    MetaData,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Engine, Result, Row
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import Insert
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

DEFAULT_DATABASE_URL = "sqlite:///anbi.db"

# SQLite has no BIGINT autoincrement; a plain INTEGER primary key is its 64-bit rowid.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on both databases.

    SQLite stores no offset, so values are normalised to UTC on the way in and
    marked UTC on the way out; naive datetimes are refused rather than guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect):
        """`process_bind_param` and the dialect's own processing in one function: every
        row written carries a few timestamps, nearly all of them in UTC already, and
        the two layers of calls a TypeDecorator makes cost more than the check."""
        then = self.impl_instance.bind_processor(dialect)
        naive = dialect.name == "sqlite"
        utc = dt.UTC
        sample = dt.datetime(2025, 1, 2, 3, 4, 5, 6)  # noqa: DTZ001 - naive on purpose: how the driver writes a bare value
        if then is not None and then(sample) == sample.isoformat(" ", "microseconds"):
            then = functools.partial(dt.datetime.isoformat, sep=" ", timespec="microseconds")  # SQLite's text, written faster

        def process(value):
            if value is None:
                return None
            if value.tzinfo is not utc:
                if value.tzinfo is None:
                    raise ValueError("naive datetime given where a UTC timestamp is required")
                value = value.astimezone(utc)
            if naive:
                value = value.replace(tzinfo=None)
            return then(value) if then is not None else value

        return process

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC timestamp is required")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UTCDateTime(), int: BigInteger()}

    if TYPE_CHECKING:
        # Every model maps a Table (none a join or a select), as `insert(Model.__table__)` and the bulk
        # writes take it; SQLAlchemy types `__table__` as any FromClause.
        __table__: ClassVar[Table]


class IdMixin:
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class JSONText(str):
    """A JSON document already written out (a request body as it came): a JSON column
    stores it as it is, instead of parsing and writing it again."""


def _json_text(value) -> str:
    return str(value) if isinstance(value, JSONText) else json.dumps(value)


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for `url`; SQLite gets foreign keys on and WAL.

    Bound parameters are never put into an error's text (`hide_parameters`): a
    failed statement would otherwise print and log the donors, amounts and IBANs it
    carried."""
    url = normalise_url(url)
    kwargs.setdefault("json_serializer", _json_text)
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        database = url.split("///", 1)[-1]
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use psycopg 3 for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def rows_matched(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE run through `session.execute` matched. The
    session's result is typed as a plain Result; for these statements it is the
    driver's cursor result, and its rowcount is that number."""
    return cast("CursorResult[Any]", result).rowcount


@functools.cache
def insert_once(table: Table, key: tuple[str, ...], dialect: str, returning: tuple[str, ...] = ("id",)) -> Insert:
    """`INSERT ... ON CONFLICT (key) DO NOTHING RETURNING id` for `table`: the new
    row's id, or no row when one with the same key is there already (a replay).
    Executed with a list of rows, it returns the rows it wrote (`returning` names the
    columns, e.g. the key too, to tell which).

    Built once per table, key and dialect and executed with the values as parameters:
    a statement built afresh for each row costs more to compile and cache than the
    insert itself, and the hot paths (a webhook, a booking) write one row at a time."""
    statement: Insert
    if dialect == "postgresql":
        statement = postgresql.insert(table).on_conflict_do_nothing(index_elements=list(key))
    elif dialect == "sqlite":
        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=list(key))
    else:  # pragma: no cover - make_engine gives only these two
        raise ValueError(f"anbi-crm runs on SQLite and PostgreSQL, not on {dialect}")
    return statement.returning(*(table.c[name] for name in returning))


def one_of(column, name: str, dialect: str) -> ColumnElement[bool]:
    """`column IN (:name)` for a list given at execution, in a statement built once per
    dialect. PostgreSQL takes the list as one array (`= ANY(:name)`): the statement's
    text is then the same for any number of values, so psycopg prepares it and the
    server plans it once, where an IN list is new text, planned anew, for every length."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def insert_new_rows(session: Session, table: Table, key: tuple[str, ...], rows: list[dict], returning: tuple[str, ...]) -> Sequence[Row[*tuple[Any, ...]]]:
    """Insert the rows whose key is not there yet (`insert_once`), with one statement:
    the `returning` columns of the rows written.

    On PostgreSQL several rows go as one array per column (`INSERT ... SELECT FROM
    unnest(...)`): a statement of fixed text, which psycopg parses once and the server
    prepares. A multi-row VALUES list is new text for every number of rows and, past
    fifty parameters, psycopg splits it up again for every execution."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and len(rows) > 1:
        names = tuple(rows[0])
        return session.execute(_insert_unnested(table, key, names, returning),
                               {name: [row[name] for row in rows] for name in names}).all()
    statement = insert_once(table, key, dialect, returning)
    return session.execute(statement, rows if len(rows) > 1 else rows[0]).all()


@functools.cache
def _insert_unnested(table: Table, key: tuple[str, ...], names: tuple[str, ...], returning: tuple[str, ...]) -> Insert:
    arrays = [bindparam(name, type_=postgresql.ARRAY(table.c[name].type)) for name in names]
    unnested = func.unnest(*arrays).table_valued(*names).render_derived(name="new_rows")
    return (
        postgresql.insert(table)
        .from_select(list(names), select(*(unnested.c[name] for name in names)))
        .on_conflict_do_nothing(index_elements=list(key))
        .returning(*(table.c[name] for name in returning))
    )


_CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")


def plan_for_the_values(session: Session) -> None:
    """On PostgreSQL, plan each statement of the transaction for the values it runs
    with. psycopg prepares a statement it has run five times, and after five more
    runs the server may switch to a generic plan made without the values: for the
    queries of a long run over chunks of ids (the statement run's gathering) that
    plan reads far more than the chunk (150 ms instead of 8 per query). SQLite plans
    every statement anew anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_CUSTOM_PLANS)


def insert_rows(session: Session, table: Table, rows: list[dict]) -> None:
    """Insert many rows, all with the same keys, in the transaction of `session`: the
    bulk writes of the imports (bank lines, bank donations, donors and what comes
    with them).

    A Core executemany spends more time building each row's parameters than the
    database spends storing it, so the rows go to the driver directly, each value
    through its column type's bind processing as Core would do it (UTCDateTime checks
    and normalises, SQLite's dates become its text, JSON is written out). PostgreSQL
    gets them through COPY: an executemany runs the INSERT once per row on the server
    (its parse, plan and executor start each time), and COPY, one stream of rows,
    costs about half. SQLite gets the INSERT that Core compiles for the table, run by
    the driver's executemany."""
    if not rows:
        return
    connection = session.connection()
    names = list(rows[0])
    postgresql = connection.dialect.name == "postgresql"
    compiled = None if postgresql else insert(table).compile(dialect=connection.dialect, column_keys=names)
    if any(column.default is not None and column.key not in names for column in table.columns) or \
            (compiled is not None and (compiled.positiontup is None or sorted(compiled.positiontup) != sorted(names))):
        # Core fills in defaults of its own (neither COPY nor the driver would), or
        # the driver's parameters are not positional: let Core bind them.
        for start in range(0, len(rows), 5000):
            connection.execute(insert(table), rows[start:start + 5000])
        return
    dbapi_error = connection.dialect.loaded_dbapi.Error
    try:
        if postgresql:
            _copy(connection, table, names, rows)
            return
        assert compiled is not None and compiled.positiontup is not None  # SQLite, positional: checked above
        cursor = connection.connection.cursor()
        try:
            # sqlite3's executemany takes any iterable (the DB-API protocol that SQLAlchemy types says a sequence):
            # the rows are bound one by one as the driver reads them, never all at once.
            cursor.executemany(compiled.string, _bound(connection, table, list(compiled.positiontup), rows))  # type: ignore[arg-type]
        finally:
            cursor.close()
    except dbapi_error as exc:
        # Raised as Core raises it (an IntegrityError for a key already taken, which
        # callers and the CLI answer in plain words), and never with the rows in it.
        raise DBAPIError.instance(f"INSERT INTO {table.name}", None, exc, dbapi_error, hide_parameters=True,
                                  dialect=connection.dialect) from exc


def _copy(connection, table: Table, names: list[str], rows: list[dict]) -> None:
    """COPY in binary: the values are sent as the server stores them, not as text it
    parses again (the client's work for 180,000 rows: 0.8 s -> 0.3 s). The column
    types are the server's own, read from an empty SELECT of those columns. A JSON
    value arrives written out already (the engine's serializer): it is sent as that
    text, not serialized once more into a JSON string."""
    from psycopg import postgres, sql  # names from the table's metadata, composed as identifiers
    from psycopg.types.json import Json

    table_name = sql.Identifier(table.name)
    columns = sql.SQL(", ").join(sql.Identifier(table.c[name].name) for name in names)
    json_types = {postgres.types["json"].oid, postgres.types["jsonb"].oid}
    with connection.connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT {} FROM {} WHERE false").format(columns, table_name))
        types = [column.type_code for column in cursor.description]
        written_out = [i for i, oid in enumerate(types) if oid in json_types]
        with cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(table_name, columns)) as copy:
            copy.set_types(types)
            for values in _bound(connection, table, names, rows):
                for i in written_out:
                    if values[i] is not None:
                        values = list(values)
                        values[i] = Json(values[i], dumps=_as_written)
                copy.write_row(values)


def _bound(connection, table: Table, names: list[str], rows: list[dict]) -> Iterator[Sequence]:
    """Each row's values in the order of `names`, as the column types bind them.

    A value equal to the one above it in its column is bound once: the rows of an
    import share their timestamp, and lines sorted by day share their dates."""
    processors = [(i, p) for i, p in enumerate(table.c[name].type.bind_processor(connection.dialect) for name in names)
                  if p is not None]
    pick = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    if not processors:
        yield from map(pick, rows)
        return
    last: list = [_NOTHING] * len(names)
    bound: list = [None] * len(names)
    for row in rows:
        values = list(pick(row))
        for i, process in processors:
            value = values[i]
            if value is not last[i] and (value != last[i] or type(value) is not type(last[i])):
                last[i], bound[i] = value, process(value)
            values[i] = bound[i]
        yield values


_NOTHING = object()


def _as_written(text: str) -> str:
    return text
