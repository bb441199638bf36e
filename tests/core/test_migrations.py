"""The models and the migration chain agree, on both databases."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import anbi.models  # noqa: F401
from anbi.core.db import Base
from anbi.core.migrate import current_heads, script_heads, upgrade


def test_migrations_match_models(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_database_is_at_every_head_and_upgrade_is_repeatable(engine):
    assert current_heads(engine) == script_heads()
    upgrade(engine)
    assert current_heads(engine) == script_heads()


def test_sqlite_has_foreign_keys_and_wal(engine, backend):
    if backend != "sqlite":
        return
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_stripe_payloads_are_compressed_with_lz4_where_postgresql_has_it(engine, backend):
    if backend != "postgresql":
        pytest.skip("PostgreSQL only: SQLite stores the payload uncompressed")
    from sqlalchemy import text

    with engine.connect() as connection:
        has_lz4 = connection.scalar(text(
            "SELECT count(*) FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"))
        method = connection.scalar(text(
            "SELECT attcompression FROM pg_attribute WHERE attrelid = 'stripe_events'::regclass AND attname = 'payload'"))
    assert method == ("l" if has_lz4 else "")


def test_the_migrations_have_one_head():
    """Every new revision follows the one head (CONTRIBUTING.md, Migrations): two
    heads would make each later revision pick one, and `upgrade head` fail."""
    from alembic.script import ScriptDirectory

    from anbi.core.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"the migrations have {len(heads)} heads ({', '.join(sorted(heads))}): merge them"
    assert script_heads() == set(heads)


@pytest.mark.fresh_database
def test_every_revision_downgrades_and_upgrades_again(engine):
    """From the head down to an empty database and back: every downgrade works, and
    the schema made again matches the models."""
    from alembic import command
    from sqlalchemy import inspect

    from anbi.core.migrate import alembic_config

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert current_heads(engine) == set()
    upgrade(engine)
    assert current_heads(engine) == script_heads()
    test_migrations_match_models(engine)
