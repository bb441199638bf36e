"""Receipts: start the run of annual gift statements for a year and download its
manifest. The run itself is the receipts part's `issue_and_record` — the same as
`anbi receipts issue` — working in the background with a transaction per chunk;
the page lists every run, from here or from the terminal, and how it ended."""
from __future__ import annotations


import datetime as dt
import logging
import threading
from pathlib import Path

from fastapi import Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from anbi.core.clock import today, utcnow
from anbi.core.db import session_scope
from anbi.core.errors import AnbiError
from anbi.core.roles import STATEMENTS_RUN
from anbi.core.runs import ReceiptRun
from anbi.web.i18n import translate
from anbi.web.ui.common import DB, PageNotFound, Staff, language, redirect, render, staff, ui_router

router = ui_router()
log = logging.getLogger(__name__)

# A run still "running" after this long died with its server (a restart): it no
# longer blocks a new run for the year, which continues where it stopped (the
# receipts run commits per chunk and is safe to run again).
STALE_AFTER = dt.timedelta(hours=6)


def receipts_folder(request: Request, year: int) -> Path:
    """Where a year's statements go: `[web] receipts_dir` (default ./receipts) / year."""
    base = request.app.state.settings.web.receipts_dir or "receipts"
    return Path(base).resolve() / str(year)


def execute_run(engine, run_id: int, *, year: int, out_dir: Path, organisation, actor: str) -> None:
    """Issue the statements and record the outcome on the run (in its own thread)."""
    from exports.statements.run_log import issue_and_record

    try:
        issue_and_record(lambda: session_scope(engine), year=year, out_dir=out_dir, organisation=organisation,
                         actor=actor, run_id=run_id)
    except AnbiError:
        pass  # recorded on the run, for the person who started it
    except Exception:  # recorded on the run too; the log has the traceback
        log.exception("receipt run %s failed", run_id)


@router.get("/receipts")
def receipts_page(request: Request, person: Staff = Depends(staff(STATEMENTS_RUN)), db: Session = DB):
    runs = db.scalars(select(ReceiptRun).order_by(ReceiptRun.started_at.desc(), ReceiptRun.id.desc()).limit(20)).all()
    return render(request, "receipts.html", {
        "title": translate(language(request), "Annual gift statements"), "runs": runs,
        "default_year": today().year - 1, "error": None,
    })


@router.post("/receipts")
def start_run(request: Request, year: int = Form(...), person: Staff = Depends(staff(STATEMENTS_RUN)),
              db: Session = DB):
    lang = language(request)
    settings = request.app.state.settings
    problem = None
    if not 1900 <= year <= today().year:
        problem = f"year {year} is not a past or current year"
    elif db.scalar(select(ReceiptRun.id).where(ReceiptRun.year == year, ReceiptRun.status == "running",
                                               ReceiptRun.started_at > utcnow() - STALE_AFTER)):
        problem = f"a run for {year} is still going"
    try:
        organisation = settings.require_organisation()
    except AnbiError as exc:
        organisation, problem = None, problem or str(exc)
    if problem:
        runs = db.scalars(select(ReceiptRun).order_by(ReceiptRun.started_at.desc()).limit(20)).all()
        return render(request, "receipts.html", {
            "title": translate(lang, "Annual gift statements"), "runs": runs, "default_year": year, "error": problem,
        }, status=400)
    out_dir = receipts_folder(request, year)
    run = ReceiptRun(year=year, out_dir=str(out_dir), actor=person.email, status="running")
    db.add(run)
    db.flush()
    # Committed before the thread starts, so the thread finds its row.
    db.commit()
    thread = threading.Thread(
        target=execute_run, name=f"receipts-{year}", daemon=True,
        args=(request.app.state.engine, run.id),
        kwargs={"year": year, "out_dir": out_dir, "organisation": organisation, "actor": person.email},
    )
    thread.start()
    request.app.state.receipt_threads = [*getattr(request.app.state, "receipt_threads", []), thread]
    return redirect("/receipts")


@router.get("/receipts/{run_id}/manifest.csv")
def manifest(request: Request, run_id: int, person: Staff = Depends(staff(STATEMENTS_RUN)), db: Session = DB):
    from exports.statements.issue import MANIFEST

    run = db.get(ReceiptRun, run_id)
    if run is None or run.status != "finished":
        raise PageNotFound("This page does not exist.")
    path = Path(run.out_dir) / MANIFEST
    try:
        data = path.read_bytes()
    except OSError:
        raise PageNotFound("This page does not exist.") from None
    return Response(data, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="manifest-{run.year}.csv"'})


