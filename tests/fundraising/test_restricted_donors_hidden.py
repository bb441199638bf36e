"""A restricted or purged donor leaves every list, search and API answer — their
gifts, agreements, mandates and recurring gifts included — through one condition
(`donors.service.shown_donor` / `active_filter`), while the financial reports keep
counting the money (issue 13, item 9). Anonymous gifts stay listed."""
from __future__ import annotations

import json

import pytest
from sqlalchemy.orm import Session

from anbi.core.clock import today
from donors.privacy import forget
from fundraising.queries import count_donations, list_donations
from tests.factories import make_campaign, make_donation, make_donor, make_mandate, make_recurring


def seed(engine) -> None:
    """Anna gives and stays; Bram gives, has a mandate and a recurring gift, and asks
    to be erased (restricted: his gifts are kept for the books); one gift is anonymous."""
    with Session(engine) as session:
        spring = make_campaign(session, code="SPRING")
        anna = make_donor(session, ref="ANNA", first_name="Anna", last_name="Berg")
        bram = make_donor(session, ref="BRAM", first_name="Bram", last_name="Smit", email="bram@example.nl")
        make_donation(session, donor=anna, reference="G-ANNA", date="2025-03-01", amount="10.00", campaign=spring)
        make_donation(session, donor=bram, reference="G-BRAM", date="2025-04-01", amount="70.00", campaign=spring)
        make_donation(session, donor=None, donor_id=None, reference="G-ANON", date="2025-05-01", amount="5.00",
                      campaign=spring)
        mandate = make_mandate(session, donor=bram, mandate_id="M-BRAM")
        make_recurring(session, donor=bram, reference="R-BRAM", mandate=mandate)
        session.commit()
        report = forget(session, "BRAM", "tester", today(), retention_years=7)
        assert report.mode == "restricted"
        session.commit()


def references(items) -> list[str]:
    return [item["reference"] for item in items]


def test_the_donation_list_and_its_count_leave_the_restricted_donor_out(engine, session):
    seed(engine)
    assert references(list_donations(session)) == ["G-ANNA", "G-ANON"]
    assert references(list_donations(session, limit=10)) == ["G-ANNA", "G-ANON"]
    assert references(list_donations(session, campaign="SPRING", year=2025)) == ["G-ANNA", "G-ANON"]
    assert count_donations(session).count == 2
    assert [(t.currency, t.gifts, t.received_cents) for t in count_donations(session).received] == [("EUR", 2, 1500)]


def test_the_restricted_donors_ref_is_not_found_in_a_list(engine, session):
    from donors.errors import DonorNotFound

    seed(engine)
    with pytest.raises(DonorNotFound):
        list(list_donations(session, donor_ref="BRAM"))
    with pytest.raises(DonorNotFound):
        count_donations(session, donor_ref="BRAM")


def test_cli_donations_list(cli, engine):
    seed(engine)
    listed = cli("donations", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert references(json.loads(listed.stdout)) == ["G-ANNA", "G-ANON"]
    asked = cli("donations", "list", "--donor", "BRAM")
    assert asked.exit_code == 1
    assert asked.stderr.strip().splitlines() == [asked.stderr.strip()] and "BRAM" in asked.stderr
    assert "G-BRAM" not in asked.stdout


def test_cli_lists_of_mandates_and_recurring_gifts(cli, engine):
    seed(engine)
    mandates = json.loads(cli("mandates", "list", "--json").stdout)
    recurring = json.loads(cli("recurring", "list", "--json").stdout)
    assert [m["donor_ref"] for m in mandates] == []
    assert [r["donor_ref"] for r in recurring] == []


def test_cli_agreements_list(cli, engine, session):
    from tests.factories import make_agreement

    seed(engine)
    gone = make_donor(session, ref="GONE")
    make_agreement(session, donor=gone, number="PG-GONE", start_date="2015-01-01", years=5, end_date="2019-12-31",
                   end_reason="term")
    kept = make_donor(session, ref="KEPT")
    make_agreement(session, donor=kept, number="PG-KEPT", start_date="2024-01-01", years=5)
    session.commit()
    forget(session, "GONE", "tester", today(), retention_years=7)
    session.commit()
    listed = json.loads(cli("agreements", "list", "--json").stdout)
    assert [a["number"] for a in listed] == ["PG-KEPT"]


def test_api_donations_even_for_a_viewer(engine, web_client, api_token):
    seed(engine)
    headers = {"Authorization": f"Bearer {api_token('viewer')}"}
    listed = web_client.get("/api/v1/donations", headers=headers)
    assert listed.status_code == 200
    assert references(listed.json()["items"]) == ["G-ANNA", "G-ANON"]
    assert web_client.get("/api/v1/donations", params={"donor": "BRAM"}, headers=headers).status_code == 404
    assert web_client.get("/api/v1/donations/G-BRAM", headers=headers).status_code == 404
    assert web_client.get("/api/v1/donations/G-ANON", headers=headers).json()["donor_ref"] is None
    assert web_client.get("/api/v1/donors/BRAM", headers=headers).status_code == 404


def test_the_money_is_still_counted_in_the_financial_reports(engine, session):
    """Statements of account, the income statement and the campaign figures count
    what was received, whoever gave it."""
    from fundraising.reports import campaign_report
    from subsidies.income import income_statement

    seed(engine)
    current, _ = income_statement(session, 2025)
    assert current.raised_total + current.goods_and_services == 8500
    report = campaign_report(session, "SPRING")
    assert report.as_json()["gross"] == "85.00"
