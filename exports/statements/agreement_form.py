"""The periodic gift agreement for signature: `anbi agreements form NUMBER --out FILE.pdf`.

The PDF carries the contents of the tax authority's model form "Overeenkomst
periodieke gift in geld" (IB 080, DOMAIN.md 1.3): the declaration of the gift with
the annual amount in figures and in words, the term, the donor's details, the
institution's part (name, transactienummer, RSIN) filled in, and the signature
blocks for the donor, the fiscal partner and the institution. What we know of the
donor is filled in; the BSN, date and place of birth are left for the donor to
write — we do not store a BSN (DOMAIN.md 1.3, DESIGN).

The form is Dutch, as the tax authority's is. Rendering is deterministic.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from sqlalchemy.orm import Session

from anbi.core import formatting
from anbi.core.money import format_dutch
from anbi.core.settings import Organisation
from donors import names
from donors.models import Donor
from exports.statements.pdf import BOLD, REGULAR, font_for, wrap
from exports.statements.issue import address_lines, check_organisation

# --- amounts in words (Dutch spelling, Taalunie) ------------------------------------------

_UNITS = ("nul", "een", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen", "tien", "elf", "twaalf",
          "dertien", "veertien", "vijftien", "zestien", "zeventien", "achttien", "negentien")
_TENS = ("", "", "twintig", "dertig", "veertig", "vijftig", "zestig", "zeventig", "tachtig", "negentig")


def _below_hundred(n: int) -> str:
    if n < 20:
        return _UNITS[n]
    tens, unit = divmod(n, 10)
    if unit == 0:
        return _TENS[tens]
    # tweeëntwintig, drieëntwintig: a diaeresis where two e's would merge.
    joiner = "ën" if _UNITS[unit].endswith("e") else "en"
    return f"{_UNITS[unit]}{joiner}{_TENS[tens]}"


def _below_thousand(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    head = "" if hundreds == 0 else ("honderd" if hundreds == 1 else f"{_UNITS[hundreds]}honderd")
    if rest == 0:
        return head or "nul"
    return head + _below_hundred(rest)


def number_in_words(n: int) -> str:
    """A whole number in Dutch words: 600 -> `zeshonderd`, 1250 -> `duizend
    tweehonderdvijftig`, 2_500_000 -> `twee miljoen vijfhonderdduizend`."""
    if n < 0:
        raise ValueError("a negative amount has no place on an agreement")
    if n < 1000:
        return _below_thousand(n)
    parts = []
    millions, rest = divmod(n, 1_000_000)
    if millions:
        parts.append(f"{number_in_words(millions)} miljoen")
    thousands, rest = divmod(rest, 1000)
    if thousands:
        parts.append("duizend" if thousands == 1 else f"{_below_thousand(thousands)}duizend")
    if rest:
        parts.append(_below_thousand(rest))
    return " ".join(parts)


def amount_in_words(cents: int) -> str:
    """`60000` -> `zeshonderd euro`; `125050` -> `duizend tweehonderdvijftig euro en vijftig cent`."""
    euros, rest = divmod(cents, 100)
    words = f"{number_in_words(euros)} euro"
    if rest:
        words += f" en {number_in_words(rest)} cent"
    return words


# --- the view-model -----------------------------------------------------------------------


@dataclass(frozen=True)
class AgreementFormView:
    organisation_name: str
    organisation_rsin: str
    organisation_address: str
    number: str  # transactienummer
    annual_amount_cents: int
    years: int | None
    first_year: int
    donor_name: str
    surname: str
    first_names: str
    address_lines: tuple[str, ...]
    street: str
    postcode_city: str
    country: str
    phone: str
    email: str


def form_view(agreement, donor: Donor, organisation: Organisation) -> AgreementFormView:
    org = check_organisation(organisation)
    lines = address_lines(donor)
    street = formatting.street_line(donor.street, donor.house_number, donor.house_number_suffix)
    postcode_city = " ".join(p for p in (donor.postcode, donor.city) if p)
    is_person = donor.kind != "organisation"
    return AgreementFormView(
        organisation_name=org.name, organisation_rsin=org.rsin, organisation_address=org.address,
        number=agreement.number, annual_amount_cents=agreement.annual_amount_cents, years=agreement.years,
        first_year=agreement.start_date.year, donor_name=names.label_name(donor),
        surname=names.surname(donor, leading=True) if is_person else (donor.organisation_name or ""),
        first_names=(donor.first_name or names.normalise_initials(donor.initials) or "") if is_person else "",
        address_lines=lines, street=street, postcode_city=postcode_city, country=(donor.country or "NL"),
        phone=donor.phone or "", email=donor.email or "",
    )


# --- the renderer --------------------------------------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT = 20 * mm
RIGHT = PAGE_WIDTH - 20 * mm
LABEL_WIDTH = 62 * mm


class AgreementFormRenderer:
    """Turns an AgreementFormView into PDF bytes (deterministic)."""

    def render(self, view: AgreementFormView) -> bytes:
        buffer = io.BytesIO()
        self.pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1, pageCompression=0)
        self.pdf.setTitle(f"Overeenkomst periodieke gift in geld – {view.number}")
        self.pdf.setAuthor(view.organisation_name)
        self.pdf.setCreator("anbi-crm")
        self.y = PAGE_HEIGHT - 20 * mm
        self._text(LEFT, "Overeenkomst periodieke gift in geld", BOLD, 15)
        self.y -= 6 * mm
        self._paragraph(
            "Met deze overeenkomst legt u een periodieke gift vast aan een algemeen nut beogende instelling "
            "(ANBI). Vul de overeenkomst in, onderteken beide exemplaren en stuur ze naar de instelling. De "
            "instelling vult haar deel in, ondertekent en stuurt u uw exemplaar terug. Bewaar uw exemplaar: "
            "de Belastingdienst kan erom vragen.", 8.5)
        self.y -= 3 * mm

        self._section("1", "Verklaring gift")
        self._field("Naam schenker", view.donor_name)
        self._field("verklaart een gift te doen aan", view.organisation_name)
        self._field("Bedrag per jaar in cijfers", format_dutch(view.annual_amount_cents))
        self._field("Bedrag per jaar in letters", amount_in_words(view.annual_amount_cents))
        self._paragraph("De gift wordt gedaan in de vorm van vaste en gelijkmatige periodieke uitkeringen, ten "
                        "minste één keer per jaar. De uitkeringen eindigen uiterlijk bij het overlijden van:", 9)
        self._checkbox(True, "de schenker")
        self._checkbox(False, "een ander, namelijk: ____________________________________________")

        self._section("2", "Looptijd van de gift")
        self._checkbox(view.years == 5, "5 jaar")
        self._checkbox(view.years is not None and view.years != 5,
                       f"{view.years} jaar (minimaal 5 jaar)" if view.years not in (None, 5) else "______ jaar (minimaal 5 jaar)")
        self._checkbox(view.years is None, "onbepaalde tijd (tot het overlijden)")
        self._field("Jaar van de eerste uitkering", str(view.first_year))
        self._paragraph("De periodieke uitkeringen eindigen in ieder geval bij het overlijden van de schenker. Ze "
                        "kunnen ook eerder eindigen als de instelling haar ANBI-status verliest, of als de schenker "
                        "arbeidsongeschikt of werkloos wordt.", 8.5)

        self._section("3", "Gegevens schenker")
        self._field("Achternaam", view.surname)
        self._field("Voornamen (voluit)", view.first_names)
        self._field("Burgerservicenummer (BSN)", "")
        self._field("Geboortedatum", "")
        self._field("Geboorteplaats", "")
        self._field("Straat en huisnummer", view.street)
        self._field("Postcode en woonplaats", view.postcode_city)
        self._field("Land", view.country)
        self._field("Telefoonnummer", view.phone)
        self._field("E-mailadres", view.email)

        self._section("4", "Gegevens instelling (in te vullen door de instelling)")
        self._field("4a  Naam instelling", view.organisation_name)
        self._field("4b  Transactienummer", view.number)
        self._field("4c  RSIN/fiscaal nummer", view.organisation_rsin)
        if view.organisation_address:
            self._field("Adres", view.organisation_address)

        self._ensure(75 * mm)
        self._section("5", "Ondertekening schenker")
        self._field("Plaats", "")
        self._field("Datum", "")
        self._field("Handtekening schenker", "")
        self.y -= 4 * mm

        self._section("6", "Gegevens en ondertekening partner van de schenker (als de schenker een partner heeft)")
        self._field("Achternaam", "")
        self._field("Voornamen (voluit)", "")
        self._field("Burgerservicenummer (BSN)", "")
        self._field("Plaats en datum", "")
        self._field("Handtekening partner", "")
        self.y -= 4 * mm

        self._ensure(45 * mm)
        self._section("7", "Ondertekening namens de instelling")
        self._field("Naam", "")
        self._field("Functie", "")
        self._field("Plaats", "")
        self._field("Datum", "")
        self._field("Handtekening", "")
        self._footer()
        self.pdf.showPage()
        self.pdf.save()
        return buffer.getvalue()

    # -- pieces --

    def _ensure(self, room: float) -> None:
        if self.y - room < 20 * mm:
            self._footer()
            self.pdf.showPage()
            self.y = PAGE_HEIGHT - 20 * mm

    def _footer(self) -> None:
        self.pdf.setFont(REGULAR, 7.5)
        self.pdf.drawString(LEFT, 12 * mm, "Inhoud volgens het modelformulier 'Overeenkomst periodieke gift in geld' "
                                           "van de Belastingdienst.")

    def _text(self, x: float, text: str, font: str, size: float) -> None:
        font, text = font_for(text, font)
        self.pdf.setFont(font, size)
        self.pdf.drawString(x, self.y, text)

    def _paragraph(self, text: str, size: float) -> None:
        for line in wrap(text, REGULAR, size, RIGHT - LEFT):
            self._ensure(5 * mm)
            self._text(LEFT, line, REGULAR, size)
            self.y -= size * 0.45 * mm
        self.y -= 1.5 * mm

    def _section(self, number: str, title: str) -> None:
        self._ensure(25 * mm)
        self.y -= 3 * mm
        self._text(LEFT, f"{number}  {title}", BOLD, 11)
        self.pdf.setLineWidth(0.6)
        self.pdf.line(LEFT, self.y - 1.8 * mm, RIGHT, self.y - 1.8 * mm)
        self.y -= 7 * mm

    def _field(self, label: str, value: str) -> None:
        self._ensure(8 * mm)
        self._text(LEFT, label, REGULAR, 9)
        self.pdf.setLineWidth(0.3)
        self.pdf.line(LEFT + LABEL_WIDTH, self.y - 1.2 * mm, RIGHT, self.y - 1.2 * mm)
        if value:
            self._text(LEFT + LABEL_WIDTH + 1.5 * mm, value, BOLD, 9.5)
        self.y -= 7 * mm

    def _checkbox(self, checked: bool, label: str) -> None:
        self._ensure(7 * mm)
        self.pdf.setLineWidth(0.6)
        self.pdf.rect(LEFT + 2 * mm, self.y - 0.6 * mm, 3.2 * mm, 3.2 * mm)
        if checked:
            self._text(LEFT + 2.6 * mm, "X", BOLD, 9)
        self._text(LEFT + 8 * mm, label, REGULAR, 9)
        self.y -= 6 * mm


def agreement_form_pdf(session: Session, number: str, organisation: Organisation) -> bytes:
    """The form for agreement `number` (AgreementNotFound when there is none)."""
    from fundraising.agreements import get_agreement

    agreement = get_agreement(session, number)
    donor = session.get_one(Donor, agreement.donor_id)
    return AgreementFormRenderer().render(form_view(agreement, donor, organisation))
