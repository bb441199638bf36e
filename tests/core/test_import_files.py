"""The one reader of import files (issue 16, item 4): an XLSX file gets the checks a
CSV file gets — the header, an empty file, a header without rows, a row longer than
the header, control characters, the formula mark taken off — and its cells are read
as the text a CSV file would hold. ODS and XLS are named in one line. No database."""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from openpyxl import Workbook

from anbi.core.csvfile import first_rows, read_table
from anbi.core.errors import InvalidInput
from anbi.core.importing import Column, Row, cell_readers, money, read_row, text, whole
from tests.core.test_errors_without_data import _ods, _xls


def xlsx(rows: list[list], *, escape: dict[str, str] | None = None) -> bytes:
    """A workbook of these rows; `escape` replaces text in the sheet's XML (what
    Excel writes for a character XML cannot hold)."""
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    data = io.BytesIO()
    workbook.save(data)
    if not escape:
        return data.getvalue()
    source, out = zipfile.ZipFile(data), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            for old, new in escape.items():
                content = content.replace(old.encode(), new.encode())
            target.writestr(name, content)
    return out.getvalue()


def csv(rows: list[list]) -> bytes:
    return "".join(",".join("" if v is None else str(v) for v in row) + "\n" for row in rows).encode()


FORMATS = {"csv": csv, "xlsx": xlsx}


def problems(data: bytes, required=("ref",), optional=("name", "amount")) -> list[tuple]:
    with pytest.raises(InvalidInput) as caught:
        read_table(data, required=required, optional=optional, name="file")
    return [(p.line, p.field, p.reason) for p in caught.value.problems]


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_header_is_checked_as_in_a_csv_file(fmt):
    assert problems(FORMATS[fmt]([["Ref", "colour", "name", "name"], ["A", "red", "x", "y"]])) == [
        (1, "colour", "unknown column; expected some of: ref, name, amount"),
        (1, "name", "column appears twice"),
    ]
    assert problems(FORMATS[fmt]([["name"], ["x"]])) == [(1, "ref", "required column is missing")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_empty_file_and_a_header_without_rows(fmt):
    empty = xlsx([]) if fmt == "xlsx" else b""
    assert problems(empty) == [(None, None, "the file is empty")]
    assert problems(FORMATS[fmt]([["ref", "name"], [None, None]])) == [(2, None, "the file has a header but no rows")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_blank_rows_are_skipped_and_a_row_longer_than_the_header_is_named_by_its_line(fmt):
    table = read_table(FORMATS[fmt]([["ref", "name"], ["A", "Anna"], [None, None], ["B", None]]), required=["ref"],
                       optional=["name"])
    assert [(row.line, row.values) for row in table.rows] == [(2, {"ref": "A", "name": "Anna"}), (4, {"ref": "B", "name": ""})]
    assert problems(FORMATS[fmt]([["ref", "name"], ["A", "Anna", "extra"]])) == [(2, None, "has 3 fields, the header has 2")]


def test_a_control_character_in_an_xlsx_cell_is_found_as_in_a_csv_file():
    # Excel writes U+0001 as _x0001_; a "_x" that is text as _x005F_x.
    data = xlsx([["ref", "name"], ["A", "Anna-ctrl"], ["B", "under-score"]],
                escape={"Anna-ctrl": "Anna_x0001_", "under-score": "_x005F_x0041_"})
    assert problems(data) == [(2, "name", "contains a control character (U+0001); remove it")]
    good = xlsx([["ref", "name"], ["B", "under-score"]], escape={"under-score": "_x005F_x0041_"})
    assert read_table(good, required=["ref"], optional=["name"]).rows[0].values["name"] == "_x0041_"
    assert problems(csv([["ref", "name"], ["A", "Anna\x01"]])) == [(2, "name", "contains a control character (U+0001); remove it")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_formula_mark_is_taken_off_as_in_a_csv_file(fmt):
    table = read_table(FORMATS[fmt]([["ref", "name"], ["'=D1", "'t Zand"], ["'+31 6", "''=1"]]), required=["ref"],
                       optional=["name"])
    assert [tuple(row.values.values()) for row in table.rows] == [("=D1", "'t Zand"), ("+31 6", "'=1")]


def test_xlsx_cells_are_read_as_the_text_a_csv_file_holds():
    data = xlsx([["ref", "name", "amount"],
                 ["A", dt.date(2025, 3, 1), Decimal("1234.56")],
                 [7, dt.datetime(2025, 3, 1, 10, 30), 25],  # noqa: DTZ001 - a spreadsheet cell has no zone
                 ["C", True, 1234.5599999999999],
                 ["D", False, 0.1 + 0.2]])
    rows = read_table(data, required=["ref"], optional=["name", "amount"]).rows
    assert [tuple(row.values.values()) for row in rows] == [
        ("A", "2025-03-01", "1234.56"), ("7", "2025-03-01 10:30:00", "25"), ("C", "yes", "1234.56"), ("D", "no", "0.3")]


def test_a_damaged_xlsx_file_ods_and_xls_are_one_line_each():
    damaged = xlsx([["ref"], ["A"]])[:400]
    assert problems(damaged) == [(None, None, "the XLSX file cannot be read (it is damaged or not a workbook); "
                                              "save it again in the spreadsheet program")]
    for data, kind in ((_ods(), "ODS"), (_xls(), "XLS")):
        assert problems(data) == [(None, None, f"this is an {kind} file, not CSV or XLSX; save it as XLSX or as "
                                               "'CSV UTF-8' in the spreadsheet program and import that file")]


def test_the_preview_shows_the_first_rows_of_either_format():
    rows = [["ref", "name"], ["A", "Anna"], [None, None], ["B", "Bea"], ["C", "Cor"]]
    assert first_rows(xlsx(rows), 2) == (["ref", "name"], [["A", "Anna"], ["B", "Bea"]])
    assert first_rows(csv(rows), 2) == (["ref", "name"], [["A", "Anna"], ["B", "Bea"]])
    assert first_rows(xlsx(rows)[:400], 2) == ([], [])
    assert first_rows(_ods(), 2) == ([], [])


# --- the column model ------------------------------------------------------------------

COLUMNS = (
    Column("ref", text(5), required=True),
    Column("amount", money(allow_zero=False)),
    Column("count", whole(minimum=1)),
    Column("shown", export_only=True),
)


def read(cells: dict[str, str]) -> tuple[Row, list]:
    found: list = []
    from anbi.core.csvfile import CsvRow

    row = read_row(CsvRow(7, cells), found, cell_readers(COLUMNS, cells))
    return row, [(p.line, p.field, p.reason) for p in found]


def test_a_row_is_read_through_its_columns_every_problem_with_line_and_column():
    row, found = read({"ref": "ABCDEF", "amount": "0", "count": "0", "shown": "not read"})
    assert found == [(7, "ref", "is longer than 5 characters"), (7, "amount", "must be more than zero"),
                     (7, "count", "must be at least 1")]
    assert (row.ok, row.values, row.failed) == (False, {}, {"ref", "amount", "count"})
    row, found = read({"ref": "", "amount": "12,50"})
    assert found == [(7, "ref", "is required")]
    row, found = read({"ref": "A1", "amount": "12,50", "shown": "Anna"})
    assert (found, row.ok, row.values["amount"].cents, "shown" in row.values) == ([], True, 1250, False)
