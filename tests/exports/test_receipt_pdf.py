"""The statement PDF (issue 4 item 4): read the text back and check each fact."""
from __future__ import annotations

import dataclasses
import datetime as dt
import io
from typing import Any

import pytest
from pypdf import PdfReader
from reportlab.lib.units import mm

from exports.statements.pdf import OrganisationView, PeriodicView, StatementLineView, StatementRenderer, StatementView
from tests.exports.receipt_support import pdf_pages, pdf_text

D = dt.date.fromisoformat
ORG = OrganisationView("Stichting Voorbeeld", "824150004", "Postbus 1, 1000 AA Amsterdam", "https://voorbeeld.example")


def view(**changes) -> StatementView:
    lines = (
        StatementLineView(D("2025-01-05"), 5000, "sepa_debit", "Periodiek 2025", "MDT-000123", 0, 5000, 0, "PG-2024-0001"),
        StatementLineView(D("2025-02-05"), 5000, "sepa_debit", "Periodiek 2025", "MDT-000123", 0, 5000, 0, "PG-2024-0001"),
        StatementLineView(D("2025-06-01"), 123456, "ideal", "Noodhulp", None, 123456, 0, 0),
        StatementLineView(D("2025-07-01"), 5000, "cash", None, None, 0, 0, 5000, None, "cash"),
        StatementLineView(D("2025-08-01"), 15000, "bank_transfer", "Benefietdiner", None, 9000, 0, 6000, None, "consideration"),
    )
    base = StatementView(
        number="2025-000007", year=2025, issued_on=D("2026-01-15"), language="nl", organisation=ORG,
        donor_ref="D000123", donor_name="A.B. van der Berg", salutation="Geachte heer/mevrouw Van der Berg",
        address_lines=("Kerkstraat 12 a", "1017 GC  AMSTERDAM"),
        regular_cents=132456, periodic_cents=10000, non_deductible_cents=11000, total_paid_cents=153456,
        periodic=(PeriodicView("PG-2024-0001", 2024, 60000, 10000),), lines=lines,
    )
    return dataclasses.replace(base, **changes)


def test_dutch_statement_shows_every_fact_the_issue_lists():
    text = pdf_text(StatementRenderer().render(view()))
    # The organisation: statutory name, address, RSIN, registered as an ANBI.
    for fact in ("Stichting Voorbeeld", "Postbus 1", "1000 AA Amsterdam", "RSIN 824150004",
                 "aangemerkt als algemeen nut beogende instelling", "(ANBI)"):
        assert fact in text
    # The donor in Dutch order with salutation and donor number; the year.
    for fact in ("A.B. van der Berg", "Kerkstraat 12 a", "1017 GC  AMSTERDAM", "Geachte heer/mevrouw Van der Berg,",
                 "Donateurnummer D000123", "Jaaroverzicht giften 2025", "Jaar 2025"):
        assert fact in text
    # Every gift: date, amount (Dutch notation), method, campaign, mandate id for direct debits.
    assert "05-01-2025 € 50,00 SEPA-incasso Periodiek 2025 MDT-000123 periodiek PG-2024-0001" in text
    assert "01-06-2025 € 1.234,56 iDEAL Noodhulp gewoon" in text
    assert "01-07-2025 € 50,00 contant niet aftrekbaar (contant)" in text
    assert "01-08-2025 € 150,00 overboeking Benefietdiner gewoon + tegenprestatie" in text
    # Totals: ordinary, periodic with transactienummer/start year/annual amount, non-deductible.
    assert "Gewone giften (aftrekbaar) € 1.324,56" in text
    assert "Periodieke giften (aftrekbaar) € 100,00" in text
    assert "Overeenkomst PG-2024-0001, ingangsjaar 2024, jaarbedrag € 600,00 € 100,00" in text
    assert "Niet aftrekbaar (contant, loterij, tegenprestatie) € 110,00" in text
    assert "Totaal ontvangen € 1.534,56" in text
    # Statement number and date; the disclaimer.
    assert "Overzichtnummer 2025-000007" in text
    assert "Datum 15 januari 2026" in text
    assert "hangt af van uw eigen situatie" in text


