"""Issue 5 end to end through `anbi`: the "Done when" scenario (an AMIF-style
co-financed grant, a small municipal grant, the Postcode Loterij contribution) and
every bad input of the issue, on SQLite and PostgreSQL."""
import io
import json
import re

import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from subsidies.models import Expense, Grant, GrantPayment, Output, StaffCost, Timesheet
from tests.subsidies.scenario import EXPECTED, FUNDS_EXPECTED, INCOME_EXPECTED, MUNICIPAL_TOML, add_donations, write_files


def ok(result):
    assert result.exit_code == 0, result.stderr or result.output
    return result


def fails(result, *fragments):
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    return result


def load_scenario(cli, folder):
    paths = write_files(folder)
    for key in ("amif", "municipal", "npl"):
        ok(cli("grants", "add", "--from-file", str(paths[key])))
    ok(cli("funds", "add", "NOODHULP", "--name", "Noodhulp"))
    ok(cli("staff", "import", str(paths["staff"])))
    ok(cli("timesheets", "import", str(paths["timesheets"])))
    ok(cli("expenses", "import", str(paths["expenses"])))
    ok(cli("grants", "payments", "import", str(paths["payments"])))
    ok(cli("grants", "outputs", "import", str(paths["outputs"])))
    return paths


def test_done_when_scenario(cli, session, tmp_path):
    paths = load_scenario(cli, tmp_path)
    # The same files again change nothing.
    assert "already there with this content" in ok(cli("grants", "add", "--from-file", str(paths["amif"]))).stdout
    assert json.loads(ok(cli("grants", "add", "--from-file", str(paths["npl"]), "--json")).stdout) == {
        "reference": "NPL-2024-2025", "created": False, "status": "awarded"}
    assert "0 timesheet lines imported, 344 already there" in ok(cli("timesheets", "import", str(paths["timesheets"]))).stdout

    listed = json.loads(ok(cli("grants", "list", "--json")).stdout)
    assert [(g["reference"], g["status"], g["accountability_level"]) for g in listed] == [
        ("AMIF-2024-017", "awarded", "full"), ("NPL-2024-2025", "awarded", "activities"), ("GEM-UTR-2025-MB", "awarded", "none")]
    # For people: Dutch dates and amounts (issue 15 item 5); the JSON above keeps ISO and "400000.00".
    table = ok(cli("grants", "list")).stdout
    assert "01-01-2024 – 31-12-2025" in table and "€ 400.000,00" in table and "2024-01-01" not in table
    assert listed[0]["awarded"] == "400000.00" and listed[0]["start"] == "2024-01-01"

    for reference, expected in EXPECTED.items():
        out = tmp_path / f"{reference}.json"
        ok(cli("grants", "report", reference, "--format", "json", "--out", str(out)))
        document = json.loads(out.read_text())
        assert {key: document[key] for key in expected} == expected
        assert set(document) == {
            "reference", "title", "funder", "period", "awarded", "funding_rate", "budget_lines", "direct_eligible",
            "ineligible", "indirect", "total_eligible", "funder_share", "received", "balance",
            "accountability_level", "indicators", "ineligible_items", "warnings"}

        pdf = tmp_path / f"{reference}.pdf"
        ok(cli("grants", "report", reference, "--format", "pdf", "--out", str(pdf)))
        text = re.sub(r"\s+", " ", "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.read_bytes())).pages))
        share = f"{int(expected['funder_share'][:-3]):,}".replace(",", ".") + "," + expected["funder_share"][-2:]
        assert f"Bijdrage subsidiegever: het laagste van beide € {share}" in text

        xlsx = tmp_path / f"{reference}.xlsx"
        ok(cli("grants", "report", reference, "--format", "xlsx", "--out", str(xlsx)))
        assert openpyxl.load_workbook(xlsx).sheetnames == ["Verantwoording", "Kosten", "Uren", "Uurtarieven", "Betalingen"]

    add_donations(session)
    session.commit()
    out = tmp_path / "baten.json"
    result = ok(cli("reports", "income", "--year", "2025", "--format", "json", "--out", str(out)))
    assert json.loads(out.read_text()) == INCOME_EXPECTED
    assert "total income 2025 € 554.352,70 (2024: € 576.316,22)" in result.stdout
    for fmt in ("pdf", "xlsx"):
        ok(cli("reports", "income", "--year", "2025", "--format", fmt, "--out", str(tmp_path / f"baten.{fmt}")))
        assert (tmp_path / f"baten.{fmt}").stat().st_size > 1000

    funds = json.loads(ok(cli("funds", "report", "--year", "2025", "--json")).stdout)
    assert funds == FUNDS_EXPECTED
    table = ok(cli("funds", "report", "--year", "2025")).stdout
    assert "NOODHULP" in table and "-26.739,36" not in table   # a receivable is no negative fund
    assert re.search(r"AMIF-2024-017 +€ 30\.006,63 +€ 16\.732,73 +€ 20\.000,00 +€ 26\.739,36", table)

    deadlines = json.loads(ok(cli("grants", "deadlines", "--within", "60", "--today", "2026-01-15", "--json")).stdout)
    assert deadlines == [{"reference": "GEM-UTR-2025-MB", "title": "Maatschappelijke begeleiding statushouders",
                          "deadline": "report_due", "due": "2026-03-01", "days_left": 45, "overdue": False}]

    # The municipal grant (≤ € 25.000: direct settlement) is settled, then closed.
    ok(cli("grants", "start", "GEM-UTR-2025-MB"))
    fails(cli("grants", "settle", "GEM-UTR-2025-MB", "--date", "2199-01-01", "--amount", "22734,56"),
          "--date: 2199-01-01 is in the future", "record the vaststelling once it is made")
    assert "settled: € 22.734,56 on 15-02-2026" in ok(cli("grants", "settle", "GEM-UTR-2025-MB", "--date", "2026-02-15", "--amount", "22734,56")).stdout
    # Settled at 22.734,56 with 19.200,00 received: the final payment is to come first.
    fails(cli("grants", "close", "GEM-UTR-2025-MB"),
          "grant 'GEM-UTR-2025-MB' cannot be closed: € 3.534,56 is still to receive from the funder: import its final "
          "payment (kind settlement) with `anbi grants payments import FILE`, then close it")
    final = tmp_path / "final-payment.csv"
    final.write_text("grant,date,amount,kind,reference\nGEM-UTR-2025-MB,2026-03-01,3534.56,settlement,UTR-2025-FINAL\n")
    ok(cli("grants", "payments", "import", str(final)))
    ok(cli("grants", "close", "GEM-UTR-2025-MB"))
    fails(cli("grants", "start", "GEM-UTR-2025-MB"), "grant 'GEM-UTR-2025-MB' is closed: `start` is only possible when it is awarded")
    fails(cli("grants", "settle", "AMIF-2024-017", "--date", "2026-07-01", "--amount", "80000"),
          "`settle` is only possible when it is reported")


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_bad_grant_files(cli, session, tmp_path):
    def grant_file(text):
        path = tmp_path / "grant.toml"
        path.write_text(text, encoding="utf-8")
        return str(path)

    fails(cli("grants", "add", "--from-file", grant_file(MUNICIPAL_TOML.replace('funder = "Gemeente Utrecht"\n', ""))),
          "error: grant.toml: funder: is required")
    fails(cli("grants", "add", "--from-file", grant_file('colour = "blue"\n' + MUNICIPAL_TOML)), "colour: unknown field")
    fails(cli("grants", "add", "--from-file", grant_file(MUNICIPAL_TOML.replace('"24000.00"', '"-24000.00"'))),
          "awarded: '-24000.00' is negative")
    fails(cli("grants", "add", "--from-file", grant_file('funding_rate = "1.25"\n' + MUNICIPAL_TOML)),
          "funding_rate: 1.25 is not a share between more than 0 and 1")
    fails(cli("grants", "add", "--from-file", grant_file(MUNICIPAL_TOML.replace("end = 2025-12-31", "end = 2024-12-31"))),
          "end: the grant ends (2024-12-31) before it starts (2025-01-01)")
    result = fails(cli("grants", "add", "--from-file", grant_file("x = 1\n" + MUNICIPAL_TOML.replace("end = 2025-12-31", "end = 2024-12-31"))),
                   "2 problems, nothing was written")
    assert "  x: unknown field" in result.stderr
    assert count(session, Grant) == 0

    ok(cli("grants", "add", "--from-file", grant_file(MUNICIPAL_TOML)))
    fails(cli("grants", "add", "--from-file", grant_file(MUNICIPAL_TOML.replace('"20000.00"', '"21000.00"'))),
          "grant 'GEM-UTR-2025-MB' already exists with other content (budget differ)")
    fails(cli("grants", "report", "NOPE", "--format", "json", "--out", str(tmp_path / "x.json")), "no grant 'NOPE'")
    fails(cli("grants", "report", "GEM-UTR-2025-MB", "--format", "json", "--out", str(tmp_path / "x.json"),
              "--from", "2025-06-01", "--to", "2025-01-01"), "--to: 2025-01-01 is before --from 2025-06-01")
    fails(cli("grants", "report", "GEM-UTR-2025-MB", "--format", "pdf", "--out", str(tmp_path / "nowhere" / "x.pdf")),
          "does not exist")
    fails(cli("grants", "settle", "GEM-UTR-2025-MB", "--date", "2026-01-01", "--amount", "1.234"), "--amount: '1.234' is ambiguous")
    fails(cli("grants", "deadlines", "--today", "morgen"), "--today: 'morgen' is not a date")


def test_bad_cost_timesheet_payment_and_output_files_write_nothing(cli, session, tmp_path):
    paths = write_files(tmp_path)
    ok(cli("grants", "add", "--from-file", str(paths["amif"])))
    ok(cli("grants", "add", "--from-file", str(paths["municipal"])))

    def csv(name, text):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    fails(cli("expenses", "import", csv("e.csv", "reference,date,amount,grant,budget_line,fund\n"
                                                   "C1,2025-01-01,10.00,AMIF-2024-017,material,\n"
                                                   "C2,2025-01-01,10.00,NOPE,material,\n"
                                                   "C3,2025-01-01,10.00,AMIF-2024-017,rent,\n"
                                                   "C4,2025-01-01,10.00,,,GEENFONDS\n")),
          "e.csv: 3 problems, nothing was written", "line 3, column grant: no grant 'NOPE'",
          "line 4, column budget_line: grant AMIF-2024-017 has no budget line 'rent'",
          "line 5, column fund: no fund 'GEENFONDS'")
    fails(cli("expenses", "import", csv("e2.csv", "reference,date,amount,colour\nC1,2025-01-01,1.00,red\n")),
          "line 1, column colour: unknown column")
    assert count(session, Expense) == 0

    fails(cli("timesheets", "import", csv("t.csv", "reference,employee,date,grant,budget_line,hours\n"
                                                    "T1,E9,2025-01-06,AMIF-2024-017,staff,8\n")),
          "line 2, column employee: no documented annual cost for E9 in 2025 or before")
    ok(cli("staff", "import", str(paths["staff"])))
    fails(cli("timesheets", "import", csv("t2.csv", "reference,employee,date,grant,budget_line,hours\n"
                                                     "T1,E001,2025-01-06,GEM-UTR-2025-MB,guidance,8\n")),
          "line 2, column grant: grant GEM-UTR-2025-MB has no hours basis")
    assert count(session, Timesheet) == 0
    fails(cli("staff", "import", csv("s.csv", "employee,year,annual_cost,fte\nE001,2024,50000.00,1\n")),
          "line 2, column annual_cost: E001 2024 was documented before as 48160.00 at 1 FTE")
    assert count(session, StaffCost) == 4

    fails(cli("grants", "payments", "import", csv("p.csv", "grant,date,amount,kind,reference\nNOPE,2025-01-01,1.00,advance,P1\n")),
          "line 2, column grant: no grant 'NOPE'")
    fails(cli("grants", "outputs", "import", csv("o.csv", "reference,grant,indicator,date,value\nO1,AMIF-2024-017,visits,2025-01-01,1\n")),
          "line 2, column indicator: grant AMIF-2024-017 has no indicator 'visits' (its indicators: clients)")
    assert (count(session, GrantPayment), count(session, Output)) == (0, 0)

    # A dry run checks and reports, and writes nothing.
    result = ok(cli("expenses", "import", csv("e3.csv", "reference,date,amount,grant,budget_line\nC1,2025-01-01,10.00,AMIF-2024-017,material\n"),
                    "--dry-run", "--json"))
    assert json.loads(result.stdout) == {"file": "e3.csv", "created": 1, "unchanged": 0, "flagged": [], "warnings": [], "dry_run": True}
    assert count(session, Expense) == 0


@pytest.mark.parametrize("command", [
    ("grants",), ("grants", "add"), ("grants", "list"), ("grants", "deadlines"), ("grants", "report"), ("grants", "settle"),
    ("grants", "award"), ("grants", "start"), ("grants", "report-sent"), ("grants", "close"),
    ("grants", "payments", "import"), ("grants", "outputs", "import"), ("expenses", "import"), ("staff", "import"),
    ("timesheets", "import"), ("funds", "add"), ("funds", "report"), ("reports", "income"),
])
def test_every_command_explains_itself(command):
    from click.testing import CliRunner

    from anbi.cli import cli

    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output and len(result.output) > 200


def test_grants_list_marks_what_it_cuts_and_a_reference_in_another_case_is_suggested(cli, session, tmp_path):
    from tests.factories import grant_toml

    funder = "Stichting Fonds voor Vluchtelingenwerk in Nederland"  # 51 characters: cut at 30
    title = "Maatschappelijke begeleiding van statushouders in Utrecht"  # 57: cut at 40
    path = tmp_path / "grant.toml"
    path.write_text(grant_toml(reference="FVN-2025-01", funder=funder, title=title), encoding="utf-8")
    ok(cli("grants", "add", "--from-file", str(path)))
    [line] = ok(cli("grants", "list")).stdout.splitlines()
    assert f" {funder[:29]}… " in line and line.endswith(f" {title[:39]}…")
    fails(cli("grants", "award", "fvn-2025-01"), "no grant 'fvn-2025-01'; did you mean FVN-2025-01?")
    fails(cli("grants", "report", "Fvn-2025-01", "--format", "json", "--out", str(tmp_path / "r.json")),
          "did you mean FVN-2025-01?")
