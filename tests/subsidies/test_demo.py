"""The subsidies demo step: files through the importers, reports in three formats,
and a second run that finds everything there."""
import json
import random
from decimal import Decimal

import openpyxl
from pycel import ExcelCompiler

from anbi.context import AppContext
from anbi.core.settings import Settings
from anbi.demo.subsidies import seed_subsidies, write_reports


def test_demo_step_imports_reports_and_is_repeatable(db_url, tmp_path):
    app = AppContext(settings=Settings(database_url=db_url), actor="demo")
    try:
        lines = seed_subsidies(app, tmp_path, random.Random(1))
        assert lines[0].startswith("grant AMIF-2024-017: added")
        assert any(line.startswith("timesheets.csv: ") and "flagged not (fully) eligible" in line for line in lines)
        report_lines = write_reports(app, tmp_path, random.Random(1))
        again = seed_subsidies(app, tmp_path, random.Random(1))
    finally:
        app.close()
    assert all("already there" in line for line in again)
    assert all(": 0 " in line for line in again[3:]), again

    reports = tmp_path / "reports"
    for reference in ("AMIF-2024-017", "UTR-MB-2025", "NPL-2025"):
        for fmt in ("pdf", "xlsx", "json"):
            assert (reports / f"verantwoording-{reference}.{fmt}").stat().st_size > 500
    for fmt in ("pdf", "xlsx", "json"):
        assert (reports / f"staat-van-baten-2025.{fmt}").exists()
    assert any(line.startswith("income statement 2025: total") for line in report_lines)

    # The AMIF workbook's formulas, evaluated independently, give the JSON report's figures.
    document = json.loads((reports / "verantwoording-AMIF-2024-017.json").read_text())
    path = reports / "verantwoording-AMIF-2024-017.xlsx"
    sheet = openpyxl.load_workbook(path)["Verantwoording"]
    rows = {str(row[0].value): row[0].row for row in sheet.iter_rows(min_col=1, max_col=1) if row[0].value}
    compiler = ExcelCompiler(filename=str(path))
    for key, label in (("funder_share", "Bijdrage subsidiegever (ten hoogste"), ("total_eligible", "Totaal subsidiabele kosten"),
                       ("ineligible", "Niet subsidiabele kosten (zie")):
        (row,) = [r for text, r in rows.items() if text.startswith(label)]
        assert Decimal(repr(compiler.evaluate(f"Verantwoording!B{row}"))).quantize(Decimal("0.01")) == Decimal(document[key]), key
    assert document["accountability_level"] == "full"
    assert any(item["reason"] == "Representatiekosten zijn niet subsidiabel" for item in document["ineligible_items"])
    assert any("annual ceiling" in item["reason"] for item in document["ineligible_items"])
