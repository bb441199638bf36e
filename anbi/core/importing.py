"""One model for every import file (DESIGN.md, Import files; docs/imports.md).

An importer is a list of columns and four functions; `run_import` is the one
pipeline they all go through, from the command line, the web page's check and
import, and a dry run alike (pretix's `ImportColumn` and its import process are the
example):

- a `Column` is a header name, whether every row must give it, the parser that
  turns a cell's text into a value (raising ValueError with the reason, in plain
  words), and a line of help;
- `load(session, rows, context)` reads what the rows refer to, in bulk (one query
  per chunk of keys, never one per row): the stored rows with the file's keys, the
  donors, campaigns, grants they name;
- `plan(rows, loaded, problems, context)` is a plain function: per row, create,
  update, leave unchanged or keep as it is, and every problem that can only be
  judged against stored data;
- `apply(session, plan, context)` writes the plan in the caller's transaction, with
  bulk statements where rows are many (`anbi.core.db.insert_rows`);
- `summarise(plan, context)` is what the command and the web page show.

The pipeline: read the file (CSV or XLSX, `anbi.core.csvfile.read_table`), check the
key column is unique in the file, parse every cell of every row, load, plan; if
anything is wrong, raise InvalidInput with every problem by line (the cells' first,
then the row's checks against stored data) and write nothing; else apply (not in a
dry run) and summarise. An importer whose outcome is decided over what is stored
(the annual hour ceiling over the lines already booked) applies in a dry run too:
the owner of the transaction rolls a dry run back, always.

The kernel imports no domain package: each importer lives with its tables. It never
commits.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from anbi.core.clock import parse_date, today
from anbi.core.csvfile import CsvRow, check_unique, read_table
from anbi.core.errors import InvalidInput, Problem
from anbi.core.money import Money, MoneyError, parse_money
from anbi.core.progress import progress

R = TypeVar("R")  # a parsed row
L = TypeVar("L")  # what `load` read
P = TypeVar("P")  # the plan
S = TypeVar("S")  # the summary
W = TypeVar("W")  # a row to write

Parser = Callable[[str], Any]
CellReader = tuple[str, str, "Parser | None", bool]   # (column, key, parse, required)

TRUE_WORDS = {"yes", "ja", "true", "1", "y", "j", "waar"}
FALSE_WORDS = {"no", "nee", "false", "0", "n", "onwaar"}
# The largest whole number a file may give (a count, a year, a term): far above any
# real one, and within every integer column.
MAX_WHOLE = 10**12
_WHOLE = re.compile(r"-?[0-9]+")


@dataclass(frozen=True)
class Column:
    """One column of an import file.

    `required`: every row gives it (so the header names it); `in_header`: the header
    must name it even where a row may leave it empty (default: `required`). `parse`
    turns the cell's text (never empty) into its value or raises ValueError with the
    reason; None keeps the text. `key`: where the value goes in the row's values
    (default: the name). `export_only`: a column `anbi export` writes for people to
    read (a donor's name as shown, where a gift came from), accepted in a file so
    that an export comes back in, and not read."""

    name: str
    parse: Parser | None = None
    required: bool = False
    help: str = ""
    key: str = ""
    in_header: bool | None = None
    export_only: bool = False

    @property
    def header_required(self) -> bool:
        return self.required if self.in_header is None else self.in_header


@dataclass(slots=True)
class Row:
    """One row as read: the cells' text, the values of the cells given and valid, and
    the columns found wrong so far (`fail` adds one, with its problem)."""

    line: int
    cells: dict[str, str]
    values: dict[str, Any]
    problems: list[Problem]
    failed: set[str | None] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.failed

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def given(self, column: str) -> bool:
        return bool(self.cells.get(column))

    def fail(self, column: str | None, reason: str) -> None:
        self.problems.append(Problem(self.line, column, reason))
        self.failed.add(column)

    def fail_unless_reported(self, problems: Iterable[Problem]) -> None:
        """The problems of a rule over the whole row, but none on a column already
        found wrong: a cell that could not be read is reported once."""
        for problem in problems:
            if problem.field not in self.failed:
                self.fail(problem.field, problem.reason)


@dataclass
class Plan(Generic[W]):
    """What an import writes: rows to create, rows to update, how many stay as they are."""

    creates: list[W] = field(default_factory=list)
    updates: list[W] = field(default_factory=list)
    unchanged: int = 0


@dataclass(frozen=True)
class Context:
    """What an import is run with: the file's name (problems name it), who runs it,
    whether it writes, the day it is taken as made, and the source its rows are
    stored under."""

    file: str
    actor: str
    dry_run: bool = False
    on: dt.date = field(default_factory=today)
    source: str = "import"


@dataclass(frozen=True)
class Importer(Generic[R, L, P, S]):
    """An import file's columns and the functions that load, plan, write and
    summarise it (see the module's docstring)."""

    kind: str
    columns: tuple[Column, ...]
    load: Callable[[Session, list[R], Context], L]
    plan: Callable[[list[R], L, list[Problem], Context], P]
    apply: Callable[[Session, P, Context], None]
    summarise: Callable[[P, Context], S]
    unique: str | None = None          # a column whose value appears once in the file
    checking: str = "checking rows"    # the progress bar's label
    # Reads a row into what `plan` takes, given the cell readers of the file's
    # columns; default `read_row`. An importer may read its rows into its own type
    # (the donors' plan is shared with the forms, the API and Stripe).
    read: Callable[[CsvRow, list[Problem], Sequence[CellReader]], R] | None = None
    # Checks across one row's own cells (a date or a period, an amount in the
    # currency the row names), after its cells are read.
    check: Callable[[Row], None] | None = None
    # A dry run applies too, because what is decided depends on what is stored (the
    # caller rolls it back).
    decided_by_writing: bool = False

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.header_required)

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if not c.header_required)

    @property
    def names(self) -> tuple[str, ...]:
        """Every column, the required first: as the web page and the docs list them."""
        return (*self.required, *self.optional)

    def reader(self, header: Iterable[str]) -> Callable[[CsvRow, list[Problem]], R]:
        """How this file's rows are read: its columns' parsers, then the row's check."""
        readers = cell_readers(self.columns, header)
        read: Callable[[CsvRow, list[Problem], Sequence[CellReader]], Any] = self.read or read_row
        check = self.check
        if check is None:
            return lambda row, problems: read(row, problems, readers)

        def read_and_check(row: CsvRow, problems: list[Problem]) -> Any:
            parsed = read(row, problems, readers)
            check(parsed)
            return parsed

        return read_and_check


