"""Importing files from the browser: donors, donations, agreements, expenses and
timesheets, through the same importers as the command line.

Two steps, so that nothing is written before a person has seen what will happen:

1. check: the file is run through its importer in a transaction that is always
   rolled back (a dry run) — every validation problem with its line and field, or
   what the import would create and change — and the first rows are shown;
2. import: the same bytes (kept on the server under a random token bound to the
   user, never sent back through the browser) are imported for real, in the
   request's transaction, and the outcome is logged in `import_runs`.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from anbi.core.csvfile import spreadsheet_format
from anbi.core.errors import AnbiError, InvalidInput, Problem
from anbi.core.roles import DONORS_WRITE, FINANCE_WRITE
from anbi.core.runs import record_import, record_refused
from anbi.web.i18n import TIMESHEET_HINT

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
PREVIEW_ROWS = 10
UPLOAD_LIFETIME_SECONDS = 3600


@dataclass(frozen=True)
class UploadOutcome:
    """What an import did (or would do): figures to show and notes to read."""

    rows: int
    figures: list[tuple[str, Any]]
    notes: list[str] = field(default_factory=list)


def _donors(session: Session, data: bytes, name: str, actor: str, dry_run: bool) -> UploadOutcome:
    from donors.importer import import_donors

    summary = import_donors(session, name, actor=actor, dry_run=dry_run, data=data)
    notes = [str(n) for n in (*summary.skipped, *summary.warnings, *summary.flagged)]
    return UploadOutcome(summary.rows, [("created", summary.created), ("updated", summary.updated),
                                  ("unchanged", summary.unchanged)], notes)


def _donations(session: Session, data: bytes, name: str, actor: str, dry_run: bool) -> UploadOutcome:
    from anbi.core.money import format_dutch
    from fundraising.imports.donations import import_donations

    summary = import_donations(session, data, actor=actor, dry_run=dry_run, name=name)
    figures: list[tuple[str, Any]] = [("created", summary.created), ("unchanged", summary.unchanged),
                                      ("refunds", summary.refunds)]
    figures += [(f"amount {currency}", format_dutch(cents, currency) if currency != "EUR" else format_dutch(cents))
                for currency, cents in sorted(summary.created_cents.items())]
    notes = [str(w) for w in summary.warnings] + [f"fund created: {code}" for code in summary.funds_created]
    return UploadOutcome(summary.created + summary.unchanged, figures, notes)


def _agreements(session: Session, data: bytes, name: str, actor: str, dry_run: bool) -> UploadOutcome:
    from fundraising.imports.agreements import import_agreements

    summary = import_agreements(session, data, actor=actor, dry_run=dry_run, name=name)
    return UploadOutcome(summary.created + summary.updated + summary.unchanged,
                   [("created", summary.created), ("updated", summary.updated), ("unchanged", summary.unchanged)])


def _expenses(session: Session, data: bytes, name: str, actor: str, dry_run: bool) -> UploadOutcome:
    from subsidies.costs import import_expenses

    # No dry-run switch of its own: the check step runs it in a rolled-back transaction.
    result = import_expenses(session, data, source="import")
    return UploadOutcome(result.created + result.unchanged, [("created", result.created), ("unchanged", result.unchanged)],
                   list(result.flagged))


def _timesheets(session: Session, data: bytes, name: str, actor: str, dry_run: bool) -> UploadOutcome:
    from subsidies.costs import import_timesheets

    result = import_timesheets(session, data, source="import")
    return UploadOutcome(result.created + result.unchanged, [("created", result.created), ("unchanged", result.unchanged)],
                   [f"warning: {w}" for w in result.warnings] + list(result.flagged))


def _columns(kind: str) -> tuple[str, ...]:
    if kind == "donors":
        from donors.importer import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
        return (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
    if kind == "donations":
        from fundraising.imports.donations import COLUMNS_OPTIONAL, COLUMNS_REQUIRED
        return (*COLUMNS_REQUIRED, *COLUMNS_OPTIONAL)
    if kind == "agreements":
        from fundraising.imports.agreements import COLUMNS_OPTIONAL, COLUMNS_REQUIRED
        return (*COLUMNS_REQUIRED, *COLUMNS_OPTIONAL)
    if kind == "expenses":
        from subsidies.costs import EXPENSE_COLUMNS, EXPENSE_OPTIONAL
        return (*EXPENSE_COLUMNS, *EXPENSE_OPTIONAL)
    from subsidies.costs import TIMESHEET_COLUMNS, TIMESHEET_OPTIONAL
    return (*TIMESHEET_COLUMNS, *TIMESHEET_OPTIONAL)


@dataclass(frozen=True)
class ImportKind:
    key: str
    permission: str
    run: Callable[[Session, bytes, str, str, bool], UploadOutcome]
    hint: str | None = None          # how the file's columns work together, beyond their names

    @property
    def columns(self) -> tuple[str, ...]:
        return _columns(self.key)


KINDS: dict[str, ImportKind] = {
    "donors": ImportKind("donors", DONORS_WRITE, _donors),
    "donations": ImportKind("donations", DONORS_WRITE, _donations),
    "agreements": ImportKind("agreements", DONORS_WRITE, _agreements),
    "expenses": ImportKind("expenses", FINANCE_WRITE, _expenses),
    "timesheets": ImportKind("timesheets", FINANCE_WRITE, _timesheets, TIMESHEET_HINT),
}


# --- preview ----------------------------------------------------------------------

def preview(data: bytes, limit: int = PREVIEW_ROWS) -> tuple[list[str], list[list[str]]]:
    """The header and first rows, for a person to see what the file holds. Read
    leniently (undecodable bytes replaced): the importer judges the file itself."""
    if spreadsheet_format(data):
        return [], []  # not text: the importer says what it is
    text = data.decode("utf-8-sig", errors="replace")
    lines = text.splitlines()
    if not lines:
        return [], []
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    header: list[str] = []
    try:
        for index, row in enumerate(reader):
            if index == 0:
                header = [cell.strip() for cell in row]
                continue
            if not any(cell.strip() for cell in row):
                continue
            rows.append(row)
            if len(rows) >= limit:
                break
    except csv.Error:  # a NUL or a stray carriage return: what was read so far is the preview
        pass
    return header, rows


# --- the two steps ------------------------------------------------------------------

@dataclass
class Check:
    kind: str
    file_name: str
    header: list[str]
    rows: list[list[str]]
    problems: list[Problem]
    outcome: UploadOutcome | None

    @property
    def ok(self) -> bool:
        return not self.problems and self.outcome is not None


def check(sessions: sessionmaker, kind: ImportKind, data: bytes, name: str, *, actor: str) -> Check:
    """Run the importer on the file without keeping anything it wrote."""
    header, rows = preview(data)
    session = sessions()
    try:
        outcome = kind.run(session, data, name, actor, True)
        problems: list[Problem] = []
    except InvalidInput as exc:
        outcome, problems = None, exc.problems
    except AnbiError as exc:
        outcome, problems = None, [Problem(None, None, str(exc))]
    finally:
        session.rollback()
        session.close()
    return Check(kind.key, name, header, rows, problems, outcome)


def run(session: Session, kind: ImportKind, data: bytes, name: str, *, actor: str) -> UploadOutcome:
    """Import for real in the caller's transaction and log it. Raises InvalidInput
    (nothing written) when the file no longer passes, e.g. the data changed since
    the check."""
    outcome = kind.run(session, data, name, actor, False)
    record_import(session, kind=kind.key, file_name=name, actor=actor, rows=outcome.rows,
                  figures={label: value for label, value in outcome.figures})
    return outcome


def log_refused(session: Session, kind: str, name: str, actor: str, problems: list[Problem], rows: int) -> None:
    record_refused(session, kind=kind, file_name=name, actor=actor, problems=problems, rows=rows)


# --- keeping the upload between the steps ------------------------------------------

class UploadExpired(AnbiError):
    def __init__(self) -> None:
        super().__init__("the upload has expired; upload the file again")


class UploadStore:
    """Uploaded files waiting for the import step, in a private folder. A file is
    found only with its random token and only by the user who uploaded it."""

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = Path(directory or Path(tempfile.gettempdir()) / "anbi-web-uploads")

    def _paths(self, token: str) -> tuple[Path, Path]:
        if not token or not all(c.isalnum() or c in "-_" for c in token):
            raise UploadExpired()
        return self.directory / f"{token}.csv", self.directory / f"{token}.json"

    def save(self, data: bytes, *, kind: str, name: str, user_id: int) -> str:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._clean()
        token = secrets.token_urlsafe(24)
        data_path, meta_path = self._paths(token)
        data_path.write_bytes(data)
        meta_path.write_text(json.dumps({"kind": kind, "name": name, "user_id": user_id, "at": time.time(),
                                         "sha256": hashlib.sha256(data).hexdigest()}), encoding="utf-8")
        return token

    def load(self, token: str, *, user_id: int) -> tuple[bytes, dict]:
        data_path, meta_path = self._paths(token)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            data = data_path.read_bytes()
        except (OSError, ValueError):
            raise UploadExpired() from None
        if (meta.get("user_id") != user_id or time.time() - meta.get("at", 0) > UPLOAD_LIFETIME_SECONDS
                or hashlib.sha256(data).hexdigest() != meta.get("sha256")):
            raise UploadExpired()
        return data, meta

    def delete(self, token: str) -> None:
        for path in self._paths(token):
            path.unlink(missing_ok=True)

    def _clean(self) -> None:
        cutoff = time.time() - UPLOAD_LIFETIME_SECONDS
        for path in self.directory.glob("*"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                pass
