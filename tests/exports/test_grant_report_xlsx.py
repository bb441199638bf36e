"""The grant report workbook: real formulas, evaluated independently (pycel computes
them as a spreadsheet would), give the report's figures to the cent; the audit-trail
sheets list every row behind them."""
from decimal import Decimal

import openpyxl
import pytest
from pycel import ExcelCompiler

from exports.reports.commands import write_grant_report
from subsidies.report import figures_json
from tests.subsidies.scenario import EXPECTED, load

FIGURE_LABELS = {
    "direct_eligible": "Subsidiabele directe kosten",
    "indirect": "Indirecte kosten (opslag",
    "total_eligible": "Totaal subsidiabele kosten",
    "funder_share": "Bijdrage subsidiegever",
    "ineligible": "Niet subsidiabele kosten",
    "received": "Ontvangen",
    "balance": "Saldo",
}


def cents(value) -> int:
    """A spreadsheet number (a float) as cents, read the way the sheet shows it."""
    return int((Decimal(repr(value)) * 100).to_integral_value())


def amount_cents(text: str) -> int:
    return int((Decimal(text) * 100).to_integral_value())


def rows_by_label(sheet) -> dict[str, int]:
    return {str(row[0].value): row[0].row for row in sheet.iter_rows(min_col=1, max_col=1) if row[0].value is not None}


def text(sheet, row: int, column: int) -> str:
    """A cell's text (a formula is text), which it must have."""
    value = sheet.cell(row, column).value
    assert isinstance(value, str), value
    return value


def find(labels: dict[str, int], prefix: str) -> int:
    (row,) = [r for label, r in labels.items() if label.startswith(prefix)]
    return row


@pytest.mark.parametrize("reference", list(EXPECTED))
def test_workbook_formulas_give_the_report_figures(session, tmp_path, reference):
    load(session, tmp_path)
    path = tmp_path / f"{reference}.xlsx"
    figures = write_grant_report(session, reference, "xlsx", path)
    expected = figures_json(figures)
    assert {k: expected[k] for k in EXPECTED[reference]} == EXPECTED[reference]

    sheet = openpyxl.load_workbook(path)["Verantwoording"]
    labels = rows_by_label(sheet)
    # Real formulas, with the rounding chain spelled out.
    assert text(sheet, find(labels, FIGURE_LABELS["direct_eligible"]), 2).startswith("=SUM(F")
    assert text(sheet, find(labels, FIGURE_LABELS["indirect"]), 2).startswith("=ROUND(ROUND(")
    assert text(sheet, find(labels, FIGURE_LABELS["funder_share"]), 2).startswith("=MIN(")
    assert text(sheet, find(labels, "Voorschotten"), 2).startswith("=SUMIFS('Betalingen'!")

    compiler = ExcelCompiler(filename=str(path))
    for key, label in FIGURE_LABELS.items():
        value = compiler.evaluate(f"Verantwoording!B{find(labels, label)}")
        assert cents(value) == amount_cents(expected[key]), key
    for line in expected["budget_lines"]:
        row = labels[line["code"]]
        assert text(sheet, row, 4).startswith("=SUMIFS('Kosten'!")
        assert text(sheet, row, 5).startswith("=SUMIFS('Uren'!")
        assert cents(compiler.evaluate(f"Verantwoording!F{row}")) == amount_cents(line["actual"])
        assert cents(compiler.evaluate(f"Verantwoording!G{row}")) == amount_cents(line["variance"])
        pct = compiler.evaluate(f"Verantwoording!H{row}")
        assert (None if pct == "" else Decimal(repr(pct))) == (None if line["variance_pct"] is None else Decimal(str(line["variance_pct"])))
        assert compiler.evaluate(f"Verantwoording!I{row}") == ("ja" if line["over_budget"] else "nee")


def test_audit_trail_lists_every_cost_row_and_timesheet_line(session, tmp_path):
    load(session, tmp_path)
    path = tmp_path / "amif.xlsx"
    write_grant_report(session, "AMIF-2024-017", "xlsx", path)
    workbook = openpyxl.load_workbook(path)
    costs = workbook["Kosten"]
    references = [text(costs, row, 1) for row in range(2, costs.max_row + 1)]
    assert sorted(references) == ["T1", "T2", "X1", "X2", "X3", "X4", "X5"]
    hours = workbook["Uren"]
    assert hours.max_row - 1 == 344
    rates = workbook["Uurtarieven"]
    # hour rate formula per employee and year: annual cost / (hours basis × FTE), to cents
    compiler = ExcelCompiler(filename=str(path))
    found = {}
    for row in range(2, rates.max_row + 1):
        assert rates.cell(row, 7).value == f"=ROUND(D{row}/(F{row}*E{row}),2)"
        found[(rates.cell(row, 1).value, rates.cell(row, 2).value)] = cents(compiler.evaluate(f"Uurtarieven!G{row}"))
    assert found == {("E001", 2024): 2800, ("E002", 2024): 3000, ("E001", 2025): 2900, ("E002", 2025): 3000,
                     ("E003", 2025): 2616, ("E001", 2026): 2900}
    # a line past the ceiling: 8 hours, none eligible, the cost shown as not eligible
    line = next(row for row in range(2, hours.max_row + 1) if hours.cell(row, 1).value == "TS0273")
    assert hours.cell(line, 5).value == 8 and hours.cell(line, 6).value == 0
    assert cents(compiler.evaluate(f"Uren!I{line}")) == 24_000
    assert "annual ceiling" in text(hours, line, 10)


def test_after_the_vaststelling_the_workbook_balance_is_the_settled_amount_less_what_was_received(session, tmp_path):
    import datetime as dt

    from subsidies.grants import change_status

    load(session, tmp_path)
    change_status(session, "GEM-UTR-2025-MB", "settle", actor="t", settled_on=dt.date(2026, 2, 15), settled_cents=2_000_000)
    path = tmp_path / "settled.xlsx"
    figures = write_grant_report(session, "GEM-UTR-2025-MB", "xlsx", path)
    assert figures.balance_cents == 2_000_000 - 1_920_000
    labels = rows_by_label(openpyxl.load_workbook(path)["Verantwoording"])
    compiler = ExcelCompiler(filename=str(path))
    assert cents(compiler.evaluate(f"Verantwoording!B{find(labels, 'Vastgesteld bedrag')}")) == 2_000_000
    assert cents(compiler.evaluate(f"Verantwoording!B{find(labels, 'Saldo')}")) == 80_000
