"""The annual gift statement as a PDF: a frozen view-model in, PDF bytes out.

`StatementRenderer.render(view)` draws one A4 statement with reportlab's canvas. It is
deterministic — the same view gives the same bytes, whenever and wherever it runs
(`invariant=1` fixes the document's creation date and ID) — so a statement issued
years ago can be rendered again and checked against the SHA-256 in its snapshot.
It decides nothing: every figure comes from the view, which the receipts run builds
from `fundraising.statements.rules`. The contents follow DOMAIN.md 1.6 and issue 4 item 4;
the address sits where a Dutch window envelope shows it (left, about 50 mm from the
top).

The canvas is drawn directly rather than through platypus flowables: a statement
run renders one of these per donor, and the canvas is several times faster.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from anbi.core import formatting


@dataclass(frozen=True)
class OrganisationView:
    name: str
    rsin: str
    address: str = ""
    website: str = ""


@dataclass(frozen=True)
class StatementLineView:
    received_on: dt.date
    amount_cents: int
    method: str
    campaign: str | None = None
    mandate_ref: str | None = None
    regular_cents: int = 0
    periodic_cents: int = 0
    non_deductible_cents: int = 0
    agreement_number: str | None = None
    non_deductible_reason: str | None = None


@dataclass(frozen=True)
class PeriodicView:
    number: str
    start_year: int
    annual_amount_cents: int
    amount_cents: int


@dataclass(frozen=True)
class StatementView:
    """Everything a statement PDF shows, nothing more."""

    number: str
    year: int
    issued_on: dt.date
    language: str
    organisation: OrganisationView
    donor_ref: str
    donor_name: str
    salutation: str
    address_lines: tuple[str, ...]
    regular_cents: int
    periodic_cents: int
    non_deductible_cents: int
    total_paid_cents: int
    periodic: tuple[PeriodicView, ...] = ()
    lines: tuple[StatementLineView, ...] = ()
    replaces_number: str | None = None
    # person: income tax wording; organisation: corporate tax wording (it deducts its
    # gifts in the vennootschapsbelasting, DOMAIN.md 1.2); heirs: a deceased donor's
    # statement, addressed to "De erven van …".
    addressee: str = "person"


TEXTS: dict[str, dict[str, Any]] = {  # per language: its texts, and the names of the payment methods
    "nl": {
        "title": "Jaaroverzicht giften {year}",
        "return": "Retouradres: {name}, {address}",
        "number": "Overzichtnummer",
        "date": "Datum",
        "donor": "Donateurnummer",
        "year": "Jaar",
        "replaces": "Dit overzicht vervangt overzicht {number}; dat overzicht is niet meer geldig.",
        "intro": (
            "Hartelijk dank voor uw steun. Hieronder staan de giften die wij in {year} van u "
            "hebben ontvangen, na aftrek van terugboekingen. U kunt dit overzicht gebruiken "
            "bij uw aangifte inkomstenbelasting over {year}."
        ),
        "intro_organisation": (
            "Hartelijk dank voor uw steun. Hieronder staan de giften die wij in {year} van uw "
            "organisatie hebben ontvangen, na aftrek van terugboekingen. U kunt dit overzicht "
            "gebruiken bij de aangifte vennootschapsbelasting over {year}."
        ),
        "intro_heirs": (
            "Met deze brief ontvangt u, als erven, het overzicht van de giften die wij in {year} van "
            "{name} hebben ontvangen, na aftrek van terugboekingen. U kunt het gebruiken bij de "
            "aangifte inkomstenbelasting van de overledene over {year}."
        ),
        "heirs": "De erven van {name}",
        "heirs_salutation": "Geachte erven",
        "col_date": "Datum",
        "col_amount": "Bedrag",
        "col_method": "Betaalwijze",
        "col_campaign": "Campagne",
        "col_mandate": "Machtiging",
        "col_kind": "Soort",
        "kind_regular": "gewoon",
        "kind_periodic": "periodiek {number}",
        "kind_cash": "niet aftrekbaar (contant)",
        "kind_lottery": "niet aftrekbaar (loterij)",
        "kind_purchase": "niet aftrekbaar (aankoop)",
        "kind_consideration": "tegenprestatie",
        "split": "waarvan {consideration} tegenprestatie (niet aftrekbaar) en {deductible} aftrekbaar",
        "totals": "Totalen {year}",
        "total_regular": "Gewone giften (aftrekbaar)",
        "total_periodic": "Periodieke giften (aftrekbaar)",
        "periodic_detail": "Overeenkomst {number}, ingangsjaar {start_year}, jaarbedrag {annual}",
        "total_non_deductible": "Niet aftrekbaar (contant, loterij, tegenprestatie)",
        "total_paid": "Totaal ontvangen",
        "no_gifts": "Geen giften in dit jaar (na terugboekingen).",
        "anbi": (
            "{name} is door de Belastingdienst aangemerkt als algemeen nut beogende instelling "
            "(ANBI). RSIN/fiscaal nummer: {rsin}."
        ),
        "disclaimer": (
            "Of en in hoeverre u deze giften kunt aftrekken, hangt af van uw eigen situatie en "
            "van de regels van de Belastingdienst. Voor gewone giften geldt een drempel en een "
            "maximum; periodieke giften zijn aftrekbaar op grond van een schriftelijke "
            "overeenkomst. Contante giften, loten en de waarde van een tegenprestatie zijn niet "
            "aftrekbaar. Bewaar dit overzicht bij uw administratie."
        ),
        "disclaimer_organisation": (
            "Of en in hoeverre uw organisatie deze giften kan aftrekken, hangt af van haar eigen "
            "situatie en van de regels van de Belastingdienst. In de vennootschapsbelasting zijn "
            "giften aan een ANBI aftrekbaar tot 50% van de winst, met een maximum van € 100.000 "
            "(art. 16 Wet Vpb 1969); de regels voor periodieke giften van de inkomstenbelasting "
            "gelden daar niet. Loten en de waarde van een tegenprestatie zijn geen gift. Bewaar dit "
            "overzicht bij uw administratie."
        ),
        "continued": "vervolg",
        "page": "Overzicht {number} – pagina {page} van {pages}",
        "methods": {
            "bank_transfer": "overboeking", "sepa_debit": "SEPA-incasso", "ideal": "iDEAL", "card": "creditcard",
            "bancontact": "Bancontact", "cash": "contant", "other": "overig",
        },
    },
    "en": {
        "title": "Annual statement of gifts {year}",
        "return": "Return address: {name}, {address}",
        "number": "Statement number",
        "date": "Date",
        "donor": "Donor number",
        "year": "Year",
        "replaces": "This statement replaces statement {number}, which is no longer valid.",
        "intro": (
            "Thank you for your support. Below are the gifts we received from you in {year}, "
            "net of any refunds. You can use this statement for your Dutch income tax return "
            "for {year}."
        ),
        "intro_organisation": (
            "Thank you for your support. Below are the gifts we received from your organisation in "
            "{year}, net of any refunds. You can use this statement for the Dutch corporate income "
            "tax return (vennootschapsbelasting) for {year}."
        ),
        "intro_heirs": (
            "With this letter you receive, as heirs, the statement of the gifts we received from "
            "{name} in {year}, net of any refunds. You can use it for the deceased's Dutch income "
            "tax return for {year}."
        ),
        "heirs": "The heirs of {name}",
        "heirs_salutation": "Dear heirs",
        "col_date": "Date",
        "col_amount": "Amount",
        "col_method": "Method",
        "col_campaign": "Campaign",
        "col_mandate": "Mandate",
        "col_kind": "Type",
        "kind_regular": "ordinary",
        "kind_periodic": "periodic {number}",
        "kind_cash": "not deductible (cash)",
        "kind_lottery": "not deductible (lottery)",
        "kind_purchase": "not deductible (purchase)",
        "kind_consideration": "consideration",
        "split": "of which {consideration} consideration (not deductible) and {deductible} deductible",
        "totals": "Totals {year}",
        "total_regular": "Ordinary gifts (deductible)",
        "total_periodic": "Periodic gifts (deductible)",
        "periodic_detail": "Agreement {number}, start year {start_year}, annual amount {annual}",
        "total_non_deductible": "Not deductible (cash, lottery, consideration)",
        "total_paid": "Total received",
        "no_gifts": "No gifts in this year (after refunds).",
        "anbi": (
            "{name} is registered by the Dutch Tax Administration (Belastingdienst) as a public "
            "benefit organisation (ANBI). RSIN/tax number: {rsin}."
        ),
        "disclaimer": (
            "Whether and how far you can deduct these gifts depends on your own situation and "
            "on the rules of the Dutch Tax Administration. Ordinary gifts are subject to a "
            "threshold and a maximum; periodic gifts are deductible under a written agreement. "
            "Cash gifts, lottery tickets and the value of anything received in return are not "
            "deductible. Please keep this statement with your records."
        ),
        "disclaimer_organisation": (
            "Whether and how far your organisation can deduct these gifts depends on its own "
            "situation and on the rules of the Dutch Tax Administration. In the corporate income "
            "tax (vennootschapsbelasting) gifts to an ANBI are deductible up to 50% of the profit, "
            "with a maximum of € 100,000 (art. 16 Wet Vpb 1969); the income tax rules for periodic "
            "gifts do not apply there. Lottery tickets and the value of anything received in return "
            "are not gifts. Please keep this statement with your records."
        ),
        "continued": "continued",
        "page": "Statement {number} – page {page} of {pages}",
        "methods": {
            "bank_transfer": "bank transfer", "sepa_debit": "direct debit", "ideal": "iDEAL", "card": "card",
            "bancontact": "Bancontact", "cash": "cash", "other": "other",
        },
    },
}


def long_date(day: dt.date, language: str) -> str:
    """`15 januari 2026` / `15 January 2026`: a date in a letter."""
    return formatting.date_long(day, language)


def short_date(day: dt.date, language: str) -> str:
    """`05-03-2025` (Dutch) / `05/03/2025` (British): a date in the table."""
    return formatting.date(day, language)


def intro_key(view: StatementView) -> str:
    return {"organisation": "intro_organisation", "heirs": "intro_heirs"}.get(view.addressee, "intro")


def disclaimer_key(view: StatementView) -> str:
    return "disclaimer_organisation" if view.addressee == "organisation" else "disclaimer"


def addressee_name(view: StatementView, texts: dict) -> str:
    """The first line of the address: the donor, or a deceased donor's heirs."""
    return texts["heirs"].format(name=view.donor_name) if view.addressee == "heirs" else view.donor_name


