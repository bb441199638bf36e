"""The annual gift statements end to end through `anbi`, on both databases: data in
through the importers, statements out, a refund afterwards, a correction, e-mail
dry run and the agreements check."""
from __future__ import annotations

import csv
import json

from tests.exports.receipt_support import ORG_ENV, pdf_text

DONORS = """ref,first_name,prefix,last_name,street,house_number,postcode,city,email,language
D1,Anna,van der,Berg,Kerkstraat,12,1017 GC,Amsterdam,anna@example.nl,nl
D2,Piet,,Bakker,Oudegracht,3,3511 AB,Utrecht,,en
D3,Kees,,Visser,Lange Voorhout,9,2511 CV,Den Haag,,nl
"""
AGREEMENTS = """number,donor_ref,annual_amount,start_date,years,signed_on
PG-2021-0001,D1,600,2021-01-01,5,2020-12-15
PG-2024-0002,D2,1200,2024-03-01,,2024-02-01
"""
# D1: PG-2021-0001 ran 2021..2025 (five years): 2025 is its last year, so its
#     instalments count as periodic: 3 x 50.00 = 150.00; plus 700.00 by transfer linked
#     to the agreement: 450.00 more is periodic (up to 600.00), 250.00 ordinary.
#     A benefit dinner of 150.00 with 60.00 consideration: 90.00 ordinary, 60.00 not.
# D2: 1,300.00 under PG-2024-0002 (indefinite, 1,200.00 a year): 1,200.00 periodic,
#     100.00 ordinary; 25.00 by iDEAL of which 10.00 refunded: 15.00 ordinary.
# D3: a 40.00 purchase (no consideration given: all of it), 10.00 cash, 20.00 in USD:
#     nothing deductible -> no statement.
# Anonymous 10.00 cash: on no statement.
DONATIONS = """reference,donor_ref,date,amount,method,kind,consideration,agreement,refunded,currency
G1,D1,2025-01-05,50,sepa_debit,gift,,PG-2021-0001,,
G2,D1,2025-02-05,50,sepa_debit,gift,,PG-2021-0001,,
G3,D1,2025-03-05,50,sepa_debit,gift,,PG-2021-0001,,
G4,D1,2025-06-30,700,bank_transfer,gift,,PG-2021-0001,,
G5,D1,2025-10-11,150,card,gift,60,,,
G6,D2,2025-04-01,1300,bank_transfer,gift,,PG-2024-0002,,
G7,D2,2025-05-01,25,ideal,gift,,,10,
G8,D3,2025-03-01,40,card,purchase,,,,
G9,D3,2025-03-02,10,cash,gift,,,,
G10,D3,2025-03-03,20,card,gift,,,,USD
G11,,2025-02-06,10,cash,gift,,,,
"""


def write(path, name: str, content: str) -> str:
    target = path / name
    target.write_text(content, encoding="utf-8")
    return str(target)


def ok(result) -> str:
    assert result.exit_code == 0, result.stderr
    return result.stdout


def rows(out) -> list[dict]:
    with (out / "manifest.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_statements_from_imported_data(cli, tmp_path):
    ok(cli("donors", "import", write(tmp_path, "donors.csv", DONORS)))
    ok(cli("agreements", "import", write(tmp_path, "agreements.csv", AGREEMENTS)))
    ok(cli("donations", "import", write(tmp_path, "donations.csv", DONATIONS)))

    out = tmp_path / "statements"
    summary = json.loads(ok(cli("receipts", "issue", "--year", "2025", "--out", str(out), "--json", env=ORG_ENV)))
    assert summary["issued"] == ["2025-000001", "2025-000002"]
    assert [(r["number"], r["donor_ref"], r["regular"], r["periodic"], r["non_deductible"], r["total_paid"]) for r in rows(out)] == [
        ("2025-000001", "D1", "340.00", "600.00", "60.00", "1000.00"),
        ("2025-000002", "D2", "115.00", "1200.00", "0.00", "1315.00"),
    ]
    text_d1 = " ".join(pdf_text(out / rows(out)[0]["file"]).split())
    assert "Overeenkomst PG-2021-0001, ingangsjaar 2021, jaarbedrag € 600,00 € 600,00" in text_d1
    assert "Geachte heer/mevrouw Van der Berg," in text_d1
    text_d2 = " ".join(pdf_text(out / rows(out)[1]["file"]).split())
    assert "Agreement PG-2024-0002, start year 2024, annual amount €1,200.00 €1,200.00" in text_d2  # English forms

    # The agreements check: D1 paid 850.00 against 600.00 agreed (yearly, no recurring gift).
    check = json.loads(ok(cli("agreements", "check", "--year", "2025", "--json")))
    assert [(c["number"], c["expected"], c["received"], c["problems"]) for c in check] == [
        ("PG-2021-0001", "600.00", "850.00", ["more_than_agreed"]),
        ("PG-2024-0002", "1200.00", "1300.00", ["more_than_agreed"]),
    ]

    # A gift of the next year changes nothing about 2025: the re-run issues nothing.
    ok(cli("donations", "import", write(tmp_path, "more.csv",
                                        "reference,donor_ref,date,amount,method\nG12,D1,2026-01-10,5,ideal\n")))
    again = json.loads(ok(cli("receipts", "issue", "--year", "2025", "--out", str(out), "--json", env=ORG_ENV)))
    assert again["issued"] == [] and again["corrections"] == [] and again["unchanged"] == 2

    dry = json.loads(ok(cli("receipts", "send", "--year", "2025", "--dry-run", "--json", env=ORG_ENV)))
    assert [(s["number"], s["email"]) for s in dry["sent"]] == [("2025-000001", "anna@example.nl")]
    assert dry["without_email"] == [{"donor_ref": "D2", "number": "2025-000002"}]
