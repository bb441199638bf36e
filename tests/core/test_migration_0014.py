"""Migration 0014 adds donors.search_name and fills it in for the donors already
there, with the function the application writes it with; downgrade removes it. On
an empty database of each backend."""
from __future__ import annotations

import uuid

import pytest
from alembic import command
from sqlalchemy import inspect, text

from anbi.core.db import make_engine
from anbi.core.migrate import alembic_config, upgrade
from tests.conftest import POSTGRES_URL, _admin_engine, _with_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request, tmp_path):
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    try:
        admin = _admin_engine()
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        pytest.skip(f"PostgreSQL not reachable: {exc.__class__.__name__}")
    name = f"anbi_m14_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(_with_database(POSTGRES_URL, name))
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _downgrade(engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_existing_donors_get_their_search_name_and_downgrade_removes_it(empty_engine):
    upgrade(empty_engine, "0011")
    people = [
        ("P1", "person", "Mehmet", None, "Öztürk", None, "M."),
        ("P2", "person", "Anna", "van der", "Berg", None, None),
        ("P3", "person", "Tesfaye", None, "Gebremedhin", None, None),
        ("O1", "organisation", None, None, None, "Stichting 't Hof", None),
    ]
    with empty_engine.begin() as connection:
        for ref, kind, first, prefix, last, organisation, initials in people:
            connection.execute(text(
                "INSERT INTO donors (ref, kind, first_name, prefix, last_name, organisation_name, initials, sort_name, "
                "country, language, created_at, updated_at) VALUES (:ref, :kind, :first, :prefix, :last, :org, "
                ":initials, '', 'NL', 'nl', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                {"ref": ref, "kind": kind, "first": first, "prefix": prefix, "last": last, "org": organisation,
                 "initials": initials})
    upgrade(empty_engine, "0014")
    with empty_engine.connect() as connection:
        found = dict(connection.execute(text("SELECT ref, search_name FROM donors")).all())
    assert found == {"P1": "ozturk mehmet m", "P2": "berg van der anna", "P3": "gebremedhin tesfaye",
                     "O1": "stichting t hof"}
    assert "ix_donors_search_name" in {i["name"] for i in inspect(empty_engine).get_indexes("donors")}
    _downgrade(empty_engine, "0011")
    assert "search_name" not in {c["name"] for c in inspect(empty_engine).get_columns("donors")}
