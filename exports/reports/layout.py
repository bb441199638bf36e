"""Shared pieces for the finance report PDFs (grant reports, the income statement):
fonts, paragraph styles, a table with a header row, and the document template.

Documents are deterministic (`invariant=1` fixes the creation date and document ID):
the same figures give the same bytes. A Unicode TrueType font (DejaVu Sans) is used
when the system has one, so names in any script print; without it the standard
Helvetica is used and text outside its WinAnsi encoding is folded to plain letters.
"""
from __future__ import annotations

import io
import os
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle
from xml.sax.saxutils import escape

_FONT_DIRS = (
    os.environ.get("ANBI_PDF_FONT_DIR", ""),
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/share/fonts/TTF",
)


@lru_cache(maxsize=1)
def fonts() -> tuple[str, str, bool]:
    """(regular, bold, unicode?) — DejaVu Sans when found, else Helvetica."""
    for directory in _FONT_DIRS:
        regular = os.path.join(directory, "DejaVuSans.ttf") if directory else ""
        bold = os.path.join(directory, "DejaVuSans-Bold.ttf") if directory else ""
        if regular and os.path.exists(regular) and os.path.exists(bold):
            pdfmetrics.registerFont(TTFont("AnbiReportSans", regular))
            pdfmetrics.registerFont(TTFont("AnbiReportSans-Bold", bold))
            return "AnbiReportSans", "AnbiReportSans-Bold", True
    return "Helvetica", "Helvetica-Bold", False


def printable(text: str) -> str:
    """Text as it can be set: unchanged with a Unicode font, else folded to WinAnsi."""
    if fonts()[2]:
        return text
    try:
        text.encode("cp1252")
        return text
    except UnicodeEncodeError:
        folded = unicodedata.normalize("NFKD", text.replace("Ł", "L").replace("ł", "l"))
        return "".join(c for c in folded if not unicodedata.combining(c) and c.encode("cp1252", "ignore"))


@lru_cache(maxsize=1)
def styles() -> dict[str, ParagraphStyle]:
    regular, bold, _ = fonts()
    return {
        "title": ParagraphStyle("title", fontName=bold, fontSize=16, leading=20, spaceAfter=6),
        "subtitle": ParagraphStyle("subtitle", fontName=regular, fontSize=11, leading=14, spaceAfter=10),
        "heading": ParagraphStyle("heading", fontName=bold, fontSize=12, leading=15, spaceBefore=12, spaceAfter=4),
        "body": ParagraphStyle("body", fontName=regular, fontSize=9, leading=12),
        "small": ParagraphStyle("small", fontName=regular, fontSize=7.5, leading=9.5),
        "cell": ParagraphStyle("cell", fontName=regular, fontSize=8, leading=10),
        "cell_right": ParagraphStyle("cell_right", fontName=regular, fontSize=8, leading=10, alignment=TA_RIGHT),
        "cell_bold": ParagraphStyle("cell_bold", fontName=bold, fontSize=8, leading=10),
    }


def para(text: str, style: str = "body") -> Paragraph:
    return Paragraph(escape(printable(text)), styles()[style])


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[float],
    *,
    right: Sequence[int] = (),
    bold_rows: Sequence[int] = (),
) -> Table:
    """A table of text cells; `right` columns are right-aligned (amounts);
    `bold_rows` are indexes into `rows` set in bold (totals)."""
    data = [[para(h, "cell_bold") for h in header]]
    texts = [list(header)] + [list(row) for row in rows]
    bold = {0} | {index + 1 for index in bold_rows}
    for index, row in enumerate(rows):
        cells = []
        for column, value in enumerate(row):
            style = "cell_right" if column in right else "cell"
            if index in bold_rows:
                style = "cell_bold" if column not in right else "cell_right"
            cell = para(value, style)
            if index in bold_rows and column in right:
                cell = Paragraph(f"<b>{escape(printable(value))}</b>", styles()["cell_right"])
            cells.append(cell)
        data.append(cells)
    result = Table(data, colWidths=column_widths(texts, [w * mm for w in widths], bold), repeatRows=1)
    result.setStyle(TableStyle([
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f3f3f3")]),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))
    return result


PAGE_MARGIN = 18 * mm
FRAME_WIDTH = A4[0] - 2 * PAGE_MARGIN
CELL_PADDING = 6  # points, left and right: reportlab's default for a table cell
CELL_SIZE = 8


def _longest_word(text: str, font: str) -> float:
    return max((pdfmetrics.stringWidth(word, font, CELL_SIZE) for word in printable(text).split()), default=0.0)


def column_widths(texts: Sequence[Sequence[str]], preferred: Sequence[float], bold_rows: set[int]) -> list[float]:
    """Column widths (points) that break no word: each column is at least as wide as
    its longest word (a budget line code, a reference) plus the cell padding; what a
    column needs beyond its preferred width is taken from the columns with room to
    spare (text that wraps on word boundaries), and the table stays within the frame.
    Only a word wider than the whole frame allows is still broken."""
    regular, bold, _ = fonts()
    columns = len(preferred)
    least = [0.0] * columns
    for index, row in enumerate(texts):
        font = bold if index in bold_rows else regular
        for column, text in enumerate(row[:columns]):
            least[column] = max(least[column], _longest_word(str(text), font) + 2 * CELL_PADDING + 0.5)
    scale = min(1.0, FRAME_WIDTH / sum(preferred))
    widths = [width * scale for width in preferred]
    short = sum(max(need - width, 0.0) for need, width in zip(least, widths))
    spare = [max(width - need, 0.0) for need, width in zip(least, widths)]
    if short and sum(spare):
        taken = min(short, sum(spare))
        widths = [max(width, need) if need > width else width - taken * room / sum(spare)
                  for width, need, room in zip(widths, least, spare)]
    overflow = sum(widths) - min(sum(preferred), FRAME_WIDTH)
    if overflow > 0.01:  # words wider than all the room there is: the widest columns give it back
        widest = max(range(columns), key=lambda column: widths[column])
        widths[widest] -= overflow
    return widths


def build(story: list, *, title: str, footer: str) -> bytes:
    """Lay out the story on A4 with a page footer; the PDF's bytes."""
    regular, _, _ = fonts()
    buffer = io.BytesIO()

    def on_page(canvas, document) -> None:
        canvas.saveState()
        canvas.setFont(regular, 7)
        canvas.drawString(PAGE_MARGIN, 10 * mm, printable(footer))
        canvas.drawRightString(A4[0] - PAGE_MARGIN, 10 * mm, f"{document.page}")
        canvas.restoreState()

    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=PAGE_MARGIN, rightMargin=PAGE_MARGIN, topMargin=PAGE_MARGIN, bottomMargin=PAGE_MARGIN,
        title=printable(title), author="anbi-crm", invariant=1,
    )
    document.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
