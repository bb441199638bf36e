"""The `anbi` command: wires each package's commands and turns errors into one line."""
from __future__ import annotations

import os

import click
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from anbi.context import AppContext
from anbi.core.audit import default_actor
from anbi.core.errors import AnbiError, InvalidInput
from anbi.core.settings import load_settings

# Set (to 1) to see the traceback of an unexpected error instead of its one line.
DEBUG_ENV = "ANBI_DEBUG"


class AnbiGroup(click.Group):
    """Maps every error to one line on stderr and exit code 1: no command prints a
    traceback. A database error says what the database said in its first line only
    (the lines after it, and the statement's parameters, carry the rows' data); an
    unexpected error names its kind (with ANBI_DEBUG=1 it is raised as it is)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except AnbiError as exc:
            report_error(exc)
            ctx.exit(1)
        except SQLAlchemyError as exc:
            click.echo(f"error: {database_message(exc)}", err=True)
            ctx.exit(1)
        except Exception as exc:
            if os.environ.get(DEBUG_ENV, "").strip() not in ("", "0"):
                raise
            click.echo(f"error: unexpected {type(exc).__name__}; nothing more was done "
                       f"(a bug: run again with {DEBUG_ENV}=1 to see where, and report it)", err=True)
            ctx.exit(1)


def database_message(exc: SQLAlchemyError) -> str:
    """One line for a database error, without data: the database's own first line
    (a constraint or column name, never a row's values, which follow on later lines)."""
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else None
    lines = str(original).strip().splitlines() if original is not None else []
    message = lines[0] if lines else type(exc).__name__
    if isinstance(exc, IntegrityError):
        return (f"database: the change was refused and rolled back ({message}); "
                "another run may have written the same records at the same moment")
    hint = " (run `anbi init` first?)" if "no such table" in message or "does not exist" in message else ""
    return f"database: {message}{hint}"


@click.group(cls=AnbiGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--database-url", envvar="ANBI_DATABASE_URL", help="Database URL (default: $ANBI_DATABASE_URL, else sqlite file ./anbi.db).")
@click.option("--config", "config_path", envvar="ANBI_CONFIG", type=click.Path(dir_okay=False), help="Settings file (default: ./anbi.toml).")
@click.option("--actor", default=None, help="Who is doing this, for the audit trail (default: the OS user).")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, config_path: str | None, actor: str | None) -> None:
    """anbi-crm: donors, gifts, ANBI receipts and subsidy accounting for Dutch charities."""
    try:
        settings = load_settings(config_path, database_url=database_url)
    except AnbiError as exc:
        report_error(exc)
        ctx.exit(1)
    app = AppContext(settings=settings, actor=actor or default_actor())
    ctx.obj = app
    ctx.call_on_close(app.close)


@cli.command()
@click.pass_obj
def init(app: AppContext) -> None:
    """Create the database schema, or bring it up to date. Safe to run again."""
    from anbi.core.migrate import upgrade

    upgrade(app.engine)
    click.echo(f"Database ready: {app.engine.url.render_as_string(hide_password=True)}")


@cli.command()
@click.option("--out", "out_dir", default="demo-output", show_default=True, type=click.Path(file_okay=False), help="Folder for the files the demo writes.")
@click.pass_obj
def demo(app: AppContext, out_dir: str) -> None:
    """Seed a realistic demo organisation and run the main jobs on it.

    Run once per database: a second run finds the demo there, changes nothing and
    says how to start again (remove the database and the output folder)."""
    from anbi.demo import run_demo

    run_demo(app, out_dir)


def _register_commands() -> None:
    """Every package's commands, by layer; each sub-area owns its commands.py. A group
    may gain commands from a higher layer (`anbi agreements form` from exports)."""
    from donors.commands import donors, privacy
    from donors.record_commands import import_command, list_command, show_command

    cli.add_command(donors)
    cli.add_command(privacy)
    for command in (import_command, list_command, show_command):
        donors.add_command(command)

    from fundraising.bank.commands import bank
    from fundraising.commands import agreements, campaigns, donations, mandates, recurring, reports
    from fundraising.statements.commands import agreement_check
    from fundraising.stripe.commands import stripe

    for group in (campaigns, donations, recurring, mandates, agreements, reports, bank, stripe):
        cli.add_command(group)
    agreements.add_command(agreement_check)

    from subsidies.commands import expenses, funds, grants, staff, timesheets

    for group in (grants, expenses, staff, timesheets, funds):
        cli.add_command(group)

    from exports.odoo.commands import odoo
    from exports.registers.commands import export_command
    from exports.reports.commands import grants_report, reports_income
    from exports.sepa.commands import sepa
    from exports.statements.commands import agreement_form, receipts

    for command in (receipts, sepa, odoo, export_command):
        cli.add_command(command)
    grants.add_command(grants_report)
    reports.add_command(reports_income)
    agreements.add_command(agreement_form)

    from anbi.web.commands import serve
    from anbi.web.identity.commands import tokens, users

    for command in (serve, users, tokens):
        cli.add_command(command)


_register_commands()


def report_error(exc: AnbiError) -> None:
    if isinstance(exc, InvalidInput) and len(exc.problems) > 1:
        prefix = f"{exc.source}: " if exc.source else ""
        click.echo(f"error: {prefix}{len(exc.problems)} problems, nothing was written:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
    else:
        click.echo(f"error: {exc}", err=True)


def main() -> None:
    cli(prog_name="anbi")


