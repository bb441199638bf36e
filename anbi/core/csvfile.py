"""Reading import files: CSV in UTF-8 (BOM allowed), `,` or `;` detected, a header
row whose names must all be known (DESIGN.md, Import files).

`read_csv` checks the file's shape; `RowParser` reads the fields of one row and
collects every problem instead of stopping at the first, so an import can report
all of them at once and write nothing. A cell's one leading `'` before `=`, `+`,
`-`, `@` is taken off (`anbi.core.spreadsheet.from_csv_text`): our exports put it
there so that spreadsheets never run text as a formula. A spreadsheet file (XLSX,
ODS, XLS) is named as such, with how to save it as CSV.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from anbi.core.clock import parse_date
from anbi.core.errors import InvalidInput, Problem
from anbi.core.money import Money, MoneyError, parse_money
from anbi.core.spreadsheet import TEXT_MARK, from_csv_text
from anbi.core.text import control_character

T = TypeVar("T")

TRUE_WORDS = {"yes", "ja", "true", "1", "y", "j", "waar"}
FALSE_WORDS = {"no", "nee", "false", "0", "n", "onwaar"}
# The largest whole number a file may give (a count, a year, a term): far above any
# real one, and within every integer column.
MAX_WHOLE = 10**12
_WHOLE = re.compile(r"-?[0-9]+")

SAVE_AS_CSV = "save it as 'CSV UTF-8' in the spreadsheet program and import that file"


def spreadsheet_format(data: bytes) -> str | None:
    """The spreadsheet format of a file that is not text, from its first bytes: XLSX
    and ODS are ZIP archives, XLS an OLE compound file; None for anything else."""
    if data.startswith(b"PK\x03\x04"):
        return "ODS" if b"opendocument.spreadsheet" in data[:200] else "XLSX"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "XLS"
    return None


@dataclass(frozen=True)
class CsvRow:
    line: int
    values: dict[str, str]


@dataclass(frozen=True)
class CsvFile:
    name: str
    columns: list[str]
    rows: list[CsvRow]


def read_csv(
    source: str | Path | bytes,
    *,
    required: Iterable[str],
    optional: Iterable[str] = (),
    name: str | None = None,
) -> CsvFile:
    """Read and shape-check an import file. Raises InvalidInput naming what is wrong."""
    if isinstance(source, bytes):
        data, name = source, name or "upload"
    else:
        path = Path(source)
        name = name or path.name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidInput([Problem(None, None, f"cannot read the file: {exc.strerror}")], name) from None
    found = spreadsheet_format(data)
    if found:
        raise InvalidInput([Problem(None, None, f"this is an {found} file, not CSV; {SAVE_AS_CSV}")], name)
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

    first_line = text.splitlines()[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader)]
    required, optional = list(required), list(optional)
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
    for values in reader:
        line = reader.line_num
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
    if control_character(text):  # one search of the whole file; its cells only when it finds one
        problems += [Problem(row.line, column, problem) for row in rows for column, value in row.values.items()
                     if (problem := control_character(value))]
    if problems:
        raise InvalidInput(problems, name)
    if not rows:
        raise InvalidInput([Problem(2, None, "the file has a header but no rows")], name)
    return CsvFile(name=name, columns=header, rows=rows)


class RowParser:
    """Reads typed fields from one row, collecting problems with line and column.

    Each reader returns None when the cell is empty or absent ("not given"), or
    when it is wrong (and records the problem)."""

    def __init__(self, row: CsvRow, problems: list[Problem]):
        self.row = row
        self.problems = problems

    def given(self, column: str) -> bool:
        return bool(self.row.values.get(column, ""))

    def raw(self, column: str) -> str:
        return self.row.values.get(column, "")

    def fail(self, column: str | None, reason: str) -> None:
        self.problems.append(Problem(self.row.line, column, reason))

    def text(self, column: str, *, required: bool = False, max_length: int = 255) -> str | None:
        value = self.raw(column)
        if not value:
            if required:
                self.fail(column, "is required")
            return None
        if len(value) > max_length:
            self.fail(column, f"is longer than {max_length} characters")
            return None
        return value

    def convert(self, column: str, convert: Callable[[str], T], *, required: bool = False) -> T | None:
        value = self.raw(column)
        if not value:
            if required:
                self.fail(column, "is required")
            return None
        try:
            return convert(value)
        except ValueError as exc:
            self.fail(column, str(exc))
            return None

    def money(self, column: str, *, required: bool = False, currency: str = "EUR", allow_zero: bool = True) -> Money | None:
        value = self.raw(column)
        if not value:
            if required:
                self.fail(column, "is required")
            return None
        try:
            amount = parse_money(value, currency=currency)
        except MoneyError as exc:
            self.fail(column, str(exc))
            return None
        if not allow_zero and amount.cents == 0:
            self.fail(column, "must be more than zero")
            return None
        return amount

    def date(self, column: str, *, required: bool = False) -> dt.date | None:
        return self.convert(column, parse_date, required=required)

    def boolean(self, column: str) -> bool | None:
        value = self.raw(column).lower()
        if not value:
            return None
        if value in TRUE_WORDS:
            return True
        if value in FALSE_WORDS:
            return False
        self.fail(column, f"{self.raw(column)!r} is not yes/no (ja/nee, true/false, 1/0)")
        return None

    def choice(self, column: str, choices: Iterable[str], *, required: bool = False) -> str | None:
        choices = list(choices)
        value = self.raw(column).lower()
        if not value:
            if required:
                self.fail(column, "is required")
            return None
        if value not in choices:
            self.fail(column, f"{self.raw(column)!r} is not one of {', '.join(choices)}")
            return None
        return value

    def integer(self, column: str, *, required: bool = False, minimum: int | None = None) -> int | None:
        def convert(value: str) -> int:
            # Python's int() also reads "1_000" and other scripts' digits; a file means neither.
            if not _WHOLE.fullmatch(value):
                raise ValueError(f"{value!r} is not a whole number")
            number = int(value)
            if abs(number) > MAX_WHOLE:
                raise ValueError(f"{value!r} is too large")
            if minimum is not None and number < minimum:
                raise ValueError(f"must be at least {minimum}")
            return number

        return self.convert(column, convert, required=required)


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


def changed_fields(record: Any, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The fields whose given value differs from the record's (None means not given)."""
    changes = {}
    for key, new in values.items():
        if new is None:
            continue
        old = getattr(record, key)
        if old != new:
            changes[key] = (old, new)
    return changes
