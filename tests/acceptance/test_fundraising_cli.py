"""The fundraising commands driven end to end through `anbi`, on both databases:
campaigns, donations, recurring gifts, mandates, agreements and the reports."""
from __future__ import annotations

import json

import pytest

from fundraising.queries import DONATION_LIST_KEYS

DONORS = """ref,first_name,last_name,postcode,city,email
D1,Anna,Jansen,1017 GC,Amsterdam,anna@example.nl
D2,Piet,Bakker,3511 AB,Utrecht,piet@example.nl
D3,Kees,Visser,2511 CV,Den Haag,
"""
AGREEMENTS = """number,donor_ref,annual_amount,start_date,years,signed_on
PG-2024-0001,D1,600,2024-01-01,5,2023-12-15
PG-2024-0002,D2,1200,2024-03-01,,2024-02-01
"""
MANDATES = """mandate_id,donor_ref,iban,bic,signed_on,signed_place,status,last_collected_on
MDT-1,D1,NL91ABNA0417164300,ABNANL2A,2023-12-15,Amsterdam,,2025-01-28
"""
RECURRING = """reference,donor_ref,amount,interval,method,start_date,mandate_id,campaign,agreement
RG-1,D1,50,monthly,sepa_debit,2024-01-01,MDT-1,SPRING,PG-2024-0001
"""
DONATIONS = """reference,donor_ref,date,amount,method,campaign,fund,kind,consideration,agreement,refunded,currency
G1,D1,2025-01-05,50,sepa_debit,SPRING,,gift,,PG-2024-0001,,
G2,D2,2025-02-05,25,ideal,SPRING,NOODHULP,gift,,,10,
G3,,2025-02-06,10,cash,SPRING,,gift,,,,
G4,D3,2025-03-01,40,card,SPRING,,purchase,,,,
G5,D2,2024-01-15,100,bank_transfer,,,gift,,PG-2024-0002,,
G6,D3,2025-03-02,20,card,SPRING,,gift,,,,USD
"""


def write(path, name: str, content: str) -> str:
    target = path / name
    target.write_text(content, encoding="utf-8")
    return str(target)


def ok(result) -> str:
    assert result.exit_code == 0, result.stderr
    return result.stdout


def fails(result, *fragments: str) -> str:
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    for fragment in fragments:
        assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


def load(cli, tmp_path) -> None:
    ok(cli("donors", "import", write(tmp_path, "donors.csv", DONORS)))
    ok(cli("campaigns", "add", "SPRING", "--name", "Voorjaar", "--goal", "1.000,00", "--cost", "50", "--channel", "mail",
           "--start", "01-01-2025", "--end", "2025-06-30"))
    ok(cli("agreements", "import", write(tmp_path, "agreements.csv", AGREEMENTS)))
    ok(cli("mandates", "import", write(tmp_path, "mandates.csv", MANDATES)))
    ok(cli("recurring", "import", write(tmp_path, "recurring.csv", RECURRING)))


def test_campaigns_add_list_and_errors(cli):
    assert ok(cli("campaigns", "add", "XMAS", "--name", "Kerst", "--goal", "5000", "--cost", "250,50", "--channel", "mail",
                  "--start", "2025-11-01", "--end", "2025-12-31")) == "Campaign XMAS added: Kerst\n"
    ok(cli("campaigns", "add", "XMAS-STREET", "--name", "Kerst straat", "--parent", "XMAS", "--channel", "street"))
    items = json.loads(ok(cli("campaigns", "list", "--json")))
    nothing = {"gifts": 0, "gross": "0.00", "refunds": "0.00", "lost_disputes": "0.00", "fees": "0.00", "net": "0.00"}
    assert items == [
        {"code": "XMAS", "name": "Kerst", "channel": "mail", "start": "2025-11-01", "end": "2025-12-31", "goal": "5000.00",
         "cost": "250.50", "parent": None, "includes": ["XMAS-STREET"], **nothing, "progress_pct": 0.0},
        {"code": "XMAS-STREET", "name": "Kerst straat", "channel": "street", "start": None, "end": None, "goal": None,
         "cost": "0.00", "parent": "XMAS", "includes": [], **nothing, "progress_pct": None},
    ]
    assert "XMAS-STREET" in ok(cli("campaigns", "list"))
    fails(cli("campaigns", "add", "XMAS", "--name", "Again"), "campaign 'XMAS' already exists")
    fails(cli("campaigns", "add", "NEW", "--name", "Nieuw", "--goal", "1.234"), "--goal", "ambiguous")
    fails(cli("campaigns", "add", "NEW", "--name", "Nieuw", "--start", "2025-13-01"), "--start")
    fails(cli("campaigns", "add", "NEW", "--name", "Nieuw", "--parent", "NOPE"), "campaign 'NOPE' does not exist")
    fails(cli("campaigns", "add", "NEW", "--name", "Nieuw", "--start", "2025-02-01", "--end", "2025-01-01"), "end", "before the start")
    fails(cli("campaigns", "report", "NOPE"), "campaign 'NOPE' does not exist")
    assert fails(cli("campaigns", "add", "NEW", "--name", "Nieuw", "--channel", "radio")) == (
        "error: campaign NEW: channel: 'radio' is not one of online, mail, street, event, telephone, major_donors, legacy\n")
    assert len(json.loads(ok(cli("campaigns", "list", "--json")))) == 2


