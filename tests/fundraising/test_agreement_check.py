"""`anbi agreements check --year Y` on both databases (issue 4 item 1)."""
from __future__ import annotations

import json

import pytest

from tests.factories import make_adjustment, make_agreement, make_donation, make_donor, make_recurring


@pytest.fixture
def agreements_2025(session):
    """Four agreements of 600.00 a year, paid monthly (50.00) through a recurring gift.

    PG-OK: all twelve instalments -> as agreed, not listed.
    PG-MISSED: January..October paid, November failed, December never collected -> 500.00 of 600.00.
    PG-REVERSED: twelve paid, March reversed (MD06) in April -> 550.00.
    PG-MORE: twelve paid plus an extra 100.00 in June -> 700.00.
    PG-YEARLY: 600.00 a year, no recurring gift (yearly), paid 600.00 -> as agreed.
    """
    for number, months, extra in (("PG-OK", range(1, 13), None), ("PG-MISSED", range(1, 11), "failed"),
                                  ("PG-REVERSED", range(1, 13), "reversal"), ("PG-MORE", range(1, 13), "extra")):
        donor = make_donor(session, ref=f"D-{number}")
        agreement = make_agreement(session, donor=donor, number=number, annual_amount="600.00",
                                   start_date="2024-01-01", signed_on="2023-12-01", years=5)
        make_recurring(session, donor=donor, amount="50.00", interval="monthly", agreement=agreement)
        gifts = [make_donation(session, donor=donor, agreement=agreement, amount="50.00", method="sepa_debit",
                               date=f"2025-{m:02d}-05") for m in months]
        if extra == "failed":
            make_donation(session, donor=donor, agreement=agreement, amount="50.00", method="sepa_debit",
                          date="2025-11-05", status="failed")
        elif extra == "reversal":
            make_adjustment(session, gifts[2], kind="reversal", amount="50.00", date="2025-04-02", reason_code="MD06")
        elif extra == "extra":
            make_donation(session, donor=donor, agreement=agreement, amount="100.00", date="2025-06-20")
    yearly = make_donor(session, ref="D-PG-YEARLY")
    agreement = make_agreement(session, donor=yearly, number="PG-YEARLY", annual_amount="600.00",
                               start_date="2024-03-01", signed_on="2024-02-01", years=5)
    make_donation(session, donor=yearly, agreement=agreement, amount="600.00", date="2025-03-01")
    session.commit()


def test_check_lists_agreements_whose_year_differs_from_the_agreed_amount(cli, agreements_2025):
    result = cli("agreements", "check", "--year", "2025", "--json")
    assert result.exit_code == 0, result.stderr
    rows = {row["number"]: row for row in json.loads(result.stdout)}
    assert sorted(rows) == ["PG-MISSED", "PG-MORE", "PG-REVERSED"]
    assert {k: rows["PG-MISSED"][k] for k in ("donor_ref", "expected", "received", "difference", "instalments_due", "payments", "problems")} == {
        "donor_ref": "D-PG-MISSED", "expected": "600.00", "received": "500.00", "difference": "-100.00",
        "instalments_due": 12, "payments": 10, "problems": ["missed", "failed_collection"],
    }
    assert (rows["PG-REVERSED"]["received"], rows["PG-REVERSED"]["refunded"], rows["PG-REVERSED"]["problems"]) == (
        "550.00", "50.00", ["missed", "refunded_or_reversed"])
    assert (rows["PG-MORE"]["received"], rows["PG-MORE"]["difference"], rows["PG-MORE"]["problems"]) == (
        "700.00", "100.00", ["more_than_agreed"])
    assert rows["PG-MORE"]["interval"] == "monthly"


def test_check_in_words(cli, agreements_2025):
    result = cli("agreements", "check", "--year", "2025")
    assert result.exit_code == 0
    assert "PG-MISSED  D-PG-MISSED  expected € 600,00  received € 500,00  difference € -100,00  (missed, failed_collection)" in result.stdout
    assert "PG-OK" not in result.stdout


def test_check_all_and_one_agreement(cli, agreements_2025):
    everything = json.loads(cli("agreements", "check", "--year", "2025", "--all", "--json").stdout)
    assert sorted(r["number"] for r in everything) == ["PG-MISSED", "PG-MORE", "PG-OK", "PG-REVERSED", "PG-YEARLY"]
    yearly = json.loads(cli("agreements", "check", "--year", "2025", "--number", "PG-YEARLY", "--all", "--json").stdout)
    assert [(r["interval"], r["expected"], r["received"]) for r in yearly] == [("yearly", "600.00", "600.00")]


def test_check_a_year_where_everything_arrived(cli, session):
    agreement = make_agreement(session, number="PG-X", annual_amount="120.00", start_date="2025-01-01", years=5)
    make_donation(session, donor=agreement.donor, agreement=agreement, amount="120.00", date="2025-01-01")
    session.commit()
    result = cli("agreements", "check", "--year", "2025")
    assert result.stdout == "Every periodic gift agreement received what was agreed in 2025.\n"


def test_check_an_unknown_agreement_number_is_a_clear_error(cli, agreements_2025):
    result = cli("agreements", "check", "--year", "2025", "--number", "PG-NOPE")
    assert result.exit_code == 1
    assert result.stderr == "error: periodic gift agreement 'PG-NOPE' does not exist\n"
