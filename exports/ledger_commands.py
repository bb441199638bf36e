"""`anbi sepa ...`, `anbi odoo ...` and `anbi export ...`: the command-line edge of the
ledger exports. Commands parse options, open the session, call the services and
print; the rules live in `exports.sepa`, `exports.odoo` and `exports.tabular`."""
from __future__ import annotations

import os
from pathlib import Path

import click

from anbi.core.clock import parse_date
from anbi.core.errors import InvalidInput, Problem
from anbi.core.money import format_dutch


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

    One collection for every active recurring SEPA gift with an active mandate that
    has started, has not ended, and has no pending or paid collection yet in the
    calendar month, quarter or year (by its interval) containing the date. Missed
    earlier periods are not collected. Each collection is recorded as a pending
    donation until the bank statement confirms it (`anbi bank import`).

    The creditor comes from [sepa] in anbi.toml (creditor_id, name, iban, bic,
    lead_days, first_as_frst, mandate_expiry_months). A mandate with no collection for
    mandate_expiry_months (default 36; the EPC rule is unconfirmed, so it is a
    setting) is marked expired and skipped. The file is checked against the ISO
    schema before it is written. Running again for the same date or period collects
    nothing twice; then no file is written.
    """
    from anbi.cli import print_json
    from exports.sepa_batch import run_batch

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
            f"Nothing to collect on {collection_date.isoformat()}: no recurring gift is due "
            "(each has a collection for its period already, or none is active); no file written."
        )
    else:
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(result.sequence_types.items()))
        click.echo(f"Wrote {out}: {result.count} collection(s) ({kinds}), total {format_dutch(result.total_cents)}, "
                   f"on {collection_date.isoformat()}; message id {result.message_id}.")
        if result.amendments:
            click.echo(f"{result.amendments} collection(s) carry a changed account (mandate amendment).")
    for mandate in result.expired_mandates:
        click.echo(f"Mandate {mandate} expired: nothing was collected on it for too long; ask for a new mandate.")
    if result.skipped and not as_json:
        click.echo("Not collected: " + ", ".join(f"{n} {code.replace('_', ' ')}" for code, n in sorted(result.skipped.items())))


def _write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise InvalidInput([Problem(None, "--out", f"cannot write {path}: {exc.strerror}")]) from None
