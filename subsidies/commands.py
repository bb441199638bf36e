"""`anbi grants | expenses | staff | timesheets | funds`: the command-line edge of the
subsidies package.

Commands parse options, open the one session of the command, call the services and
print; they hold no rules of their own. `anbi grants report` and `anbi reports
income` render files, so they live with the renderers in `exports.reports.commands`.
"""
from __future__ import annotations

from pathlib import Path

import click

from anbi.context import AppContext
from anbi.core import formatting
from anbi.core.cli_options import YEAR, cut, euro_cents, option_value, print_json
from anbi.core.clock import parse_date, today
from anbi.core.errors import InvalidInput, Problem
from anbi.core.money import format_dutch, parse_money

FILE = click.Path(dir_okay=False, path_type=Path, exists=False)
DRY_RUN = click.option("--dry-run", is_flag=True, help="Check the file and say what would be written; write nothing.")
JSON = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
MAX_FLAGS_SHOWN = 20


def _euro_cents(text: str) -> int:
    return euro_cents(text, "grants")


def _report_import(file: Path, noun: str, result, dry_run: bool, as_json: bool) -> None:
    if as_json:
        print_json({"file": file.name, "created": result.created, "unchanged": result.unchanged,
                    "flagged": result.flagged, "warnings": result.warnings, "dry_run": dry_run})
        return
    suffix = " (dry run: nothing written)" if dry_run else ""
    click.echo(f"{file.name}: {result.summary(noun)}{suffix}")
    for warning in result.warnings[:MAX_FLAGS_SHOWN]:
        click.echo(f"  warning: {warning}")
    if len(result.warnings) > MAX_FLAGS_SHOWN:
        click.echo(f"  ... and {len(result.warnings) - MAX_FLAGS_SHOWN} more warnings")
    for flag in result.flagged[:MAX_FLAGS_SHOWN]:
        click.echo(f"  not eligible: {flag}")
    if len(result.flagged) > MAX_FLAGS_SHOWN:
        click.echo(f"  ... and {len(result.flagged) - MAX_FLAGS_SHOWN} more (see the grant report's ineligible items)")


def _run_import(app: AppContext, kind: str, importer, file: Path, dry_run: bool):
    """One import in one transaction, logged for the dashboard's "last imports"."""
    with app.importing(kind, file, dry_run=dry_run) as (session, outcome):
        result = importer(session, file, dry_run=dry_run)
        outcome.rows = result.created + result.unchanged
        outcome.figures = {"created": result.created, "unchanged": result.unchanged}
    return result


# --- grants -----------------------------------------------------------------------


@click.group()
def grants() -> None:
    """Grants (beschikkingen): add from a file, list, deadlines, lifecycle, payments,
    outputs and the accountability report."""


@grants.command("add")
@click.option("--from-file", "from_file", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The grant file (TOML): reference, title, funder, funder_type, kind, start, end, awarded, ...")
@click.option("--json", "as_json", is_flag=True, help="Print {reference, created, status} as JSON.")
@click.pass_obj
def grants_add(app: AppContext, from_file: Path, as_json: bool) -> None:
    """Add a grant from its grant file.

    Required: reference, title, funder, funder_type (lottery, government, eu,
    municipality, foundation, company, related_nonprofit, other_nonprofit), kind
    (project, institutional, regular_contribution), start, end, awarded. Optional:
    funding_rate (default 1), indirect_rate with indirect_base (direct or staff),
    hours_per_year (the hours basis for staff rates: 1720 for EU grants), report_due,
    settlement_due, accountability (none, activities, full; default from the awarded
    amount: up to 25,000 none, below 125,000 activities, from 125,000 full),
    allowed_shift (default 0.10), fund (default: the reference), restricted (default
    true, false for a regular contribution), status (applied or awarded, the
    default), [[budget]] lines (code, name, amount), [[indicators]] (code, name,
    target) and [odoo.budget_lines] ("account code" = "budget line code").

    Examples in the repository: docs/examples/grant-amif.toml, grant-municipal.toml,
    grant-npl.toml (docs/imports.md describes every field).

    The whole file is checked first; every problem is named by its field. Adding the
    same file again changes nothing; a different file under an existing reference is
    refused (a grant decision is not edited: use a new reference)."""
    from subsidies.grants import add_grant, parse_grant_file

    try:
        text = from_file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput([Problem(None, None, "the file is not UTF-8")], from_file.name) from None
    spec = parse_grant_file(text, from_file.name)
    with app.session() as session:
        grant, created = add_grant(session, spec, actor=app.actor)
        status = grant.status
    if as_json:
        print_json({"reference": spec.reference, "created": created, "status": status})
    elif created:
        click.echo(f"grant {spec.reference} added ({status}): {spec.title}, {format_dutch(spec.awarded_cents)} from {spec.funder}")
    else:
        click.echo(f"grant {spec.reference} is already there with this content; nothing changed")


@grants.command("list")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list: reference, title, funder, funder_type, kind, start, end, awarded, funding_rate, "
                   "status, accountability_level, fund, restricted, settled_on, settled_amount.")
