"""Reading a PDF's text back with its positions (pdfplumber), for layout tests."""
from __future__ import annotations

import io
from dataclasses import dataclass

import pdfplumber
from reportlab.lib.units import mm


@dataclass(frozen=True)
class Placed:
    page: int
    text: str
    left: float     # points from the paper's left edge
    right: float
    top: float      # points from the paper's top edge
    bottom: float


def words(data: bytes) -> list[Placed]:
    """Every word of every page with its box (pdfplumber's own word grouping)."""
    found = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            for word in page.extract_words(keep_blank_chars=False, use_text_flow=True):
                found.append(Placed(number, word["text"], word["x0"], word["x1"], word["top"], word["bottom"]))
    return found


def lines(data: bytes, page: int | None = None) -> list[str]:
    """The text of each printed line, per page, top to bottom."""
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        pages = pdf.pages if page is None else [pdf.pages[page - 1]]
        return [line for p in pages for line in (p.extract_text() or "").splitlines()]


def outside_margins(data: bytes, *, left_mm: float, right_mm: float, top_mm: float = 10, bottom_mm: float = 8) -> list[Placed]:
    """The words that reach into a margin or past the paper."""
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        width, height = float(pdf.pages[0].width), float(pdf.pages[0].height)
    return [w for w in words(data)
            if w.left < left_mm * mm - 0.5 or w.right > width - right_mm * mm + 0.5
            or w.top < top_mm * mm or w.bottom > height - bottom_mm * mm]