def test_registers_donations_and_reports_end_to_end(cli, tmp_path):
    load(cli, tmp_path)
    out = ok(cli("donations", "import", write(tmp_path, "donations.csv", DONATIONS), "--dry-run"))
    assert "6 created" in out and "(dry run: nothing written)" in out
    assert json.loads(ok(cli("donations", "list", "--json"))) == []

    out = ok(cli("donations", "import", str(tmp_path / "donations.csv")))
    assert out.splitlines()[0] == "donations.csv: 6 created (€ 225,00 + USD 20,00), 0 unchanged, 1 refunds recorded"
    assert "new funds: NOODHULP" in out
    assert "line 6, column agreement: paid before agreement PG-2024-0002 was signed (2024-02-01): counts as an ordinary gift" in out
    assert "line 7, column currency: USD: recorded, not included in EUR totals" in out
    again = json.loads(ok(cli("donations", "import", str(tmp_path / "donations.csv"), "--json")))
    assert (again["created"], again["unchanged"], again["refunds"]) == (0, 6, 0)

    items = json.loads(ok(cli("donations", "list", "--json")))
    assert [tuple(item) for item in items] == [DONATION_LIST_KEYS] * 6
    by_ref = {item["reference"]: item for item in items}
    assert by_ref["G2"] == {"reference": "G2", "donor_ref": "D2", "date": "2025-02-05", "amount": "25.00", "currency": "EUR",
                            "method": "ideal", "campaign": "SPRING", "fund": "NOODHULP", "kind": "gift",
                            "status": "partially_refunded", "refunded": "10.00", "source": "import"}
    assert by_ref["G3"]["donor_ref"] is None
    assert [i["reference"] for i in json.loads(ok(cli("donations", "list", "--json", "--donor", "D2")))] == ["G5", "G2"]
    assert [i["reference"] for i in json.loads(ok(cli("donations", "list", "--json", "--year", "2024")))] == ["G5"]
    assert len(json.loads(ok(cli("donations", "list", "--json", "--campaign", "SPRING", "--year", "2025")))) == 5
    lines = {line.split()[1]: line for line in ok(cli("donations", "list")).splitlines()}
    assert "(anonymous)" in lines["G3"]
    assert " D2             Piet Bakker " in lines["G2"]  # the donor's name beside the ref
    fails(cli("donations", "list", "--donor", "NOBODY"), "no donor with ref 'NOBODY'")
    fails(cli("donations", "list", "--campaign", "NOPE"), "campaign 'NOPE' does not exist")

    report = json.loads(ok(cli("campaigns", "report", "SPRING", "--json")))
    # EUR gifts 50 + 25 + 10 + 40 = 125.00, 10.00 refunded: net 115.00 = 11.5% of 1000; cost 50 / 115 = 0.43.
    # D1 and D3 gave first here; D2 gave in 2024 (G5): returning. Median of 10, 25, 40, 50 = 32.50.
    assert (report["gross"], report["refunds"], report["net"], report["gifts"], report["donors"], report["new_donors"]) == (
        "125.00", "10.00", "115.00", 4, 3, 2)
    assert (report["average_gift"], report["median_gift"], report["progress_pct"], report["cost_per_euro"]) == (
        "31.25", "32.50", 11.5, "0.43")
    assert report["other_currencies"][0]["gross"] == "20.00"
    text = ok(cli("campaigns", "report", "SPRING"))
    assert "net raised      € 115,00" in text and "11,50% reached" in text and "2025-02" in text

    lybunt = json.loads(ok(cli("reports", "lybunt", "--year", "2026", "--json")))
    assert [(i["ref"], i["last_gift_date"], i["last_year_total"]) for i in lybunt] == [
        ("D2", "2025-02-05", "15.00"), ("D1", "2025-01-05", "50.00"), ("D3", "2025-03-02", "40.00")]
    sybunt = json.loads(ok(cli("reports", "sybunt", "--year", "2025", "--json")))
    assert sybunt == []  # D2 gave in 2024 and again in 2025
    retention = json.loads(ok(cli("reports", "retention", "--year", "2025", "--json")))
    assert (retention["previous_year_donors"], retention["retained"], retention["rate"], retention["new"]) == (1, 1, 100.0, 2)
    assert "1 of 1 donors gave again (100,00%)" in ok(cli("reports", "retention", "--year", "2025"))
    assert "D1" in ok(cli("reports", "lybunt", "--year", "2026"))

    recurring = json.loads(ok(cli("recurring", "list", "--json")))
    assert [(r["reference"], r["donor_ref"], r["amount"], r["status"], r["mandate_id"], r["agreement"], r["donations"]) for r in recurring] == [
        ("RG-1", "D1", "50.00", "active", "MDT-1", "PG-2024-0001", 0)]
    mandates = json.loads(ok(cli("mandates", "list", "--json")))
    assert [(m["mandate_id"], m["iban"], m["last_collected_on"]) for m in mandates] == [("MDT-1", "NL91ABNA0417164300", "2025-01-28")]

    assert ok(cli("agreements", "end", "PG-2024-0002", "--date", "30-06-2025", "--reason", "death")) == \
        "Agreement PG-2024-0002 ended on 30-06-2025 (death)\n"
    fails(cli("agreements", "end", "PG-2024-0002", "--date", "2025-07-01", "--reason", "other"), "is ended: cannot end it again")
    fails(cli("agreements", "end", "PG-NOPE", "--date", "2025-07-01", "--reason", "other"), "'PG-NOPE' does not exist")
    fails(cli("agreements", "end", "PG-2024-0001", "--date", "yesterday", "--reason", "other"), "--date")
    fails(cli("agreements", "end", "PG-2024-0001", "--date", "2025-07-01", "--reason", "bored"), "reason", "'bored' is not one of")
    agreements = {a["number"]: a for a in json.loads(ok(cli("agreements", "list", "--json")))}
    assert (agreements["PG-2024-0002"]["status"], agreements["PG-2024-0002"]["end_reason"]) == ("ended", "death")
    assert (agreements["PG-2024-0001"]["status"], agreements["PG-2024-0001"]["term_ends"]) == ("active", "2028-12-31")
    listed = ok(cli("agreements", "list")).splitlines()
    # Each with the donor's name beside the ref; an ended one says so once, with when and why.
    assert listed[0].startswith("PG-2024-0001     D1             Anna Jansen") and listed[0].endswith(" active")
    assert listed[1].startswith("PG-2024-0002     D2             Piet Bakker")
    assert listed[1].endswith(" ended 30-06-2025 (death)") and "ended ended" not in listed[1]


