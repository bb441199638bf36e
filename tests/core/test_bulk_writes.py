"""anbi.core.db's bulk writes, on both databases: `insert_rows` (COPY on PostgreSQL,
the driver's executemany on SQLite) and `plan_for_the_values`."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anbi.core.audit import AuditEntry
from anbi.core.db import insert_rows, plan_for_the_values

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def test_rows_are_written_as_core_would_write_them(engine):
    rows = [dict(at=NOW + dt.timedelta(minutes=n), actor="bench", action="x.done", entity="x", entity_ref=f"X{n}",
                 details={"n": n, "text": "één"}) for n in range(3)]
    with Session(engine) as session:
        insert_rows(session, AuditEntry.__table__, rows)
        session.commit()
        stored = session.execute(select(AuditEntry.entity_ref, AuditEntry.at, AuditEntry.details).order_by(AuditEntry.id)).all()
    assert [(r.entity_ref, r.at, r.details) for r in stored] == [(r["entity_ref"], r["at"], r["details"]) for r in rows]


def test_a_key_already_taken_is_the_integrity_error_core_raises(engine):
    from donors.models import Donor

    row = dict(ref="DUP1", kind="person", last_name="Dubbel", sort_name="dubbel", country="NL", language="nl",
               created_at=NOW, updated_at=NOW)
    with Session(engine) as session:
        insert_rows(session, Donor.__table__, [row])
        session.commit()
        with pytest.raises(IntegrityError) as refused:
            insert_rows(session, Donor.__table__, [row])
        session.rollback()
    assert "Dubbel" not in str(refused.value)  # never the rows in the message


def test_statements_are_planned_for_their_values_on_postgresql(engine, backend):
    with Session(engine) as session:
        plan_for_the_values(session)
        if backend == "postgresql":
            assert session.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
        session.commit()
        if backend == "postgresql":  # for that transaction only
            assert session.execute(text("SHOW plan_cache_mode")).scalar() == "auto"
