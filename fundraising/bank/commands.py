"""`anbi bank ...`: bank statements in, and the review list of lines that matched
nothing. The rules are in `fundraising.bank.camt` (reading) and `fundraising.bank.booking`
(what a line means)."""
from __future__ import annotations

from pathlib import Path

import click

from anbi.core import formatting
from anbi.core.money import format_dutch
from anbi.core.cli_options import print_json
# Registers the purge hook that pseudonymises bank lines; `anbi` loads this module at start.
from fundraising.bank import privacy as ledger_privacy  # noqa: F401


@click.group()
def bank() -> None:
    """Bank statements (camt.053): import, review what matched nothing, assign it."""


@bank.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def import_command(app, file: Path, as_json: bool) -> None:
    """Import a camt.053 statement (versions .001.02 to .001.08).

    The file is checked against the ISO schema of its version first; a file that
    fails, is truncated or is not XML is refused and nothing is imported. Each line
    is imported once: the same statement again changes nothing.

    Incoming transfers become donations when a donor ref in the text or the payer's
    IBAN names one donor (a campaign code in the text sets the campaign). SEPA
    collections are confirmed (pending -> paid, dated by the booking date); returns
    and refunds (R-transactions) undo the gift on their own date with the reason
    code kept. What a return means for the recurring gift follows one table by
    reason code: AM04 (insufficient funds): the next regular collection is the retry;
    MS02 (refused), MD06 (refund), SL01, AC01: the gift is paused for follow-up;
    AC04, AC06 (account closed, blocked), MD01 (no mandate): the mandate is revoked
    and the gift paused; MD07 (debtor deceased): the donor's agreements and recurring
    gifts end; any other code: retried, and listed to check with the bank. [sepa]
    max_failures (default 3) failures in a row pause a gift; a paid collection
    clears the count and makes a failing gift active again. Every gift to follow
    up is listed (--json: `follow_up`). Stripe payouts are matched to the payout.
    The rest is listed by `anbi bank unmatched`.
    """
    from fundraising.bank.booking import import_file

    limit = app.settings.sepa.max_failures
    with app.importing("bank", file) as (session, outcome):
        summary = import_file(session, file, actor=app.actor, max_failures=limit)
        outcome.rows = summary.lines
        outcome.figures = {"created": summary.lines - summary.already_imported, "unchanged": summary.already_imported}
    if as_json:
        print_json(summary.as_json())
        return
    new = summary.lines - summary.already_imported
    click.echo(f"{file.name} (camt.053.001.{summary.version}): {summary.lines} line(s), {new} new, "
               f"{summary.already_imported} imported before.")
    if new:
        click.echo(f"  {summary.donations} transfer(s) booked as donations ({format_dutch(summary.donations_cents)}), "
                   f"{summary.confirmed} collection(s) confirmed, {summary.returned} returned, {summary.refunded} refunded, "
                   f"{summary.payouts} Stripe payout(s) matched, {summary.ignored} ignored (money out).")
    for ref in summary.deceased:
        click.echo(f"  Donor {ref}: the bank reports the debtor deceased (MD07); agreement and recurring gifts ended. Check the record.")
    if summary.follow_up:
        click.echo(f"  To follow up ({len(summary.follow_up)}):")
        for item in summary.follow_up:
            click.echo(f"    recurring gift {item['recurring_gift']} (donor {item['donor_ref']}), {item['status']}: {item['note']}")
    if summary.unmatched:
        click.echo(f"  {summary.unmatched} line(s) matched nothing: see `anbi bank unmatched`.")


@bank.command("unmatched")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_obj
def unmatched_command(app, as_json: bool) -> None:
    """List statement lines that matched no donor, collection or payout."""
    from fundraising.bank.booking import unmatched_lines

    with app.session() as session:
        lines = unmatched_lines(session)
    if as_json:
        print_json(lines)
        return
    if not lines:
        click.echo("Every statement line is matched.")
        return
    for line in lines:
        sign = "" if line["direction"] == "credit" else "-"
        who = " ".join(p for p in (line["name"], line["iban"]) if p) or "unknown payer"
        click.echo(f"{line['id']:>7}  {formatting.date(line['date'])}  {sign}{line['amount']:>10} {line['currency']}  {line['kind']:<9} "
                   f"{who}  {line['text'] or ''}  [{line['note']}]")


@bank.command("assign")
@click.argument("line_id", type=int)
@click.argument("donor_ref")
@click.option("--campaign", "campaign", default=None, help="Campaign code to book the gift on.")
@click.pass_obj
def assign_command(app, line_id: int, donor_ref: str, campaign: str | None) -> None:
    """Book an unmatched incoming transfer as a gift of DONOR_REF."""
    from fundraising.bank.booking import assign_line

    with app.session() as session:
        donation = assign_line(session, line_id, donor_ref, campaign_code=campaign, actor=app.actor)
        assert donation.donor is not None  # booked for that donor
        text = (f"Bank line {line_id} booked as a donation of {donation.donor.ref}: {format_dutch(donation.amount_cents)} "
                f"on {donation.received_on.isoformat()}")
    click.echo(text + (f", campaign {campaign}." if campaign else "."))
