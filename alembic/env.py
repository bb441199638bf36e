"""Alembic environment: migrations are the only way the schema is made.

`anbi init` passes its own connection in `config.attributes["connection"]`; the
`alembic` command line uses ANBI_DATABASE_URL (or ./anbi.db)."""
from __future__ import annotations

from alembic import context

import anbi.models  # noqa: F401  (fills the metadata)
from anbi.core.db import Base, make_engine
from anbi.core.settings import load_settings

target_metadata = Base.metadata


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _configure(connection)
else:
    engine = make_engine(load_settings().database_url)
    with engine.connect() as conn:
        _configure(conn)
    engine.dispose()
