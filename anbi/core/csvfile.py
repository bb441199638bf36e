"""Reading import files: CSV or XLSX, with a header row whose names must all be known
(DESIGN.md, Import files).

`read_table` is the one reader of import files. CSV is UTF-8 (a BOM allowed) with
`,` or `;` (detected); XLSX is read in openpyxl's read-only mode, its first sheet,
the values a person sees (a formula's last computed value). Both get the same
checks: the header (unknown, doubled and missing columns), an empty file, a header
without rows, a row longer than the header, control characters in a cell; and both
have a cell's one leading `'` before `=`, `+`, `-`, `@` taken off
(`anbi.core.spreadsheet.from_csv_text`): our CSV exports put it there so that
spreadsheets never run text as a formula, and a CSV export opened in a spreadsheet
and saved as XLSX keeps it. An ODS or XLS file is named as such, with how to save it.

`check_unique` reports a key given twice in one file. Reading a cell's text into a
value is `anbi.core.importing`'s.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from anbi.core.errors import InvalidInput, Problem
from anbi.core.spreadsheet import TEXT_MARK, from_csv_text
from anbi.core.text import control_character

SAVE_AS = "save it as XLSX or as 'CSV UTF-8' in the spreadsheet program and import that file"


def spreadsheet_format(data: bytes) -> str | None:
    """The spreadsheet format of a file that is not text, from its first bytes: XLSX
    and ODS are ZIP archives, XLS an OLE compound file; None for anything else."""
    if data.startswith(b"PK\x03\x04"):
        return "ODS" if b"opendocument.spreadsheet" in data[:200] else "XLSX"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "XLS"
    return None


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One row of an import file (CSV or XLSX): its line, and each cell's text by column."""

    line: int
    values: dict[str, str]


@dataclass(frozen=True)
class CsvFile:
    name: str
    columns: list[str]
    rows: list[CsvRow]


def _data(source: str | Path | bytes, name: str | None) -> tuple[bytes, str]:
    if isinstance(source, bytes):
        return source, name or "upload"
    path = Path(source)
    try:
        return path.read_bytes(), name or path.name
    except OSError as exc:
        raise InvalidInput([Problem(None, None, f"cannot read the file: {exc.strerror}")], name or path.name) from None


def read_table(
    source: str | Path | bytes,
    *,
    required: Iterable[str],
    optional: Iterable[str] = (),
    name: str | None = None,
) -> CsvFile:
    """Read and shape-check an import file, CSV or XLSX. Raises InvalidInput naming
    what is wrong."""
    data, name = _data(source, name)
    found = spreadsheet_format(data)
    if found == "XLSX":
        header, records = _xlsx_records(data, name)
        return _shaped(name, header, records, list(required), list(optional))
    if found:
        raise InvalidInput([Problem(None, None, f"this is an {found} file, not CSV or XLSX; {SAVE_AS}")], name)
    return read_csv(data, required=required, optional=optional, name=name)


def read_csv(
    source: str | Path | bytes,
    *,
    required: Iterable[str],
    optional: Iterable[str] = (),
    name: str | None = None,
) -> CsvFile:
    """Read and shape-check a CSV file. Raises InvalidInput naming what is wrong."""
    data, name = _data(source, name)
    text = _csv_text(data, name)
    first_line = text.splitlines()[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader)

    def records() -> Iterator[tuple[int, list[str]]]:
        for values in reader:
            yield reader.line_num, values

    # One search of the whole text; the cells are searched only when it finds something.
    return _shaped(name, header, records(), list(required), list(optional), control=bool(control_character(text)))


def _csv_text(data: bytes, name: str) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            [Problem(line, None, "the file is not UTF-8; save it as 'CSV UTF-8' and import again")], name
        ) from None
    if not text.strip():
        raise InvalidInput([Problem(None, None, "the file is empty")], name)
    if "\x00" in text:
        # UTF-16 (a spreadsheet's "Unicode text") reads as UTF-8 with a NUL in every other byte.
        line = text[: text.index("\x00")].count("\n") + 1
        raise InvalidInput(
            [Problem(line, None, "the file contains NUL characters: it is not a CSV text file; save it as 'CSV UTF-8' and import again")],
            name,
        )
    return text