@click.pass_obj
def grants_list(app: AppContext, as_json: bool) -> None:
    """List every grant with its period, amount and status."""
    from subsidies.grants import grant_rows

    with app.session() as session:
        rows = grant_rows(session)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        amount = format_dutch(parse_money(row["awarded"]).cents)
        click.echo(f"{row['reference']:<20} {formatting.date(row['start'])} – {formatting.date(row['end'])} {amount:>16}  {row['status']:<9} "
                   f"{cut(row['funder'], 30):<30} {cut(row['title'], 40)}")
    click.echo(f"{len(rows)} grant{'' if len(rows) == 1 else 's'}", err=True)


@grants.command("deadlines")
@click.option("--within", "within_days", type=click.IntRange(min=0), help="Only what falls due within DAYS (and what is overdue).")
@click.option("--today", "today_text", help="Count from this date instead of today (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list: reference, title, deadline, due, days_left, overdue.")
@click.pass_obj
def grants_deadlines(app: AppContext, within_days: int | None, today_text: str | None, as_json: bool) -> None:
    """Deadlines of all grants, soonest first.

    report_due and settlement_due (the request for the vaststelling) while they are
    still to do; reclaim_window_end, the day the funder can no longer reclaim (the
    vaststelling + 5 years, Awb 4:49/4:57); record_keeping_end for EU grants, the
    end of the duty to keep the records (31 December of the year of the last payment
    + 5 years, CPR art. 82)."""
    from subsidies.grants import deadlines

    day = option_value(today_text, "--today", parse_date) or today()
    with app.session() as session:
        found = deadlines(session, day, within_days)
    if as_json:
        print_json([
            {"reference": d.reference, "title": d.title, "deadline": d.kind, "due": d.due.isoformat(),
             "days_left": d.days_left, "overdue": d.overdue}
            for d in found
        ])
        return
    for d in found:
        when = f"{-d.days_left} days OVERDUE" if d.overdue else f"in {d.days_left} days"
        click.echo(f"{formatting.date(d.due)}  {d.reference:<20} {d.kind:<20} {when}")
    if not found:
        click.echo("no deadlines" + (f" within {within_days} days" if within_days is not None else ""))


def _transition(action: str, help_text: str):
    @click.argument("reference")
    @click.pass_obj
    def command(app: AppContext, reference: str) -> None:
        from subsidies.grants import change_status

        with app.session() as session:
            grant = change_status(session, reference, action, actor=app.actor)
            status = grant.status
        click.echo(f"grant {reference} is now {status}")

    command.__doc__ = help_text
    return grants.command(action)(command)


LIFECYCLE = (
    "\n\nREFERENCE is the grant's reference. The lifecycle is applied → awarded → running → "
    "reported → settled → closed; a step from any other state is refused with the state it needs."
)
_transition("award", "Record that an applied-for grant was awarded (applied → awarded): the grant decision "
            "(verleningsbesluit) arrived." + LIFECYCLE)
_transition("start", "Record that the grant's activities started (awarded → running)." + LIFECYCLE)
_transition("report-sent", "Record that the report and the request for the vaststelling were sent to the "
            "funder (running → reported)." + LIFECYCLE)
_transition("close", "Close a settled grant: the settlement is paid or repaid and nothing more is expected "
            "(settled → closed). Refused while the settled amount less what was received is not zero: the "
            "message names the amount and the payment to import first (`anbi grants payments import`: the final "
            "payment as kind settlement, or a repayment). The reclaim window and record keeping still run; see "
            "`anbi grants deadlines`." + LIFECYCLE)


