"""The grant report PDF, read back as text: cover, budget against actual, the
indirect-cost and co-financing computation, payments and balance, outputs,
ineligible costs, signature block; deterministic bytes."""
import datetime as dt
import io
import re

from pypdf import PdfReader

from exports.reports.grant_pdf import render_grant_report
from exports.reports.commands import write_grant_report
from subsidies.report import gather
from tests.subsidies.scenario import load


def pdf_text(data: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return re.sub(r"\s+", " ", text)


def test_amif_report_spells_out_the_computation(session, tmp_path):
    load(session, tmp_path)
    path = tmp_path / "amif.pdf"
    write_grant_report(session, "AMIF-2024-017", "pdf", path, organisation="Stichting VluchtelingenWerk Nederland",
                       issued_on=dt.date(2026, 3, 1))
    text = pdf_text(path.read_bytes())
    for expected in (
        "Verantwoording subsidie AMIF-2024-017",
        "Juridische begeleiding asielzoekers",
        "Stichting VluchtelingenWerk Nederland",
        "Uitvoering van Beleid SZW (AMIF)",
        "01-01-2024 t/m 31-12-2025",
        "€ 400.000,00",
        "75% van de subsidiabele kosten",
        # budget against actual
        "Personeel € 300.000,00 € 77.530,26",
        "Reis- en verblijfkosten € 5.000,00 € 5.710,00 € 710,00 14,20% ja",
        "Totaal € 365.000,00 € 108.086,43",
        # the computation
        "Indirecte kosten: 7% × € 108.086,43 (subsidiabele directe kosten) € 7.566,05",
        "Totaal subsidiabele kosten € 115.652,48",
        "Bijdrage: 75% × € 115.652,48 € 86.739,36",
        "Bijdrage subsidiegever: het laagste van beide € 86.739,36",
        "Cofinanciering (eigen middelen en andere financiers) € 28.913,12",
        # payments and balance
        "UVB-ADV-1 01-02-2024 voorschot € 40.000,00",
        "Saldo (nog te ontvangen) € 26.739,36",
        # outputs, ineligible costs, signature
        "clients Asielzoekers juridisch begeleid 1.200 950 79%",
        "Geen factuur",
        "Totaal € 3.786,00",
        "Ondertekening",
        "controleverklaring van de accountant",
        "Handtekening",
    ):
        assert expected in text, expected


def test_same_figures_same_bytes_and_an_interim_title(session, tmp_path):
    load(session, tmp_path)
    figures = gather(session, "GEM-UTR-2025-MB")
    first = render_grant_report(figures, organisation="X", issued_on=dt.date(2026, 3, 1))
    assert first == render_grant_report(figures, organisation="X", issued_on=dt.date(2026, 3, 1))
    text = pdf_text(first)
    assert "Indirecte kosten: geen opslag € 0,00" in text
    assert "Bijdrage: 100% × € 22.734,56 € 22.734,56" in text
    assert "Verantwoordingsniveau none: geen verantwoording vooraf" in text
    interim = gather(session, "GEM-UTR-2025-MB", period_from=dt.date(2025, 1, 1), period_to=dt.date(2025, 6, 30))
    text = pdf_text(render_grant_report(interim, issued_on=dt.date(2025, 7, 15)))
    assert "Tussentijdse verantwoording subsidie GEM-UTR-2025-MB" in text
    assert "01-01-2025 t/m 30-06-2025" in text
    # Q1 and Q2 guidance (12.000,00) and the material (1.234,56) fall in the first half
    assert "Totaal € 24.000,00 € 13.234,56" in text


def test_the_report_starts_on_page_one_and_its_cells_wrap_on_words(session):
    """Issue 15 item 6: no nearly blank cover page, no "interpre/ters", nothing in the margins."""
    from tests.exports.pdf_layout import lines, outside_margins, words
    from tests.factories import make_expense, make_grant

    make_grant(session, reference="AMIF-TOLK", title="Tolken voor asielzoekers", start="2025-01-01", end="2025-12-31",
               awarded="50000.00", budget=[("interpreters", "Tolken en vertalingen", "30000.00"),
                                          ("material", "Materiële kosten", "20000.00")])
    make_expense(session, grant="AMIF-TOLK", budget_line="interpreters", amount="1234.56", date="2025-03-01",
                 reference="TOLK-2025-03-INTERPRETERS-AMSTERDAM")
    make_expense(session, grant="AMIF-TOLK", budget_line="material", amount="99.00", date="2025-04-01",
                 reference="UREN-JUR-002-2024-12-19", eligible=False, reason="geen factuur")
    data = render_grant_report(gather(session, "AMIF-TOLK"), organisation="Stichting VluchtelingenWerk (demo)",
                               issued_on=dt.date(2026, 3, 1))
    first_page = lines(data, page=1)
    assert "1. Begroting en realisatie" in first_page and "2. Subsidiabele kosten en bijdrage" in first_page
    printed = {w.text for w in words(data)}
    for whole in ("interpreters", "material", "UREN-JUR-002-2024-12-19",
                  "Overschreden", "Realisatie"):
        assert whole in printed, whole
    assert "interpre" not in printed
    assert outside_margins(data, left_mm=18, right_mm=18) == []
    # Figures as people write them: (1.234,56 − 30.000,00) / 30.000,00 = −95,8848% → -95,88%; amounts with dots.
    assert any("-95,88%" in line for line in first_page) and any("€ 30.000,00" in line for line in first_page)


def test_after_the_vaststelling_the_balance_is_the_settled_amount_less_what_was_received(session, tmp_path):
    from subsidies.grants import change_status

    load(session, tmp_path)
    change_status(session, "GEM-UTR-2025-MB", "settle", actor="t", settled_on=dt.date(2026, 2, 15), settled_cents=2_000_000)
    path = tmp_path / "settled.pdf"
    write_grant_report(session, "GEM-UTR-2025-MB", "pdf", path, organisation="Stichting", issued_on=dt.date(2026, 3, 1))
    text = pdf_text(path.read_bytes())
    assert "Vastgesteld bedrag (vaststelling) € 20.000,00" in text
    assert "Saldo (nog te ontvangen) € 800,00" in text