# --- the pipeline ---------------------------------------------------------------------

def run_import(session: Session, importer: Importer[R, L, P, S], source: str | Path | bytes, *,
               actor: str, name: str | None = None, dry_run: bool = False, on: dt.date | None = None,
               stored_as: str = "import") -> S:
    """Read, check, load, plan; then write (unless a dry run) and summarise. Raises
    InvalidInput with every problem, and writes nothing, when any row is wrong."""
    table = read_table(source, required=importer.required, optional=importer.optional, name=name)
    context = Context(table.name, actor, dry_run, on or today(), stored_as)
    problems: list[Problem] = []
    if importer.unique:
        check_unique(table.rows, importer.unique, problems)
    read = importer.reader(table.columns)
    rows = [read(row, problems) for row in progress(table.rows, length=len(table.rows), label=importer.checking)]
    loaded = importer.load(session, rows, context)
    plan = importer.plan(rows, loaded, problems, context)
    if problems:
        # By line; on one line, the order they were found in (the cells', then the checks').
        problems.sort(key=lambda p: p.line or 0)
        raise InvalidInput(problems, table.name)
    if not dry_run or importer.decided_by_writing:
        importer.apply(session, plan, context)
    return importer.summarise(plan, context)


def cell_readers(columns: Sequence[Column], header: Iterable[str]) -> list[CellReader]:
    """(name, key, parse, required) of the columns this file has: a column the header
    leaves out is not given on any row, and is not looked at again."""
    present = set(header)
    return [(c.name, c.key or c.name, c.parse, c.required) for c in columns if c.name in present and not c.export_only]


