"""The dashboard, campaigns, donations and LYBUNT/SYBUNT pages, with figures worked
out by hand from a small set of gifts:

    A  2024-05-10  30.00  campaign X (mail)
    A  2025-03-01 100.00  campaign X, refunded 40.00 on 2025-04-02
    B  2025-03-15  25.00  card, no campaign              (first gift ever: new)
    C  2024-12-01  50.00  campaign Y (online)            (not in 2025: lapsed)
    D  2023-01-01  10.00, 2025-06-01 20.00 campaign Y    (reactivated: returning)
    E  2025-03-20  500.00 USD                            (never in euro figures, but a new donor)
    F  2025-03-21  999.00 pending, 2025-03-22 5.00 failed (money not received)
"""
from __future__ import annotations

import csv
import io

import pytest

from anbi.web import dashboard
from tests.factories import make_adjustment, make_campaign, make_donation, make_donor, make_recurring
from tests.webapp.ui_support import donation_totals, page_text


@pytest.fixture
def gifts(session):
    x = make_campaign(session, code="X", name="Kerstmailing", channel="mail", goal="120.00")
    y = make_campaign(session, code="Y", name="Online", channel="online")
    a = make_donor(session, ref="A", first_name="Anna", last_name="Aalders")
    b = make_donor(session, ref="B", first_name="Bram", last_name="Bos")
    c = make_donor(session, ref="C", first_name="Cor", last_name="Claes", email="cor@example.nl", postcode="3511 AB")
    d = make_donor(session, ref="D", first_name="Dirk", last_name="Dekker")
    e = make_donor(session, ref="E", last_name="Evers")
    f = make_donor(session, ref="F", last_name="Faber")
    make_donation(session, donor=a, amount="30.00", date="2024-05-10", campaign=x, reference="A-2024")
    refunded = make_donation(session, donor=a, amount="100.00", date="2025-03-01", campaign=x, reference="A-2025")
    make_adjustment(session, refunded, kind="refund", amount="40.00", date="2025-04-02")
    make_donation(session, donor=b, amount="25.00", date="2025-03-15", method="card", reference="B-1")
    make_donation(session, donor=c, amount="50.00", date="2024-12-01", campaign=y, reference="C-1")
    make_donation(session, donor=d, amount="10.00", date="2023-01-01", reference="D-1")
    make_donation(session, donor=d, amount="20.00", date="2025-06-01", campaign=y, reference="D-2")
    make_donation(session, donor=e, amount="500.00", currency="USD", date="2025-03-20", reference="E-USD")
    make_donation(session, donor=f, amount="999.00", date="2025-03-21", status="pending", method="sepa_debit",
                  reference="F-PENDING")
    make_donation(session, donor=f, amount="5.00", date="2025-03-22", status="failed", method="sepa_debit",
                  reference="F-FAILED")
    make_recurring(session, donor=b, reference="RG-FAIL", status="failing", failed_attempts=3, amount="12.50")
    session.commit()


def test_dashboard_figures(session, gifts):
    figures = dashboard.build(session, year=2025)
    months = [0] * 12
    months[2], months[3], months[5] = 125_00, -40_00, 20_00   # March, April (the refund), June
    assert figures.months_current == months
    previous = [0] * 12
    previous[4], previous[11] = 30_00, 50_00
    assert figures.months_previous == previous
    assert [(a.key, a.cents) for a in figures.by_campaign] == [("X", 60_00), ("Y", 20_00), (None, 25_00)]
    assert [(a.key, a.cents) for a in figures.by_channel] == [("mail", 60_00), ("online", 20_00), (None, 25_00)]
    # New: B and E (a gift in dollars is still a first gift); returning: A and D; lapsed: C.
    assert (figures.donors.new, figures.donors.returning, figures.donors.lapsed) == (2, 2, 1)
    assert [(g.reference, g.failed_attempts, g.amount_cents) for g in figures.failing] == [("RG-FAIL", 3, 12_50)]


def test_dashboard_page(session, gifts, sign_in):
    page = sign_in("fundraiser").get("/?year=2025")
    assert page.status_code == 200
    text = page_text(page.text)
    assert "Overzicht 2025" in text
    assert "mrt € 125,00 € 0,00" in text and "apr -€ 40,00" in text.replace("€ -40,00", "-€ 40,00")
    assert "Totaal € 105,00 € 80,00" in text  # 125 - 40 + 20; 30 + 50
    assert 'id="donors-new">2<' in page.text and 'id="donors-returning">2<' in page.text
    assert 'id="donors-lapsed">1<' in page.text
    assert "RG-FAIL" in text and "maandelijks" in text
    assert "<svg" in page.text and 'role="img"' in page.text
    # A fundraiser has no finance access: no grant deadlines on the dashboard.
    assert "Subsidiedeadlines" not in text


def test_dashboard_shows_grant_deadlines_to_finance(session, sign_in):
    import datetime as dt

    from anbi.core.clock import today
    from tests.factories import make_grant

    due = today() + dt.timedelta(days=20)
    make_grant(session, reference="G-DUE", report_due=due.isoformat(), start="2025-01-01", end="2030-12-31")
    make_grant(session, reference="G-LATER", report_due=(today() + dt.timedelta(days=90)).isoformat(),
               start="2025-01-01", end="2030-12-31")
    session.commit()
    text = page_text(sign_in("finance").get("/").text)
    assert "Subsidiedeadlines in de komende 60 dagen" in text
    assert "G-DUE" in text and "rapportage indienen" in text and "G-LATER" not in text


