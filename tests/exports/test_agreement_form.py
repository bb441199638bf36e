"""`anbi agreements form NUMBER --out FILE.pdf` (issue 4 item 1, DOMAIN.md 1.3)."""
from __future__ import annotations

import pytest

from exports.statements.agreement_form import amount_in_words, number_in_words
from tests.exports.receipt_support import ORG_ENV, pdf_text
from tests.factories import make_agreement, make_donor


@pytest.mark.parametrize(
    "number,words",
    [
        (0, "nul"), (1, "een"), (12, "twaalf"), (21, "eenentwintig"), (22, "tweeëntwintig"), (23, "drieëntwintig"),
        (40, "veertig"), (99, "negenennegentig"), (100, "honderd"), (101, "honderdeen"), (250, "tweehonderdvijftig"),
        (600, "zeshonderd"), (1000, "duizend"), (1250, "duizend tweehonderdvijftig"), (2000, "tweeduizend"),
        (12500, "twaalfduizend vijfhonderd"), (100_000, "honderdduizend"), (1_000_000, "een miljoen"),
        (2_500_000, "twee miljoen vijfhonderdduizend"),
    ],
)
def test_numbers_in_dutch_words(number, words):
    assert number_in_words(number) == words


def test_amounts_in_words():
    assert amount_in_words(60000) == "zeshonderd euro"
    assert amount_in_words(125050) == "duizend tweehonderdvijftig euro en vijftig cent"
    assert amount_in_words(1) == "nul euro en een cent"


def test_form_has_the_model_form_contents_with_the_organisations_part_filled_in(cli, session, tmp_path):
    donor = make_donor(session, ref="D1", first_name="Anna Maria", last_name="Berg", prefix="van den",
                       street="Kerkstraat", house_number="12", postcode="1017 GC", city="Amsterdam",
                       phone="020-1234567", email="anna@example.org")
    make_agreement(session, donor=donor, number="PG-2025-0007", annual_amount="1250.50", start_date="2025-03-01",
                   signed_on="2025-02-15", years=5)
    make_agreement(session, number="PG-2025-0008", years=None, start_date="2025-01-01")
    session.commit()
    out = tmp_path / "form.pdf"
    result = cli("agreements", "form", "PG-2025-0007", "--out", str(out), env=ORG_ENV)
    assert result.exit_code == 0, result.stderr
    text = " ".join(pdf_text(out).split())
    for fact in (
        "Overeenkomst periodieke gift in geld",
        "1 Verklaring gift", "Naam schenker A.M. van den Berg", "verklaart een gift te doen aan Stichting Voorbeeld",
        "Bedrag per jaar in cijfers € 1.250,50",
        "Bedrag per jaar in letters duizend tweehonderdvijftig euro en vijftig cent",
        "2 Looptijd van de gift", "Jaar van de eerste uitkering 2025",
        "3 Gegevens schenker", "Achternaam Van den Berg", "Voornamen (voluit) Anna Maria", "Burgerservicenummer (BSN)",
        "Straat en huisnummer Kerkstraat 12", "Postcode en woonplaats 1017 GC Amsterdam", "Telefoonnummer 020-1234567",
        "4 Gegevens instelling", "4a Naam instelling Stichting Voorbeeld", "4b Transactienummer PG-2025-0007",
        "4c RSIN/fiscaal nummer 824150004",
        "5 Ondertekening schenker", "6 Gegevens en ondertekening partner", "7 Ondertekening namens de instelling",
    ):
        assert fact in text, fact
    assert "X 5 jaar" in text

    indefinite = tmp_path / "indefinite.pdf"
    assert cli("agreements", "form", "PG-2025-0008", "--out", str(indefinite), env=ORG_ENV).exit_code == 0
    assert "X onbepaalde tijd (tot het overlijden)" in " ".join(pdf_text(indefinite).split())


def test_form_is_deterministic(cli, session, tmp_path):
    make_agreement(session, number="PG-1")
    session.commit()
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    assert cli("agreements", "form", "PG-1", "--out", str(first), env=ORG_ENV).exit_code == 0
    assert cli("agreements", "form", "PG-1", "--out", str(second), env=ORG_ENV).exit_code == 0
    assert first.read_bytes() == second.read_bytes()


def test_form_for_an_unknown_agreement_is_a_clear_error(cli, tmp_path):
    out = tmp_path / "form.pdf"
    result = cli("agreements", "form", "PG-9999-0001", "--out", str(out), env=ORG_ENV)
    assert result.exit_code == 1
    assert result.stderr == "error: periodic gift agreement 'PG-9999-0001' does not exist\n"
    assert not out.exists()


def test_form_needs_a_valid_rsin(cli, session, tmp_path):
    make_agreement(session, number="PG-2")
    session.commit()
    out = tmp_path / "form.pdf"
    result = cli("agreements", "form", "PG-2", "--out", str(out), env={**ORG_ENV, "ANBI_ORGANISATION_RSIN": "123"})
    assert result.exit_code == 1
    assert "RSIN" in result.stderr
    assert not out.exists()
