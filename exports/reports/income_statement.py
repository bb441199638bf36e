"""The RJ 650 income statement (staat van baten) as PDF, XLSX or JSON.

The figures come from `subsidies.income`; this module only lays them out, this year
beside the previous year, in the order of the RJ 650 model (DOMAIN.md 2.2). In the
XLSX the subtotals are formulas (SUM) over the category lines.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from anbi.core.money import format_dutch
from anbi.core import formatting
from anbi.core.spreadsheet import xlsx_text
from exports.reports.layout import build, para, table
from subsidies.income import DUTCH_LABELS, RAISED_CATEGORIES, STATEMENT_KEYS, IncomeStatement, statement_json

SUBTOTALS = ("raised_income_total", "total_income")


def render_pdf(year: int, current: IncomeStatement, previous: IncomeStatement, *, organisation: str = "", issued_on: dt.date) -> bytes:
    now, before = current.values(), previous.values()
    rows = [(DUTCH_LABELS[key], format_dutch(now[key]), format_dutch(before[key])) for key in STATEMENT_KEYS]
    bold = [index for index, key in enumerate(STATEMENT_KEYS) if key in SUBTOTALS]
    story = [
        para(f"Staat van baten {year}", "title"),
        para(f"{organisation + ' — ' if organisation else ''}baten naar herkomst volgens Richtlijn 650 Fondsenwervende organisaties", "subtitle"),
        table(("Baten", str(year), str(year - 1)), rows, (110, 30, 30), right=(1, 2), bold_rows=bold),
        para(
            "Giften in het jaar van ontvangst, terugboekingen op hun eigen datum; het deel van een betaling waar een "
            "tegenprestatie tegenover staat en de verkoop van loten zijn baten als tegenprestatie. Project- en "
            "instellingssubsidies in het jaar waarin de subsidiabele kosten zijn gemaakt (bijdrage over de kosten tot "
            "en met het jaar, ten hoogste het verleende of vastgestelde bedrag, min eerdere jaren); een vaste jaarlijkse "
            "bijdrage naar rato van de dagen in het jaar.", "small"),
        para(f"Opgesteld op {formatting.date(issued_on)}.", "small"),
    ]
    return build(story, title=f"Staat van baten {year}", footer=f"Staat van baten {year}")


def write_xlsx(path: str | Path, year: int, current: IncomeStatement, previous: IncomeStatement, *, organisation: str = "") -> dict[str, str]:
    """The statement with SUM formulas for the subtotals; returns key -> cell of this year."""
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)  # a new workbook's one sheet
    sheet.title = f"Staat van baten {year}"
    xlsx_text(sheet.cell(row=1, column=1, value=f"Staat van baten {year}" + (f" — {organisation}" if organisation else ""))).font = Font(bold=True, size=14)
    for column, title in enumerate(("Baten", "Sleutel", str(year), str(year - 1)), start=1):
        sheet.cell(row=3, column=column, value=title).font = Font(bold=True)
    now, before = current.values(), previous.values()
    rows: dict[str, int] = {}
    row = 4
    for key in STATEMENT_KEYS:
        rows[key] = row
        row += 1
    first, last = rows[RAISED_CATEGORIES[0]], rows[RAISED_CATEGORIES[-1]]
    for key, row in rows.items():
        sheet.cell(row=row, column=1, value=DUTCH_LABELS[key])
        sheet.cell(row=row, column=2, value=key)
        for column, letter, values in ((3, "C", now), (4, "D", before)):
            value: str | Decimal
            if key == "raised_income_total":
                value = f"=SUM({letter}{first}:{letter}{last})"
            elif key == "total_income":
                value = (f"={letter}{rows['raised_income_total']}+{letter}{rows['income_for_goods_and_services']}"
                         f"+{letter}{rows['other_income']}")
            else:
                value = Decimal(values[key]) / 100
            cell = sheet.cell(row=row, column=column, value=value)
            cell.number_format = "#,##0.00"
            if key in SUBTOTALS:
                cell.font = Font(bold=True)
                sheet.cell(row=row, column=1).font = Font(bold=True)
    sheet.column_dimensions["A"].width = 72
    sheet.column_dimensions["B"].width = 30
    sheet.column_dimensions["C"].width = 16
    sheet.column_dimensions["D"].width = 16
    workbook.save(str(path))
    return {key: f"C{row}" for key, row in rows.items()}


def write(path: str | Path, fmt: str, year: int, current: IncomeStatement, previous: IncomeStatement, *,
          organisation: str = "", issued_on: dt.date) -> None:
    path = Path(path)
    if fmt == "json":
        path.write_text(json.dumps(statement_json(year, current, previous), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    elif fmt == "pdf":
        path.write_bytes(render_pdf(year, current, previous, organisation=organisation, issued_on=issued_on))
    elif fmt == "xlsx":
        write_xlsx(path, year, current, previous, organisation=organisation)
    else:
        raise ValueError(f"unknown format {fmt!r}")
