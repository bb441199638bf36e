"""Run the Alembic migrations from code (`anbi init`, the demo, the tests)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

REPO_ROOT = Path(__file__).resolve().parents[2]


def alembic_config() -> Config:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "alembic"))
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema up to date; safe to run again."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_heads(engine: Engine) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def script_heads() -> set[str]:
    """What the version table holds once every head is applied: the script's heads
    less those another revision `depends_on` (Alembic then records the dependency
    only through the revision that depends on it)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    depended = {dependency.revision for revision in script.walk_revisions() if revision.dependencies
                for dependency in script.get_revisions(revision.dependencies)}
    return set(script.get_heads()) - depended