# --- fonts ---------------------------------------------------------------------------

REGULAR, BOLD = "Helvetica", "Helvetica-Bold"
# Names in other scripts (Łukasz, Şahin) cannot be written in the standard fonts'
# WinAnsi encoding; such text is set in a Unicode TrueType font when one is found.
_UNICODE_FONT_PATHS = (
    os.environ.get("ANBI_PDF_UNICODE_FONT", ""),
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
)
UNICODE = "AnbiUnicode"


@lru_cache(maxsize=1)
def _unicode_font() -> str | None:
    for path in _UNICODE_FONT_PATHS:
        if path and os.path.exists(path):
            pdfmetrics.registerFont(TTFont(UNICODE, path))
            return UNICODE
    return None


def _fits_winansi(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("cp1252")
        return True
    except UnicodeEncodeError:
        return False


def _escape_table() -> dict[int, str]:
    """Text to a PDF string literal in WinAnsi (cp1252), escaped exactly as reportlab's
    escapePDF does: octal for bytes outside printable ASCII, a backslash before
    `\\`, `(` and `)`. As one str.translate table it runs at C speed."""
    table: dict[int, str] = {}
    for byte in range(256):
        character = bytes([byte]).decode("cp1252", errors="ignore")
        if not character:
            continue
        if byte < 32 or byte >= 127:
            table[ord(character)] = f"\\{byte:03o}"
        elif character in "\\()":
            table[ord(character)] = "\\" + character
    return table


_ESCAPE = _escape_table()


def pdf_literal(text: str) -> str:
    """The body of a PDF string literal for `text` in a standard (WinAnsi) font."""
    return text.translate(_ESCAPE)


def _ascii_fold(text: str) -> str:
    """Last resort without a Unicode font: `Łukasz` -> `Lukasz`, never a black box."""
    folded = unicodedata.normalize("NFKD", text.replace("Ł", "L").replace("ł", "l"))
    return "".join(c for c in folded if not unicodedata.combining(c) and _fits_winansi(c))


def font_for(text: str, base: str) -> tuple[str, str]:
    """The font to set `text` in, and the text as it will be set."""
    if _fits_winansi(text):
        return base, text
    unicode_font = _unicode_font()
    if unicode_font is not None:
        return unicode_font, text
    return base, _ascii_fold(text)


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy word wrap to `width` points."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if current and pdfmetrics.stringWidth(candidate, font, size) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def fit(text: str, font: str, size: float, width: float, smallest: float | None = None) -> tuple[str, float]:
    """`text` at `size`, or smaller (down to `smallest`, SMALLEST by default) so that
    it fits `width`: an identifier such as a mandate id must be printed whole."""
    smallest = SMALLEST if smallest is None else smallest
    natural = _width(text, font, size)
    if natural <= width:
        return text, size
    smaller = max(smallest, int(size * width / natural * 10) / 10)
    return clip(text, font, smaller, width), smaller


def clip(text: str, font: str, size: float, width: float) -> str:
    """`text` shortened with an ellipsis to fit `width` points."""
    if _width(text, font, size) <= width:
        return text
    while text and _width(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


# --- layout (millimetres from the left / from the top of an A4 page) -----------------

PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT = 22 * mm
RIGHT = PAGE_WIDTH - 20 * mm
TEXT_WIDTH = RIGHT - LEFT
COLUMN_X = 125 * mm  # letterhead and reference block, right of the envelope window
LETTERHEAD_WIDTH = RIGHT - COLUMN_X
RETURN_ADDRESS_TOP = 47 * mm
RETURN_ADDRESS_WIDTH = COLUMN_X - LEFT - 5 * mm  # the window, short of the reference block
RETURN_SIZE, RETURN_SMALLEST = 6.5, 5.5
ADDRESS_TOP = 53 * mm  # first line of the address: inside a standard Dutch window
TITLE_TOP = 94 * mm
TABLE_BOTTOM = 28 * mm
ROW = 4.5 * mm
# Fixed columns: date, amount (right-aligned at its edge), method, then campaign from
# CAMPAIGN_X. The mandate column takes what the statement's longest mandate id needs
# (a SEPA mandate id has up to 35 characters), and the campaign gets the rest.
DATE_X = LEFT
AMOUNT_RIGHT = LEFT + 37 * mm
METHOD_X = LEFT + 40 * mm
CAMPAIGN_X = LEFT + 65 * mm
KIND_X = LEFT + 133 * mm
KIND_WIDTH = RIGHT - KIND_X
COLUMN_GAP = 2 * mm
MANDATE_MAX = 40 * mm  # 35 characters at the smallest size
SMALLEST = 5.5  # a mandate id is shrunk down to this size before it is ever shortened
BODY, TABLE, SMALL = 9.5, 8.2, 8.0
SPLIT_SIZE = 7.2  # the line under a gift that says how its amount splits
SMALL_LEADING = 3.6 * mm


def _y(from_top: float) -> float:
    return PAGE_HEIGHT - from_top


@lru_cache(maxsize=8192)
def _width(text: str, font: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, font, size)


class _PageText:
    """The text of one page, written as PDF text operators in one BT…ET block.

    A statement has a hundred-odd pieces of text; reportlab's drawString makes a text
    object for each, which would dominate the cost of a statement run. Text in the
    standard fonts (WinAnsi) is written here directly, escaped as reportlab escapes
    it; anything else goes through the canvas with the Unicode font."""

    def __init__(self, pdf: canvas.Canvas):
        self.pdf = pdf
        self.ops: list[str] = ["BT"]
        self.font: str | None = None  # the font and size set last in the block
        self.size = 0.0
        self.baselines: set[int] = set()

    def text(self, x: float, y: float, text: str, font: str = REGULAR, size: float = BODY) -> None:
        # Called for every piece of every statement: kept to the few steps each needs.
        if not text:
            return
        self.baselines.add(round(y))
        if not text.isascii() and not _fits_winansi(text):
            font, text = font_for(text, font)
            self.pdf.setFont(font, size)
            self.pdf.drawString(x, y, text)
            return
        if font != self.font or size != self.size:
            # The font's name inside the PDF is known only to the canvas's document (the stubs leave `_doc` out).
            self.ops.append(f"{self.pdf._doc.getInternalFontName(font)} {size:g} Tf")  # type: ignore[attr-defined]
            self.font, self.size = font, size
        self.ops.append(f"1 0 0 1 {x:.2f} {y:.2f} Tm ({text.translate(_ESCAPE)}) Tj")

    def right(self, x: float, y: float, text: str, font: str = REGULAR, size: float = BODY) -> None:
        """`text` ending at `x` (amounts)."""
        if _fits_winansi(text):
            self.text(x - _width(text, font, size), y, text, font, size)
        else:
            unicode_font, shown = font_for(text, font)
            self.text(x - pdfmetrics.stringWidth(shown, unicode_font, size), y, text, font, size)

    def finish(self) -> int:
        """Write the block into the page; returns the number of text lines drawn."""
        self.ops.append("ET")
        self.pdf.addLiteral("\n".join(self.ops))
        return len(self.baselines)


class StatementRenderer:
    """Turns a StatementView into PDF bytes: one job. It keeps only the column layout
    of the document in hand and `last_text_lines`, the number of text lines the last
    document drew (the benchmark draws as many on a bare canvas)."""

    last_text_lines = 0

    def render(self, view: StatementView) -> bytes:
        texts = TEXTS[view.language]
        self.mandate_x, self.mandate_width, self.campaign_width = self._columns(view, texts)
        rows = [self._row(line, texts, view.language) for line in view.lines]
        pages = self._paginate([2 if row[-1] else 1 for row in rows], view)
        buffer = io.BytesIO()
        pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1, pageCompression=0)
        pdf.setTitle(texts["title"].format(year=view.year) + f" – {view.number}")
        pdf.setAuthor(view.organisation.name)
        pdf.setSubject(f"{view.donor_ref} {view.year}")
        pdf.setCreator("anbi-crm")
        position = 0
        text_lines = 0
        for page_number, count in enumerate(pages, start=1):
            page = _PageText(pdf)
            if page_number == 1:
                y = self._first_page_head(page, view, texts)
            else:
                y = _y(20 * mm)
                page.text(LEFT, y, f"{texts['title'].format(year=view.year)} – {texts['continued']}", BOLD, 11)
                y -= 9 * mm
            if count or (page_number == 1 and not rows):
                y = self._table_head(page, y, texts)
            for row in rows[position:position + count]:
                y = self._table_row(page, y, row)
            position += count
            if page_number == 1 and not rows:
                page.text(LEFT, y, texts["no_gifts"])
                y -= ROW
            if page_number == len(pages):
                self._totals(page, y - 3 * mm, view, texts)
            page.text(RIGHT - _width(texts["page"].format(number=view.number, page=page_number, pages=len(pages)), REGULAR, 7.5), 12 * mm,
                      texts["page"].format(number=view.number, page=page_number, pages=len(pages)), REGULAR, 7.5)
            text_lines += page.finish()
            pdf.showPage()
        pdf.save()
        self.last_text_lines = text_lines
        return buffer.getvalue()

    # -- pieces --

    def _first_page_head(self, page: _PageText, view: StatementView, texts: dict) -> float:
        org = view.organisation
        # The organisation's part of the page is the same on every statement of a run:
        # laid out once (`_letterhead`).
        for x, y, line, font, size in _letterhead(org.name, org.address, org.rsin, org.website, texts["return"]):
            page.text(x, y, line, font, size)
        y = _y(ADDRESS_TOP)
        for line in (addressee_name(view, texts), *view.address_lines):
            shown, size = fit(line, REGULAR, 10, RETURN_ADDRESS_WIDTH, smallest=8)
            page.text(LEFT, y, shown, REGULAR, size)
            y -= 4.6 * mm
        # Reference block beside the window.
        y = _y(ADDRESS_TOP)
        for label, value in (
            (texts["number"], view.number),
            (texts["date"], long_date(view.issued_on, view.language)),
            (texts["donor"], view.donor_ref),
            (texts["year"], str(view.year)),
        ):
            page.text(COLUMN_X, y, label, REGULAR, 8.5)
            page.text(COLUMN_X + 29 * mm, y, value, BOLD, 8.5)
            y -= 4.2 * mm
        # Title, correction note, salutation and introduction.
        y = _y(TITLE_TOP)
        page.text(LEFT, y, texts["title"].format(year=view.year), BOLD, 15)
        y -= 8 * mm
        if view.replaces_number:
            page.text(LEFT, y, texts["replaces"].format(number=view.replaces_number), BOLD)
            y -= 6 * mm
        page.text(LEFT, y, f"{view.salutation},")
        y -= 5.5 * mm
        for line in _wrapped(texts[intro_key(view)].format(year=view.year, name=view.donor_name), BODY):
            page.text(LEFT, y, line)
            y -= 4.3 * mm
        return y - 4 * mm

    @staticmethod
    def _return_address(text: str) -> list[tuple[float, str, float]]:
        """(mm from the top, text, size) of the return address above the window: one
        line, set smaller if it must be, or else two lines (name, then address) —
        never cut off."""
        shown, size = fit(text, REGULAR, RETURN_SIZE, RETURN_ADDRESS_WIDTH, smallest=RETURN_SMALLEST)
        if shown == text:
            return [(RETURN_ADDRESS_TOP, text, size)]
        head, _, tail = text.partition(", ")
        lines = [head, tail] if tail else [text]
        placed = []
        for index, line in enumerate(lines):
            shown, size = fit(line, REGULAR, RETURN_SIZE, RETURN_ADDRESS_WIDTH, smallest=RETURN_SMALLEST)
            placed.append((RETURN_ADDRESS_TOP - (len(lines) - 1 - index) * 2.6 * mm, shown, size))
        return placed

    def _columns(self, view: StatementView, texts: dict) -> tuple[float, float, float]:
        """(mandate x, mandate width, campaign width) for this statement."""
        widest = max((_width(line.mandate_ref, REGULAR, TABLE) for line in view.lines if line.mandate_ref), default=0.0)
        needed = max(widest, _width(texts["col_mandate"], BOLD, TABLE)) if widest else 0.0
        mandate_width = min(needed, MANDATE_MAX)
        mandate_x = KIND_X - COLUMN_GAP - mandate_width
        campaign_width = mandate_x - COLUMN_GAP - CAMPAIGN_X if mandate_width else KIND_X - COLUMN_GAP - CAMPAIGN_X
        return mandate_x, mandate_width, campaign_width

    def _table_head(self, page: _PageText, y: float, texts: dict) -> float:
        page.text(DATE_X, y, texts["col_date"], BOLD, TABLE)
        page.right(AMOUNT_RIGHT, y, texts["col_amount"], BOLD, TABLE)
        page.text(METHOD_X, y, texts["col_method"], BOLD, TABLE)
        page.text(CAMPAIGN_X, y, texts["col_campaign"], BOLD, TABLE)
        if self.mandate_width:
            page.text(self.mandate_x, y, texts["col_mandate"], BOLD, TABLE)
        page.text(KIND_X, y, texts["col_kind"], BOLD, TABLE)
        page.pdf.setLineWidth(0.5)
        page.pdf.line(LEFT, y - 1.6 * mm, RIGHT, y - 1.6 * mm)
        return y - ROW - 0.6 * mm

    def _row(self, line: StatementLineView, texts: dict, language: str) -> tuple[str, str, str, str, str, str, float, float, str]:
        kinds = []
        if line.periodic_cents:
            kinds.append(texts["kind_periodic"].format(number=line.agreement_number or ""))
        if line.regular_cents:
            kinds.append(texts["kind_regular"])
        if line.non_deductible_cents:
            kinds.append(texts[f"kind_{line.non_deductible_reason or 'consideration'}"])
        mandate, mandate_size = fit(line.mandate_ref or "", REGULAR, TABLE, self.mandate_width)
        kind, kind_size = fit(" + ".join(kinds), REGULAR, TABLE, KIND_WIDTH, smallest=7)
        # A gift with a consideration (a benefit dinner, a membership): the line says
        # how its amount splits (DOMAIN.md 1.4).
        deductible = line.regular_cents + line.periodic_cents
        split = ""
        if deductible and line.non_deductible_cents:
            split = clip(texts["split"].format(consideration=formatting.money(line.non_deductible_cents, "EUR", language),
                                               deductible=formatting.money(deductible, "EUR", language)),
                         REGULAR, SPLIT_SIZE, RIGHT - METHOD_X)
        return (
            short_date(line.received_on, language),
            formatting.money(line.amount_cents, "EUR", language),
            texts["methods"].get(line.method, line.method),
            clip(line.campaign or "", REGULAR, TABLE, self.campaign_width),
            mandate,
            kind,
            mandate_size,
            kind_size,
            split,
        )

    def _table_row(self, page: _PageText, y: float, row: tuple) -> float:
        """Draw one gift; returns where the next one starts."""
        date, amount, method, campaign, mandate, kind, mandate_size, kind_size, split = row
        page.text(DATE_X, y, date, REGULAR, TABLE)
        page.right(AMOUNT_RIGHT, y, amount, REGULAR, TABLE)
        page.text(METHOD_X, y, method, REGULAR, TABLE)
        page.text(CAMPAIGN_X, y, campaign, REGULAR, TABLE)
        page.text(self.mandate_x, y, mandate, REGULAR, mandate_size)
        page.text(KIND_X, y, kind, REGULAR, kind_size)
        y -= ROW
        if split:
            page.text(METHOD_X, y + 0.8 * mm, split, REGULAR, SPLIT_SIZE)
            y -= ROW
        return y

    def _totals(self, page: _PageText, y: float, view: StatementView, texts: dict) -> None:
        page.pdf.setLineWidth(0.5)
        page.pdf.line(LEFT, y + 2.5 * mm, RIGHT, y + 2.5 * mm)
        page.text(LEFT, y - 1.5 * mm, texts["totals"].format(year=view.year), BOLD, 10.5)
        y -= 7.5 * mm
        entries: list[tuple[str, int, str]] = [
            (texts["total_regular"], view.regular_cents, REGULAR),
            (texts["total_periodic"], view.periodic_cents, REGULAR),
        ]
        for item in view.periodic:
            detail = texts["periodic_detail"].format(
                number=item.number, start_year=item.start_year,
                annual=formatting.money(item.annual_amount_cents, "EUR", view.language),
            )
            entries.append(("    " + detail, item.amount_cents, REGULAR))
        entries.append((texts["total_non_deductible"], view.non_deductible_cents, REGULAR))
        entries.append((texts["total_paid"], view.total_paid_cents, BOLD))
        for label, cents, font in entries:
            page.text(LEFT, y, label, font)
            page.right(RIGHT, y, formatting.money(cents, "EUR", view.language), font)
            y -= 4.6 * mm
        y -= 2.5 * mm
        for key in ("anbi", disclaimer_key(view)):
            for line in _wrapped(texts[key].format(name=view.organisation.name, rsin=view.organisation.rsin), SMALL):
                page.text(LEFT, y, line, REGULAR, SMALL)
                y -= SMALL_LEADING
            y -= 1.5 * mm

    # -- pagination: decided before drawing so that "page 1 of N" is known --

    def _paginate(self, heights: list[int], view: StatementView) -> list[int]:
        """Gifts per page, from each gift's height in rows (two for a split gift). The
        first page's table starts below the introduction; the totals block must fit
        below the last row, else it gets a page of its own."""
        texts = TEXTS[view.language]
        head = TITLE_TOP + 8 * mm + (6 * mm if view.replaces_number else 0) + 5.5 * mm
        intro = texts[intro_key(view)].format(year=view.year, name=view.donor_name)
        head += len(_wrapped(intro, BODY)) * 4.3 * mm + 4 * mm + ROW + 0.6 * mm
        first_room = int((PAGE_HEIGHT - head - TABLE_BOTTOM) // ROW)
        other_room = int((PAGE_HEIGHT - 29 * mm - ROW - 0.6 * mm - TABLE_BOTTOM) // ROW)
        totals = 3 * mm + 7.5 * mm + (4 + len(view.periodic)) * 4.6 * mm + 2.5 * mm
        for key in ("anbi", disclaimer_key(view)):
            text = texts[key].format(name=view.organisation.name, rsin=view.organisation.rsin)
            totals += len(_wrapped(text, SMALL)) * SMALL_LEADING + 1.5 * mm
        totals_rows = int(-(-totals // ROW))  # rows the totals block takes, rounded up

        pages: list[int] = []
        room, used, count = first_room, 0, 0
        for height in heights:
            if used + height > room:
                pages.append(count)
                room, used, count = other_room, 0, 0
            used += height
            count += 1
        if used + totals_rows <= room:
            pages.append(count)
        else:
            # The rows fit but the totals do not: they go on a page of their own.
            pages += [count, 0]
        return pages


@lru_cache(maxsize=16)
def _letterhead(name: str, address: str, rsin: str, website: str, return_text: str) -> tuple:
    """(x, y, text, font, size) of the organisation's letterhead and return address."""
    placed = []
    # Letterhead, top right: the statutory name, address, RSIN (DOMAIN.md 1.6).
    # It stays between the reference column and the right margin: a long name wraps
    # on its words (a word too long for the column is set smaller).
    y = _y(18 * mm)
    for line in wrap(name, BOLD, 11, LETTERHEAD_WIDTH):
        shown, size = fit(line, BOLD, 11, LETTERHEAD_WIDTH)
        placed.append((COLUMN_X, y, shown, BOLD, size))
        y -= 4.6 * mm
    y -= 0.4 * mm
    for part in [p.strip() for p in address.split(",") if p.strip()] + [f"RSIN {rsin}", website]:
        shown, size = fit(part, REGULAR, 8.5, LETTERHEAD_WIDTH)
        placed.append((COLUMN_X, y, shown, REGULAR, size))
        y -= 3.8 * mm
    # Return address and the donor's address in the envelope window.
    if address:
        for from_top, line, size in StatementRenderer._return_address(return_text.format(name=name, address=address)):
            placed.append((LEFT, _y(from_top), line, REGULAR, size))
    return tuple(placed)


@lru_cache(maxsize=64)
def _wrapped(text: str, size: float) -> tuple[str, ...]:
    return tuple(wrap(text, REGULAR, size, TEXT_WIDTH))


def render_statement(view: StatementView) -> bytes:
    """Module-level entry point, picklable for a process pool."""
    return StatementRenderer().render(view)


def render_statement_to_file(job: tuple[StatementView, str]) -> tuple[str, str]:
    """Render `view` into the temporary file `path` and return (path, SHA-256).

    A receipts run hands this to its worker processes, so that rendering, hashing
    and writing all happen there; the run renames the file into place only after
    the statement is committed."""
    view, path = job
    pdf = StatementRenderer().render(view)
    with open(path, "wb") as handle:
        handle.write(pdf)
    return path, hashlib.sha256(pdf).hexdigest()
