"""fundraising.queries: the donations list, filtered and paged in the database, on
both databases. Expected lists are written out by hand for single filters and
computed from the table below in Python for the combinations."""
from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pytest

from donors.errors import DonorNotFound
from fundraising import queries
from fundraising.errors import CampaignNotFound
from fundraising.models import Campaign
from fundraising.queries import DONATION_LIST_KEYS, count_donations, list_donations
from tests.factories import make_adjustment, make_campaign, make_donation, make_donor, make_fund

# reference, donor, date, amount, currency, method, campaign, status; inserted in this
# order, so on 2025-03-01 the id order is G05, G03, G04 (not the references' order).
GIFTS = [
    ("G01", "K1", "2024-12-31", "10.00", "EUR", "ideal", None, "paid"),
    ("G02", "K1", "2025-01-01", "20.00", "EUR", "card", "SPRING", "paid"),
    ("G05", "O1", "2025-03-01", "50.00", "EUR", "ideal", "SPRING", "partially_refunded"),
    ("G03", None, "2025-03-01", "30.00", "EUR", "cash", None, "paid"),
    ("G04", "K1", "2025-03-01", "40.00", "USD", "card", "AUTUMN", "refunded"),
    ("G06", "M1", "2025-06-30", "60.00", "EUR", "sepa_debit", "SPRING", "pending"),
    ("G07", "O1", "2025-07-01", "70.00", "EUR", "sepa_debit", None, "failed"),
    ("G08", "K1", "2025-12-31", "80.00", "EUR", "ideal", "AUTUMN", "disputed"),
    ("G09", "O1", "2026-01-01", "90.00", "EUR", "bank_transfer", "AUTUMN", "paid"),
    ("G10", "K1", "2026-02-15", "15.00", "EUR", "ideal", "SPRING", "refunded"),
]
ORDER = ["G01", "G02", "G05", "G03", "G04", "G06", "G07", "G08", "G09", "G10"]
# Taken back per donation, by hand from the adjustments made in `gifts`.
REFUNDED = {"G05": "15.00", "G04": "40.00", "G10": "15.00"}


@pytest.fixture
def gifts(session):
    campaigns: dict[str | None, Campaign | None] = {code: make_campaign(session, code=code) for code in ("SPRING", "AUTUMN")}
    water = make_fund(session, code="WATER")
    kept = make_donor(session, ref="K1")
    donors = {"K1": kept, "O1": make_donor(session, ref="O1"), None: None}
    # M1 was merged into K1: its gifts moved to K1, and its ref now finds K1.
    donors["M1"] = make_donor(session, ref="M1", merged_into_id=kept.id)
    made = {}
    for reference, donor, date, amount, currency, method, campaign, status in GIFTS:
        made[reference] = make_donation(
            session, reference=reference, donor=kept if donor == "M1" else donors[donor], date=date, amount=amount,
            currency=currency, method=method, campaign=campaigns.get(campaign), status=status,
            fund=water if reference == "G02" else None,
        )
    make_adjustment(session, made["G05"], kind="refund", amount="10.00", taken_back_cents=1000)
    make_adjustment(session, made["G05"], kind="refund", amount="5.00", taken_back_cents=500)
    make_adjustment(session, made["G04"], kind="refund", amount="40.00", taken_back_cents=4000)
    # An open dispute takes nothing back (yet).
    make_adjustment(session, made["G08"], kind="dispute_opened", amount="80.00", taken_back_cents=0)
    make_adjustment(session, made["G10"], kind="chargeback", amount="15.00", taken_back_cents=1500)
    session.commit()
    return made


def refs(session, **filters) -> list[str]:
    return [row["reference"] for row in list_donations(session, **filters)]


def expected(**filters) -> list[str]:
    """The same filters applied in Python to the GIFTS table."""
    donor = {"K1": "K1", "M1": "K1", "O1": "O1"}.get(filters.get("donor_ref") or "")
    rows = {g[0]: g for g in GIFTS}
    found = []
    for reference in ORDER:
        _, gift_donor, date, _, _, method, campaign, status = rows[reference]
        day = dt.date.fromisoformat(date)
        gift_donor = "K1" if gift_donor == "M1" else gift_donor
        if (("donor_ref" in filters and gift_donor != donor)
                or ("year" in filters and day.year != filters["year"])
                or ("campaign" in filters and campaign != filters["campaign"])
                or ("status" in filters and status != filters["status"])
                or ("method" in filters and method != filters["method"])
                or ("date_from" in filters and day < filters["date_from"])
                or ("date_to" in filters and day > filters["date_to"])):
            continue
        found.append(reference)
    return found


def test_all_of_them_by_date_then_id_with_every_key(session, gifts):
    rows = list(list_donations(session))
    assert [row["reference"] for row in rows] == ORDER
    assert all(tuple(row) == DONATION_LIST_KEYS for row in rows)
    g02 = rows[1]
    assert g02 == {"reference": "G02", "donor_ref": "K1", "date": "2025-01-01", "amount": "20.00", "currency": "EUR",
                   "method": "card", "campaign": "SPRING", "fund": "WATER", "kind": "gift", "status": "paid",
                   "refunded": "0.00", "source": "import"}
    assert rows[3]["donor_ref"] is None and rows[3]["campaign"] is None and rows[3]["fund"] is None
    assert {row["reference"]: row["refunded"] for row in rows if row["refunded"] != "0.00"} == REFUNDED
    assert [row["reference"] for row in list_donations(session, newest_first=True)] == ORDER[::-1]


