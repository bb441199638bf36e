"""No traceback and no data in errors (issue 13, item 10): a database error is one
line without the statement's parameters or the database's detail lines; an
unexpected error is one line naming its kind; SQL parameters never reach an
exception's text (`hide_parameters`); an ODS or XLS file given as an import file is
named in one line, an XLSX file is read (in the browser: tests/webapp/test_imports.py)."""
from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from anbi.core.db import make_engine
from donors.models import Donor

SECRET_IBAN = "NL91ABNA0417164300"


def _duplicate_donor(connection) -> None:
    """A real IntegrityError whose statement carries personal data as parameters."""
    row = {"ref": "DUP", "kind": "person", "last_name": "Geheim", "sort_name": "geheim", "iban": SECRET_IBAN,
           "country": "NL", "language": "nl"}
    connection.execute(insert(Donor), row)
    connection.execute(insert(Donor), row)


def test_engine_errors_never_carry_the_parameters(db_url):
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection, pytest.raises(IntegrityError) as caught:
            _duplicate_donor(connection)
    finally:
        engine.dispose()
    assert SECRET_IBAN not in str(caught.value) and "Geheim" not in str(caught.value)
    assert "parameters hidden" in str(caught.value).lower()


def test_a_database_error_in_a_command_is_one_line_without_data(cli, monkeypatch):
    """As a losing concurrent run meets a unique constraint: the database's detail
    line (PostgreSQL's `Key (ref)=(DUP) already exists`) and the parameters stay out."""
    import fundraising.queries

    def list_that_collides(session, **_):
        _duplicate_donor(session.connection())
        return iter(())

    monkeypatch.setattr(fundraising.queries, "list_donations", list_that_collides)
    result = cli("donations", "list", env={"ANBI_DEBUG": ""})
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: database: the change was refused and rolled back")
    assert "Traceback" not in result.output
    for data in (SECRET_IBAN, "Geheim", "(DUP)", "DETAIL", "SQL:"):
        assert data not in result.stderr


def test_an_unexpected_error_is_one_line_or_the_traceback_when_debugging(cli, monkeypatch):
    import fundraising.queries

    def broken(session, **_):
        raise KeyError(SECRET_IBAN)

    monkeypatch.setattr(fundraising.queries, "list_donations", broken)
    result = cli("donations", "list", env={"ANBI_DEBUG": ""})
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: unexpected KeyError; nothing more was done (a bug: run again with ANBI_DEBUG=1 to see where, and report it)"]
    assert SECRET_IBAN not in result.output
    with pytest.raises(KeyError):
        cli("donations", "list", env={"ANBI_DEBUG": "1"})


def _xlsx() -> bytes:
    workbook = Workbook()
    assert workbook.active is not None
    workbook.active.append(["ref", "last_name"])
    workbook.active.append(["X1", "Jansen\r\nde Vries"])
    data = io.BytesIO()
    workbook.save(data)
    return data.getvalue()


def _ods() -> bytes:
    """The start of an OpenDocument spreadsheet: a ZIP whose first member names its type."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    return data.getvalue()


def _xls() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


@pytest.mark.parametrize("what", ["donors", "donations", "agreements", "mandates", "recurring"])
@pytest.mark.parametrize("kind, data", [("ODS", _ods), ("XLS", _xls)])
def test_an_ods_or_xls_file_given_to_an_import_is_named_in_one_line(cli, tmp_path, what, kind, data):
    path = tmp_path / f"file.{kind.lower()}"
    path.write_bytes(data())
    result = cli(what, "import", str(path), env={"ANBI_DEBUG": ""})
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"error: {path.name}: this is an {kind} file, not CSV or XLSX; save it as XLSX "
                                     "or as 'CSV UTF-8' in the spreadsheet program and import that file")


@pytest.mark.parametrize("what", ["donors", "donations", "agreements", "mandates", "recurring"])
def test_an_xlsx_file_given_to_an_import_is_read_as_a_csv_file_is(cli, tmp_path, what):
    """Issue 16, item 4: XLSX is an import file as CSV is; a file of donor columns
    given to another import is told so by its header, not by a traceback."""
    path = tmp_path / "file.xlsx"
    path.write_bytes(_xlsx())
    result = cli(what, "import", str(path), env={"ANBI_DEBUG": ""})
    if what == "donors":
        assert result.exit_code == 0, result.stderr
        assert "file.xlsx: 1 rows. Created 1" in result.output
        return
    assert result.exit_code == 1
    assert "line 1, column ref: unknown column; expected some of:" in result.stderr
    assert "Traceback" not in result.output
