"""Migration 0012 on both databases: existing SEPA collections get their status
(failed where their donation failed; a period collected twice by overlapping batches
keeps its earliest collection, the later ones become `duplicate` with their donations
flagged), the unique index then holds, and the downgrade gives back the old schema."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import IntegrityError

from anbi.core.db import make_engine
from anbi.core.migrate import alembic_config
from tests.conftest import BACKENDS, POSTGRES_URL, _admin_engine, _with_database

D = dt.date


@pytest.fixture(params=BACKENDS)
def empty_engine(request, tmp_path) -> Iterator[sa.Engine]:
    """An engine on a database with no schema yet."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    request.getfixturevalue("postgres_template")   # skips when PostgreSQL is not there
    name = f"anbi_m_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(_with_database(POSTGRES_URL, name))
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def migrate(engine: sa.Engine, how, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        how(config, revision)


def _filled(table: sa.Table, values: dict) -> dict:
    """`values` plus a plain value for every other required column."""
    now = dt.datetime(2026, 1, 1, 12, 0)  # noqa: DTZ001  (a plain DateTime column of the old revision, as it stored them)
    plain = {sa.String: "x", sa.Integer: 0, sa.Date: D(2026, 1, 1), sa.DateTime: now, sa.Boolean: False}
    row = dict(values)
    for column in table.columns:
        if column.name in row or column.nullable or column.primary_key or column.server_default is not None:
            continue
        row[column.name] = next(v for kind, v in plain.items() if isinstance(column.type, kind))
    return row


def add(connection, tables, name: str, **values) -> int:
    table = tables[name]
    return connection.execute(sa.insert(table).values(_filled(table, values)).returning(table.c.id)).scalar_one()


def test_existing_collections_get_their_status_and_the_index_holds(empty_engine):
    engine = empty_engine
    migrate(engine, command.upgrade, "0011")
    migrate(engine, command.upgrade, "0006")
    tables = sa.MetaData()
    tables.reflect(engine)
    t = tables.tables
    with engine.begin() as connection:
        donor = add(connection, t, "donors", ref="D1", kind="person", country="NL")
        mandate = add(connection, t, "mandates", mandate_id="MDT-1", donor_id=donor, iban="NL20INGB0001234567",
                      signed_on=D(2025, 1, 1), status="active")
        gift = add(connection, t, "recurring_gifts", source="import", reference="RG-1", donor_id=donor, amount_cents=1000,
                   currency="EUR", interval="monthly", method="sepa_debit", start_date=D(2025, 1, 1), status="active",
                   failed_attempts=0, mandate_id=mandate)
        batch = add(connection, t, "sepa_batches", message_id="M-1", collection_date=D(2026, 3, 2), file_name="a.xml",
                    collection_count=4, total_cents=4000, currency="EUR", actor="tester")

        def collection(reference: str, status: str, period: dt.date, flag: str | None = None) -> int:
            donation = add(connection, t, "donations", source="sepa", reference=reference, donor_id=donor,
                           received_on=D(2026, 3, 2), amount_cents=1000, currency="EUR", method="sepa_debit", kind="gift",
                           consideration_cents=0, status=status, recurring_gift_id=gift, mandate_id=mandate, flag=flag)
            add(connection, t, "sepa_collections", batch_id=batch, donation_id=donation, recurring_gift_id=gift,
                mandate_id=mandate, period_start=period, sequence_type="RCUR", debtor_iban="NL20INGB0001234567",
                payment_info_id="M-1-1")
            return donation

        returned = collection("SDD-1", "failed", D(2026, 3, 1))           # returned: the period stays open
        kept = collection("SDD-2", "paid", D(2026, 3, 1))                 # the retry that settled: it holds March
        twice = collection("SDD-3", "pending", D(2026, 3, 1), flag="earlier note")   # overlapping batch
        thrice = collection("SDD-4", "paid", D(2026, 3, 1))
        april = collection("SDD-5", "pending", D(2026, 4, 1))

    migrate(engine, command.upgrade, "heads")

    with engine.connect() as connection:
        status = dict(connection.execute(sa.text("SELECT donation_id, status FROM sepa_collections")).all())
        flags = dict(connection.execute(sa.text("SELECT id, flag FROM donations")).all())
    assert status == {returned: "failed", kept: "presented", twice: "duplicate", thrice: "duplicate", april: "presented"}
    note = ("collected a second time for its period by overlapping SEPA batches (found by migration 0012): "
            "check with the donor and refund one if both settled")
    assert flags[twice] == "earlier note\n" + note and flags[thrice] == note
    assert flags[kept] is None and flags[returned] is None

    tables = sa.MetaData()
    tables.reflect(engine)
    t = tables.tables
    with pytest.raises(IntegrityError), engine.begin() as connection:
        donation = add(connection, t, "donations", source="sepa", reference="SDD-6", donor_id=donor,
                       received_on=D(2026, 4, 6), amount_cents=1000, currency="EUR", method="sepa_debit", kind="gift",
                       consideration_cents=0, status="pending", recurring_gift_id=gift, mandate_id=mandate)
        add(connection, t, "sepa_collections", batch_id=batch, donation_id=donation, recurring_gift_id=gift,
            mandate_id=mandate, period_start=D(2026, 4, 1), sequence_type="RCUR", debtor_iban="NL20INGB0001234567",
            payment_info_id="M-1-1", status="presented")

    migrate(engine, command.downgrade, "0011")
    columns = {c["name"] for c in sa.inspect(engine).get_columns("sepa_collections")}
    indexes = {i["name"] for i in sa.inspect(engine).get_indexes("sepa_collections")}
    assert "status" not in columns and "ix_sepa_collections_gift_period" in indexes
    assert "status_reason" not in {c["name"] for c in sa.inspect(engine).get_columns("recurring_gifts")}
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM sepa_collections")) == 5