@grants.command("settle")
@click.argument("reference")
@click.option("--date", "date_text", required=True, help="Date of the vaststelling (YYYY-MM-DD).")
@click.option("--amount", "amount_text", required=True, help="The settled amount (e.g. 298750.00).")
@click.pass_obj
def grants_settle(app: AppContext, reference: str, date_text: str, amount_text: str) -> None:
    """Record the funder's final determination (vaststelling): reported → settled.

    A grant without a reporting duty (accountability none, up to € 25.000) may be
    settled directly from awarded or running. The date is the day the vaststelling
    was made: not in the future, not before the grant starts. From that year on the
    settled amount decides the grant: the income the statement recognises, and the
    balance in the grant report and the funds report (settled amount less what was
    received). The funder may reclaim until 5 years after this date."""
    from subsidies.grants import change_status

    settled_on = option_value(date_text, "--date", parse_date)
    settled_cents = option_value(amount_text, "--amount", _euro_cents)
    with app.session() as session:
        grant = change_status(session, reference, "settle", actor=app.actor, settled_on=settled_on, settled_cents=settled_cents)
        status = grant.status
    click.echo(f"grant {reference} is now {status}: {format_dutch(settled_cents)} on {formatting.date(settled_on)}")


@grants.group("payments")
def grants_payments() -> None:
    """Money the funder paid (advances, settlement) or that was paid back."""


@grants_payments.command("import")
@click.argument("file", type=FILE)
@DRY_RUN
@JSON
@click.pass_obj
def payments_import(app: AppContext, file: Path, dry_run: bool, as_json: bool) -> None:
    """Import grant payments from a CSV or XLSX file.

    Columns: grant (reference), date, amount, kind (advance, settlement, repayment),
    reference (unique). Every row is checked first; nothing is written if any is
    wrong. A row imported twice is left as it is; the same reference with another
    amount, date, kind or grant is refused."""
    from subsidies.payments import import_payments

    result = _run_import(app, "payments", import_payments, file, dry_run)
    _report_import(file, "payments", result, dry_run, as_json)


@grants.group("outputs")
def grants_outputs() -> None:
    """Outputs achieved against a grant's indicators."""


@grants_outputs.command("import")
@click.argument("file", type=FILE)
@DRY_RUN
@JSON
@click.pass_obj
def outputs_import(app: AppContext, file: Path, dry_run: bool, as_json: bool) -> None:
    """Import outputs from a CSV or XLSX file.

    Columns: reference (unique), grant, indicator (a code from the grant file), date,
    value (a whole number; negative corrects an earlier count). Checked whole first;
    a row imported twice is left as it is."""
    from subsidies.payments import import_outputs

    result = _run_import(app, "outputs", import_outputs, file, dry_run)
    _report_import(file, "outputs", result, dry_run, as_json)


# --- costs ------------------------------------------------------------------------


@click.group()
def expenses() -> None:
    """Costs charged to grants, to donation funds, or to neither."""


@expenses.command("import")
@click.argument("file", type=FILE)
@DRY_RUN
@JSON
@click.pass_obj
def expenses_import(app: AppContext, file: Path, dry_run: bool, as_json: bool) -> None:
    """Import costs from a CSV or XLSX file.

    Columns: reference (unique), date, amount (negative: a credit note correcting a
    cost) — required; grant (reference), budget_line (required when the grant has a
    budget), fund (a donation fund's code, for a cost not on a grant), description,
    eligible (yes/no; empty: yes), reason (required when not eligible). A cost dated
    outside its grant's period is imported as not eligible, with the reason.

    Every row is checked first; nothing is written if any is wrong. A row imported
    twice is left as it is; the same reference with other content is refused (a cost
    is corrected by a new row)."""
    from subsidies.costs import import_expenses

    result = _run_import(app, "expenses", import_expenses, file, dry_run)
    _report_import(file, "costs", result, dry_run, as_json)


@click.group()
def staff() -> None:
    """Documented annual employment costs, the basis of staff hour rates."""


@staff.command("import")
@click.argument("file", type=FILE)
@DRY_RUN
@JSON
@click.pass_obj
def staff_import(app: AppContext, file: Path, dry_run: bool, as_json: bool) -> None:
    """Import annual employment costs from a CSV or XLSX file.

    Columns: employee, year, annual_cost (gross employment cost: salary, employer's
    charges, pension), fte (default 1), weekly_hours (contract hours a week, default
    40 × fte; only for the warning on a period sheet above the contract). An hour costs annual_cost / (the grant's
    hours_per_year × fte), rounded to cents, using the latest year documented up to
    the hour's year. A documented year is not overwritten; a new one may change the
    annual hour ceiling of hours already booked, which is applied again."""
    from subsidies.costs import import_staff

    result = _run_import(app, "staff", import_staff, file, dry_run)
    _report_import(file, "staff cost years", result, dry_run, as_json)


