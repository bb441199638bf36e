"""The web application's CSV downloads never carry a formula (issue 13, item 7):
a text cell a spreadsheet would run gets a leading `'`; numbers stay numbers."""
from __future__ import annotations

import csv
import io

from tests.exports.test_formula_injection import NAME
from tests.factories import make_donation, make_donor



def test_web_donations_and_lapsed_csv_quote_hostile_text(session, sign_in):
    donor = make_donor(session, ref="=D9", first_name=NAME, last_name="", email="x@example.nl", postcode="+1234")
    make_donation(session, donor=donor, reference="-G9", date="2024-03-01", amount="12.50")
    session.commit()
    browser = sign_in("fundraiser")
    response = browser.get("/donations.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["reference"], r["donor_ref"], r["amount"], r["date"]) for r in rows] == [
        ("'-G9", "'=D9", "12.50", "2024-03-01")]
    response = browser.get("/donations/lapsed.csv", params={"list": "lybunt", "year": "2025"})
    (row,) = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert (row["ref"], row["name"], row["postcode"], row["last_year_total"]) == ("'=D9", "'" + NAME, "'+1234", "12.50")
