"""What a command or request runs with: settings, the engine, the actor."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from anbi.core.db import make_engine, session_scope
from anbi.core.settings import Settings


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

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