@click.group()
def timesheets() -> None:
    """Hours worked on grants with an hours basis."""


@timesheets.command("import")
@click.argument("file", type=FILE)
@DRY_RUN
@JSON
@click.pass_obj
def timesheets_import(app: AppContext, file: Path, dry_run: bool, as_json: bool) -> None:
    """Import timesheet lines from a CSV or XLSX file.

    Columns: reference (unique), employee, grant, budget_line, hours (up to two
    decimals), and either date (one day) or period_start and period_end (a period,
    such as a signed monthly sheet; date then empty). A line holds at most its days ×
    24 hours, and a period lies in one calendar year. Only grants with an hours basis
    (hours_per_year) take hours, and only for employees with a documented annual cost
    for that year or before.

    Per employee and calendar year, hours past the ceiling (hours_per_year × fte,
    across all grants, in the order of each line's last day, then file order) and
    hours outside the grant period are not eligible; a period crossing the grant's
    start or end is split pro rata by days. The import lists them. A period with more
    hours than the employee's contract hours in it is a warning, not a refusal."""
    from subsidies.costs import import_timesheets

    result = _run_import(app, "timesheets", import_timesheets, file, dry_run)
    _report_import(file, "timesheet lines", result, dry_run, as_json)


# --- funds ------------------------------------------------------------------------


@click.group()
def funds() -> None:
    """Earmarked funds (bestemmingsfondsen): money given for one purpose."""


@funds.command("add")
@click.argument("code")
@click.option("--name", required=True, help="What the fund is for.")
@click.pass_obj
def funds_add(app: AppContext, code: str, name: str) -> None:
    """Add an earmarked fund (or rename one). Donations and costs name it by CODE."""
    from subsidies.funds import add_fund

    try:
        with app.session() as session:
            _, created = add_fund(session, code, name, actor=app.actor)
    except ValueError as exc:
        raise InvalidInput([Problem(None, "CODE/--name", str(exc))]) from None
    click.echo(f"fund {code} {'added' if created else 'is there'}: {name}")


@funds.command("report")
@click.option("--year", type=YEAR, required=True, help="The calendar year.")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON object: year; funds, each with code, name, opening, income, spending, closing; "
                   "grants, each with reference, title, fund, opening, recognised, received, closing.")
@click.pass_obj
def funds_report(app: AppContext, year: int, as_json: bool) -> None:
    """Per fund: opening balance, income, spending and closing balance for YEAR; and
    apart from the funds, each grant's balance with its funder.

    Fund income: earmarked donations net of refunds, and for a restricted grant's fund
    the grant income the year recognises; spending: costs charged to the fund, and
    for a grant's fund the costs that income pays for (the same amount: a grant's
    income follows its costs). A grant's balance is what it is entitled to by then
    (the funder share of its costs, or the settled amount once the vaststelling is
    made) less what was received: positive still to receive, negative received ahead
    or to repay."""
    from subsidies.funds import funds_report as report

    with app.session() as session:
        found = report(session, year)
    if as_json:
        print_json(found.json())
        return
    balances = found.funds
    click.echo(f"{'fund':<20} {'opening':>16} {'income':>16} {'spending':>16} {'closing':>16}")
    for b in balances:
        click.echo(f"{b.code[:20]:<20} {format_dutch(b.opening):>16} {format_dutch(b.income):>16} "
                   f"{format_dutch(b.spending):>16} {format_dutch(b.closing):>16}")
    totals = [sum(getattr(b, name) for b in balances) for name in ("opening", "income", "spending", "closing")]
    click.echo(f"{'total':<20} " + " ".join(f"{format_dutch(t):>16}" for t in totals))
    if found.grants:
        click.echo("")
        click.echo(f"{'grant (+ to receive, - to repay)':<34} {'opening':>16} {'recognised':>16} {'received':>16} {'closing':>16}")
        for g in found.grants:
            click.echo(f"{g.reference[:34]:<34} {format_dutch(g.opening):>16} {format_dutch(g.recognised):>16} "
                       f"{format_dutch(g.received):>16} {format_dutch(g.closing):>16}")
