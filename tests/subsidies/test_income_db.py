"""The income statement and the funds report from the database, against the hand
computation in the scenario and reconciled with the underlying rows."""
import datetime as dt
from typing import Any

from sqlalchemy import text

from subsidies.funds import funds_report
from subsidies.income import income_statement, statement_json
from subsidies.grants import change_status
from subsidies.report import figures_json, gather
from tests.subsidies.scenario import EXPECTED, FUNDS_EXPECTED, INCOME_EXPECTED, add_donations, load


def cents(amount: str) -> int:
    whole, _, part = amount.lstrip("-").partition(".")
    value = int(whole) * 100 + int(part)
    return -value if amount.startswith("-") else value


def test_income_statement_and_funds_match_the_hand_computation_and_the_rows(session, tmp_path):
    load(session, tmp_path)
    add_donations(session)
    session.flush()

    current, previous = income_statement(session, 2025)
    assert statement_json(2025, current, previous) == INCOME_EXPECTED
    assert funds_report(session, 2025).json() == FUNDS_EXPECTED

    # Reconcile the gifts with the rows, independently of the category logic: money received in
    # 2025 in euro (not pending, not failed) less what adjustments took back in 2025.
    received = session.execute(text(
        "SELECT COALESCE(SUM(amount_cents), 0) FROM donations WHERE currency = 'EUR' "
        "AND status NOT IN ('pending', 'failed') AND received_on BETWEEN '2025-01-01' AND '2025-12-31'")).scalar()
    taken = session.execute(text(
        "SELECT COALESCE(SUM(taken_back_cents), 0) FROM donation_adjustments "
        "WHERE occurred_on BETWEEN '2025-01-01' AND '2025-12-31'")).scalar()
    values = current.values()
    from_gifts = sum(values[k] for k in ("private_individuals", "companies", "related_nonprofits", "other_nonprofits"))
    assert from_gifts + values["income_for_goods_and_services"] == received - taken

    # Reconcile the grants: what the statements recognise over the years adds up to each
    # grant's funder share in its report (all costs of these grants fall in 2024-2025).
    recognised: dict[str, Any] = {}
    for year in (2024, 2025):
        this_year, _ = income_statement(session, year)
        for key in ("lotteries", "government_grants"):
            recognised[key] = recognised.get(key, 0) + this_year.values()[key]
    shares = {ref: cents(figures_json(gather(session, ref))["funder_share"]) for ref in EXPECTED}
    assert recognised["lotteries"] == shares["NPL-2024-2025"]
    assert recognised["government_grants"] == shares["AMIF-2024-017"] + shares["GEM-UTR-2025-MB"]


def test_a_settlement_decides_the_income_in_the_year_it_is_made_and_the_balance_in_both_reports(session, tmp_path):
    load(session, tmp_path)
    change_status(session, "GEM-UTR-2025-MB", "settle", actor="t", settled_on=dt.date(2026, 2, 15), settled_cents=2_000_000)
    # 2025 still recognises the share of its costs (22.734,56); 2026 takes back what the
    # vaststelling (20.000,00) did not grant: −2.734,56.
    current, previous = income_statement(session, 2026)
    assert previous.values()["government_grants"] == 1_673_273 + 2_273_456
    assert current.values()["government_grants"] == -273_456
    report = funds_report(session, 2026)
    municipal = {b.code: b for b in report.funds}["GEM-UTR-2025-MB"]
    assert (municipal.opening, municipal.income, municipal.spending, municipal.closing) == (0, -273_456, -273_456, 0)
    # The balance with the municipality: 20.000,00 settled − 19.200,00 received = 800,00 still to receive,
    # in the funds report as in the grant report.
    grant = {g.reference: g for g in report.grants}["GEM-UTR-2025-MB"]
    assert (grant.opening, grant.recognised, grant.received, grant.closing) == (353_456, -273_456, 0, 80_000)
    assert cents(figures_json(gather(session, "GEM-UTR-2025-MB"))["balance"]) == grant.closing == 80_000


def test_a_settlement_above_the_computed_share_decides_too(session, tmp_path):
    load(session, tmp_path)
    # The funder accepts 23.500,00 where our costs give 22.734,56: the vaststelling decides.
    change_status(session, "GEM-UTR-2025-MB", "settle", actor="t", settled_on=dt.date(2026, 2, 15), settled_cents=2_350_000)
    current, _ = income_statement(session, 2026)
    assert current.values()["government_grants"] == 2_350_000 - 2_273_456
    grant = {g.reference: g for g in funds_report(session, 2026).grants}["GEM-UTR-2025-MB"]
    assert grant.closing == 2_350_000 - 1_920_000 == cents(figures_json(gather(session, "GEM-UTR-2025-MB"))["balance"])
