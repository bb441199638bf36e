"""What a command or request runs with: settings, the engine, the actor."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from anbi.core.db import make_engine, session_scope
from anbi.core.errors import AnbiError, InvalidInput, Problem
from anbi.core.settings import Settings


@dataclass
class ImportOutcome:
    """What an import command did, for the log: set by the command."""

    rows: int = 0
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass
class AppContext:
    settings: Settings
    actor: str
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
        return self._engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction for the whole command: commit at the end, or nothing."""
        with session_scope(self.engine) as session:
            yield session

    @contextmanager
    def importing(self, kind: str, file: str | Path, *, dry_run: bool = False) -> Iterator[tuple[Session, ImportOutcome]]:
        """The one transaction of an import command, logged as the web application
        logs its imports (anbi.core.runs), so that the dashboard's "last imports"
        shows the terminal's too: the command fills in the outcome; an import that is
        written is logged in its own transaction, a refused file in one of its own
        after the import's was rolled back. A dry run is rolled back, whatever the
        importer wrote to decide (anbi.core.importing), and is not logged."""
        from anbi.core.runs import record_import, record_refused

        name = Path(file).name
        outcome = ImportOutcome()
        try:
            with self.session() as session:
                yield session, outcome
                if dry_run:
                    session.rollback()
                else:
                    record_import(session, kind=kind, file_name=name, actor=self.actor, rows=outcome.rows,
                                  figures=outcome.figures)
        except AnbiError as exc:
            if not dry_run:
                problems = exc.problems if isinstance(exc, InvalidInput) else [Problem(None, None, str(exc))]
                with self.session() as session:
                    record_refused(session, kind=kind, file_name=name, actor=self.actor, problems=problems)
            raise

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
