"""A run of the annual gift statements, logged: `issue_and_record` issues the
statements (exports.statements.issue.issue_statements) and keeps a ReceiptRun row
(anbi.core.runs) saying who ran it, where the files went and what it did — for
`anbi receipts issue` as for the receipts page, so that the page shows both.

It never decides what a statement says; it only records how a run went."""
from __future__ import annotations

from pathlib import Path

from anbi.core.clock import utcnow
from anbi.core.errors import AnbiError
from anbi.core.runs import ReceiptRun
from anbi.core.settings import Organisation
from exports.statements.issue import IssueReport, UnitOfWork, issue_statements


def run_summary(report: IssueReport) -> dict:
    """What a run did, as the run's row keeps it: counts, labelled."""
    document = report.as_dict()
    return {
        "issued": len(document["issued"]),
        "corrections": len(document["corrections"]),
        "unchanged": document["unchanged"],
        "files_written": document["files_written"],
        "current": document["current"],
        "totals": document["totals"],
        "restricted_donors": len(document["restricted_donors"]),
    }


def start_run(unit_of_work: UnitOfWork, *, year: int, out_dir: Path, actor: str) -> int:
    """A run's row, committed at once, so that a long run shows as running."""
    with unit_of_work() as session:
        run = ReceiptRun(year=year, out_dir=str(out_dir), actor=actor[:254], status="running")
        session.add(run)
        session.flush()
        return run.id


def issue_and_record(unit_of_work: UnitOfWork, *, year: int, out_dir: Path | str, organisation: Organisation,
                     actor: str, run_id: int | None = None, **options) -> IssueReport:
    """Issue the year's statements and record the run: its row (made here unless
    `run_id` names one already made) ends `finished` with the summary, or `failed`
    with the error, which is raised again."""
    if run_id is None:
        run_id = start_run(unit_of_work, year=year, out_dir=Path(out_dir).resolve(), actor=actor)
    status, summary, error = "failed", None, None
    try:
        report = issue_statements(unit_of_work, year=year, out_dir=out_dir, organisation=organisation, actor=actor,
                                  **options)
        status, summary = "finished", run_summary(report)
        return report
    except BaseException as exc:  # recorded, then raised again: the person (or the log) sees it too
        error = str(exc) if isinstance(exc, AnbiError) else f"{exc.__class__.__name__}: {exc}".rstrip(": ")
        raise
    finally:
        with unit_of_work() as session:
            run = session.get_one(ReceiptRun, run_id)
            run.status, run.summary, run.finished_at = status, summary, utcnow()
            run.error = (error or "")[:2000] or None