def test_english_statement():
    # Paragraphs wrap: compare with the line breaks taken out.
    text = " ".join(pdf_text(StatementRenderer().render(view(language="en", salutation="Dear A.B. van der Berg"))).split())
    for fact in ("Annual statement of gifts 2025", "Dear A.B. van der Berg,", "Statement number 2025-000007",
                 "Date 15 January 2026", "Donor number D000123", "public benefit organisation (ANBI)",
                 "RSIN/tax number: 824150004", "05/01/2025 €50.00 direct debit Periodiek 2025 MDT-000123 periodic PG-2024-0001",
                 "Ordinary gifts (deductible) €1,324.56",
                 "Agreement PG-2024-0001, start year 2024, annual amount €600.00 €100.00",
                 "Not deductible (cash, lottery, consideration) €110.00", "Total received €1,534.56",
                 "depends on your own situation"):
        assert fact in text
    assert "Jaaroverzicht" not in text


def test_rendering_is_deterministic():
    renderer = StatementRenderer()
    first = renderer.render(view())
    assert StatementRenderer().render(view()) == first
    assert renderer.render(view(number="2025-000008")) != first


def test_address_sits_in_the_envelope_window():
    data = StatementRenderer().render(view())
    page = PdfReader(io.BytesIO(data)).pages[0]
    height = float(page.mediabox.height)
    positions: dict[str, Any] = {}

    def visit(text, cm, tm, font_dict, font_size):
        if text.strip():
            positions.setdefault(text.strip(), (tm[4], tm[5]))

    page.extract_text(visitor_text=visit)
    assert abs(float(page.mediabox.width) - 210 * mm) < 1 and abs(height - 297 * mm) < 1  # A4
    for line in ("A.B. van der Berg", "Kerkstraat 12 a", "1017 GC  AMSTERDAM"):
        x, y = positions[line]
        from_top = (height - y) / mm
        # A Dutch window envelope shows the area ~20-110 mm from the left, ~45-90 mm from the top.
        assert 20 <= x / mm <= 25
        assert 48 <= from_top <= 75, (line, from_top)


def test_many_gifts_run_over_pages_with_totals_at_the_end():
    lines = tuple(
        StatementLineView(D("2025-01-01") + dt.timedelta(days=i), 1000, "ideal", f"Campagne {i}", None, 1000, 0, 0)
        for i in range(90)
    )
    data = StatementRenderer().render(view(lines=lines, periodic=(), regular_cents=90000, periodic_cents=0,
                                         non_deductible_cents=0, total_paid_cents=90000))
    pages = pdf_pages(data)
    assert pages >= 2
    text = pdf_text(data)
    assert all(f"Campagne {i} gewoon" in text for i in range(90))
    assert f"pagina {pages} van {pages}" in text
    last_page = PdfReader(io.BytesIO(data)).pages[-1].extract_text()
    assert "Totaal ontvangen € 900,00" in last_page
    assert "Jaaroverzicht giften 2025 – vervolg" in last_page


def test_correction_names_the_statement_it_replaces():
    text = pdf_text(StatementRenderer().render(view(replaces_number="2025-000003")))
    assert "Dit overzicht vervangt overzicht 2025-000003" in text


def test_names_outside_the_standard_font_are_printed_not_boxed():
    text = pdf_text(StatementRenderer().render(view(donor_name="Ł. Wałęsa", salutation="Geachte heer/mevrouw Wałęsa")))
    assert "Ł. Wałęsa" in text
    assert "■" not in text


def test_a_year_without_gifts_says_so():
    text = pdf_text(StatementRenderer().render(view(lines=(), periodic=(), regular_cents=0, periodic_cents=0,
                                                   non_deductible_cents=0, total_paid_cents=0)))
    assert "Geen giften in dit jaar" in text
    assert "Totaal ontvangen € 0,00" in text


@pytest.mark.parametrize("language", ["nl", "en"])
def test_renderer_counts_its_text_lines(language):
    renderer = StatementRenderer()
    renderer.render(view(language=language))
    # 5 gifts + table head + letterhead, address, reference block, totals and texts.
    assert 30 <= renderer.last_text_lines <= 60


def test_a_long_mandate_id_is_printed_whole():
    mandate = "NL-MANDATE-2025-0000000123456789012"  # 35 characters, the SEPA maximum
    line = StatementLineView(D("2025-03-05"), 5000, "sepa_debit", "Maandgevers", mandate, 5000, 0, 0)
    text = pdf_text(StatementRenderer().render(view(lines=(line,))))
    assert mandate in text


