"""The dashboard's income by origin is the income statement's donation income, line by
line (fundraising.income classifies both), and adds up to the dashboard's own total."""
from __future__ import annotations

from anbi.web import dashboard
from subsidies.income import income_statement
from tests.factories import make_adjustment, make_donation, make_donor
from tests.webapp.ui_support import page_text


def test_income_by_origin_is_the_statements_and_the_pages(session, sign_in):
    person = make_donor(session)
    foundation = make_donor(session, kind="organisation", organisation_type="foundation")
    dinner = make_donation(session, donor=person, date="2025-10-11", amount="150.00", kind="purchase", consideration="60.00")
    make_donation(session, donor=person, date="2025-10-11", amount="20.00", kind="lottery")
    make_donation(session, donor=foundation, date="2025-06-01", amount="1000.00")
    make_donation(session, donor=None, donor_id=None, date="2025-03-01", amount="5.00")
    make_adjustment(session, dinner, date="2025-11-01", amount="50.00")      # 20,00 of it the consideration
    session.commit()

    figures = dashboard.build(session, year=2025)
    by_origin = {a.key: a.cents for a in figures.by_origin}
    # The dinner: 90,00 the donor's gift, 60,00 goods and services; the lottery ticket all goods and services.
    assert by_origin == {"private_individuals": 9_000 - 3_000 + 500, "other_nonprofits": 100_000,
                         "goods_and_services": 6_000 + 2_000 - 2_000}
    statement = income_statement(session, 2025)[0].values()
    assert by_origin["goods_and_services"] == statement["income_for_goods_and_services"]
    assert all(key is not None and statement[key] == cents for key, cents in by_origin.items() if key != "goods_and_services")
    assert sum(by_origin.values()) == sum(figures.months_current)

    text = page_text(sign_in("fundraiser").get("/?year=2025").text)
    assert "Naar herkomst (RJ 650) 2025" in text
    assert "Baten van andere organisaties zonder winststreven € 1.000,00" in text
    assert "Baten als tegenprestatie voor de levering van producten en/of diensten € 60,00" in text
