"""One definition of a campaign's gifts, wherever it is read: a parent campaign's gifts
include its sub-campaigns' (any depth), in the report, `campaigns list`, `donations
list --campaign`, `export donations|donors --campaign`, the web pages and the API.

The tree and its gifts, by hand (all 2025, in euro):

    KERST                    D1 50.00
      KERST-MAIL             D2 100.00 (fee 2.00), D3 40.00 (10.00 refunded)
        KERST-MAIL-2         D1 25.00
      KERST-STRAAT           anonymous 5.00
    OTHER                    D4 1000.00                       (not KERST's)

KERST: 5 gifts, gross 220.00, refunds 10.00, fees 2.00, net 208.00; received net of
refunds 210.00; 3 donors (D1, D2, D3).
"""
from __future__ import annotations

import csv
import json

import pytest

from fundraising.campaigns import list_campaigns
from fundraising.reports import campaign_report
from tests.factories import make_adjustment, make_campaign, make_donation, make_donor
from tests.webapp.ui_support import donation_totals, page_text

GIFTS, GROSS, REFUNDS, FEES, NET = 5, "220.00", "10.00", "2.00", "208.00"


@pytest.fixture
def tree(session):
    kerst = make_campaign(session, code="KERST", name="Kerst 2025", goal="416.00")
    mail = make_campaign(session, code="KERST-MAIL", name="Kerst post", parent=kerst)
    deeper = make_campaign(session, code="KERST-MAIL-2", name="Kerst post herinnering", parent=mail)
    street = make_campaign(session, code="KERST-STRAAT", name="Kerst straat", parent=kerst)
    other = make_campaign(session, code="OTHER", name="Iets anders")
    d1, d2, d3, d4 = (make_donor(session, ref=ref) for ref in ("D1", "D2", "D3", "D4"))
    make_donation(session, donor=d1, campaign=kerst, amount="50.00", date="2025-12-01", reference="K-1")
    make_donation(session, donor=d2, campaign=mail, amount="100.00", fee_cents=200, date="2025-12-02", reference="K-2")
    refunded = make_donation(session, donor=d3, campaign=mail, amount="40.00", date="2025-12-03", reference="K-3",
                             status="partially_refunded")
    make_adjustment(session, refunded, kind="refund", amount="10.00", taken_back_cents=1000, date="2025-12-10")
    make_donation(session, donor=d1, campaign=deeper, amount="25.00", date="2025-12-04", reference="K-4")
    make_donation(session, donor=None, campaign=street, amount="5.00", date="2025-12-05", reference="K-5")
    make_donation(session, donor=d4, campaign=other, amount="1000.00", date="2025-12-06", reference="O-1")
    session.commit()


def test_a_parent_campaign_counts_the_same_gifts_everywhere(session, tree, cli, sign_in, api_token, tmp_path):
    report = campaign_report(session, "KERST").as_json()
    assert (report["gifts"], report["gross"], report["refunds"], report["fees"], report["net"]) == (
        GIFTS, GROSS, REFUNDS, FEES, NET)
    assert report["donors"] == 3
    assert report["includes"] == ["KERST-MAIL", "KERST-MAIL-2", "KERST-STRAAT"]

    [listed] = [c for c in list_campaigns(session) if c["code"] == "KERST"]
    assert (listed["gifts"], listed["gross"], listed["refunds"], listed["fees"], listed["net"]) == (
        GIFTS, GROSS, REFUNDS, FEES, NET)
    assert listed["progress_pct"] == report["progress_pct"] == 50.0
    [middle] = [c for c in list_campaigns(session) if c["code"] == "KERST-MAIL"]
    assert (middle["gifts"], middle["gross"], middle["includes"]) == (3, "165.00", ["KERST-MAIL-2"])

    result = cli("campaigns", "list", "--json")
    assert result.exit_code == 0, result.stderr
    [command] = [c for c in json.loads(result.stdout) if c["code"] == "KERST"]
    assert command == listed

    result = cli("donations", "list", "--json", "--campaign", "KERST")
    assert result.exit_code == 0, result.stderr
    donations = json.loads(result.stdout)
    assert [d["reference"] for d in donations] == ["K-1", "K-2", "K-3", "K-4", "K-5"]
    assert f"{sum(int(d['amount'].replace('.', '')) for d in donations) / 100:.2f}" == GROSS

    out = tmp_path / "donations.csv"
    assert cli("export", "donations", "--format", "csv", "--out", str(out), "--campaign", "KERST").exit_code == 0
    with open(out, encoding="utf-8") as handle:
        exported = list(csv.DictReader(handle))
    assert sorted(row["reference"] for row in exported) == ["K-1", "K-2", "K-3", "K-4", "K-5"]
    assert sum(int(row["amount"].replace(".", "")) for row in exported) == 220_00
    assert sum(int(row["refunded"].replace(".", "")) for row in exported) == 10_00
    out = tmp_path / "donors.csv"
    assert cli("export", "donors", "--format", "csv", "--out", str(out), "--campaign", "KERST").exit_code == 0
    with open(out, encoding="utf-8") as handle:
        assert sorted(row["ref"] for row in csv.DictReader(handle)) == ["D1", "D2", "D3"]

    browser = sign_in("fundraiser")
    page = browser.get("/donations", params={"campaign": "KERST"})
    assert page.status_code == 200
    # 5 gifts: € 220,00 received, € 10,00 refunded.
    assert donation_totals(page.text) == (
        "5 giften Ontvangen, na terugbetalingen € 210,00 5 giften ontvangen: € 220,00, min terugbetaald € 10,00")
    row = page_text(browser.get("/campaigns").text.split('href="/campaigns/KERST"', 1)[1].split("</tr>", 1)[0])
    assert "€ 220,00" in row and "€ 208,00" in row and " 5 " in row
    assert "€ 208,00" in page_text(browser.get("/campaigns/KERST").text.split('id="net-raised"', 1)[1][:80])

    headers = {"Authorization": f"Bearer {api_token('viewer')}"}
    api = browser.client.get("/api/v1/donations", params={"campaign": "KERST", "limit": 100}, headers=headers).json()
    assert [d["reference"] for d in api["items"]] == ["K-1", "K-2", "K-3", "K-4", "K-5"]
    shown = browser.client.get("/api/v1/campaigns/KERST", headers=headers).json()
    assert (shown["gifts"], shown["gross"], shown["net"]) == (GIFTS, GROSS, NET)
    assert (shown["report"]["gifts"], shown["report"]["net"]) == (GIFTS, NET)


def test_a_campaign_without_sub_campaigns_counts_only_its_own(session, tree, cli):
    [other] = [c for c in list_campaigns(session) if c["code"] == "OTHER"]
    assert (other["gifts"], other["gross"], other["includes"]) == (1, "1000.00", [])
    result = cli("donations", "list", "--json", "--campaign", "KERST-STRAAT")
    assert [d["reference"] for d in json.loads(result.stdout)] == ["K-5"]
