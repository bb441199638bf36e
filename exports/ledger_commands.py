"""`anbi sepa ...`, `anbi odoo ...` and `anbi export ...`: the command-line edge of the
ledger exports. Commands parse options, open the session, call the services and
print; the rules live in `exports.sepa`, `exports.odoo` and `exports.tabular`."""
from __future__ import annotations

import os
from pathlib import Path

import click

from anbi.core.clock import parse_date
from anbi.core.errors import InvalidInput, Problem
from anbi.core.money import cents_to_str, format_dutch
from anbi.core import formatting


def _date(ctx, param, value):
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.group()
def sepa() -> None:
    """SEPA direct debits (incasso): collection files for the bank."""


@sepa.command("batch")
@click.option("--collection-date", "collection_date", required=True, callback=_date,
              help="The day the bank collects (ReqdColltnDt): a business day at least [sepa] lead_days ahead.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the pain.008.001.02 file.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def sepa_batch(app, collection_date, out: Path, as_json: bool) -> None:
    """Write the direct debits due on a date as one pain.008.001.02 file.

    One collection for every active or failing recurring SEPA gift with an active
    mandate that has started, has not ended, and has no pending or paid collection
    yet in the calendar month, quarter or year (by its interval) containing the
    date. Missed earlier periods are not collected: after a return the next regular
    collection is the retry. Each collection is recorded as a pending donation until
    the bank statement confirms it (`anbi bank import`). Every gift left out that
    needs a person (paused, mandate revoked or expired, donor deceased, ...) is
    listed with its reason (--json: `left_out`).

    The creditor comes from [sepa] in anbi.toml (creditor_id, name, iban, bic,
    lead_days, first_as_frst, mandate_expiry_months). A mandate with no collection for
    mandate_expiry_months (default 36; the EPC rule is unconfirmed, so it is a
    setting) is marked expired and skipped. The file is checked against the ISO
    schema before it is written. Running again for the same date or period collects
    nothing twice; then no file is written. Runs started at the same time (here, by
    a job or on the web) are made one after the other: a second run waits for the
    first (up to two minutes, else it stops with one line) and then collects only
    what the first left.
    """
    from anbi.cli import print_json
    from exports.sepa_batch import run_batch

    partial = out.with_name(out.name + ".partial")
    try:
        with app.session() as session:
            result = run_batch(
                session, app.settings.sepa, collection_date=collection_date, actor=app.actor,
                file_name=str(out),
            )
            if result.xml:
                # Written inside the transaction so a full disk rolls the collections back;
                # renamed to its real name only after the commit.
                _write(partial, result.xml)
        if result.xml:
            os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if as_json:
        print_json(result.as_json(str(out)))
        return
    if not result.xml:
        click.echo(
            f"Nothing to collect on {formatting.date(collection_date)}: no recurring gift is due "
            "(each has a collection for its period already, or none is active); no file written."
        )
    else:
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(result.sequence_types.items()))
        click.echo(f"Wrote {out}: {result.count} collection(s) ({kinds}), total {format_dutch(result.total_cents)}, "
                   f"on {formatting.date(collection_date)}; message id {result.message_id}.")
        if result.amendments:
            click.echo(f"{result.amendments} collection(s) carry a changed account (mandate amendment).")
    for mandate in result.expired_mandates:
        click.echo(f"Mandate {mandate} expired: nothing was collected on it for too long; ask for a new mandate.")
    if result.skipped:
        click.echo("Not collected: " + ", ".join(f"{n} {code.replace('_', ' ')}" for code, n in sorted(result.skipped.items())))
    _left_out(result.left_out)


LEFT_OUT_SHOWN = 50


def _left_out(gifts: list[dict]) -> None:
    """The gifts a person should look at, one line each (the first 50; --json has all)."""
    if not gifts:
        return
    click.echo(f"Left out, to follow up ({len(gifts)}):")
    for gift in gifts[:LEFT_OUT_SHOWN]:
        click.echo(f"  {gift['reference']} (donor {gift['donor_ref']}): {gift['reason']}")
    if len(gifts) > LEFT_OUT_SHOWN:
        click.echo(f"  ... and {len(gifts) - LEFT_OUT_SHOWN} more: --json lists them all.")


def _write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise InvalidInput([Problem(None, "--out", f"cannot write {path}: {exc.strerror}")]) from None


@click.group()
def odoo() -> None:
    """The ledger in Odoo: donations as journal entries, grant costs back."""


def _odoo(app):
    from exports.odoo.client import OdooClient, OdooSettings

    section = app.settings.odoo
    return section, OdooClient(OdooSettings.from_settings(section))


@odoo.command("sync")
@click.option("--dry-run", is_flag=True, help="Show what would be created and updated; change nothing on either side.")
@click.option("--since", "since", callback=_date, help="Only donations received (and refunds made) on or after this date.")
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

    from anbi.cli import print_json
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
    from anbi.cli import print_json
    from exports.odoo import sync

    section, client = _odoo(app)
    with client:
        ledger = sync.Ledger.open(client, section)
        with app.session() as session:
            summary = sync.pull_costs(session, ledger, grant_reference=grant)
    if as_json:
        print_json({"grants": summary.grants, "created": summary.created, "already_imported": summary.already,
                    "total": cents_to_str(summary.total_cents), "notes": summary.notes})
        return
    click.echo(f"{summary.created} cost line(s) imported ({format_dutch(summary.total_cents)}), "
               f"{summary.already} imported before, from {summary.grants} grant(s).")
    for note in summary.notes:
        click.echo(f"  {note}")


@click.command("export")
@click.argument("what", type=click.Choice(["donors", "donations", "agreements", "grants"]))
@click.option("--format", "fmt", required=True, type=click.Choice(["csv", "xlsx"]), help="File format.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The file to write.")
@click.option("--year", type=int, default=None,
              help="Donors who gave, donations received, agreements and grants running in this year.")
@click.option("--campaign", default=None, help="Donors who gave to, or donations for, this campaign (code), its sub-campaigns included.")
@click.option("--dutch", is_flag=True, help="CSV for Dutch Excel: ';' between fields and a decimal comma.")
@click.pass_obj
def export_command(app, what: str, fmt: str, out: Path, year: int | None, campaign: str | None, dutch: bool) -> None:
    """Export donors, donations, periodic gift agreements or grants as CSV or XLSX.

    Amounts are written as 1234.56 (with --dutch: 1234,56); dates as 2025-03-01.
    Merged, restricted (after an erasure request) and purged donors are left out,
    with their gifts and agreements. Rows are streamed, so large registers export
    in bounded memory.
    """
    from exports.tabular import Filters, export

    with app.session() as session:
        written = export(session, what, fmt, out, filters=Filters(year=year, campaign=campaign), dutch=dutch)
    click.echo(f"Wrote {written} {what} to {out}.")
