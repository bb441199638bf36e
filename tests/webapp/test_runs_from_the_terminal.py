"""The dashboard's "last imports" and the receipts page show what was done from the
terminal too, with labelled counts: an import run with `anbi ... import` (and one
refused), and a run of `anbi receipts issue`."""
from __future__ import annotations

from sqlalchemy import select

from anbi.core.runs import ImportRun, ReceiptRun
from tests.exports.receipt_support import ORG_ENV
from tests.webapp.ui_support import page_text

DONORS = "ref,first_name,last_name\nT1,Anna,Jansen\nT2,Piet,Bakker\n"
AGAIN = "ref,first_name,last_name\nT1,Anna,Jansen-Visser\nT2,Piet,Bakker\nT3,Kees,Visser\n"
DONATIONS = "reference,donor_ref,date,amount,method\nG1,T1,2025-03-01,50,bank_transfer\nG2,T2,2025-03-02,25,ideal\n"


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_imports_from_the_terminal_are_logged_and_shown_with_labelled_counts(cli, session, sign_in, tmp_path):
    assert cli("donors", "import", _write(tmp_path, "eerste.csv", DONORS)).exit_code == 0
    assert cli("donors", "import", _write(tmp_path, "tweede.csv", AGAIN)).exit_code == 0
    assert cli("donors", "import", _write(tmp_path, "proef.csv", AGAIN), "--dry-run").exit_code == 0  # not logged
    bad = _write(tmp_path, "fout.csv", "reference,donor_ref,date,amount,method\nG9,NOBODY,2025-03-01,5,ideal\n")
    assert cli("donations", "import", bad).exit_code == 1
    assert cli("donations", "import", _write(tmp_path, "giften.csv", DONATIONS)).exit_code == 0

    runs = session.scalars(select(ImportRun).order_by(ImportRun.id)).all()
    assert [(r.kind, r.file_name, r.status, r.rows, r.actor) for r in runs] == [
        ("donors", "eerste.csv", "imported", 2, "tester"), ("donors", "tweede.csv", "imported", 3, "tester"),
        ("donations", "fout.csv", "refused", 0, "tester"), ("donations", "giften.csv", "imported", 2, "tester")]
    assert runs[1].summary == {"created": 1, "updated": 1, "unchanged": 1}
    assert runs[2].problems == [{"line": 2, "field": "donor_ref", "reason": "no donor with ref 'NOBODY'"}]
    assert runs[3].summary == {"created": 2, "unchanged": 0, "refunds": 0}

    page = sign_in("fundraiser").get("/")
    imports = page_text(page.text.split('id="imports-heading"', 1)[1].split("</section>", 1)[0])
    assert "giften: giften.csv tester geïmporteerd 2 regels, 2 nieuw, 0 ongewijzigd, 0 terugbetalingen" in imports
    assert "donateurs: tweede.csv tester geïmporteerd 3 regels, 1 nieuw, 1 bijgewerkt, 1 ongewijzigd" in imports
    assert "giften: fout.csv tester geweigerd Regel 2, donor_ref: no donor with ref 'NOBODY'" in imports


def test_a_receipt_run_from_the_terminal_is_on_the_receipts_page(cli, session, sign_in, tmp_path):
    assert cli("donors", "import", _write(tmp_path, "donors.csv", DONORS)).exit_code == 0
    assert cli("donations", "import", _write(tmp_path, "giften.csv", DONATIONS)).exit_code == 0
    out = tmp_path / "jaaroverzichten"
    result = cli("receipts", "issue", "--year", "2025", "--out", str(out), env=ORG_ENV)
    assert result.exit_code == 0, result.stderr
    again = cli("receipts", "issue", "--year", "2025", "--out", str(out), env=ORG_ENV)
    assert again.exit_code == 0, again.stderr

    runs = session.scalars(select(ReceiptRun).order_by(ReceiptRun.id)).all()
    assert [(r.year, r.status, r.actor, r.out_dir) for r in runs] == [(2025, "finished", "tester", str(out.resolve()))] * 2
    assert (runs[0].summary["issued"], runs[0].summary["corrections"], runs[0].summary["unchanged"]) == (2, 0, 0)
    assert (runs[1].summary["issued"], runs[1].summary["unchanged"], runs[1].summary["current"]) == (0, 2, 2)
    assert runs[0].finished_at is not None

    page = sign_in("fundraiser").get("/receipts")
    results = [page_text(cell.split("</td>", 1)[0]) for cell in page.text.split('class="run-result">')[1:]]
    assert results == ["0 nieuw, 0 correcties, 2 ongewijzigd; 2 geldige jaaroverzichten",
                       "2 nieuw, 0 correcties, 0 ongewijzigd; 2 geldige jaaroverzichten"]
    assert page.text.count('/manifest.csv"') == 2


def test_a_failed_run_from_the_terminal_says_why(cli, session, tmp_path):
    taken = tmp_path / "a-file"
    taken.write_text("not a folder", encoding="utf-8")
    result = cli("receipts", "issue", "--year", "2025", "--out", str(taken), env=ORG_ENV)
    assert result.exit_code == 1 and "cannot write to" in result.stderr
    [run] = session.scalars(select(ReceiptRun)).all()
    assert run.status == "failed" and "cannot write to" in run.error and run.summary is None
