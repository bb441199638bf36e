"""Campaign report, LYBUNT/SYBUNT and retention, checked against figures worked out
by hand in the comments."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from fundraising.donations import record_adjustment
from fundraising.errors import CampaignNotFound
import fundraising.reports as reports
from fundraising.reports import (
    amount_bucket,
    average,
    campaign_report,
    lapsed_donors,
    median_from_buckets,
    median_from_counts,
    percentage,
    rate,
    retention,
)
from tests.factories import make_campaign, make_donation, make_donor

D = dt.date


@pytest.mark.parametrize(
    "counts, expected",
    [
        ([], None),
        ([(500, 1)], 500),
        ([(100, 1), (300, 1)], 200),
        ([(100, 1), (301, 1)], 201),           # 200.5 cents rounds half up
        ([(1000, 3), (2500, 1)], 1000),        # 10, 10, 10, 25
        ([(1000, 2), (2500, 2)], 1750),        # 10, 10, 25, 25
        ([(500, 1), (1000, 1), (2500, 5)], 2500),
    ],
)
def test_median_from_counts(counts, expected):
    assert median_from_counts(counts) == expected


def test_amount_buckets():
    assert [amount_bucket(a) for a in (500, 2500, 100000)] == [500, 2500, 100000]
    assert [amount_bucket(a) for a in (1, 499, 501, 999, 2501)] == [-1, -1, -2, -2, -6]


def _buckets(amounts):
    counts: dict[int, int] = {}
    for amount in amounts:
        counts[amount_bucket(amount)] = counts.get(amount_bucket(amount), 0) + 1
    return counts


@pytest.mark.parametrize(
    "amounts",
    [
        [2500],
        [1000, 2500, 2500, 5000],
        [1000, 1234, 1300, 5000],            # both middles inside the range (1000, 1500)
        [700, 1000, 1234, 5000, 5000, 7777],  # one middle exact, one inside a range
        [1, 2, 3, 4, 5, 6, 7, 9999],
        [250, 250, 250, 100000, 100000],
    ],
)
def test_median_from_buckets_is_exact_and_refines_only_when_needed(amounts):
    calls = []

    def refine(keys):
        calls.append(keys)
        return [(a, amounts.count(a)) for a in sorted(set(amounts)) if amount_bucket(a) in keys]

    expected = median_from_counts((a, amounts.count(a)) for a in sorted(set(amounts)))
    assert median_from_buckets(_buckets(amounts), refine) == expected
    middle = sorted(amounts)[(len(amounts) - 1) // 2], sorted(amounts)[len(amounts) // 2]
    if all(m % 500 == 0 for m in middle):
        assert calls == []
    else:
        assert calls == [sorted({amount_bucket(m) for m in middle if m % 500})]


def test_median_of_nothing():
    assert median_from_buckets({}, lambda keys: []) is None


def test_percentage_rate_and_average():
    assert percentage(33775, 100000) == 33.78
    assert percentage(1, 3) == 33.33
    assert percentage(5, 0) is None
    assert rate(20000, 33775) == "0.59"
    assert rate(100, 0) is None and rate(100, -5) is None
    assert average(38500, 5) == 7700
    assert average(1000, 3) == 333
    assert average(0, 0) is None


@pytest.fixture
def spring(session):
    spring = make_campaign(session, code="SPRING", name="Voorjaar", goal="1000.00", cost="150.00", channel="mail")
    mail = make_campaign(session, code="SPRING-MAIL", parent=spring, cost="50.00")
    other = make_campaign(session, code="OTHER")
    a, b, c = make_donor(session, ref="A"), make_donor(session, ref="B"), make_donor(session, ref="C")
    make_donation(session, donor=a, campaign=other, amount="15.00", date="2024-12-01")
    make_donation(session, donor=a, campaign=spring, amount="100.00", date="2025-01-05", fee_cents=150)
    b1 = make_donation(session, donor=b, campaign=spring, amount="50.00", date="2025-01-10", fee_cents=75)
    b2 = make_donation(session, donor=b, campaign=spring, amount="25.00", date="2025-02-20")
    make_donation(session, donor=c, campaign=mail, amount="200.00", date="2025-02-01")
    make_donation(session, donor=None, campaign=spring, amount="10.00", date="2025-02-02", method="cash")
    make_donation(session, donor=a, campaign=spring, amount="40.00", date="2025-03-05", currency="USD")
    make_donation(session, donor=a, campaign=spring, amount="30.00", date="2025-03-06", status="pending")
    make_donation(session, donor=c, campaign=spring, amount="999.00", date="2025-03-07", status="failed")
    record_adjustment(session, b1, kind="refund", amount_cents=2000, occurred_on=D(2025, 2, 15), source="t", reference="re1")
    record_adjustment(session, b2, kind="dispute_opened", amount_cents=2500, occurred_on=D(2025, 3, 1), source="t", reference="dp1")
    record_adjustment(session, b2, kind="dispute_lost", amount_cents=2500, occurred_on=D(2025, 3, 20), source="t", reference="dp2")
    return spring


@pytest.fixture(params=["full pass", "lookups"])
def donor_pass(request, monkeypatch):
    """Both ways of counting new donors must give the same figures."""
    if request.param == "lookups":
        monkeypatch.setattr(reports, "FULL_DONOR_PASS_SHARE", 0)
    return request.param


def test_campaign_report_figures(session, spring, donor_pass):
    report = campaign_report(session, "SPRING").as_json()
    # EUR received in SPRING and SPRING-MAIL: 100 + 50 + 25 + 200 + 10 = 385.00 in 5 gifts;
    # refunds 20.00, lost dispute 25.00, fees 1.50 + 0.75; net 385 - 20 - 25 - 2.25 = 337.75.
    assert report["includes"] == ["SPRING-MAIL"]
    assert (report["gross"], report["refunds"], report["lost_disputes"], report["fees"], report["net"]) == (
        "385.00", "20.00", "25.00", "2.25", "337.75")
    # A gave before (OTHER, 2024): returning. B's and C's first gifts ever are here: new.
    assert (report["gifts"], report["anonymous_gifts"], report["donors"], report["new_donors"], report["returning_donors"]) == (
        5, 1, 3, 2, 1)
    # 385 / 5 = 77.00; amounts sorted 10, 25, 50, 100, 200: median 50.00
    assert (report["average_gift"], report["median_gift"]) == ("77.00", "50.00")
    # 337.75 / 1000 = 33.775% -> 33.78; cost 150 + 50 = 200.00, 200 / 337.75 = 0.592 -> 0.59
    assert (report["goal"], report["progress_pct"], report["cost"], report["cost_per_euro"]) == ("1000.00", 33.78, "200.00", "0.59")
    # The refund and the lost dispute count in the months they happened, not the gifts'.
    assert report["months"] == [
        {"month": "2025-01", "gifts": 2, "gross": "150.00", "refunds": "0.00", "lost_disputes": "0.00", "fees": "2.25", "net": "147.75"},
        {"month": "2025-02", "gifts": 3, "gross": "235.00", "refunds": "20.00", "lost_disputes": "0.00", "fees": "0.00", "net": "215.00"},
        {"month": "2025-03", "gifts": 0, "gross": "0.00", "refunds": "0.00", "lost_disputes": "25.00", "fees": "0.00", "net": "-25.00"},
    ]
    assert report["other_currencies"] == [
        {"currency": "USD", "gifts": 1, "gross": "40.00", "refunds": "0.00", "lost_disputes": "0.00", "fees": "0.00"}]


def test_a_sub_campaign_report_has_only_its_own(session, spring):
    report = campaign_report(session, "SPRING-MAIL").as_json()
    assert (report["gross"], report["gifts"], report["donors"], report["new_donors"], report["goal"], report["progress_pct"]) == (
        "200.00", 1, 1, 1, None, None)
    assert (report["cost"], report["cost_per_euro"]) == ("50.00", "0.25")


def test_an_empty_campaign_and_an_unknown_one(session):
    make_campaign(session, code="EMPTY", goal="500.00")
    report = campaign_report(session, "EMPTY").as_json()
    assert (report["gross"], report["net"], report["gifts"], report["donors"], report["average_gift"], report["median_gift"],
            report["progress_pct"], report["cost_per_euro"], report["months"]) == ("0.00", "0.00", 0, 0, None, None, 0.0, None, [])
    with pytest.raises(CampaignNotFound):
        campaign_report(session, "NOPE")


@pytest.fixture
def history(session):
    p = make_donor(session, ref="P", last_name="Aalders", sort_name="aalders", email="p@example.nl", postcode="1011 AA")
    q = make_donor(session, ref="Q")
    r = make_donor(session, ref="R", last_name="Bos", sort_name="bos")
    s = make_donor(session, ref="S")
    t = make_donor(session, ref="T", restricted_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    u = make_donor(session, ref="U")
    v = make_donor(session, ref="V", last_name="Claes", sort_name="claes")
    w = make_donor(session, ref="W")
    x = make_donor(session, ref="X")
    p1 = make_donation(session, donor=p, amount="50.00", date="2024-05-01")
    p2 = make_donation(session, donor=p, amount="30.00", date="2024-11-01")
    record_adjustment(session, p2, kind="refund", amount_cents=500, occurred_on=D(2024, 12, 1), source="t", reference="rp2")
    record_adjustment(session, p1, kind="refund", amount_cents=1000, occurred_on=D(2025, 1, 10), source="t", reference="rp1")
    make_donation(session, donor=q, amount="10.00", date="2024-03-01")
    make_donation(session, donor=q, amount="10.00", date="2025-03-01")
    make_donation(session, donor=r, amount="100.00", date="2022-03-01")
    make_donation(session, donor=s, amount="10.00", date="2023-03-01")
    make_donation(session, donor=s, amount="10.00", date="2025-04-01")
    make_donation(session, donor=t, amount="10.00", date="2024-04-01")
    make_donation(session, donor=u, amount="10.00", date="2025-05-01")
    make_donation(session, donor=v, amount="20.00", date="2024-06-01", currency="USD")
    make_donation(session, donor=w, amount="10.00", date="2024-07-01", status="failed")
    make_donation(session, donor=x, amount="10.00", date="2026-01-01")


def test_lybunt(session, history):
    items = [item.as_json() for item in lapsed_donors(session, 2025, last_year_only=True)]
    # P: 50 + 30 in 2024, less the 5.00 refunded in 2024 (the 10.00 refunded in 2025 counts in 2025): 75.00.
    # V gave only in USD: listed, with nothing in EUR. T is restricted: not mailed.
    assert items == [
        {"ref": "P", "name": "Anna Aalders", "postcode": "1011 AA", "email": "p@example.nl",
         "last_gift_date": "2024-11-01", "last_year_total": "75.00"},
        {"ref": "V", "name": "Anna Claes", "postcode": "1017 GC", "email": None,
         "last_gift_date": "2024-06-01", "last_year_total": "0.00"},
    ]


def test_sybunt(session, history):
    items = [(item.ref, item.last_gift_on, item.last_year_total_cents) for item in lapsed_donors(session, 2025, last_year_only=False)]
    assert items == [("P", D(2024, 11, 1), 7500), ("R", D(2022, 3, 1), 10000), ("V", D(2024, 6, 1), 0)]


def test_retention(session, history):
    figures = retention(session, 2025).as_json()
    # 2024 donors: P, Q, T, V (W's only payment failed). Of them Q gave in 2025: 1 of 4 = 25%.
    # 2025 donors: Q, S (last gave 2023: reactivated), U (new). X gave in 2026: not counted.
    assert figures == {"year": 2025, "previous_year_donors": 4, "retained": 1, "lapsed": 3, "rate": 25.0,
                       "donors": 3, "new": 1, "reactivated": 1}


def test_retention_of_a_year_without_donors(session):
    assert retention(session, 2025).as_json() == {"year": 2025, "previous_year_donors": 0, "retained": 0, "lapsed": 0,
                                                 "rate": None, "donors": 0, "new": 0, "reactivated": 0}


def test_a_median_between_round_amounts_is_counted_exactly_in_the_database(session):
    campaign = make_campaign(session, code="ODD")
    donor = make_donor(session)
    for amount in ("10.00", "12.34", "13.00", "50.00", "13.00", "7.77"):
        make_donation(session, donor=donor, campaign=campaign, amount=amount)
    make_donation(session, donor=donor, campaign=campaign, amount="12.50", currency="USD")  # not in the EUR median
    # sorted: 7.77, 10.00, 12.34, 13.00, 13.00, 50.00 -> (12.34 + 13.00) / 2 = 12.67
    assert campaign_report(session, "ODD").median_cents == 1267


@pytest.mark.parametrize(
    "amounts, expected",
    [
        (("10.00", "25.00"), 1750),                    # both middles exact multiples of 5.00
        (("12.01", "12.02", "14.99", "30.00"), 1351),  # both inside (10, 15): (12.02 + 14.99) / 2 = 13.505, half up
        (("5.00", "12.02", "15.00", "40.00"), 1351),   # one inside a range, one exact: (12.02 + 15.00) / 2 = 13.51
        (("20.00", "20.00", "20.00", "7.50"), 2000),
    ],
)
def test_an_even_count_median_in_the_database(session, amounts, expected):
    campaign = make_campaign(session, code="EVEN")
    for amount in amounts:
        make_donation(session, campaign=campaign, amount=amount)
    # None of these are received EUR gifts of the campaign: not in the median.
    make_donation(session, campaign=campaign, amount="1.00", status="pending")
    make_donation(session, campaign=campaign, amount="2.00", status="failed")
    make_donation(session, campaign=campaign, amount="99.00", currency="USD")
    make_donation(session, campaign=make_campaign(session), amount="3.00")
    report = campaign_report(session, "EVEN")
    assert (report.gifts, report.median_cents) == (len(amounts), expected)


def test_months_are_calendar_months_whatever_the_session_time_zone(session, backend):
    if backend == "postgresql":
        # A day is a date, not a moment: far from UTC its month must not shift.
        session.execute(text("SET LOCAL TIME ZONE 'Pacific/Kiritimati'"))
    campaign = make_campaign(session, code="EDGES")
    jan = make_donation(session, campaign=campaign, amount="10.00", date="2025-01-31")
    feb = make_donation(session, campaign=campaign, amount="20.00", date="2025-02-01", donor=None)
    make_donation(session, campaign=campaign, amount="30.00", date="2025-12-31")
    make_donation(session, campaign=campaign, amount="40.00", date="2026-01-01")
    record_adjustment(session, jan, kind="refund", amount_cents=500, occurred_on=D(2025, 2, 28), source="t", reference="e1")
    record_adjustment(session, feb, kind="dispute_lost", amount_cents=2000, occurred_on=D(2025, 3, 1), source="t", reference="e2")
    report = campaign_report(session, "EDGES").as_json()
    assert [(m["month"], m["gifts"], m["gross"], m["refunds"], m["lost_disputes"]) for m in report["months"]] == [
        ("2025-01", 1, "10.00", "0.00", "0.00"),
        ("2025-02", 1, "20.00", "5.00", "0.00"),
        ("2025-03", 0, "0.00", "0.00", "20.00"),
        ("2025-12", 1, "30.00", "0.00", "0.00"),
        ("2026-01", 1, "40.00", "0.00", "0.00"),
    ]
    assert (report["gifts"], report["anonymous_gifts"], report["donors"]) == (4, 1, 3)


def test_adjustments_count_on_their_own_dates_in_their_own_currency(session):
    campaign = make_campaign(session, code="ADJ")
    other = make_campaign(session, code="NOT-ADJ")
    a = make_donation(session, campaign=campaign, amount="100.00", date="2025-01-10")
    b = make_donation(session, campaign=campaign, amount="60.00", date="2025-01-20")
    c = make_donation(session, campaign=campaign, amount="80.00", date="2025-02-05")
    usd = make_donation(session, campaign=campaign, amount="50.00", date="2025-01-15", currency="USD")
    elsewhere = make_donation(session, campaign=other, amount="70.00", date="2025-01-12")
    # Recorded in an order unlike the donations' own, as they come in.
    record_adjustment(session, c, kind="chargeback", amount_cents=8000, occurred_on=D(2025, 4, 2), source="t", reference="j1")
    record_adjustment(session, elsewhere, kind="refund", amount_cents=7000, occurred_on=D(2025, 2, 1), source="t", reference="j2")
    record_adjustment(session, usd, kind="refund", amount_cents=1000, occurred_on=D(2025, 2, 3), source="t", reference="j3")
    record_adjustment(session, a, kind="refund", amount_cents=3000, occurred_on=D(2025, 3, 3), source="t", reference="j4")
    record_adjustment(session, b, kind="dispute_opened", amount_cents=6000, occurred_on=D(2025, 2, 1), source="t", reference="j5")
    record_adjustment(session, b, kind="dispute_won", amount_cents=6000, occurred_on=D(2025, 3, 9), source="t", reference="j6")
    # More than is left of a (70.00): counted up to what was left.
    record_adjustment(session, a, kind="refund", amount_cents=9000, occurred_on=D(2025, 4, 20), source="t", reference="j7")
    report = campaign_report(session, "ADJ").as_json()
    # EUR: gross 240.00; refunds 30.00 (March) + 70.00 (April) and the chargeback 80.00
    # (April); the won dispute takes nothing back; the other campaign's refund is not ours.
    assert (report["gross"], report["refunds"], report["lost_disputes"], report["net"]) == (
        "240.00", "180.00", "0.00", "60.00")
    assert [(m["month"], m["gross"], m["refunds"]) for m in report["months"]] == [
        ("2025-01", "160.00", "0.00"), ("2025-02", "80.00", "0.00"), ("2025-03", "0.00", "30.00"),
        ("2025-04", "0.00", "150.00")]
    assert report["other_currencies"] == [
        {"currency": "USD", "gifts": 1, "gross": "50.00", "refunds": "10.00", "lost_disputes": "0.00", "fees": "0.00"}]