# --- layout read back with positions (issue 15 item 6) ---------------------------------

LONG_ORG = OrganisationView("Stichting VluchtelingenWerk Nederland Regio Midden- en West-Brabant", "824150004",
                            "Postbus 2894, 1000 AB Amsterdam", "https://www.vluchtelingenwerk.nl")


def test_a_long_letterhead_and_return_address_stay_inside_the_margins_and_whole():
    from tests.exports.pdf_layout import lines, outside_margins, words

    data = StatementRenderer().render(view(organisation=LONG_ORG))
    # Nothing reaches into the 20 mm side margins (the old letterhead ended 1.3 mm from the edge).
    assert outside_margins(data, left_mm=20, right_mm=20) == []
    # The name wraps on its words in the letterhead column, every word printed.
    letterhead = [w.text for w in words(data) if w.page == 1 and w.left >= 124 * mm and w.top < 45 * mm]
    assert " ".join(letterhead).startswith("Stichting VluchtelingenWerk Nederland Regio Midden- en West-Brabant")
    # The return address is printed whole: no "…1000 AB Amst…".
    text = " ".join(lines(data, page=1))
    assert "Retouradres: Stichting VluchtelingenWerk Nederland Regio Midden- en West-Brabant" in text
    assert "Postbus 2894, 1000 AB Amsterdam" in text and "…" not in text
    # It stays above the window's address, left of the reference block.
    page_one = [w for w in words(data) if w.page == 1]
    returned = [w for w in page_one if w.left < 120 * mm and w.top < 48 * mm]
    assert returned[0].text == "Retouradres:" and max(w.right for w in returned) < 124 * mm
    assert max(w.bottom for w in returned) < 50 * mm <= min(w.top for w in page_one if w.text == "A.B.")


def test_every_statement_of_the_tests_lies_inside_the_page_with_margins():
    from tests.exports.pdf_layout import outside_margins

    for changes in ({}, {"language": "en"}, {"addressee": "organisation"}, {"addressee": "heirs"},
                    {"organisation": LONG_ORG, "language": "en"}):
        assert outside_margins(StatementRenderer().render(view(**changes)), left_mm=20, right_mm=20) == [], changes


def test_a_gift_with_a_consideration_is_split_on_its_line():
    from tests.exports.pdf_layout import lines

    printed = lines(StatementRenderer().render(view()))
    at = printed.index(next(line for line in printed if line.startswith("01-08-2025 € 150,00")))
    # € 150,00 paid for a benefit dinner worth € 60,00: € 90,00 is a gift (DOMAIN.md 1.4).
    assert printed[at + 1] == "waarvan € 60,00 tegenprestatie (niet aftrekbaar) en € 90,00 aftrekbaar"
    english = lines(StatementRenderer().render(view(language="en")))
    assert "of which €60.00 consideration (not deductible) and €90.00 deductible" in english
    # A gift that is wholly deductible, or wholly not, has no such line.
    assert sum(line.startswith("waarvan") for line in printed) == 1


def test_an_organisation_gets_the_corporate_tax_wording():
    text = " ".join(pdf_text(StatementRenderer().render(view(addressee="organisation"))).split())
    assert "aangifte vennootschapsbelasting over 2025" in text
    assert "50% van de winst, met een maximum van € 100.000 (art. 16 Wet Vpb 1969)" in text
    assert "inkomstenbelasting over" not in text and "Voor gewone giften geldt een drempel" not in text
    person = " ".join(pdf_text(StatementRenderer().render(view())).split())
    assert "aangifte inkomstenbelasting over 2025" in person and "vennootschapsbelasting" not in person


def test_a_deceased_donors_statement_is_addressed_to_the_heirs():
    from tests.exports.pdf_layout import lines

    printed = lines(StatementRenderer().render(view(addressee="heirs", salutation="Geachte erven")))
    assert printed[6].startswith("De erven van A.B. van der Berg")   # the window's first line
    assert "Geachte erven," in printed
    text = " ".join(printed)
    assert "giften die wij in 2025 van A.B. van der Berg hebben ontvangen" in text
    english = lines(StatementRenderer().render(view(addressee="heirs", language="en", salutation="Dear heirs")))
    assert any(line.startswith("The heirs of A.B. van der Berg") for line in english)
