"""The log of work people start that runs over files and many records: imports and
the runs of the annual gift statements, whether started from the terminal or the
web application, so that the dashboard's "last imports" and the receipts page show
them all with what they did.

Rows are added by whatever starts the work (`record_import`, `record_refused`,
`anbi.context.AppContext.importing`, `exports.statements.issue.issue_and_record`); this
module never decides what an import or a run does."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from anbi.core.db import Base, IdMixin, UTCDateTime, utcnow
from anbi.core.errors import Problem

# The first problems of a refused file are kept; the person saw (or sees) them all.
LOGGED_PROBLEMS = 20


class ImportRun(IdMixin, Base):
    """An import file imported (or refused), from the terminal or the web
    application, with its outcome: for the dashboard's "last imports" and for
    tracing what came from where."""

    __tablename__ = "import_runs"

    kind: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(String(255))
    actor: Mapped[str] = mapped_column(String(254))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # "imported" or "refused" (validation failed, nothing written)
    status: Mapped[str] = mapped_column(String(10))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    # What the import did, by label: {"created": 12, "updated": 3, "unchanged": 40}.
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The first problems, as {"line", "field", "reason"}; the full list was shown.
    problems: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


class ReceiptRun(IdMixin, Base):
    """A run of the annual gift statements (`anbi receipts issue` or the receipts
    page). The statements themselves are recorded by the receipts part; this row
    says who started the run, where its files went and how it ended."""

    __tablename__ = "receipt_runs"

    year: Mapped[int] = mapped_column(Integer, index=True)
    out_dir: Mapped[str] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(254))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # running, finished or failed
    status: Mapped[str] = mapped_column(String(10), default="running")
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(2000))


def record_import(session: Session, *, kind: str, file_name: str, actor: str, rows: int,
                  figures: dict[str, Any]) -> ImportRun:
    """Log an import that was written, in the import's own transaction."""
    run = ImportRun(kind=kind, file_name=file_name[:255], actor=actor[:254], status="imported", rows=rows,
                    summary=dict(figures))
    session.add(run)
    session.flush()
    return run


def record_refused(session: Session, *, kind: str, file_name: str, actor: str, problems: list[Problem],
                   rows: int = 0) -> ImportRun:
    """Log a file that was refused (nothing of it written), in a transaction of its own."""
    run = ImportRun(kind=kind, file_name=file_name[:255], actor=actor[:254], status="refused", rows=rows,
                    problems=[p.as_dict() for p in problems[:LOGGED_PROBLEMS]], summary={"problems": len(problems)})
    session.add(run)
    session.flush()
    return run