def read_cells(readers: Sequence[CellReader], cells: dict[str, str], line: int,
               problems: list[Problem]) -> tuple[dict[str, Any], bool]:
    """The values of a row's given cells, and whether every cell was right; each
    wrong cell is a problem with its line and column. Runs for every cell of files
    with hundreds of thousands of rows: plain locals, no objects per cell."""
    values: dict[str, Any] = {}
    ok = True
    for name, key, parse, required in readers:
        text = cells.get(name, "")
        if not text:
            if required:
                problems.append(Problem(line, name, "is required"))
                ok = False
        elif parse is None:
            values[key] = text
        else:
            try:
                values[key] = parse(text)
            except ValueError as exc:
                problems.append(Problem(line, name, str(exc)))
                ok = False
    return values, ok


def read_row(row: CsvRow, problems: list[Problem], readers: Sequence[CellReader]) -> Row:
    start = len(problems)
    values, ok = read_cells(readers, row.values, row.line, problems)
    return Row(row.line, row.values, values, problems, set() if ok else {p.field for p in problems[start:]})


# --- parsers: a cell's text to its value, or ValueError with the reason -------------------

def text(max_length: int = 255, *, pattern: str | None = None, reason: str = "") -> Parser:
    """Text up to `max_length` characters; with `pattern`, a code that must match it
    (else `reason`)."""
    compiled = re.compile(pattern) if pattern else None

    def parse(value: str) -> str:
        if len(value) > max_length:
            raise ValueError(f"is longer than {max_length} characters")
        if compiled is not None and not compiled.match(value):
            raise ValueError(reason)
        return value

    return parse


def choice(choices: Iterable[str]) -> Parser:
    """One of the words, in any case; the value is the word in lower case."""
    words = tuple(choices)
    allowed = set(words)

    def parse(value: str) -> str:
        word = value.lower()
        if word not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(words)}")
        return word

    return parse


def boolean(value: str) -> bool:
    word = value.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{value!r} is not yes/no (ja/nee, true/false, 1/0)")


def date(value: str) -> dt.date:
    return parse_date(value)


def whole(minimum: int | None = None, maximum: int | None = None, *, too_large: str | None = None) -> Parser:
    """A whole number as people write it: digits, a leading minus. Python's int() also
    reads "1_000" and other scripts' digits; a file means neither."""
    def parse(value: str) -> int:
        if not _WHOLE.fullmatch(value):
            raise ValueError(f"{value!r} is not a whole number")
        number = int(value)
        if abs(number) > MAX_WHOLE:
            raise ValueError(f"{value!r} is too large")
        if minimum is not None and number < minimum:
            raise ValueError(f"must be at least {minimum}")
        if maximum is not None and number > maximum:
            raise ValueError(too_large.format(number) if too_large else f"must be at most {maximum}")
        return number

    return parse


def money(*, allow_zero: bool = True, allow_negative: bool = False, currency: str = "EUR") -> Parser:
    """An amount (`anbi.core.money.parse_money`), in `currency` when the text names none."""
    def parse(value: str) -> Money:
        amount = parse_money(value, currency=currency, allow_negative=allow_negative)
        if not allow_zero and amount.cents == 0:
            raise MoneyError("must be more than zero")
        return amount

    return parse


def in_euro(parse: Parser, reason: str) -> Parser:
    """An amount that must be in euro; `reason` may name the currency given ({currency})."""
    def parse_euro(value: str) -> Money:
        amount = parse(value)
        if amount.currency != "EUR":
            raise ValueError(reason.format(currency=amount.currency))
        return amount

    return parse_euro
