"""`anbi stripe payouts`: added to the Stripe command group; the rules are in
`fundraising.payouts`."""
from __future__ import annotations

import click

from anbi.core import formatting
from anbi.core.clock import parse_date


def _date(ctx, param, value):
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("payouts")
@click.option("--since", "since", callback=_date, help="Only payouts created on or after this date.")
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
    from anbi.cli import print_json
    from anbi.core.clock import today
    from fundraising.payouts import fetch_payouts, known_items, store_payouts
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
