"""`anbi stripe ...`: the command-line edge of the Stripe part.

`sync` catches up with Stripe (see fundraising/stripe/sync.py); `events` shows the
inbox, so a person can see what failed or still waits; `payouts` reconciles Stripe's
payouts (the rules are in `fundraising.stripe.payouts`)."""
from __future__ import annotations

import datetime as dt

import click
from sqlalchemy import func, select

from anbi.core import formatting
from anbi.core.cli_options import date_callback, print_json
from anbi.core.clock import parse_date
from fundraising.stripe.models import EVENT_STATUSES, StripeEvent


class _Date(click.ParamType):
    name = "DATE"

    def convert(self, value, param, ctx):
        try:
            return parse_date(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DATE = _Date()


@click.group()
def stripe() -> None:
    """Stripe: catch up with payments, refunds and subscriptions; see the event inbox."""


@stripe.command()
@click.option("--since", type=DATE, default=None,
              help="Look back to this day (2025-03-01). Default: 30 days, as long as Stripe keeps events.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def sync(app, since, as_json: bool) -> None:
    """Backfill from Stripe what the webhook missed, through the same path.

    Reads events, refunds and invoices since the date, books what is not booked yet
    (a replay is a no-op), fills in each Stripe gift's fee (so gross and net are
    known) and its payment method where the event did not say, links subscription
    payments to their recurring gift, and applies events that were waiting. Needs
    [stripe] api_key (and api_base for another Stripe-compatible server). Safe to
    run again."""
    from fundraising.stripe.client import make_client
    from fundraising.stripe.sync import sync as run_sync

    client = make_client(app.settings)
    with app.session() as session:
        summary = run_sync(session, client, since=since)
    if as_json:
        print_json(summary.as_json())
    else:
        for line in summary.lines():
            click.echo(line)


@stripe.command()
@click.option("--status", type=click.Choice(EVENT_STATUSES), default=None, help="Only events in this state.")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True, help="The newest this many.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_obj
def events(app, status: str | None, limit: int, as_json: bool) -> None:
    """The Stripe event inbox, newest first: what each event did, and why one failed
    or what it is waiting for."""
    with app.session() as session:
        query = select(StripeEvent).order_by(StripeEvent.created.desc(), StripeEvent.id.desc()).limit(limit)
        counts = dict(session.execute(select(StripeEvent.status, func.count()).group_by(StripeEvent.status)).all())
        if status:
            query = query.where(StripeEvent.status == status)
        rows = [
            {
                "event": e.event_id, "type": e.type, "created": e.created.isoformat(), "status": e.status,
                "object": e.object_id, "note": e.error, "via": e.via, "attempts": e.attempts,
            }
            for e in session.scalars(query)
        ]
    if as_json:
        print_json(rows)
        return
    click.echo("Inbox: " + (", ".join(f"{counts[s]} {s}" for s in EVENT_STATUSES if counts.get(s)) or "empty"))
    for row in rows:
        note = f"  {row['note']}" if row["note"] else ""
        click.echo(f"{formatting.moment(dt.datetime.fromisoformat(row['created']))}  {row['status']:<8} {row['type']:<32} {row['event']}{note}")


@stripe.command("payouts")
@click.option("--since", "since", callback=date_callback, help="Only payouts created on or after this date.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def payouts(app, since, as_json: bool) -> None:
    """Fetch Stripe payouts and reconcile each to its donations to the cent.

    Each payout is read with its balance transactions (charges, refunds, disputes,
    fees). It is reconciled when the transactions add up to the payout and every
    charge is one of our donations with the same amount; only then does
    `anbi odoo sync` book it (dated by its arrival date). Lists the payouts not yet
    seen on a bank statement and the bank lines from Stripe that match no payout.
    """
    from anbi.core.clock import today
    from fundraising.stripe.payouts import fetch_payouts, known_items, store_payouts
    from fundraising.stripe.client import make_client

    client = make_client(app.settings)
    with app.session() as session:
        taken = known_items(session)
    fetched = fetch_payouts(client, since=since, known_items=taken)
    with app.session() as session:
        report = store_payouts(session, fetched, today=today())
    if as_json:
        print_json({"payouts": report.payouts, "bank_lines_matched": report.bank_lines_matched,
                    "not_on_statement": report.not_on_statement, "unmatched_bank_lines": report.unmatched_lines})
        return
    if not report.payouts:
        click.echo("No payouts" + (f" since {formatting.date(since)}." if since else "."))
    for p in report.payouts:
        state = "reconciled" if p["reconciled"] else f"NOT reconciled ({p['note']})"
        click.echo(f"{p['payout']}  {p['arrival_date']}  {p['amount']} {p['currency']}  gross {p['charges']}, "
                   f"refunds {p['refunds']}, disputes {p['disputes']}, fees {p['fees']}: {state}")
    if report.bank_lines_matched:
        click.echo(f"{report.bank_lines_matched} bank line(s) matched to their payout.")
    for p in report.not_on_statement:
        click.echo(f"Not on a bank statement yet: {p['payout']} ({p['amount']}, arrival {p['arrival_date']}).")
    for line in report.unmatched_lines:
        click.echo(f"Bank line {line['line']} from Stripe ({line['amount']} on {formatting.date(line['date'])}) matches no payout.")
