"""`anbi agreements check --year Y`: the command-line edge of the agreements check
(`fundraising.statements.agreement_check`); wired into the `agreements` group by anbi/cli.py."""
from __future__ import annotations

import click

from anbi.context import AppContext
from anbi.core.cli_options import YEAR, print_json
from anbi.core.money import format_dutch


@click.command("check")
@click.option("--year", type=YEAR, required=True, help="The calendar year to check.")
@click.option("--number", help="Check only this agreement (its transactienummer).")
@click.option("--all", "all_rows", is_flag=True, help="List every agreement that ran in the year, not only those that differ.")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list: number, donor_ref, year, interval, expected, received, difference, "
                   "instalments_due, payments, refunded, pending, problems.")
@click.pass_obj
def agreement_check(app: AppContext, year: int, number: str | None, all_rows: bool, as_json: bool) -> None:
    """Agreements whose payments in YEAR differ from the agreed annual amount —
    missed, failed, refunded or reversed instalments, or more than agreed — with
    expected against received, so the team can contact the donor. Expected is the
    annual amount over the instalments due in the year (by the linked recurring
    gift's interval; yearly when none)."""
    from fundraising.statements.agreement_check import check_agreements

    with app.session() as session:
        rows = check_agreements(session, year, number, all_rows=all_rows)
    if as_json:
        print_json([row.as_dict() for row in rows])
        return
    if not rows:
        click.echo(f"Every periodic gift agreement received what was agreed in {year}.")
        return
    for row in rows:
        c = row.check
        click.echo(f"{c.number}  {row.donor_ref}  expected {format_dutch(c.expected_cents)}  received "
                   f"{format_dutch(c.received_cents)}  difference {format_dutch(c.difference_cents)}  "
                   f"({', '.join(c.problems) or 'as agreed'})")