def test_donation_import_bad_input_writes_nothing(cli, tmp_path):
    load(cli, tmp_path)
    bad = """reference,donor_ref,date,amount,method,campaign,agreement,refunded
B1,NOBODY,2025-01-05,50,ideal,,,
B2,D1,2025-01-05,50,ideal,NOPE,,
B3,D1,2025-01-05,50,ideal,,,60
B4,D1,2025-01-05,50,ideal,,PG-NOPE,
B5,D1,2025-01-05,50,ideal,,PG-2024-0002,
"""
    stderr = fails(cli("donations", "import", write(tmp_path, "bad.csv", bad)), "bad.csv: 5 problems, nothing was written:")
    assert "line 2, column donor_ref: no donor with ref 'NOBODY'" in stderr
    assert "line 3, column campaign: no campaign 'NOPE'" in stderr
    assert "line 4, column refunded: 60.00 is more than the amount 50.00" in stderr
    assert "line 5, column agreement: no periodic gift agreement 'PG-NOPE'" in stderr
    assert "line 6, column agreement: agreement PG-2024-0002 belongs to another donor, not D1" in stderr
    assert json.loads(ok(cli("donations", "list", "--json"))) == []
    # one problem: one line
    one = fails(cli("donations", "import", write(tmp_path, "one.csv", "reference,date,amount,method\nX,2025-01-01,5,cheque\n")))
    assert one == "error: one.csv: line 2, column method: 'cheque' is not one of bank_transfer, sepa_debit, ideal, card, bancontact, cash, other\n"
    fails(cli("donations", "import", str(tmp_path / "missing.csv")), "cannot read the file")


