"""`anbi odoo sync` and `anbi odoo pull-costs`: the command-line edge of the ledger in
Odoo. Commands parse options, open the session, call the services and print; the rules
live in `exports.odoo.sync` and `exports.odoo.ledger`; pulled costs are written by
`subsidies.ledger_costs` from what `exports.odoo.costs` reads."""
from __future__ import annotations

import click

from anbi.core.cli_options import date_callback, print_json
from anbi.core.money import cents_to_str, format_dutch


@click.group()
def odoo() -> None:
    """The ledger in Odoo: donations as journal entries, grant costs back."""


def _odoo(app):
    from exports.odoo.client import OdooClient, OdooSettings

    section = app.settings.odoo
    return section, OdooClient(OdooSettings.from_settings(section))


@odoo.command("sync")
@click.option("--dry-run", is_flag=True, help="Show what would be created and updated; change nothing on either side.")
@click.option("--since", "since", callback=date_callback, help="Only donations received (and refunds made) on or after this date.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def odoo_sync(app, dry_run: bool, since, as_json: bool) -> None:
    """Book donors and donations in Odoo, each donation exactly once.

    Donors become partners (ref = donor ref); a merged donor's partner is archived,
    an erased one's anonymised. Donations not yet exported are grouped by the day
    they were received and their channel (bank transfers, each SEPA batch, Stripe)
    into balanced journal entries with a line per income account — the RJ 650
    income lines of the income statement, split as it splits them — and analytic
    distribution per campaign and grant/fund (plans "Campaigns" and "Grants",
    created when missing). A Stripe gift is income on its own date against the
    Stripe clearing account; each paid, reconciled Stripe payout is an entry on its
    arrival date that moves the money to the bank, with Stripe's fees. Accounts are
    found by the codes in [odoo.accounts], and each one's type is checked against its
    use. Odoo's company must keep its books in EUR. Refunds (on their own dates) and
    corrections (on the date of the entry they correct) become entries of ours; a
    posted entry is never edited. Every entry has a stable ref
    (anbi:<day>:<channel>:<n>, anbi:refund:<id>, anbi:correction:<id>; the prefix
    is [odoo] ref_prefix) and is looked up before it is created, so a sync that
    broke off can simply be run again.

    Entries go in batches of [odoo] batch_size (default 100), partners of
    partner_batch_size (default 1000). An entry
    dated on or before Odoo's lock date would be booked by Odoo on a later day:
    [odoo] on_lock_date = "stop" (the default) refuses to send, "report" lets Odoo
    move it and lists each entry with both dates.

    [odoo] in anbi.toml: url, database, protocol (json2 for Odoo 19+, jsonrpc for
    17-18), login (jsonrpc), api_key, timeout (seconds, default 60), retries
    (connection failures, default 3), journal (code; default the first general
    journal), ref_prefix, batch_size, partner_batch_size, on_lock_date, and
    [odoo.accounts] with the account codes. The Odoo user's rights and every
    setting: docs/odoo.md.
    """
    from sqlalchemy.orm import Session

    from anbi.core.progress import progress
    from exports.odoo import sync

    section, client = _odoo(app)
    locked: list = []
    with client:
        ledger = sync.Ledger.open(client, section, dry_run=dry_run)
        if dry_run:
            with Session(app.engine) as session:
                partners = sync.sync_partners(session, ledger, progress=progress)
                planned = sync.plan_entries(session, since=since, prefix=ledger.prefix, require=ledger.require)
                locked = sync.entries_in_locked_period(session, ledger)
                session.rollback()
            sent = None
        else:
            with app.session() as session:
                partners = sync.sync_partners(session, ledger, progress=progress)
            with app.session() as session:
                planned = sync.plan_entries(session, since=since, prefix=ledger.prefix, require=ledger.require)
            sent = sync.send_entries(app.session, ledger, progress=progress)
            with app.session() as session:
                sync.record_names(session, ledger)
    document = {
        "dry_run": dry_run,
        "plans_created": ledger.plans_created,
        "partners": vars(partners),
        "entries_planned": dict(planned.entries),
        "donations": planned.donations,
        "refunds": planned.refunds,
        "corrections": planned.corrections,
        "income_total": sync.summary_total(planned),
        "entries_sent": sent.counts() if sent else {},
        "entries_redated": [moved.as_json() for moved in sent.redated] if sent else [],
        "lock_date": ledger.lock_date.isoformat() if ledger.lock_date else None,
        "waiting_for_stripe_payout": planned.waiting_for_payout,
        "foreign_currency_skipped": planned.foreign_currency,
    }
    if dry_run:
        document["entries_in_locked_period"] = len(locked)
    if not dry_run:
        with app.session() as session:
            sync.record_sync(session, app.actor, document)
    if as_json:
        print_json(document)
        return
    verb = "Would" if dry_run else "Did"
    click.echo(f"Partners: {partners.created} created, {partners.updated} updated, {partners.unchanged} unchanged, "
               f"{partners.archived} archived, {partners.anonymised} anonymised" + (" (dry run)" if dry_run else "") + ".")
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(planned.entries.items())) or "none"
    click.echo(f"{verb} plan entries: {kinds}; {planned.donations} donation(s), {planned.refunds} refund(s), "
               f"{planned.corrections} correction(s), income {format_dutch(planned.total_cents)}.")
    if sent:
        click.echo(f"Sent to Odoo: {sent.created} created, {sent.found} already there, {sent.posted} posted.")
    if sent and sent.redated:
        listed = "; ".join(f"{m.ref} dated {m.date.isoformat()} is in Odoo on {m.odoo_date.isoformat()}"
                           for m in sent.redated[:10])
        more = f" (and {len(sent.redated) - 10} more: --json lists them)" if len(sent.redated) > 10 else ""
        click.echo(f"WARNING: Odoo booked {len(sent.redated)} entr{'y' if len(sent.redated) == 1 else 'ies'} on another "
                   f"date than ours (its books are locked up to {document['lock_date'] or 'a lock date'}): {listed}{more}. "
                   "They are recorded with Odoo's date; the income of their day is in Odoo's later period.")
    if locked:
        assert ledger.lock_date is not None  # entries are locked only by a lock date
        click.echo(f"{len(locked)} entr{'y is' if len(locked) == 1 else 'ies are'} dated on or before Odoo's lock date "
                   f"{ledger.lock_date.isoformat()} (the first: {locked[0][0]}): "
                   + ('the sync will refuse to send them (on_lock_date = "stop").' if ledger.on_lock_date == "stop"
                      else "Odoo will book them on its first open day (on_lock_date = \"report\")."))
    if ledger.plans_created:
        click.echo(f"{'Would create' if dry_run else 'Created'} analytic plan(s): {', '.join(ledger.plans_created)}.")
    if planned.waiting_for_payout:
        click.echo(f"{planned.waiting_for_payout} Stripe payout(s) not yet paid or reconciled: their move from the "
                   "clearing account to the bank waits (run `anbi stripe payouts`).")
    if planned.foreign_currency:
        click.echo(f"{planned.foreign_currency} donation(s) in another currency than EUR were left out; book them by hand.")


@odoo.command("pull-costs")
@click.option("--grant", "grant", default=None, help="Only this grant (its reference).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def odoo_pull_costs(app, grant: str | None, as_json: bool) -> None:
    """Import the costs booked in Odoo on grants' analytic accounts as expenses.

    Only cost lines count (expense accounts, negative analytic amounts). Each
    expense account maps to a budget line through [odoo.budget_lines] in the grant
    file; an account that maps to none stops the pull, naming it, and nothing is
    imported. Each analytic line is imported once.
    """
    from exports.odoo import sync
    from exports.odoo.costs import OdooCosts
    from subsidies.ledger_costs import pull_costs

    section, client = _odoo(app)
    with client:
        ledger = sync.Ledger.open(client, section)
        with app.session() as session:
            summary = pull_costs(session, OdooCosts(ledger), grant_reference=grant)
    if as_json:
        print_json({"grants": summary.grants, "created": summary.created, "already_imported": summary.already,
                    "total": cents_to_str(summary.total_cents), "notes": summary.notes})
        return
    click.echo(f"{summary.created} cost line(s) imported ({format_dutch(summary.total_cents)}), "
               f"{summary.already} imported before, from {summary.grants} grant(s).")
    for note in summary.notes:
        click.echo(f"  {note}")


