"""Grants in the database: adding a grant file once, funders and funds, lifecycle, deadlines."""
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from anbi.core.audit import AuditEntry
from anbi.core.errors import InvalidInput
from fundraising.models import Fund
from subsidies.errors import GrantBalanceOpen, GrantConflict, GrantNotFound, GrantTransitionRefused
from subsidies.grants import add_grant, change_status, deadlines, find_grant, grant_rows, parse_grant_file
from subsidies.models import BudgetLine, Funder, Grant, Indicator
from tests.factories import grant_toml, make_grant, make_grant_payment
from tests.subsidies.scenario import AMIF_TOML, NPL_TOML


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_adding_a_grant_file_stores_everything_exactly(session):
    grant, created = add_grant(session, parse_grant_file(AMIF_TOML), actor="tester")
    session.commit()
    session.expire_all()
    grant = find_grant(session, "AMIF-2024-017")
    assert created
    assert grant.funder.name == "Uitvoering van Beleid SZW (AMIF)" and grant.funder.type == "eu"
    assert grant.funding_rate == Decimal("0.75") and grant.indirect_rate == Decimal("0.07")
    assert grant.allowed_shift == Decimal("0.10")
    assert grant.awarded_cents == 40_000_000 and grant.hours_per_year == 1720
    assert grant.status == "awarded" and grant.restricted
    assert grant.fund is not None
    assert grant.fund.code == "AMIF-2024-017" and grant.fund.name == "Juridische begeleiding asielzoekers"
    assert [(b.code, b.amount_cents) for b in grant.budget_lines] == [("staff", 30_000_000), ("material", 6_000_000), ("travel", 500_000)]
    assert [(i.code, i.target) for i in grant.indicators] == [("clients", 1200)]
    assert grant.odoo_budget_lines == {"611000": "staff", "620000": "material"}
    assert session.scalar(select(AuditEntry.action).where(AuditEntry.entity_ref == "AMIF-2024-017")) == "grant.add"


def test_the_same_file_twice_is_a_no_op(session):
    add_grant(session, parse_grant_file(AMIF_TOML), actor="tester")
    _grant, created = add_grant(session, parse_grant_file(AMIF_TOML + "\n# comment\n"), actor="tester")
    assert not created
    assert (count(session, Grant), count(session, BudgetLine), count(session, Indicator), count(session, Fund)) == (1, 3, 1, 1)


def test_the_same_reference_with_other_content_is_refused_naming_the_fields(session):
    add_grant(session, parse_grant_file(AMIF_TOML), actor="tester")
    changed = AMIF_TOML.replace('awarded = "400000.00"', 'awarded = "450000.00"').replace('amount = "5000.00"', 'amount = "6000.00"')
    with pytest.raises(GrantConflict) as caught:
        add_grant(session, parse_grant_file(changed), actor="tester")
    assert caught.value.fields == ["awarded", "budget"]
    assert "use a new reference" in str(caught.value)
    assert session.scalar(select(Grant.awarded_cents)) == 40_000_000


def test_a_known_funder_is_reused_and_its_type_must_match(session):
    make_grant(session, funder="Gemeente Utrecht", funder_type="municipality")
    make_grant(session, funder="Gemeente Utrecht", funder_type="municipality")
    assert count(session, Funder) == 1
    with pytest.raises(InvalidInput, match="funder 'Gemeente Utrecht' is recorded as municipality, not company"):
        make_grant(session, funder="Gemeente Utrecht", funder_type="company")


def test_a_grant_feeds_the_fund_it_names_and_an_existing_fund_is_reused(session):
    session.add(Fund(code="AMIF", name="AMIF-projecten"))
    session.flush()
    make_grant(session, reference="A1", fund="AMIF")
    make_grant(session, reference="A2", fund="AMIF")
    assert count(session, Fund) == 1
    add_grant(session, parse_grant_file(NPL_TOML), actor="t")
    assert find_grant(session, "NPL-2024-2025").fund is None


def test_lifecycle_through_to_closed_with_audit_rows(session):
    make_grant(session, reference="G1", awarded="200000.00", status="applied")
    for action in ("award", "start", "report-sent"):
        change_status(session, "G1", action, actor="tester")
    grant = change_status(session, "G1", "settle", actor="tester", settled_on=dt.date(2026, 5, 1), settled_cents=19_000_000)
    assert (grant.status, grant.settled_on, grant.settled_cents) == ("settled", dt.date(2026, 5, 1), 19_000_000)
    make_grant_payment(session, grant, date="2026-05-20", amount="190000.00", kind="settlement")
    assert change_status(session, "G1", "close", actor="tester").status == "closed"
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_ref == "G1").order_by(AuditEntry.id)).all()
    assert actions == ["grant.add", "grant.award", "grant.start", "grant.report-sent", "grant.settle", "grant.close"]