def test_each_filter(session, gifts):
    assert refs(session, donor_ref="K1") == ["G01", "G02", "G04", "G06", "G08", "G10"]
    assert refs(session, donor_ref="M1") == refs(session, donor_ref="K1")  # the survivor's gifts
    assert refs(session, donor_ref="O1") == ["G05", "G07", "G09"]
    assert refs(session, year=2025) == ["G02", "G05", "G03", "G04", "G06", "G07", "G08"]
    assert refs(session, year=2023) == []
    assert refs(session, campaign="SPRING") == ["G02", "G05", "G06", "G10"]
    assert refs(session, status="refunded") == ["G04", "G10"]
    assert refs(session, status="dispute_lost") == []
    assert refs(session, method="ideal") == ["G01", "G05", "G08", "G10"]
    # Both ends of a date range are inclusive.
    assert refs(session, date_from=dt.date(2025, 3, 1)) == ["G05", "G03", "G04", "G06", "G07", "G08", "G09", "G10"]
    assert refs(session, date_to=dt.date(2025, 3, 1)) == ["G01", "G02", "G05", "G03", "G04"]
    assert refs(session, date_from=dt.date(2025, 3, 1), date_to=dt.date(2025, 3, 1)) == ["G05", "G03", "G04"]
    assert refs(session, date_from=dt.date(2025, 3, 2), date_to=dt.date(2025, 6, 29)) == []


FILTER_VALUES: dict[str, list[Any]] = {
    "donor_ref": ["K1", "M1", "O1"],
    "year": [2025, 2026],
    "campaign": ["SPRING", "AUTUMN"],
    "status": ["paid", "refunded", "pending"],
    "method": ["ideal", "card", "sepa_debit"],
    "date_from": [dt.date(2025, 3, 1)],
    "date_to": [dt.date(2025, 12, 31)],
}


def test_every_pair_of_filters_matches_python(session, gifts):
    checked = 0
    for first, second in itertools.combinations(FILTER_VALUES, 2):
        for a, b in itertools.product(FILTER_VALUES[first], FILTER_VALUES[second]):
            filters = {first: a, second: b}
            assert refs(session, **filters) == expected(**filters), filters
            checked += 1
    assert checked > 80
    everything = {"donor_ref": "M1", "year": 2025, "campaign": "AUTUMN", "status": "disputed", "method": "ideal",
                  "date_from": dt.date(2025, 12, 1), "date_to": dt.date(2025, 12, 31)}
    assert refs(session, **everything) == expected(**everything) == ["G08"]


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 5, 9, 10, 11])
def test_paging_through_everything_gives_each_row_once(session, gifts, limit):
    for newest_first in (False, True):
        seen, offset = [], 0
        while True:
            page = list(list_donations(session, limit=limit, offset=offset, newest_first=newest_first))
            assert len(page) <= limit
            seen += page
            if len(page) < limit:
                break
            offset += limit
        assert [row["reference"] for row in seen] == (ORDER[::-1] if newest_first else ORDER)
        # Each page sums only its own rows' refunds, whichever page they fall on.
        assert {row["reference"]: row["refunded"] for row in seen if row["refunded"] != "0.00"} == REFUNDED


def test_a_filtered_page(session, gifts):
    page = list(list_donations(session, year=2025, limit=2, offset=2))
    assert [row["reference"] for row in page] == ["G03", "G04"]
    assert [row["refunded"] for row in page] == ["0.00", "40.00"]
    assert list(list_donations(session, year=2025, limit=5, offset=7)) == []
    assert [row["reference"] for row in list_donations(session, status="refunded", limit=1, offset=1)] == ["G10"]


def test_streaming_in_batches_gives_the_same_rows(session, gifts, monkeypatch):
    whole = list(list_donations(session))
    monkeypatch.setattr(queries, "STREAM_BATCH", 3)
    assert list(list_donations(session)) == whole


def test_unknown_donor_or_campaign_is_refused_at_the_call(session, gifts):
    with pytest.raises(DonorNotFound):
        list_donations(session, donor_ref="NOBODY")
    with pytest.raises(CampaignNotFound):
        list_donations(session, campaign="NOPE", limit=10)
    with pytest.raises(CampaignNotFound):
        count_donations(session, campaign="NOPE")


def test_count_and_totals_per_currency(session, gifts):
    counted = count_donations(session)
    assert counted.count == 10
    # Received (not pending, not failed) in euro: 10 + 20 + 50 + 30 + 80 + 90 + 15, of
    # which 15 (G05) and 15 (G10) were taken back; in dollars 40, all taken back. The
    # pending 60 and the failed 70 are counted apart, never as money received.
    assert counted.received == [queries.ReceivedTotal("EUR", 7, 295_00, 30_00), queries.ReceivedTotal("USD", 1, 40_00, 40_00)]
    assert [t.net_cents for t in counted.received] == [265_00, 0]
    assert counted.not_received == [queries.NotReceivedTotal("pending", "EUR", 1, 60_00),
                                    queries.NotReceivedTotal("failed", "EUR", 1, 70_00)]
    spring = count_donations(session, campaign="SPRING", date_to=dt.date(2025, 12, 31))
    assert (spring.count, spring.received, spring.not_received) == (
        3, [queries.ReceivedTotal("EUR", 2, 70_00, 15_00)], [queries.NotReceivedTotal("pending", "EUR", 1, 60_00)])
    assert count_donations(session, year=2023) == queries.DonationCount(0)


def test_the_command_streams_the_same_json_as_one_document(session, gifts, cli):
    documents = list(list_donations(session))
    result = cli("donations", "list", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == json.dumps(documents, ensure_ascii=False, indent=2) + "\n"
    one = cli("donations", "list", "--json", "--donor", "M1", "--year", "2025", "--campaign", "SPRING")
    assert [item["reference"] for item in json.loads(one.stdout)] == ["G02", "G06"]
    empty = cli("donations", "list", "--json", "--year", "2023")
    assert (empty.exit_code, empty.stdout) == (0, "[]\n")