def test_campaigns_and_the_campaign_report(session, gifts, sign_in):
    browser = sign_in("viewer")
    listing = browser.get("/campaigns")
    # X raised 30 + 100 - 40 = 90.00 net of its 120.00 goal: 75 %.
    assert '<progress max="100" value="75.0"' in listing.text
    assert "€ 90,00" in page_text(listing.text) and "€ 120,00" in page_text(listing.text)
    report = browser.get("/campaigns/X")
    text = page_text(report.text)
    assert 'id="net-raised">€ 90,00<' in report.text
    assert "Bruto opgehaald € 130,00" in text and "Terugbetalingen € 40,00" in text
    assert "2025-04" in text and "<svg" in report.text
    assert browser.get("/campaigns/NOPE").status_code == 404


def test_donations_filtered_by_date_campaign_method_and_status(session, gifts, sign_in):
    browser = sign_in("viewer")

    def references(**params) -> list[str]:
        import re

        page = browser.get("/donations", params=params)
        assert page.status_code == 200, page.text
        body = page.text.split('id="donations"', 1)[1] if 'id="donations"' in page.text else ""
        # The page writes dates as Dutch readers do (03-12-2026); compared here in ISO order.
        return [f"{y}-{m}-{d}" for d, m, y in re.findall(r"<td>(\d\d)-(\d\d)-(\d{4})</td>", body)]

    # Newest first.
    assert references(method="card") == ["2025-03-15"]
    assert references(campaign="Y") == ["2025-06-01", "2024-12-01"]
    assert references(**{"from": "2025-03-01", "to": "2025-03-31"}) == ["2025-03-22", "2025-03-21", "2025-03-20",
                                                                         "2025-03-15", "2025-03-01"]
    assert references(status="pending") == ["2025-03-21"]
    assert references(**{"from": "01-06-2025"}) == ["2025-06-01"]  # Dutch date order too
    # Campaign X: € 30,00 and € 100,00 received, € 40,00 refunded.
    assert donation_totals(browser.get("/donations", params={"campaign": "X"}).text) == (
        "2 giften Ontvangen, na terugbetalingen € 90,00 2 giften ontvangen: € 130,00, min terugbetaald € 40,00")


def test_donations_page_shows_the_newest_and_counts_them_all(session, gifts, sign_in, monkeypatch):
    from anbi.web.ui import pages_fundraising

    monkeypatch.setattr(pages_fundraising, "DONATIONS_SHOWN", 2)
    page = sign_in("viewer").get("/donations", params={"from": "2025-01-01"})
    text = page_text(page.text)
    # Six donations dated 2025. Received: 100 + 25 + 20 in euro, less the 40 refunded;
    # 500 in dollars, apart. Listed but not money received: 999 pending, 5 failed.
    assert donation_totals(page.text) == (
        "6 giften Ontvangen, na terugbetalingen € 105,00 3 giften ontvangen: € 145,00, min terugbetaald € 40,00 "
        "Ontvangen, na terugbetalingen (USD) USD 500,00 1 gift ontvangen: USD 500,00 "
        "Niet meegeteld: in behandeling € 999,00 1 gift Niet meegeteld: mislukt € 5,00 1 gift")
    assert page.text.split('id="donations"', 1)[1].count("<tr><td>") == 2
    assert "De nieuwste 2 staan hier" in text


def test_bad_donation_filters_are_named(session, gifts, sign_in):
    browser = sign_in("viewer")
    response = browser.get("/donations", params={"from": "31-02-2025", "method": "cheque", "campaign": "NOPE"})
    assert response.status_code == 400
    text = page_text(response.text)
    assert "from: '31-02-2025' is not a date" in text and "method: 'cheque' is not one of" in text


def test_donations_csv(session, gifts, sign_in):
    response = sign_in("finance").get("/donations.csv", params={"campaign": "Y"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["reference"], r["donor_ref"], r["amount"], r["campaign"]) for r in rows] == [
        ("C-1", "C", "50.00", "Y"), ("D-2", "D", "20.00", "Y")]


def test_lybunt_and_sybunt_with_csv_for_a_mailing(session, gifts, sign_in):
    browser = sign_in("fundraiser")
    lybunt = page_text(browser.get("/donations/lapsed", params={"list": "lybunt", "year": "2025"}).text)
    assert "1 donateur " in lybunt and "Claes" in lybunt and "€ 50,00" in lybunt
    response = browser.get("/donations/lapsed.csv", params={"list": "lybunt", "year": "2025"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [{"ref": "C", "name": "Cor Claes", "postcode": "3511 AB", "email": "cor@example.nl",
                     "last_gift_date": "2024-12-01", "last_year_total": "50.00"}]
    sybunt = browser.get("/donations/lapsed.csv", params={"list": "sybunt", "year": "2026"})
    refs = [row["ref"] for row in csv.DictReader(io.StringIO(sybunt.content.decode("utf-8-sig")))]
    assert sorted(refs) == ["A", "B", "C", "D", "E"]  # everyone with money received before 2026
    # A viewer may read the list but not download it (no exports).
    assert sign_in("viewer").get("/donations/lapsed.csv?list=lybunt&year=2025").status_code == 403