def test_refused_transition_changes_nothing(session):
    make_grant(session, reference="G2", awarded="200000.00")
    with pytest.raises(GrantTransitionRefused):
        change_status(session, "G2", "settle", actor="t", settled_on=dt.date(2026, 1, 1), settled_cents=1)
    assert find_grant(session, "G2").status == "awarded"
    with pytest.raises(GrantNotFound, match="no grant 'NOPE'"):
        change_status(session, "NOPE", "start", actor="t")


def test_a_settlement_cannot_exceed_the_award_nor_precede_the_grant(session):
    make_grant(session, reference="G3", awarded="20000.00", start="2025-01-01")   # level none: settled directly
    with pytest.raises(InvalidInput, match=r"more than the awarded 20000.00"):
        change_status(session, "G3", "settle", actor="t", settled_on=dt.date(2026, 1, 1), settled_cents=2_000_001)
    with pytest.raises(InvalidInput, match="before the grant starts"):
        change_status(session, "G3", "settle", actor="t", settled_on=dt.date(2024, 12, 31), settled_cents=100)
    assert find_grant(session, "G3").status == "awarded"
    assert change_status(session, "G3", "settle", actor="t", settled_on=dt.date(2026, 1, 1), settled_cents=2_000_000).status == "settled"


def test_a_settlement_date_in_the_future_is_refused(session):
    make_grant(session, reference="G4", awarded="20000.00", start="2025-01-01")
    with pytest.raises(InvalidInput, match=r"--date: 2026-03-02 is in the future \(today is 2026-03-01\); record the vaststelling"):
        change_status(session, "G4", "settle", actor="t", settled_on=dt.date(2026, 3, 2), settled_cents=100,
                      today=dt.date(2026, 3, 1))
    assert (find_grant(session, "G4").status, find_grant(session, "G4").settled_on) == ("awarded", None)
    assert change_status(session, "G4", "settle", actor="t", settled_on=dt.date(2026, 3, 1), settled_cents=100,
                         today=dt.date(2026, 3, 1)).status == "settled"


def test_a_grant_closes_only_once_the_settled_amount_is_received(session):
    grant = make_grant(session, reference="G5", awarded="20000.00", start="2025-01-01")
    make_grant_payment(session, grant, date="2025-02-01", amount="16000.00")                  # the advance
    change_status(session, "G5", "settle", actor="t", settled_on=dt.date(2026, 1, 10), settled_cents=1_500_000)
    with pytest.raises(GrantBalanceOpen) as refused:
        change_status(session, "G5", "close", actor="t")
    assert str(refused.value) == (
        "grant 'G5' cannot be closed: € 1.000,00 is still to repay to the funder: import the repayment "
        "(kind repayment) with `anbi grants payments import FILE`, then close it")
    assert find_grant(session, "G5").status == "settled"
    make_grant_payment(session, grant, date="2026-02-01", amount="1500.00", kind="repayment")
    with pytest.raises(GrantBalanceOpen, match="€ 500,00 is still to receive from the funder: import its final payment "
                                               r"\(kind settlement\)"):
        change_status(session, "G5", "close", actor="t")
    make_grant_payment(session, grant, date="2026-02-02", amount="500.00", kind="settlement")
    assert change_status(session, "G5", "close", actor="t").status == "closed"


def test_deadlines_from_the_database_use_the_last_payment_of_an_eu_grant(session):
    eu = make_grant(session, reference="EU1", funder="UVB", funder_type="eu", report_due="2026-03-31")
    make_grant_payment(session, eu, date="2025-02-01", amount="100.00")
    make_grant_payment(session, eu, date="2026-03-12", amount="100.00", kind="settlement")
    make_grant_payment(session, eu, date="2027-01-05", amount="50.00", kind="repayment")   # money back is no payment to us
    make_grant(session, reference="NL1", funder="Gemeente", funder_type="municipality", report_due="2026-02-01")
    found = deadlines(session, dt.date(2026, 1, 1))
    assert [(d.reference, d.kind, d.due) for d in found] == [
        ("NL1", "report_due", dt.date(2026, 2, 1)),
        ("EU1", "report_due", dt.date(2026, 3, 31)),
        ("EU1", "record_keeping_end", dt.date(2031, 12, 31)),
    ]
    assert [d.reference for d in deadlines(session, dt.date(2026, 1, 1), within_days=40)] == ["NL1"]


def test_grant_rows_for_the_list(session):
    add_grant(session, parse_grant_file(grant_toml(reference="L1", awarded="30000.00", funding_rate="0.5")), actor="t")
    (row,) = grant_rows(session)
    assert row["reference"] == "L1" and row["awarded"] == "30000.00" and row["funding_rate"] == "0.5"
    assert row["accountability_level"] == "activities" and row["fund"] == "L1" and row["status"] == "awarded"
