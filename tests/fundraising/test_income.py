"""The one income classification (fundraising.income): the table row by row without a
database, and its SQL form equal to the function on SQLite and PostgreSQL."""
from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from donors.models import Donor
from fundraising.income import (
    INCOME_LINES,
    IncomeSplit,
    consideration_sql,
    income_by_fund,
    income_by_line,
    payer_line_sql,
    split_income,
    taken_back_consideration,
    taken_back_consideration_sql,
)
from fundraising.models import DONATION_KINDS, Donation
from tests.factories import make_adjustment, make_donation, make_donor, make_fund

PERSON, ORG = "person", "organisation"


@pytest.mark.parametrize(("donor_kind", "organisation_type", "kind", "amount", "consideration", "expected"), [
    # a gift without consideration: the payer's line (DOMAIN.md 2.2)
    (PERSON, None, "gift", 10_000, 0, {"private_individuals": 10_000}),
    (None, None, "gift", 500, 0, {"private_individuals": 500}),                          # anonymous
    (PERSON, "company", "gift", 500, 0, {"private_individuals": 500}),                   # a person is never a company
    (ORG, "company", "gift", 50_000, 0, {"companies": 50_000}),
    (ORG, None, "gift", 30_000, 0, {"companies": 30_000}),                               # untyped: a company
    (ORG, "foundation", "gift", 1_000_000, 0, {"other_nonprofits": 1_000_000}),          # vermogensfonds
    (ORG, "other_nonprofit", "gift", 1_000, 0, {"other_nonprofits": 1_000}),
    (ORG, "related_nonprofit", "gift", 250_000, 0, {"related_nonprofits": 250_000}),
    # the benefit dinner: € 150 ticket, dinner worth € 60 (DOMAIN.md 1.4)
    (PERSON, None, "gift", 15_000, 6_000, {"private_individuals": 9_000, "goods_and_services": 6_000}),
    (PERSON, None, "purchase", 15_000, 6_000, {"private_individuals": 9_000, "goods_and_services": 6_000}),
    (ORG, "company", "purchase", 15_000, 6_000, {"companies": 9_000, "goods_and_services": 6_000}),
    # a purchase without a stated consideration, and a lottery ticket: all goods and services
    (PERSON, None, "purchase", 3_000, 0, {"goods_and_services": 3_000}),
    (PERSON, None, "lottery", 2_500, 0, {"goods_and_services": 2_500}),
    (ORG, "foundation", "lottery", 2_500, 0, {"goods_and_services": 2_500}),
    (PERSON, None, "lottery", 2_500, 1_000, {"goods_and_services": 2_500}),              # not splittable
    (PERSON, None, "gift", 2_000, 2_000, {"goods_and_services": 2_000}),
])
def test_the_table(donor_kind, organisation_type, kind, amount, consideration, expected):
    split = split_income(donor_kind, organisation_type, kind, amount, consideration)
    assert split.parts() == expected
    assert sum(split.parts().values()) == amount


def test_a_refund_takes_back_the_consideration_in_proportion_rounded_half_up():
    dinner = split_income(PERSON, None, "purchase", 15_000, 6_000)
    assert dinner.taken_back(5_000) == IncomeSplit("private_individuals", 3_000, 2_000)
    assert dinner.taken_back(15_000) == dinner
    # 1 × 1/3 → 0; 1 × 1/2 = 0,5 → 1; 3 × 1/6 = 0,5 → 1
    assert [taken_back_consideration(t, a, c) for t, a, c in ((1, 3, 1), (1, 2, 1), (3, 6, 1), (0, 0, 0))] == [0, 1, 1, 0]
    with pytest.raises(ValueError):
        dinner.taken_back(15_001)


def test_a_split_checks_itself():
    with pytest.raises(ValueError, match="consideration of 101"):
        split_income(PERSON, None, "gift", 100, 101)
    with pytest.raises(ValueError, match="unknown donation kind"):
        split_income(PERSON, None, "raffle", 100, 0)
    with pytest.raises(ValueError, match="unknown income line"):
        IncomeSplit("bequests", 1, 0)


DONORS = [(None, None), (PERSON, None), (PERSON, "foundation"), (ORG, None), (ORG, "company"), (ORG, "foundation"),
          (ORG, "other_nonprofit"), (ORG, "related_nonprofit")]
PAYMENTS = [(15_000, 0), (15_000, 6_000), (3, 1), (0, 0), (2_000, 2_000)]


def test_the_sql_is_the_function(session):
    """Every donor type × donation kind × amount: the SQL case expressions give what
    the function gives, and so does the refund split."""
    cases = []
    for (donor_kind, organisation_type), kind, (amount, consideration) in itertools.product(DONORS, DONATION_KINDS, PAYMENTS):
        if donor_kind is None:
            donor = None
        elif donor_kind == PERSON:
            donor = make_donor(session, organisation_type=organisation_type)
        else:
            donor = make_donor(session, kind=ORG, organisation_type=organisation_type)
        donation = make_donation(session, donor=donor, donor_id=donor.id if donor else None, kind=kind,
                                 amount_cents=amount, consideration_cents=consideration)
        cases.append((donation.id, split_income(donor_kind, organisation_type, kind, amount, consideration)))
    taken = Donation.amount_cents // 3
    rows = {row[0]: row[1:] for row in session.execute(
        select(Donation.id, payer_line_sql(), payer_line_sql("income."), consideration_sql(),
               taken_back_consideration_sql(taken, Donation.amount_cents, consideration_sql()), taken)
        .outerjoin(Donor, Donor.id == Donation.donor_id))}
    for donation_id, split in cases:
        line, key, goods, taken_goods, taken_cents = rows[donation_id]
        assert (line, key, goods) == (split.gift_line, "income." + split.gift_line, split.consideration_cents)
        assert taken_goods == split.taken_back(taken_cents).consideration_cents
    assert {line for line, *_ in rows.values()} <= set(INCOME_LINES)


def test_income_by_line_and_fund_net_of_refunds_on_their_own_dates(session):
    fund = make_fund(session)
    person, company = make_donor(session), make_donor(session, kind=ORG)
    make_donation(session, donor=person, date="2025-02-01", amount="100.00")
    dinner = make_donation(session, donor=company, date="2025-10-11", amount="150.00", kind="purchase",
                           consideration="60.00", fund=fund)
    make_donation(session, donor=person, date="2025-10-11", amount="20.00", kind="lottery")
    make_donation(session, donor=person, date="2025-10-12", amount="40.00", status="pending")
    make_donation(session, donor=person, date="2025-10-13", amount="10.00", currency="USD")
    make_adjustment(session, dinner, date="2026-01-05", amount="50.00")      # 20,00 of it the consideration
    assert income_by_line(session, 2025, 2026) == {
        2025: {"private_individuals": 10_000, "companies": 9_000, "goods_and_services": 8_000},
        2026: {"companies": -3_000, "goods_and_services": -2_000},
    }
    assert income_by_fund(session, 2025, 2026) == {2025: {fund.id: 15_000}, 2026: {fund.id: -5_000}}