def test_register_imports_bad_input_writes_nothing(cli, tmp_path):
    ok(cli("donors", "import", write(tmp_path, "donors.csv", DONORS)))
    stderr = fails(cli("agreements", "import", write(tmp_path, "a.csv", """number,donor_ref,annual_amount,start_date,years,signed_on
PG-SHORT,D1,600,2025-01-01,4,2024-12-01
PG-LATE,D1,600,2025-01-01,5,2025-01-15
""")), "2 problems")
    assert "line 2, column years: a periodic gift runs at least 5 years" in stderr
    assert "line 3, column signed_on: 2025-01-15 is after the start date 2025-01-01" in stderr
    assert json.loads(ok(cli("agreements", "list", "--json"))) == []

    stderr = fails(cli("mandates", "import", write(tmp_path, "m.csv", """mandate_id,donor_ref,iban,signed_on
M1,D1,NL91ABNA0417164301,2024-01-01
M2,D1,NL91ABNA0417164300,
""")), "2 problems")
    assert "line 2, column iban: IBAN 'NL91ABNA0417164301' is not valid" in stderr
    assert "line 3, column signed_on: is required" in stderr
    assert json.loads(ok(cli("mandates", "list", "--json"))) == []

    stderr = fails(cli("recurring", "import", write(tmp_path, "r.csv", """reference,donor_ref,amount,interval,method,start_date,mandate_id
R1,D1,10,monthly,sepa_debit,2024-01-01,
""")), "line 2, column mandate_id: is required for a SEPA direct debit")
    assert json.loads(ok(cli("recurring", "list", "--json"))) == []


def test_dry_runs_of_the_registers_write_nothing(cli, tmp_path):
    ok(cli("donors", "import", write(tmp_path, "donors.csv", DONORS)))
    assert "2 created, 0 updated, 0 unchanged (dry run: nothing written)" in ok(
        cli("agreements", "import", write(tmp_path, "agreements.csv", AGREEMENTS), "--dry-run"))
    assert "1 created" in ok(cli("mandates", "import", write(tmp_path, "mandates.csv", MANDATES), "--dry-run"))
    assert json.loads(ok(cli("agreements", "list", "--json"))) == []
    assert json.loads(ok(cli("mandates", "list", "--json"))) == []


@pytest.mark.parametrize(
    "command",
    [
        ("campaigns", "add"), ("campaigns", "list"), ("campaigns", "report"), ("donations", "import"), ("donations", "list"),
        ("recurring", "import"), ("recurring", "list"), ("mandates", "import"), ("mandates", "list"),
        ("agreements", "import"), ("agreements", "list"), ("agreements", "end"), ("reports", "lybunt"),
        ("reports", "sybunt"), ("reports", "retention"),
    ],
)
def test_every_command_explains_itself(command):
    from click.testing import CliRunner

    from anbi.cli import cli

    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage: " in result.stdout and len(result.stdout.split()) > 15


@pytest.mark.parametrize("command", [("reports", "lybunt"), ("reports", "sybunt"), ("reports", "retention"),
                                     ("donations", "list")])
@pytest.mark.parametrize("year", ["99999", "0", "-5"])
def test_a_year_no_report_can_count_is_refused_naming_the_option(cli, command, year):
    """These once ended in a Python traceback (no date has year 99999)."""
    result = cli(*command, "--year", year)
    assert result.exit_code == 2
    assert "Invalid value for '--year'" in result.stderr and "1900<=x<=2200" in result.stderr
    assert "Traceback" not in result.stderr


