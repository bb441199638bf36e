"""The RJ 650 income statement as PDF and XLSX, from figures given directly."""
import datetime as dt
import io
import re
from decimal import Decimal

from pycel import ExcelCompiler
from pypdf import PdfReader

from exports.reports.income_statement import render_pdf, write, write_xlsx
from subsidies.income import IncomeStatement
from tests.factories import active_sheet


def statements() -> tuple[IncomeStatement, IncomeStatement]:
    current, previous = IncomeStatement(2025), IncomeStatement(2024)
    current.raised.update(private_individuals=113_000, companies=530_000, lotteries=49_589_041,
                          government_grants=3_946_729, related_nonprofits=250_000, other_nonprofits=1_000_000)
    current.goods_and_services = 6_500
    previous.raised.update(private_individuals=120_000, lotteries=50_410_959)
    return current, previous


def test_pdf_lists_every_category_with_both_years():
    current, previous = statements()
    data = render_pdf(2025, current, previous, organisation="Stichting Voorbeeld", issued_on=dt.date(2026, 3, 1))
    text = re.sub(r"\s+", " ", "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))
    assert "Staat van baten 2025" in text
    assert "Baten van particulieren € 1.130,00 € 1.200,00" in text
    assert "Baten van loterijorganisaties € 495.890,41 € 504.109,59" in text
    assert "Som van de geworven baten € 554.287,70 € 505.309,59" in text
    assert "Baten als tegenprestatie voor de levering van producten en/of diensten € 65,00 € 0,00" in text
    assert "Som van de baten € 554.352,70 € 505.309,59" in text
    assert data == render_pdf(2025, current, previous, organisation="Stichting Voorbeeld", issued_on=dt.date(2026, 3, 1))


def test_xlsx_subtotals_are_formulas_that_add_up(tmp_path):
    current, previous = statements()
    path = tmp_path / "baten.xlsx"
    cells = write_xlsx(path, 2025, current, previous)
    sheet = active_sheet(path)
    assert sheet[cells["raised_income_total"]].value == "=SUM(C4:C9)"
    assert sheet[cells["total_income"]].value == "=C10+C11+C12"
    compiler = ExcelCompiler(filename=str(path))
    assert sheet is not None
    title = sheet.title
    for key, expected in (("raised_income_total", "554287.70"), ("total_income", "554352.70")):
        assert Decimal(repr(compiler.evaluate(f"'{title}'!{cells[key]}"))).quantize(Decimal("0.01")) == Decimal(expected)
    assert Decimal(repr(compiler.evaluate(f"'{title}'!D13"))).quantize(Decimal("0.01")) == Decimal("505309.59")


def test_json_shape(tmp_path):
    import json

    current, previous = statements()
    path = tmp_path / "baten.json"
    write(path, "json", 2025, current, previous, issued_on=dt.date(2026, 1, 1))
    document = json.loads(path.read_text())
    assert set(document) == {"year", "current", "previous"}
    assert document["current"]["total_income"] == "554352.70"
    assert list(document["current"]) == [
        "private_individuals", "companies", "lotteries", "government_grants", "related_nonprofits", "other_nonprofits",
        "raised_income_total", "income_for_goods_and_services", "other_income", "total_income",
    ]


def test_pdf_stays_inside_the_margins_and_dates_as_people_write_them():
    from tests.exports.pdf_layout import lines, outside_margins

    current, previous = statements()
    data = render_pdf(2025, current, previous, organisation="Stichting VluchtelingenWerk Nederland Regio Midden- en "
                      "West-Brabant", issued_on=dt.date(2026, 3, 1))
    assert outside_margins(data, left_mm=18, right_mm=18) == []
    assert any("Opgesteld op 01-03-2026." in line for line in lines(data))
