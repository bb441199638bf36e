"""`anbi export donors|donations|agreements|grants`: the command-line edge of the
registers; the rows and the files are `exports.registers.tabular`'s."""
from __future__ import annotations

from pathlib import Path

import click


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
    from exports.registers.tabular import Filters, export

    with app.session() as session:
        written = export(session, what, fmt, out, filters=Filters(year=year, campaign=campaign), dutch=dutch)
    click.echo(f"Wrote {written} {what} to {out}.")