def test_campaigns_edit_changes_what_is_given_and_refuses_a_loop(cli, session):
    from sqlalchemy import select

    from anbi.core.audit import AuditEntry

    ok(cli("campaigns", "add", "KERST-2025", "--name", "Kerst", "--goal", "1000", "--start", "2025-11-01"))
    ok(cli("campaigns", "add", "KERST-POST", "--name", "Kerst post", "--parent", "KERST-2025"))
    ok(cli("campaigns", "add", "OTHER", "--name", "Anders"))
    assert ok(cli("campaigns", "edit", "KERST-2025", "--goal", "2.500,00", "--cost", "125", "--end", "31-12-2025",
                  "--name", "Kerst 2025")) == "Campaign KERST-2025 changed: name, goal, cost, end\n"
    report = json.loads(ok(cli("campaigns", "report", "KERST-2025", "--json")))
    assert (report["name"], report["goal"], report["cost"]) == ("Kerst 2025", "2500.00", "125.00")
    assert ok(cli("campaigns", "edit", "KERST-POST", "--parent", "OTHER")) == "Campaign KERST-POST changed: parent\n"
    assert json.loads(ok(cli("campaigns", "report", "OTHER", "--json")))["includes"] == ["KERST-POST"]
    assert ok(cli("campaigns", "edit", "KERST-POST", "--parent", "")) == "Campaign KERST-POST changed: parent\n"
    assert ok(cli("campaigns", "edit", "KERST-2025", "--goal", "")) == "Campaign KERST-2025 changed: goal\n"
    assert ok(cli("campaigns", "edit", "KERST-2025", "--name", "Kerst 2025")) == "Campaign KERST-2025: nothing changed\n"
    items = {c["code"]: c for c in json.loads(ok(cli("campaigns", "list", "--json")))}
    assert (items["KERST-POST"]["parent"], items["KERST-2025"]["goal"], items["KERST-2025"]["end"]) == (
        None, None, "2025-12-31")

    ok(cli("campaigns", "edit", "KERST-POST", "--parent", "KERST-2025"))
    fails(cli("campaigns", "edit", "KERST-2025", "--parent", "KERST-POST"), "parent", "KERST-POST is below KERST-2025")
    fails(cli("campaigns", "edit", "KERST-2025", "--parent", "KERST-2025"), "parent", "its own parent")
    fails(cli("campaigns", "edit", "KERST-2025", "--end", "2025-10-01"), "end", "before the start")
    fails(cli("campaigns", "edit", "KERST-2025", "--goal", "1.234"), "--goal", "ambiguous")
    fails(cli("campaigns", "edit", "KERST-2025", "--cost", "-5"), "--cost")
    fails(cli("campaigns", "edit", "KERST-2025", "--start", "2025-13-01"), "--start")
    fails(cli("campaigns", "edit", "KERST-2025", "--name", ""), "name", "is required")
    fails(cli("campaigns", "edit", "kerst-2025", "--name", "x"),
          "campaign 'kerst-2025' does not exist; did you mean KERST-2025?")
    items = {c["code"]: c for c in json.loads(ok(cli("campaigns", "list", "--json")))}
    assert (items["KERST-2025"]["parent"], items["KERST-2025"]["end"], items["KERST-2025"]["name"]) == (
        None, "2025-12-31", "Kerst 2025")

    edits = session.scalars(select(AuditEntry).where(AuditEntry.action == "campaign.edit").order_by(AuditEntry.id)).all()
    assert len(edits) == 5
    assert edits[0].details == {"before": {"name": "Kerst", "goal": "1000.00", "cost": "0.00", "end": None},
                                "after": {"name": "Kerst 2025", "goal": "2500.00", "cost": "125.00", "end": "2025-12-31"}}
    assert edits[1].details == {"before": {"parent": "KERST-2025"}, "after": {"parent": "OTHER"}}


def test_a_code_or_ref_in_another_case_is_suggested(cli, tmp_path):
    load(cli, tmp_path)
    fails(cli("campaigns", "report", "spring"), "campaign 'spring' does not exist; did you mean SPRING?")
    fails(cli("donations", "list", "--campaign", "Spring"), "did you mean SPRING?")
    fails(cli("donations", "list", "--donor", "d1"), "no donor with ref 'd1'; did you mean D1?")
    fails(cli("export", "donations", "--format", "csv", "--out", str(tmp_path / "x.csv"), "--campaign", "spring"),
          "--campaign", "did you mean SPRING?")
    bad = write(tmp_path, "hints.csv", "reference,donor_ref,date,amount,method,campaign\nH1,d2,2025-01-05,5,ideal,spring\n")
    stderr = fails(cli("donations", "import", bad), "line 2")
    assert "no donor with ref 'd2'; did you mean D2?" in stderr and "no campaign 'spring'; did you mean SPRING?" in stderr
    # A name in no other case: no guess.
    assert "did you mean" not in fails(cli("campaigns", "report", "NOPE"))


def test_a_fund_code_in_another_case_is_a_warning_on_import(cli, tmp_path):
    load(cli, tmp_path)
    ok(cli("donations", "import", write(tmp_path, "a.csv", "reference,date,amount,method,fund\nF1,2025-01-05,5,ideal,NOODHULP\n")))
    out = ok(cli("donations", "import", write(tmp_path, "b.csv", "reference,date,amount,method,fund\nF2,2025-01-05,5,ideal,noodhulp\n")))
    assert "line 2, column fund: 'noodhulp' is a new fund (codes are exact); did you mean NOODHULP?" in out


def test_help_says_what_the_code_does(cli):
    assert "income" in ok(cli("reports", "--help"))
    assert "[default: 0.7" in ok(cli("donors", "duplicates", "--help"))
