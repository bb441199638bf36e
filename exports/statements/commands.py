"""`anbi receipts issue|send|print` and `anbi agreements form`: the command-line edge
of the annual gift statements (issue 4); `anbi agreements check` is
`fundraising.statements.commands`'.

Commands parse options, call the services with the command's unit of work and
print; the rules live in fundraising.statements.rules and the work in exports.statements.issue,
exports.statements.delivery and exports.statements.agreement_form."""
from __future__ import annotations

from pathlib import Path

import click

from anbi.context import AppContext
from anbi.core.cli_options import YEAR, print_json
from anbi.core.money import format_dutch
from anbi.core import formatting


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


@click.group()
def receipts() -> None:
    """Annual gift statements (jaaroverzichten giften) for donors' tax returns:
    issue them as PDFs, e-mail them, or print the rest for the post."""


@receipts.command("issue")
@click.option("--year", type=YEAR, required=True, help="The calendar year the gifts were received in.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Folder for the PDFs and manifest.csv (created if missing).")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Render PDFs in this many processes; the database work stays in one.")
@click.option("--language", type=click.Choice(["nl", "en"]), default=None,
              help="Language of statements issued in this run (default: each donor's preference). "
                   "A change of language alone issues nothing new.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's summary as one JSON object.")
@click.pass_obj
def receipts_issue(app: AppContext, year: int, out_dir: Path, jobs: int, language: str | None, as_json: bool) -> None:
    """Issue the statements for YEAR: one PDF per donor with something deductible,
    and OUT/manifest.csv listing every current statement of the year.

    Safe to run again: unchanged statements keep their number and their PDF is
    written again byte for byte; a donor whose gifts, amounts, name or address
    changed gets a correction with a new number that replaces the old statement.
    An interrupted run completes when run again. Needs [organisation] with a valid
    RSIN in anbi.toml. Restricted or purged donors get none and are listed."""
    from exports.statements.run_log import issue_and_record

    organisation = app.settings.require_organisation()
    # Logged as a run, as one started from the receipts page is (the page lists both).
    report = issue_and_record(app.session, year=year, out_dir=out_dir, organisation=organisation,
                              actor=app.actor, language=language, jobs=jobs)
    if as_json:
        print_json(report.as_dict())
        return
    if not report.had_gifts:
        click.echo(f"No gifts from known donors dated in {year}: no statements issued. "
                   f"Wrote {report.manifest} with its header only.")
        return
    click.echo(f"Statements {year}: {_plural(len(report.issued), 'new statement', 'new statements')}, "
               f"{_plural(len(report.corrections), 'correction', 'corrections')}, {report.unchanged} unchanged; "
               f"{_plural(report.files_written, 'PDF', 'PDFs')} written to {report.out_dir}.")
    for new, old in report.corrections:
        click.echo(f"  {new} replaces {', '.join(old)}")
    totals = report.totals
    click.echo(f"Current statements: {report.current} — ordinary {format_dutch(totals['regular'])}, "
               f"periodic {format_dutch(totals['periodic'])}, not deductible {format_dutch(totals['non_deductible'])}, "
               f"total received {format_dutch(totals['total_paid'])}. Manifest: {report.manifest}")
    if report.restricted:
        click.echo(f"No statement for {_plural(len(report.restricted), 'restricted or purged donor', 'restricted or purged donors')}: "
                   + ", ".join(report.restricted))
    for excluded in report.excluded:
        click.echo(f"Left off (not in euro): gift {excluded.reference} of donor {excluded.donor_ref}, "
                   f"{formatting.date(excluded.received_on)}, {formatting.money(excluded.amount_cents, excluded.currency)}")
    for number in report.differs_from_issued:
        click.echo(f"warning: the PDF of {number} rendered again differs from the one issued (was reportlab upgraded?)", err=True)


@receipts.command("send")
@click.option("--year", type=YEAR, required=True, help="The statements' year.")
@click.option("--dry-run", is_flag=True, help="List what would be sent; send and record nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print what was sent and who has no e-mail address as JSON.")
@click.pass_obj
def receipts_send(app: AppContext, year: int, dry_run: bool, as_json: bool) -> None:
    """E-mail each current statement of YEAR as a PDF attachment to donors with an
    e-mail address, over SMTP ([smtp] host, port, tls false/starttls/ssl, user,
    password, sender). Each sending is recorded: a re-run sends nothing twice.
    Lists the donors without an e-mail address (see `anbi receipts print`)."""
    from exports.statements.delivery import send_statements

    report = send_statements(app.session, year=year, smtp=app.settings.section("smtp"), dry_run=dry_run)
    if as_json:
        print_json(report.as_dict())
        return
    count = _plural(len(report.sent), "statement", "statements")
    if dry_run:
        click.echo(f"Would send {count} for {year} ({report.already_sent} sent before); nothing was sent or recorded.")
    else:
        click.echo(f"Sent {count} for {year} ({report.already_sent} sent before).")
    for number, ref, email in report.sent:
        click.echo(f"  {number}  {ref}  {email}")
    if report.without_email:
        click.echo(f"{_plural(len(report.without_email), 'donor has', 'donors have')} no e-mail address "
                   f"(use `anbi receipts print --year {year}`):")
        for ref, number in report.without_email:
            click.echo(f"  {ref}  {number}")


@receipts.command("print")
@click.option("--year", type=YEAR, required=True, help="The statements' year.")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The PDF to write.")
@click.option("--reprint", is_flag=True, help="Include statements printed before (a lost print run).")
@click.option("--duplex", is_flag=True, help="Start every statement on a new sheet for double-sided printing.")
@click.option("--json", "as_json", is_flag=True, help="Print the statements included, in order, as JSON.")
@click.pass_obj
def receipts_print(app: AppContext, year: int, out_file: Path, reprint: bool, duplex: bool, as_json: bool) -> None:
    """Merge the current statements of YEAR for donors without an e-mail address into
    one print-ready PDF, sorted by postcode for the post. Each is recorded as printed;
    a re-run only adds statements not printed yet (unless --reprint)."""
    from exports.statements.delivery import print_statements

    report = print_statements(app.session, year=year, out=out_file, reprint=reprint, duplex=duplex)
    if as_json:
        print_json(report.as_dict())
        return
    if not report.written:
        click.echo(f"Nothing to print for {year}: every current statement goes by e-mail or was printed before "
                   "(--reprint prints those again). No file written.")
        return
    click.echo(f"Wrote {out_file}: {_plural(len(report.statements), 'statement', 'statements')}, "
               f"{_plural(report.pages, 'page', 'pages')}, sorted by postcode.")


@click.command("form")
@click.argument("number")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The PDF to write.")
@click.pass_obj
def agreement_form(app: AppContext, number: str, out_file: Path) -> None:
    """Print agreement NUMBER for signature: the contents of the tax authority's model
    form 'Overeenkomst periodieke gift in geld', with the organisation's part (name,
    transactienummer, RSIN) and what we know of the donor filled in."""
    from exports.statements.agreement_form import agreement_form_pdf
    from exports.statements.issue import prepare_output, write_atomically

    organisation = app.settings.require_organisation()
    with app.session() as session:
        pdf = agreement_form_pdf(session, number, organisation)
    prepare_output(out_file.parent if str(out_file.parent) else Path("."))
    write_atomically(out_file, pdf)
    click.echo(f"Wrote {out_file}: agreement {number} for signature.")


