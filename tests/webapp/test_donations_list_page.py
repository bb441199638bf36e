"""The donations page and its CSV read the fundraising part's list: every filter in
SQL, the refunds of the rows shown, newest first on the page and oldest first in
the CSV. The gifts are those of test_fundraising_pages (see its docstring)."""
from __future__ import annotations

import csv
import io
import re

from tests.factories import make_adjustment, make_donation, make_donor
from tests.webapp.test_fundraising_pages import gifts  # noqa: F401  (the fixture)
from tests.webapp.ui_support import donation_totals, page_text


def csv_rows(browser, **params) -> list[dict]:
    response = browser.get("/donations.csv", params=params)
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_csv_filters_by_every_field_of_the_form(session, gifts, sign_in):  # noqa: F811
    browser = sign_in("finance")
    march = {"from": "2025-03-01", "to": "2025-03-31"}
    assert [r["reference"] for r in csv_rows(browser, **march)] == ["A-2025", "B-1", "E-USD", "F-PENDING", "F-FAILED"]
    assert [r["reference"] for r in csv_rows(browser, **march, method="sepa_debit")] == ["F-PENDING", "F-FAILED"]
    assert [r["reference"] for r in csv_rows(browser, **march, method="sepa_debit", status="failed")] == ["F-FAILED"]
    # Across a year boundary (the list used to narrow by year only when both dates fell in one).
    assert [r["reference"] for r in csv_rows(browser, **{"from": "2024-12-01", "to": "01-03-2025"})] == ["C-1", "A-2025"]
    refunded = csv_rows(browser, campaign="X", status="paid")
    assert [(r["reference"], r["amount"], r["refunded"]) for r in refunded] == [
        ("A-2024", "30.00", "0.00"), ("A-2025", "100.00", "40.00")]


def test_page_shows_the_refund_of_a_row_and_counts_the_filtered_rows(session, gifts, sign_in):  # noqa: F811
    page = sign_in("viewer").get("/donations", params={"campaign": "X", "from": "2025-01-01"})
    assert page.status_code == 200
    body = page.text.split('id="donations"', 1)[1]
    assert re.findall(r"<td>(\d\d-\d\d-\d{4})</td>", body) == ["01-03-2025"]
    # A-2025: € 100,00 received, € 40,00 of it refunded.
    assert donation_totals(page.text) == ("1 gift Ontvangen, na terugbetalingen € 60,00 "
                                          "1 gift ontvangen: € 100,00, min terugbetaald € 40,00")
    assert "€ 40,00" in page_text(body)


def test_page_orders_a_day_newest_booked_first_and_stops_at_the_limit(session, gifts, sign_in, monkeypatch):  # noqa: F811
    from anbi.web.ui import pages_fundraising

    donor = make_donor(session, ref="G")
    made = {reference: make_donation(session, donor=donor, reference=reference, amount="7.00", date="2025-07-01")
            for reference in ("SAME-1", "SAME-2", "SAME-3")}
    make_adjustment(session, made["SAME-1"], amount="3.00", taken_back_cents=300)
    make_adjustment(session, made["SAME-3"], amount="2.00", taken_back_cents=200)
    session.commit()
    monkeypatch.setattr(pages_fundraising, "DONATIONS_SHOWN", 2)
    page = sign_in("viewer").get("/donations", params={"from": "2025-07-01"})
    body = page.text.split('id="donations"', 1)[1]
    # The three of 1 July, booked in this order: newest first is SAME-3, SAME-2; SAME-1
    # is left off, and so is its refund.
    assert body.count("<tr><td>") == 2
    assert "€ 2,00" in page_text(body) and "€ 3,00" not in page_text(body)
    # All three are counted: € 21,00 received, € 5,00 of it refunded.
    assert donation_totals(page.text) == ("3 giften Ontvangen, na terugbetalingen € 16,00 "
                                          "3 giften ontvangen: € 21,00, min terugbetaald € 5,00")
