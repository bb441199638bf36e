"""`anbi donors ...` and `anbi privacy ...`: the command-line edge of the donors package.

Commands parse options, open one session, call the services and print. They hold
no rules of their own."""
from __future__ import annotations

import click

from anbi.core import formatting
from donors.duplicates import MIN_SCORE
from anbi.core.cli_options import YES, confirm_irreversible, print_json


def _label(session, ref: str) -> str:
    """`REF (Name)` of the donor a ref stands for; DonorNotFound (one line) when none."""
    from donors.names import display_name
    from donors.service import resolve_ref

    donor = resolve_ref(session, ref)
    return f"{donor.ref} ({display_name(donor)})"


@click.group()
def donors() -> None:
    """Persons and organisations who give: import, list, duplicates, privacy."""


@click.group()
def privacy() -> None:
    """AVG/GDPR housekeeping: pseudonymise what has passed its retention period."""


@donors.command("duplicates")
@click.option("--json", "as_json", is_flag=True, help="Print the pairs as a JSON list.")
@click.option("--min-score", type=click.FloatRange(0, 1), default=MIN_SCORE, show_default=True,
              help="Leave out pairs scoring below this (0.6 also shows what households share).")
@click.pass_obj
def duplicates_command(app, as_json: bool, min_score: float) -> None:
    """List donors that are probably the same person or organisation twice.

    Evidence: the same IBAN; the same e-mail; the same name at the same postcode and
    house number; a near-identical name at one address (Jansen / Janssen, a typing
    error, diacritics lost, a tussenvoegsel moved, first and last name swapped,
    another spelling of an Arabic or Tigrinya name); one first name under another
    surname with one account or a double surname (a maiden and a married name). What
    a household shares (a joint account, a family e-mail, one initial under one
    surname) scores below the default. Each pair is shown once with a score from 0
    to 1 (its strongest evidence) and every reason. Only active donors are compared. Nothing is changed: merge a
    pair with `anbi donors merge KEEP_REF DUPLICATE_REF`."""
    from donors.duplicates import find_duplicates

    with app.session() as session:
        pairs = find_duplicates(session, min_score=min_score)
    if as_json:
        print_json([pair.as_dict() for pair in pairs])
        return
    if not pairs:
        click.echo("No likely duplicates found.")
        return
    width = max(len(pair.ref_a) for pair in pairs)
    for pair in pairs:
        click.echo(f"{pair.score:.2f}  {pair.ref_a:<{width}}  {pair.ref_b}  {pair.reason}")
    click.echo(f"{len(pairs)} likely duplicate pair{'s' if len(pairs) != 1 else ''}.")


@donors.command("merge")
@click.argument("keep_ref")
@click.argument("duplicate_ref")
@click.option("--json", "as_json", is_flag=True, help="Print what was moved as JSON.")
@YES
@click.pass_obj
def merge_command(app, keep_ref: str, duplicate_ref: str, as_json: bool, yes: bool) -> None:
    """Merge donor DUPLICATE_REF into KEEP_REF, in one transaction.

    Everything that refers to the duplicate (gifts, agreements, mandates, recurring
    gifts, consent history, tags, statements, ...) moves to the kept donor; the kept
    donor's empty fields are filled from the duplicate (its own values are never
    overwritten); the merge is recorded and the duplicate's ref resolves to the kept
    donor from now on. Refused for a donor merged into itself, an already merged
    donor, or a restricted or purged donor. A merge cannot be undone: on a terminal
    it asks first; elsewhere it needs --yes."""
    from donors.merge import merge_donors

    with app.session() as session:
        keep, duplicate = _label(session, keep_ref), _label(session, duplicate_ref)
    confirm_irreversible(f"Merge donor {duplicate} into {keep}?", yes=yes, what="a merge")
    with app.session() as session:
        result = merge_donors(session, keep_ref, duplicate_ref, actor=app.actor)
    if as_json:
        print_json(result.as_dict())
        return
    click.echo(f"Merged {result.merged_ref} into {result.kept_ref}; {result.merged_ref} now resolves to {result.kept_ref}.")
    if result.moved:
        click.echo("Moved: " + ", ".join(f"{key.split('.')[0]} {count}" for key, count in sorted(result.moved.items())))
    if result.dropped:
        click.echo("Already on the kept donor (not doubled): "
                   + ", ".join(f"{key.split('.')[0]} {count}" for key, count in sorted(result.dropped.items())))
    if result.filled:
        click.echo("Filled from the duplicate: " + ", ".join(result.filled))


@donors.command("export-data")
@click.argument("ref")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, writable=True),
              help="Write the JSON to this file instead of standard output.")
