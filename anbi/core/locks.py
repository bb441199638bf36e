"""Work that must not run twice at once, across processes: a lock held by the
caller's transaction until it commits or rolls back.

`hold(session, name, wait_seconds=...)` waits for a run that holds `name` to finish,
up to `wait_seconds`, and then raises `Busy` (one line for a person):

- PostgreSQL: a transaction-level advisory lock on a 64-bit hash of the name,
  asked for again and again (`pg_try_advisory_xact_lock`) until it is granted or the
  time is up, so that a waiting run never sits in the server past its limit;
- SQLite: the database's write lock (`BEGIN IMMEDIATE`), taken before the work reads
  anything, so what it reads is what the run before it committed; the wait is the
  connection's busy timeout, bounded by `wait_seconds`. SQLite has one writer at a
  time, so this serialises every writer, not only runs of `name`.

Must be called before the transaction has read what the work decides on: a lock
taken after the reads protects nothing. Never commits; nothing here knows what the
work is.
"""
from __future__ import annotations

import time

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from anbi.core.errors import Conflict

_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtextextended(:name, 0))")
_PAUSE_SECONDS = 0.1


class Busy(Conflict):
    """Another run holds the lock and did not finish in time."""

    def __init__(self, what: str, waited_seconds: float):
        self.what = what
        self.waited_seconds = waited_seconds
        super().__init__(f"another {what} is running (waited {waited_seconds:.0f} s); "
                         "try again when it has finished")


def hold(session: Session, name: str, *, what: str, wait_seconds: float) -> None:
    """Take the lock `name` for the rest of the session's transaction, waiting up to
    `wait_seconds` for another holder; `what` names the work in the message."""
    connection = session.connection()
    deadline = time.monotonic() + wait_seconds
    if connection.dialect.name == "postgresql":
        while not connection.execute(_TRY_LOCK, {"name": name}).scalar():
            if time.monotonic() >= deadline:
                raise Busy(what, wait_seconds)
            time.sleep(_PAUSE_SECONDS)
        return
    _sqlite_write_lock(connection, what, deadline, wait_seconds)


def _sqlite_write_lock(connection, what: str, deadline: float, wait_seconds: float) -> None:
    """`BEGIN IMMEDIATE` on the transaction's own connection, waiting no longer than
    the deadline (SQLite's busy timeout does the waiting; it is set for the attempt
    and put back after). The driver begins a transaction only at the first write:
    if one has begun, the write lock is held already."""
    if connection.connection.dbapi_connection.in_transaction:
        return
    usual = int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar())
    try:
        while True:
            left_ms = max(int((deadline - time.monotonic()) * 1000), 0)
            # A PRAGMA takes no bound parameters; the value is an integer of ours.
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {min(left_ms, usual) if usual else left_ms}")
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as exc:
                if "locked" not in str(exc.orig):
                    raise
                if time.monotonic() >= deadline:
                    raise Busy(what, wait_seconds) from None
                time.sleep(_PAUSE_SECONDS)
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {usual}")
