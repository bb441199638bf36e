"""A grant's accountability report as an XLSX workbook an auditor can follow.

Every total is a real formula over the rows behind it, repeating the rounding chain
of `subsidies.accountability` step by step (SUMIFS, ROUND, MIN):

- `Kosten` (costs) and `Uren` (hours) list every cost row and timesheet line behind
  the totals, the audit trail; `Uurtarieven` (hour rates) derives each hour rate
  from the documented annual cost; `Betalingen` lists the payments;
- `Verantwoording` sums them per budget line and on to the funder share and the
  balance.

Spreadsheets compute in binary floating point. The exact values have few decimals
(a staff cost at most four, a rate times an amount at most six), so each sum is
first rounded to those decimals — which removes floating-point noise and nothing
else — and then to cents: ROUND(ROUND(x, 4), 2). A note in the sheet says so.

Text from the records (references, descriptions, names, reasons) is written as
string cells, never as formulas: only the totals are (`anbi.core.spreadsheet`).

This module only formats: the figures come from `subsidies.report.gather`.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from anbi.core.spreadsheet import xlsx_text as text
from subsidies.accountability import Figures
from subsidies.report import ExpenseRow, HourRate, TimesheetRow

EURO = '#,##0.00'
EXACT = '#,##0.0000'
BOLD = Font(bold=True)
HUNDRED = Decimal(100)


def euros(cents: int | Decimal) -> Decimal:
    return Decimal(cents) / HUNDRED


@dataclass(frozen=True)
class Layout:
    """Where the key figures are, for a reader (or a test) of the workbook."""

    sheet: str
    cells: dict[str, str]          # figure name -> cell address on the report sheet
    line_rows: dict[str, int]      # budget line code -> row on the report sheet


def _header(sheet, row: int, titles: Iterable[str]) -> None:
    for column, title in enumerate(titles, start=1):
        cell = sheet.cell(row=row, column=column, value=title)
        cell.font = BOLD


def _range(sheet_name: str, column: str, first: int, last: int) -> str:
    last = max(last, first)  # an empty list still gives a valid (blank) range
    return f"'{sheet_name}'!${column}${first}:${column}${last}"


def write_grant_workbook(
    path: str | Path,
    figures: Figures,
    *,
    expense_rows: Iterable[ExpenseRow],
    timesheet_rows: Iterable[TimesheetRow],
    rates: dict[tuple[str, int], HourRate],
    payments: Iterable[tuple[str, dt.date, str, int]],
    organisation: str = "",
) -> Layout:
    terms = figures.terms
    workbook = Workbook()
    report = workbook.active
    assert isinstance(report, Worksheet)  # a new workbook's one sheet
    report.title = "Verantwoording"
    costs = workbook.create_sheet("Kosten")
    hours = workbook.create_sheet("Uren")
    rate_sheet = workbook.create_sheet("Uurtarieven")
    paid = workbook.create_sheet("Betalingen")

    # --- hour rates ---------------------------------------------------------------
    _header(rate_sheet, 1, ("Medewerker", "Jaar uren", "Jaar kosten", "Jaarkosten", "FTE", "Uren per jaar", "Uurtarief"))
    rate_row: dict[tuple[str, int], int] = {}
    for row, key in enumerate(sorted(rates), start=2):
        rate = rates[key]
        rate_row[key] = row
        text(rate_sheet.cell(row=row, column=1, value=rate.employee))
        rate_sheet.cell(row=row, column=2, value=rate.year)
        rate_sheet.cell(row=row, column=3, value=rate.cost.year)
        rate_sheet.cell(row=row, column=4, value=euros(rate.cost.annual_cost_cents)).number_format = EURO
        rate_sheet.cell(row=row, column=5, value=rate.cost.fte)
        rate_sheet.cell(row=row, column=6, value=rate.hours_per_year)
        # The hour rate rule (DOMAIN.md 4.2): annual cost / (hours basis × FTE), to cents.
        rate_sheet.cell(row=row, column=7, value=f"=ROUND(D{row}/(F{row}*E{row}),2)").number_format = EURO

    # --- costs (audit trail) ------------------------------------------------------
    _header(costs, 1, ("Referentie", "Datum", "Begrotingspost", "Omschrijving", "Bedrag", "Subsidiabel",
                       "Subsidiabel bedrag", "Niet subsidiabel", "Reden"))
    last_cost = 1
    for row, item in enumerate(expense_rows, start=2):
        last_cost = row
        text(costs.cell(row=row, column=1, value=item.reference))
        costs.cell(row=row, column=2, value=item.date).number_format = "yyyy-mm-dd"
        text(costs.cell(row=row, column=3, value=item.budget_line or "unbudgeted"))
        text(costs.cell(row=row, column=4, value=item.description or ""))
        costs.cell(row=row, column=5, value=euros(item.amount_cents)).number_format = EURO
        costs.cell(row=row, column=6, value="ja" if item.eligible else "nee")
        costs.cell(row=row, column=7, value=f'=IF(F{row}="ja",E{row},0)').number_format = EURO
        costs.cell(row=row, column=8, value=f"=E{row}-G{row}").number_format = EURO
        text(costs.cell(row=row, column=9, value=item.reason or ""))

    # --- hours (audit trail) ------------------------------------------------------
    # "Datum" is the day, or a period's last day (it names the year and the rate);
    # "Periode vanaf" the first day of a period line, empty for a one-day line.
    _header(hours, 1, ("Referentie", "Medewerker", "Datum", "Begrotingspost", "Uren", "Subsidiabele uren",
                       "Uurtarief", "Subsidiabele kosten", "Niet subsidiabel", "Reden", "Periode vanaf"))
    last_hour = 1
    for row, line in enumerate(timesheet_rows, start=2):
        last_hour = row
        text(hours.cell(row=row, column=1, value=line.reference))
        text(hours.cell(row=row, column=2, value=line.employee))
        hours.cell(row=row, column=3, value=line.date).number_format = "yyyy-mm-dd"
        text(hours.cell(row=row, column=4, value=line.budget_line or "unbudgeted"))
        hours.cell(row=row, column=5, value=Decimal(line.hours_hundredths) / HUNDRED).number_format = "0.00"
        hours.cell(row=row, column=6, value=Decimal(line.eligible_hundredths) / HUNDRED).number_format = "0.00"
        hours.cell(row=row, column=7, value=f"='Uurtarieven'!G{rate_row[(line.employee, line.date.year)]}").number_format = EURO
        hours.cell(row=row, column=8, value=f"=F{row}*G{row}").number_format = EXACT
        hours.cell(row=row, column=9, value=f"=(E{row}-F{row})*G{row}").number_format = EXACT
        text(hours.cell(row=row, column=10, value=line.reason or ""))
        if line.period_start is not None:
            hours.cell(row=row, column=11, value=line.period_start).number_format = "yyyy-mm-dd"

    # --- payments -----------------------------------------------------------------
    _header(paid, 1, ("Referentie", "Datum", "Soort", "Bedrag"))
    last_paid = 1
    for row, (reference, day, kind, cents) in enumerate(payments, start=2):
        last_paid = row
        text(paid.cell(row=row, column=1, value=reference))
        paid.cell(row=row, column=2, value=day).number_format = "yyyy-mm-dd"
        text(paid.cell(row=row, column=3, value=kind))
        paid.cell(row=row, column=4, value=euros(cents)).number_format = EURO

    # --- the report ---------------------------------------------------------------
    cells: dict[str, str] = {}
    row = 1
    text(report.cell(row=row, column=1, value=f"Verantwoording {terms.reference}")).font = Font(bold=True, size=14)
    row += 1
    facts = [
        ("Organisatie", organisation),
        ("Subsidie", terms.title),
        ("Subsidiegever", terms.funder),
        ("Looptijd", f"{terms.start.isoformat()} – {terms.end.isoformat()}"),
        ("Verantwoordingsperiode", f"{(figures.period_from or terms.start).isoformat()} – {(figures.period_to or terms.end).isoformat()}"),
        ("Verantwoordingsniveau", figures.accountability_level),
    ]
    for label, fact in facts:
        report.cell(row=row, column=1, value=label)
        text(report.cell(row=row, column=2, value=fact))
        row += 1
    parameters: list[tuple[str, str, Decimal, str]] = [
        ("awarded", "Verleend bedrag", euros(terms.awarded_cents), EURO),
        ("funding_rate", "Subsidiepercentage (deel van de subsidiabele kosten)", terms.funding_rate, "0.00%"),
        ("indirect_rate", f"Opslag indirecte kosten (grondslag: {terms.indirect_base})",
         terms.indirect_rate if terms.indirect_rate is not None and terms.indirect_base != "none" else Decimal(0), "0.00%"),
        ("allowed_shift", "Toegestane overschrijding per begrotingspost", terms.allowed_shift, "0.00%"),
    ]
    for name, label, value, number_format in parameters:
        report.cell(row=row, column=1, value=label)
        report.cell(row=row, column=2, value=value).number_format = number_format
        cells[name] = f"B{row}"
        row += 1

    row += 1
    report.cell(row=row, column=1, value="Begroting en realisatie").font = BOLD
    row += 1
    _header(report, row, ("Post", "Naam", "Begroting", "Kosten", "Personeelskosten (exact)", "Realisatie",
                          "Verschil", "Verschil %", "Overschreden"))
    row += 1
    first_line = row
    line_rows = {}
    shift = cells["allowed_shift"].replace("B", "$B$")
    for budget_line in figures.lines:
        line_rows[budget_line.code] = row
        text(report.cell(row=row, column=1, value=budget_line.code))
        text(report.cell(row=row, column=2, value=budget_line.name))
        report.cell(row=row, column=3, value=euros(budget_line.budget_cents)).number_format = EURO
        report.cell(row=row, column=4, value=(
            f"=SUMIFS({_range('Kosten', 'G', 2, last_cost)},{_range('Kosten', 'C', 2, last_cost)},A{row})"
        )).number_format = EURO
        report.cell(row=row, column=5, value=(
            f"=SUMIFS({_range('Uren', 'H', 2, last_hour)},{_range('Uren', 'D', 2, last_hour)},A{row})"
        )).number_format = EXACT
        report.cell(row=row, column=6, value=f"=ROUND(ROUND(D{row}+E{row},4),2)").number_format = EURO
        report.cell(row=row, column=7, value=f"=F{row}-C{row}").number_format = EURO
        report.cell(row=row, column=8, value=f'=IF(C{row}=0,"",ROUND(G{row}/C{row}*100,2))')
        if budget_line.code == "unbudgeted":
            report.cell(row=row, column=9, value="nee")
        else:
            report.cell(row=row, column=9, value=f'=IF(F{row}>C{row}*(1+{shift}),"ja","nee")')
        row += 1
    last_line = max(row - 1, first_line)

    def figure(name: str, label: str, formula: str | Decimal, number_format: str = EURO) -> None:
        nonlocal row
        report.cell(row=row, column=1, value=label)
        cell = report.cell(row=row, column=2, value=formula)
        cell.number_format = number_format
        cells[name] = f"B{row}"
        row += 1

    row += 1
    report.cell(row=row, column=1, value="Subsidiabele kosten").font = BOLD
    row += 1
    figure("direct_eligible", "Subsidiabele directe kosten (som van de posten)", f"=SUM(F{first_line}:F{last_line})")
    figure("staff_eligible", "waarvan directe personeelskosten", f"=ROUND(ROUND(SUM(E{first_line}:E{last_line}),4),2)")
    if terms.indirect_rate is None or terms.indirect_base == "none":
        base_formula = "=0"
    elif terms.indirect_base == "direct":
        base_formula = f"={cells['direct_eligible']}"
    else:
        base_formula = f"={cells['staff_eligible']}"
    figure("indirect_base", "Grondslag indirecte kosten", base_formula)
    figure("indirect", "Indirecte kosten (opslag × grondslag)", f"=ROUND(ROUND({cells['indirect_rate']}*{cells['indirect_base']},6),2)")
    figure("total_eligible", "Totaal subsidiabele kosten", f"={cells['direct_eligible']}+{cells['indirect']}")
    figure("share_before_cap", "Subsidiepercentage × totaal subsidiabel", f"=ROUND(ROUND({cells['funding_rate']}*{cells['total_eligible']},6),2)")
    figure("funder_share", "Bijdrage subsidiegever (ten hoogste het verleende bedrag)", f"=MIN({cells['awarded']},{cells['share_before_cap']})")
    figure("ineligible", "Niet subsidiabele kosten (zie Kosten en Uren)", (
        f"=ROUND(ROUND(SUM({_range('Kosten', 'H', 2, last_cost)})+SUM({_range('Uren', 'I', 2, last_hour)}),4),2)"))

    row += 1
    report.cell(row=row, column=1, value="Betalingen en saldo").font = BOLD
    row += 1
    kinds = _range("Betalingen", "C", 2, last_paid)
    amounts = _range("Betalingen", "D", 2, last_paid)
    figure("advances", "Voorschotten", f'=SUMIFS({amounts},{kinds},"advance")')
    figure("settlements", "Vaststellingsbetalingen", f'=SUMIFS({amounts},{kinds},"settlement")')
    figure("repayments", "Terugbetalingen", f'=SUMIFS({amounts},{kinds},"repayment")')
    figure("received", "Ontvangen (voorschotten + vaststelling − terugbetaald)",
           f"={cells['advances']}+{cells['settlements']}-{cells['repayments']}")
    owed = "funder_share"
    if terms.settled_cents is not None and not figures.interim:
        # The vaststelling decides the grant: the balance is the settled amount less what was received.
        figure("settled", "Vastgesteld bedrag (vaststelling)", euros(terms.settled_cents))
        owed = "settled"
    figure("balance", "Saldo (positief: nog te ontvangen; negatief: terug te betalen)",
           f"={cells[owed]}-{cells['received']}")

    if figures.indicators:
        row += 1
        report.cell(row=row, column=1, value="Prestaties").font = BOLD
        row += 1
        _header(report, row, ("Indicator", "Naam", "Doel", "Gerealiseerd", "% van doel"))
        row += 1
        for indicator in figures.indicators:
            text(report.cell(row=row, column=1, value=indicator.code))
            text(report.cell(row=row, column=2, value=indicator.name))
            report.cell(row=row, column=3, value=indicator.target)
            report.cell(row=row, column=4, value=indicator.actual)
            report.cell(row=row, column=5, value=f'=IF(C{row}=0,"",ROUND(D{row}/C{row}*100,1))')
            row += 1

    row += 1
    note = report.cell(row=row, column=1, value=(
        "Afronding: elke kostenregel exact; per post de realisatie half-up op centen; indirecte kosten, "
        "subsidiebedrag en totalen half-up op centen. ROUND(ROUND(x;4);2) rondt eerst af op de decimalen die "
        "de exacte waarde heeft (rekenkundige ruis van het spreadsheet), daarna op centen."))
    note.alignment = Alignment(wrap_text=True)
    report.merge_cells(start_row=row, start_column=1, end_row=row, end_column=9)
    report.row_dimensions[row].height = 45

    for sheet, widths in (
        (report, (48, 40, 16, 16, 22, 16, 16, 12, 12)),
        (costs, (18, 12, 16, 40, 14, 10, 16, 16, 50)),
        (hours, (18, 14, 12, 16, 8, 10, 10, 18, 16, 60)),
        (rate_sheet, (14, 10, 10, 14, 8, 12, 10)),
        (paid, (18, 12, 12, 14)),
    ):
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.freeze_panes = "A2" if sheet is not report else None

    workbook.save(str(path))
    return Layout(sheet=report.title, cells=cells, line_rows=line_rows)
