"""`anbi sepa batch`: the command-line edge of the direct debits. The command parses
its options, opens the session, calls `exports.sepa.batch` and prints; the rules of
what is due live in `exports.sepa.due`, the file in `exports.sepa.pain008`."""
from __future__ import annotations

import os
from pathlib import Path

import click

from anbi.core import formatting
from anbi.core.cli_options import date_callback, print_json
from anbi.core.errors import InvalidInput, Problem
from anbi.core.money import format_dutch


@click.group()
def sepa() -> None:
    """SEPA direct debits (incasso): collection files for the bank."""


@sepa.command("batch")
@click.option("--collection-date", "collection_date", required=True, callback=date_callback,
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
    from exports.sepa.batch import run_batch

    partial = out.with_name(out.name + ".partial")
    try:
        with app.session() as session:
            result = run_batch(
                session, app.settings.section("sepa"), collection_date=collection_date, actor=app.actor,
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
