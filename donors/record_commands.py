"""`anbi donors import | list | show`: the command-line edge of donor records.

Kept apart from donors/commands.py (which defines the groups and the duplicates,
merge and privacy commands) and attached to the `donors` group in anbi/cli.py.
Commands parse options, open the one session of the command, call the services
and print; they hold no rules of their own."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from anbi.context import AppContext
from anbi.core import formatting
from anbi.core.cli_options import print_json


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def import_command(app: AppContext, file: Path, dry_run: bool, as_json: bool) -> None:
    """Create or update donors from a CSV file, matched by `ref`.

    Columns (header row, any order; only `ref` is required): ref, kind
    (person/organisation), initials, first_name, prefix (tussenvoegsel), last_name,
    organisation, street, house_number, house_number_suffix, postcode, city, country
    (NL default), email, phone, iban, consent_email, consent_post, consent_phone
    (yes/no), tags (separated by |), language (nl/en), organisation_type (company,
    foundation, related_nonprofit, other_nonprofit), deceased_on.

    UTF-8 (BOM allowed), `,` or `;` as delimiter. Every row is checked first; if any
    is wrong, all problems are listed with line and column and nothing is written.
    An empty cell leaves the stored value as it is. Safe to run again: a second run
    changes nothing."""
    from donors.importer import import_donors

    with app.importing("donors", file, dry_run=dry_run) as (session, outcome):
        summary = import_donors(session, file, actor=app.actor, dry_run=dry_run)
        outcome.rows = summary.rows
        outcome.figures = {"created": summary.created, "updated": summary.updated, "unchanged": summary.unchanged}
    if as_json:
        print_json(summary.as_json())
    else:
        for line in summary.lines():
            click.echo(line)


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list: ref, kind, name, postcode, city, country, email.")
@click.pass_obj
def list_command(app: AppContext, as_json: bool) -> None:
    """List active donors (not merged, restricted or purged), sorted by name as a
    Dutch list sorts: "Van der Berg" under B."""
    from donors.service import list_donors

    with app.session() as session:
        items = list_donors(session)
    if as_json:
        print_json([item.as_json() for item in items])
        return
    for item in items:
        place = " ".join(p for p in (item.postcode, item.city) if p)
        click.echo(f"{item.ref:<14} {item.kind:<12} {item.name:<40} {place:<30} {item.email or ''}".rstrip())
    click.echo(f"{len(items)} donors", err=True)


@click.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print every field as one JSON object.")
@click.pass_obj
def show_command(app: AppContext, ref: str, as_json: bool) -> None:
    """Everything held on one donor: name parts, address, contact details, tags,
    and consent per channel with its history. A ref that was merged shows the donor
    it was merged into."""
    from donors.service import donor_detail

    with app.session() as session:
        detail = donor_detail(session, ref)
    if as_json:
        print_json(detail)
        return
    if detail["ref"] != ref:
        click.echo(f"{ref} was merged into {detail['ref']}")
    click.echo(f"{detail['ref']}  {detail['name']}  ({detail['kind']}{', ' + detail['status'] if detail['status'] != 'active' else ''})")
    address = formatting.street_line(detail["street"], detail["house_number"], detail["house_number_suffix"])
    place = formatting.postal_line(detail["postcode"], detail["city"])
    rows = [
        ("label", detail["label_name"]),
        ("salutation", detail["salutation"]),
        ("organisation", detail["organisation"]),
        ("type", detail["organisation_type"]),
        ("address", ", ".join(p for p in (address, place, detail["country"]) if p)),
        ("e-mail", detail["email"]),
        ("phone", detail["phone"]),
        ("IBAN", detail["iban"]),
        ("language", detail["language"]),
        ("deceased on", formatting.date(detail["deceased_on"])),
        ("tags", ", ".join(detail["tags"])),
        ("merged from", ", ".join(detail["merged_from"])),
    ]
    for label, value in rows:
        if value:
            click.echo(f"  {label:<13} {value}")
    for channel, state in detail["consent"].items():
        current = "yes" if state["granted"] else ("objected" if state["kind"] == "objection" else "no")
        since = f" since {formatting.date(state['since'])} ({state['source']})" if state["since"] else ""
        click.echo(f"  consent {channel:<6} {current}{since}")
        for event in state["history"]:
            click.echo(f"      {formatting.moment(dt.datetime.fromisoformat(event['at']))}  {'granted' if event['granted'] else 'withdrawn'} ({event['kind']})  {event['source']}  {event['wording'] or ''}".rstrip())