def _shaped(name: str, header: Sequence[str], records: Iterable[tuple[int, Sequence[str]]],
            required: list[str], optional: list[str], *, control: bool = True) -> CsvFile:
    """The checks every import file gets, whatever its format: the header's names,
    each row's length, control characters (searched in the cells when `control`)."""
    header = [h.strip().lower() for h in header]
    known = set(required) | set(optional)
    problems = []
    for column in header:
        if column not in known:
            problems.append(Problem(1, column or "(empty)", f"unknown column; expected some of: {', '.join(required + optional)}"))
    seen = set()
    for column in header:
        if column in seen:
            problems.append(Problem(1, column, "column appears twice"))
        seen.add(column)
    for column in required:
        if column not in header:
            problems.append(Problem(1, column, "required column is missing"))
    if problems:
        raise InvalidInput(problems, name)

    rows: list[CsvRow] = []
    for line, values in records:
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            problems.append(Problem(line, None, f"has {len(values)} fields, the header has {len(header)}"))
            continue
        # Only a cell that starts with the text mark can stand for another text.
        cells = {k: v.strip() for k, v in zip(header, values)}
        for k, v in cells.items():
            if v.startswith(TEXT_MARK):
                cells[k] = from_csv_text(v)
        rows.append(CsvRow(line, cells))
    if control:
        problems += [Problem(row.line, column, problem) for row in rows for column, value in row.values.items()
                     if (problem := control_character(value))]
    if problems:
        raise InvalidInput(problems, name)
    if not rows:
        raise InvalidInput([Problem(2, None, "the file has a header but no rows")], name)
    return CsvFile(name=name, columns=header, rows=rows)


# --- XLSX ---------------------------------------------------------------------------

def _xlsx_records(data: bytes, name: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and the rows (line = the sheet's row number) of the first sheet, each
    cell as text. Empty cells after the header's last column are left off a row; a
    value there makes the row longer than the header, as in a CSV file."""
    sheet = _first_sheet(data, name)
    rows = _readable(sheet.iter_rows(min_row=1, min_col=1, values_only=True), name)
    header: list[str] = []
    for first in rows:
        header = _trimmed([_cell_text(value) for value in first])
        break
    if not any(h.strip() for h in header):
        raise InvalidInput([Problem(None, None, "the file is empty")], name)
    width = len(header)

    def records() -> Iterator[tuple[int, list[str]]]:
        for line, values in enumerate(rows, start=2):
            texts = [_cell_text(value) for value in values]
            texts = texts[:width] + _trimmed(texts[width:])
            yield line, texts + [""] * (width - len(texts))

    return header, records()


_DAMAGED = "the XLSX file cannot be read (it is damaged or not a workbook); save it again in the spreadsheet program"


def _first_sheet(data: bytes, name: str):
    from openpyxl import load_workbook

    try:
        # data_only: the value a person sees, not a formula's text.
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        return workbook.worksheets[0]
    except Exception:
        raise InvalidInput([Problem(None, None, _DAMAGED)], name) from None


def _readable(rows: Iterator[tuple], name: str) -> Iterator[tuple]:
    """The sheet's rows; a damaged sheet found while reading it is one problem, as at opening."""
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception:
            raise InvalidInput([Problem(None, None, _DAMAGED)], name) from None
        yield row


def _trimmed(texts: list[str]) -> list[str]:
    end = len(texts)
    while end and not texts[end - 1].strip():
        end -= 1
    return texts[:end]


# A character XML cannot hold (a control character) is written `_x0001_` in a sheet,
# and a `_x` that is text as `_x005F_x` (ECMA-376, ST_Xstring); openpyxl leaves both
# as they are. Read back, a control character is found as in a CSV file.
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _unescaped(found: re.Match) -> str:
    return chr(int(found.group(1), 16))


def _cell_text(value: object) -> str:
    """A cell's value as the text a CSV file would hold: numbers as written (to the 15
    digits a spreadsheet keeps), a date as 2025-03-01, yes/no."""
    if value is None:
        return ""
    if isinstance(value, str):
        return _ESCAPED.sub(_unescaped, value) if "_x" in value else value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def first_rows(data: bytes, limit: int) -> tuple[list[str], list[list[str]]]:
    """The header and first rows of a file, CSV or XLSX, for a person to see what it
    holds. Read leniently (undecodable bytes replaced, a damaged file shows nothing):
    `read_table` judges the file itself."""
    if spreadsheet_format(data) == "XLSX":
        try:
            header, records = _xlsx_records(data, "upload")
            given = (values for _, values in records if any(v.strip() for v in values))
            return [h.strip() for h in header], list(islice(given, limit))
        except InvalidInput:
            return [], []
    if spreadsheet_format(data):
        return [], []  # not read: the import says what it is
    text = data.decode("utf-8-sig", errors="replace")
    lines = text.splitlines()
    if not lines:
        return [], []
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    header: list[str] = []
    try:
        for index, row in enumerate(reader):
            if index == 0:
                header = [cell.strip() for cell in row]
                continue
            if not any(cell.strip() for cell in row):
                continue
            rows.append(row)
            if len(rows) >= limit:
                break
    except csv.Error:  # a NUL or a stray carriage return: what was read so far is the preview
        pass
    return header, rows


def check_unique(rows: Iterable[CsvRow], column: str, problems: list[Problem]) -> None:
    """Report a key that appears on more than one line of the same file."""
    first_seen: dict[str, int] = {}
    for row in rows:
        key = row.values.get(column, "")
        if not key:
            continue
        if key in first_seen:
            problems.append(Problem(row.line, column, f"{key!r} appears twice in the file (also line {first_seen[key]})"))
        else:
            first_seen[key] = row.line
