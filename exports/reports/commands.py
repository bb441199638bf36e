"""`anbi grants report` and `anbi reports income`: the commands that write the
subsidy reports as files. They live with the renderers (exports depends on
subsidies, never the other way round) and are wired into the `grants` and `reports`
groups by anbi/cli.py.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
from sqlalchemy.orm import Session

from anbi.context import AppContext
from anbi.core.cli_options import YEAR
from anbi.core.clock import parse_date, today
from anbi.core.errors import InvalidInput, Problem

FORMATS = ("pdf", "xlsx", "json")


def _organisation_name(app: AppContext) -> str:
    organisation = app.settings.organisation
    return organisation.name if organisation else ""


def write_grant_report(
    session: Session,
    reference: str,
    fmt: str,
    out: str | Path,
    *,
    period_from: dt.date | None = None,
    period_to: dt.date | None = None,
    organisation: str = "",
    issued_on: dt.date | None = None,
):
    """Gather one grant's figures and write them as `fmt` to `out`; returns the figures."""
    from subsidies.grants import find_grant
    from subsidies.report import audit_expenses, audit_timesheets, figures_json, gather, hour_rates, payment_rows

    figures = gather(session, reference, period_from=period_from, period_to=period_to)
    out = Path(out)
    if fmt == "json":
        out.write_text(json.dumps(figures_json(figures), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    elif fmt == "pdf":
        from exports.reports.grant_pdf import render_grant_report

        grant = find_grant(session, reference)
        out.write_bytes(render_grant_report(
            figures, payments=payment_rows(session, grant, period_from, period_to), organisation=organisation,
            issued_on=issued_on or today(),
        ))
    elif fmt == "xlsx":
        from exports.reports.grant_xlsx import write_grant_workbook

        grant = find_grant(session, reference)
        sheets = list(audit_timesheets(session, grant, period_from, period_to))
        rates = hour_rates(session, grant, {(line.employee, line.date.year) for line in sheets}) if sheets else {}
        write_grant_workbook(
            out, figures,
            expense_rows=audit_expenses(session, grant, period_from, period_to),
            timesheet_rows=sheets,
            rates=rates,
            payments=payment_rows(session, grant, period_from, period_to),
            organisation=organisation,
        )
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return figures


def _date_option(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError as exc:
        raise InvalidInput([Problem(None, option, str(exc))]) from None


def _check_out(out: Path) -> None:
    if not out.parent.exists():
        raise InvalidInput([Problem(None, "--out", f"the folder {out.parent} does not exist")])


@click.command("report")
@click.argument("reference")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True, help="pdf for the funder, xlsx for the auditor, json for scripts.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The file to write.")
@click.option("--from", "from_text", help="Interim report: costs, payments and outputs from this date (YYYY-MM-DD).")
@click.option("--to", "to_text", help="Interim report: up to and including this date.")
@click.pass_obj
def grants_report(app: AppContext, reference: str, fmt: str, out: Path, from_text: str | None, to_text: str | None) -> None:
    """Write a grant's accountability report (verantwoording).

    Per budget line: budget, actual, variance and a flag past the allowed shift;
    eligible direct costs, indirect costs (rate × base), total eligible, the funder
    share (funding rate × total, at most the awarded amount), what was received and
    the balance; outputs against targets; costs that are not eligible and why.
    The PDF is what the funder receives; the XLSX has the same tables with formulas
    and every cost row and timesheet line behind them; the JSON has the keys
    reference, title, funder, period, awarded, funding_rate, budget_lines,
    direct_eligible, ineligible, indirect, total_eligible, funder_share, received,
    balance, accountability_level, indicators, ineligible_items, warnings."""
    period_from = _date_option(from_text, "--from")
    period_to = _date_option(to_text, "--to")
    if period_from and period_to and period_to < period_from:
        raise InvalidInput([Problem(None, "--to", f"{period_to.isoformat()} is before --from {period_from.isoformat()}")])
    _check_out(out)
    with app.session() as session:
        figures = write_grant_report(session, reference, fmt, out, period_from=period_from, period_to=period_to,
                                     organisation=_organisation_name(app))
    from anbi.core.money import format_dutch

    click.echo(f"{out}: {reference} funder share {format_dutch(figures.funder_share_cents)}, "
               f"received {format_dutch(figures.received_cents)}, balance {format_dutch(figures.balance_cents)}")
    for warning in figures.warnings:
        click.echo(f"  {warning}")


@click.command("income")
@click.option("--year", type=YEAR, required=True, help="The financial (calendar) year.")
@click.option("--format", "fmt", type=click.Choice(("json", "pdf", "xlsx")), required=True, help="The file format.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The file to write.")
@click.pass_obj
def reports_income(app: AppContext, year: int, fmt: str, out: Path) -> None:
    """Write the RJ 650 income statement (staat van baten) for YEAR, beside the year before.

    Income by origin: private individuals (gifts and periodic gifts from persons,
    anonymous gifts), companies, lotteries, government grants, related and other
    non-profits (foundations included), their sum (geworven baten), income for
    goods and services (the consideration part of payments, lottery ticket sales),
    other income, and the total. JSON: {"year", "current", "previous"} with the keys
    private_individuals, companies, lotteries, government_grants,
    related_nonprofits, other_nonprofits, raised_income_total,
    income_for_goods_and_services, other_income, total_income."""
    from anbi.core.money import format_dutch
    from exports.reports.income_statement import write
    from subsidies.income import income_statement

    _check_out(out)
    with app.session() as session:
        current, previous = income_statement(session, year)
    write(out, fmt, year, current, previous, organisation=_organisation_name(app), issued_on=today())
    click.echo(f"{out}: total income {year} {format_dutch(current.total)} ({year - 1}: {format_dutch(previous.total)})")