@click.pass_obj
def export_data_command(app, ref: str, out_path: str | None) -> None:
    """Print all personal data still held on a donor as JSON (right of access).

    AVG art. 15.
    The donor record, records merged into it, tags, consent history, every row in
    every table that refers to the donor (gifts, agreements, mandates, statements,
    ...) and the audit trail about it. Restricted donors can be exported too. The
    export itself is recorded in the audit trail."""
    import json
    from pathlib import Path

    from donors.privacy import export_personal_data

    with app.session() as session:
        document = export_personal_data(session, ref, actor=app.actor)
    text = json.dumps(document, ensure_ascii=False, indent=2)
    if out_path:
        Path(out_path).write_text(text + "\n", encoding="utf-8")
        click.echo(f"Personal data of donor {document['ref']} written to {out_path}.", err=True)
    else:
        click.echo(text)


@donors.command("forget")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@YES
@click.pass_obj
def forget_command(app, ref: str, as_json: bool, yes: bool) -> None:
    """Erase a donor on request, keeping only what the tax rules require.

    The right to erasure (AVG art. 17).
    E-mail, phone, notes, tags and consent history are deleted at once. A donor with
    financial records (gifts, mandates, agreements, statements) keeps name, address
    and IBAN under restriction (out of lists, search, exports, statements and mail)
    until the retention period after the last record has passed ([privacy]
    retention_years, 7); `anbi privacy purge` then pseudonymises them. A donor
    without financial records is erased completely at once. Running collections
    (recurring gifts, mandates) are stopped. E-mail, phone and IBAN stay on the
    suppression list as hashes, so a later import of the same person is flagged.
    Refused while a periodic gift agreement is in force. An erasure cannot be
    undone: on a terminal it asks first; elsewhere it needs --yes."""
    from anbi.core.clock import today
    from donors.privacy import forget

    with app.session() as session:
        label = _label(session, ref)
    confirm_irreversible(f"Erase donor {label}?", yes=yes, what="an erasure")
    with app.session() as session:
        report = forget(session, ref, actor=app.actor, today=today(), retention_years=app.settings.retention_years)
    if as_json:
        print_json(report.as_dict())
        return
    if report.ref != ref:
        click.echo(f"{ref} was merged into {report.ref}: forgot {report.ref}.")
    if report.mode == "erased":
        click.echo(f"Donor {report.ref} erased completely: there were no financial records to keep.")
    else:
        click.echo(f"Donor {report.ref} restricted: financial records are kept, everything else is deleted.")
    if report.merged_refs:
        click.echo("Records merged into it, forgotten with it: " + ", ".join(report.merged_refs))
    click.echo("Deleted: " + (", ".join(report.deleted) if report.deleted else "nothing else was held"))
    if report.mode == "restricted":
        click.echo("Kept: " + ", ".join(report.kept))
        click.echo(f"Why: {report.kept_why}")
        if report.kept_until is not None:
            click.echo(f"Until: {formatting.date(report.kept_until)} ({app.settings.retention_years} years after the last "
                       f"financial record, {formatting.date(report.last_financial_record)}); "
                       "then `anbi privacy purge` pseudonymises them")
        else:
            click.echo(f"Until: {app.settings.retention_years} years after the last financial record ends")
    if report.stopped:
        click.echo("Stopped: " + ", ".join(report.stopped))
    if report.suppressed:
        click.echo("On the suppression list (hashed): " + ", ".join(report.suppressed))


@privacy.command("purge")
@click.option("--dry-run", is_flag=True, help="Only list the donors that would be pseudonymised; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the donors as a JSON list.")
@click.pass_obj
def purge_command(app, dry_run: bool, as_json: bool) -> None:
    """Pseudonymise restricted donors whose retention period has passed.

    For each donor forgotten with `anbi donors forget` whose last financial record
    (a gift's date, an agreement's or mandate's end) is more than [privacy]
    retention_years (7) ago: name, address and IBAN on the donor, and IBANs on
    mandates, are replaced by random pseudonyms. This cannot be undone. Amounts and
    dates stay, because the books need them."""
    from anbi.core.clock import today
    from donors.privacy import purge

    years = app.settings.retention_years
    with app.session() as session:
        items = purge(session, today(), years, dry_run=dry_run, actor=app.actor)
    if as_json:
        print_json([{**item.as_dict(), "dry_run": dry_run} for item in items])
        return
    verb = "Would pseudonymise" if dry_run else "Pseudonymised"
    if not items:
        click.echo(f"Nothing to purge: no restricted donor has passed the {years}-year retention period.")
        return
    for item in items:
        ended = item.retention_ended_on.isoformat() if item.retention_ended_on else "no financial records left"
        click.echo(f"{item.ref}  retention ended {ended}")
    click.echo(f"{verb} {len(items)} donor{'s' if len(items) != 1 else ''}"
               + (" (dry run: nothing was changed)." if dry_run else "."))
