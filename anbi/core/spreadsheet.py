"""Text in files that spreadsheets open: never run as a formula.

A donor named `=HYPERLINK("http://evil…","x")`, a city `+cmd|' /C calc'!A0` or a
street `@SUM(1+1)` arrives through the portal, Stripe and imports. Opened in Excel
or LibreOffice, a CSV cell that starts with `=`, `+`, `-` or `@` (or a tab or a
carriage return before one) is a formula, which can fetch a URL or start a program
(OWASP, "CSV injection").

- CSV: `csv_text` puts a `'` before a text cell that starts with one of those
  characters — the spreadsheets' own sign for "this is text" — and `from_csv_text`,
  which every import file goes through (`anbi.core.csvfile.read_csv`), takes that
  one `'` off again, so a phone number `+31 6 …` survives an export and an import.
  A text that itself begins with `'` before such a character gets one more `'`,
  so the round trip is exact for every text. Numbers, amounts and dates are not
  text cells: an exporter passes only its text columns through `csv_text`.
- XLSX: `xlsx_text` marks a cell as a string: openpyxl otherwise stores any str
  that starts with `=` as a formula. Our own formulas (the grant report's SUMIFS)
  are written as they are; data never is. An XLSX import file's cells go through
  `from_csv_text` as a CSV file's do (a CSV export opened in a spreadsheet and saved
  as XLSX keeps the `'`), so `xlsx_value` gives a text that itself begins with `'`
  before such a character one more `'`, as `csv_text` does: a register exported as
  XLSX comes back in exactly.

This module decides and formats only; it opens no file.
"""
from __future__ import annotations

from typing import Any

# What makes a spreadsheet read a cell as a formula (tab and carriage return are
# skipped before one by some of them).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_MARK = "'"


def _looks_like_formula(text: str) -> bool:
    return text.lstrip(TEXT_MARK).startswith(FORMULA_STARTS)


def csv_text(text: str) -> str:
    """A text cell as it goes into a CSV file: `'` before it when a spreadsheet
    would run it (`=1+1` -> `'=1+1`; `'=1` -> `''=1`); anything else as it is."""
    if text and _looks_like_formula(text):
        return TEXT_MARK + text
    return text


def from_csv_text(text: str) -> str:
    """The text a CSV cell written by `csv_text` (or by a person who typed the same
    `'` in a spreadsheet) stands for: one leading `'` before a formula character
    taken off. `'s-Hertogenbosch` and `'t Zand` stay as they are."""
    if text.startswith(TEXT_MARK) and _looks_like_formula(text):
        return text[1:]
    return text


def xlsx_text(cell: Any) -> Any:
    """Keep an openpyxl cell holding a str as text, never a formula (nor an error
    code such as `#N/A`). Returns the cell."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
    return cell


def xlsx_value(sheet: Any, value: Any) -> Any:
    """A value for a write-only sheet's `append`: a str that openpyxl would store as a
    formula or an error code becomes a string cell; a text marked as `from_csv_text`
    reads it gets one more mark; anything else stays as it is (a plain value costs
    less than a cell object, and most text needs none)."""
    if isinstance(value, str) and value[:1] == TEXT_MARK and _looks_like_formula(value):
        return TEXT_MARK + value
    if isinstance(value, str) and value[:1] in ("=", "#"):
        from openpyxl.cell import WriteOnlyCell

        return xlsx_text(WriteOnlyCell(sheet, value=value))
    return value
