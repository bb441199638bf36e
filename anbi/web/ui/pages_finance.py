"""Finance pages: grants with status and deadlines, a grant's accountability
figures (budget against actual with a bar per line, eligible costs, payments and
balance, outputs) with the report as PDF or XLSX, the funds report and the RJ 650
income statement.

Figures come from the subsidies package (subsidies.report.gather, funds_report,
income_statement) and the files from the exports renderers, as on the command line."""
from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from anbi.core.clock import today
from anbi.core.errors import NotFound
from anbi.core.roles import FINANCE_READ
from anbi.web import charts
from anbi.web.i18n import translate
from anbi.web.ui.common import DB, YEARS, PageNotFound, Staff, language, render, staff, ui_router, year_asked

router = ui_router()

REPORT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _organisation(request: Request) -> str:
    organisation = request.app.state.settings.organisation
    return organisation.name if organisation else ""


@router.get("/grants")
def grants_page(request: Request, person: Staff = Depends(staff(FINANCE_READ)), db: Session = DB):
    from subsidies.grants import deadlines, grant_rows

    upcoming: dict[str, list] = {}
    for deadline in deadlines(db, today(), within_days=None):
        upcoming.setdefault(deadline.reference, []).append(deadline)
    return render(request, "grants.html", {
        "title": translate(language(request), "Grants"), "grants": grant_rows(db), "deadlines": upcoming,
    })


@router.get("/grants/{reference}")
def grant_page(request: Request, reference: str, person: Staff = Depends(staff(FINANCE_READ)), db: Session = DB):
    from subsidies.grants import deadlines as all_deadlines
    from subsidies.grants import find_grant
    from subsidies.report import gather, payment_rows

    lang = language(request)
    try:
        grant = find_grant(db, reference)
        figures = gather(db, reference)
    except NotFound:
        raise PageNotFound("This page does not exist.") from None
    bars = [
        charts.Bar(f"{line.code} {line.name}", line.actual_cents, reference=line.budget_cents, warn=line.over_budget)
        for line in figures.lines
    ]
    chart = charts.horizontal_bars(
        bars, title=translate(lang, "Budget against actual"),
        desc=translate(lang, "Budget against actual"), css_class="budget",
    )
    return render(request, "grant.html", {
        "title": f"{grant.reference} {grant.title}", "grant": grant, "figures": figures, "totals": figures.totals,
        "chart": chart, "payments": payment_rows(db, grant),
        "deadlines": [d for d in all_deadlines(db, today()) if d.reference == grant.reference],
    })


@router.get("/grants/{reference}/report.{fmt}")
def grant_report(request: Request, reference: str, fmt: str, person: Staff = Depends(staff(FINANCE_READ)),
                 db: Session = DB):
    from exports.reports.commands import write_grant_report

    if fmt not in REPORT_TYPES:
        raise PageNotFound("This page does not exist.")
    with tempfile.TemporaryDirectory(prefix="anbi-report-") as folder:
        out = Path(folder) / f"{reference}.{fmt}"
        try:
            write_grant_report(db, reference, fmt, out, organisation=_organisation(request))
        except NotFound:
            raise PageNotFound("This page does not exist.") from None
        data = out.read_bytes()
    return Response(data, media_type=REPORT_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{_filename(reference)}.{fmt}"',
    })


def _filename(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text) or "report"


@router.get("/funds")
def funds_page(request: Request, person: Staff = Depends(staff(FINANCE_READ)), db: Session = DB):
    from subsidies.funds import funds_report

    year = year_asked(request)
    found = funds_report(db, year)
    return render(request, "funds.html", {
        "title": translate(language(request), "Funds report {year}", year=year), "year": year, "funds": found.funds,
        "totals": {key: sum(getattr(b, key) for b in found.funds) for key in ("opening", "income", "spending", "closing")},
        "grants": found.grants,
    })


@router.get("/reports")
def income_page(request: Request, person: Staff = Depends(staff(FINANCE_READ)), db: Session = DB):
    from subsidies.income import DUTCH_LABELS, STATEMENT_KEYS, income_statement

    year = year_asked(request)
    current, previous = income_statement(db, year)
    now, before = current.values(), previous.values()
    lines = [(key, DUTCH_LABELS[key], now[key], before[key]) for key in STATEMENT_KEYS]
    return render(request, "income.html", {
        "title": translate(language(request), "Income statement (RJ 650) {year}", year=year), "year": year,
        "lines": lines,
    })


@router.get("/reports/income-{year}.{fmt}")
def income_download(request: Request, year: int, fmt: str, person: Staff = Depends(staff(FINANCE_READ)),
                    db: Session = DB):
    from exports.reports.income_statement import write
    from subsidies.income import income_statement

    if fmt not in REPORT_TYPES or year not in YEARS:
        raise PageNotFound("This page does not exist.")
    current, previous = income_statement(db, year)
    with tempfile.TemporaryDirectory(prefix="anbi-report-") as folder:
        out = Path(folder) / f"income-{year}.{fmt}"
        write(out, fmt, year, current, previous, organisation=_organisation(request), issued_on=today())
        data = out.read_bytes()
    return Response(data, media_type=REPORT_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="income-{year}.{fmt}"'})
