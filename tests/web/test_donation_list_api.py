"""GET /api/v1/donations on both databases: every filter in the query string,
paging with the has-more flag (`next_offset`), refunds on the page, 422 naming the
parameter, and who may call it."""
from __future__ import annotations

import pytest

from tests.factories import make_adjustment, make_campaign, make_donation, make_donor
from tests.web.test_api import auth

# reference, donor, date, amount, method, campaign, status (inserted in this order).
GIFTS = [
    ("P01", "A", "2025-01-05", "10.00", "ideal", "SPR", "paid"),
    ("P02", "B", "2025-01-05", "11.00", "card", None, "paid"),
    ("P03", "A", "2025-02-10", "12.00", "ideal", "SPR", "refunded"),
    ("P04", "B", "2025-02-28", "13.00", "cash", None, "paid"),
    ("P05", "A", "2025-03-01", "14.00", "card", "SPR", "partially_refunded"),
    ("P06", "B", "2025-03-01", "15.00", "ideal", None, "pending"),
    ("P07", "A", "2025-03-31", "16.00", "ideal", None, "paid"),
    ("P08", "B", "2025-04-01", "17.00", "sepa_debit", "SPR", "failed"),
    ("P09", "A", "2025-05-20", "18.00", "ideal", "SPR", "paid"),
    ("P10", "B", "2025-06-01", "19.00", "card", None, "paid"),
    ("P11", "A", "2025-06-01", "20.00", "ideal", "SPR", "refunded"),
    ("P12", "B", "2026-01-01", "21.00", "ideal", None, "paid"),
]
ALL = [gift[0] for gift in GIFTS]


@pytest.fixture
def gifts(session):
    spring = make_campaign(session, code="SPR")
    donors = {ref: make_donor(session, ref=ref) for ref in ("A", "B")}
    merged = make_donor(session, ref="OLD-A", merged_into_id=donors["A"].id)
    made = {}
    for reference, donor, date, amount, method, campaign, status in GIFTS:
        made[reference] = make_donation(session, reference=reference, donor=donors[donor], date=date, amount=amount,
                                        method=method, campaign=spring if campaign else None, status=status)
    make_adjustment(session, made["P03"], amount="12.00", taken_back_cents=1200)
    make_adjustment(session, made["P05"], amount="4.00", taken_back_cents=400)
    make_adjustment(session, made["P05"], amount="3.00", taken_back_cents=300)
    make_adjustment(session, made["P11"], amount="20.00", taken_back_cents=2000)
    session.commit()
    return merged


@pytest.fixture
def get(web_client, api_token):
    token = auth(api_token("viewer"))

    def call(query: str = ""):
        return web_client.get(f"/api/v1/donations?{query}", headers=token)

    return call


def refs(get, query: str) -> list[str]:
    response = get(query)
    assert response.status_code == 200, response.text
    return [item["reference"] for item in response.json()["items"]]


def test_new_filters_method_and_dates(get, gifts):
    assert refs(get, "method=card") == ["P02", "P05", "P10"]
    assert refs(get, "method=cash") == ["P04"]
    assert refs(get, "method=bancontact") == []
    assert refs(get, "date_from=2025-03-01&date_to=2025-03-31") == ["P05", "P06", "P07"]
    assert refs(get, "date_from=01-03-2025&date_to=31-03-2025") == ["P05", "P06", "P07"]  # day first, as in bodies
    assert refs(get, "date_from=2025-06-01") == ["P10", "P11", "P12"]
    assert refs(get, "date_to=2025-01-05") == ["P01", "P02"]
    assert refs(get, "date_from=2025-04-02&date_to=2025-04-02") == []


def test_filters_combined(get, gifts):
    assert refs(get, "donor=A&method=ideal&status=paid") == ["P01", "P07", "P09"]
    assert refs(get, "donor=OLD-A&method=ideal&status=paid") == ["P01", "P07", "P09"]  # merged: the survivor
    assert refs(get, "campaign=SPR&date_from=2025-02-01&date_to=2025-05-31") == ["P03", "P05", "P08", "P09"]
    assert refs(get, "year=2025&method=ideal&date_from=2025-03-01") == ["P06", "P07", "P09", "P11"]
    assert refs(get, "year=2026&date_to=2025-12-31") == []
    assert refs(get, "status=refunded&campaign=SPR&donor=A") == ["P03", "P11"]


def test_refunds_are_summed_for_the_rows_on_the_page(get, gifts):
    page = get("limit=3&offset=2").json()["items"]
    assert [(i["reference"], i["status"], i["refunded"]) for i in page] == [
        ("P03", "refunded", "12.00"), ("P04", "paid", "0.00"), ("P05", "partially_refunded", "7.00")]
    last = get("status=refunded&offset=1").json()["items"]
    assert [(i["reference"], i["amount"], i["refunded"]) for i in last] == [("P11", "20.00", "20.00")]


@pytest.mark.parametrize("limit", [1, 2, 5, 6, 11, 12, 13])
def test_paging_through_everything(get, gifts, limit):
    seen, offset, pages = [], 0, 0
    while True:
        page = get(f"limit={limit}&offset={offset}").json()
        assert (page["limit"], page["offset"]) == (limit, offset)
        seen += [item["reference"] for item in page["items"]]
        pages += 1
        if page["next_offset"] is None:
            break
        # A next page is announced only when there is a row on it.
        assert page["next_offset"] == offset + limit and len(page["items"]) == limit
        offset = page["next_offset"]
    assert seen == ALL
    assert pages == -(-len(ALL) // limit)


def test_has_more_at_the_boundary_of_a_filtered_list(get, gifts):
    # Six of A's gifts: two full pages of three, the second says there is no more.
    first = get("donor=A&limit=3").json()
    assert [i["reference"] for i in first["items"]] == ["P01", "P03", "P05"] and first["next_offset"] == 3
    second = get("donor=A&limit=3&offset=3").json()
    assert [i["reference"] for i in second["items"]] == ["P07", "P09", "P11"] and second["next_offset"] is None
    past = get("donor=A&limit=3&offset=6").json()
    assert (past["items"], past["next_offset"]) == ([], None)


@pytest.mark.parametrize("query, field", [
    ("date_from=2025-13-01", "date_from"),
    ("date_from=yesterday", "date_from"),
    ("date_to=31-02-2025", "date_to"),
    ("date_from=2025-04-01&date_to=2025-03-01", "date_from"),
    ("method=bitcoin", "method"),
    ("status=lost", "status"),
    ("year=twenty", "year"),
    ("year=1800", "year"),
    ("limit=0", "limit"),
    ("limit=501", "limit"),
    ("offset=-1", "offset"),
])
def test_bad_parameters_are_422_naming_the_parameter(get, gifts, query, field):
    response = get(query)
    assert response.status_code == 422, response.text
    assert [entry["loc"] for entry in response.json()["detail"]] == [["query", field]]


def test_unknown_donor_or_campaign_is_404(get, gifts):
    assert get("donor=NOBODY").status_code == 404
    assert get("campaign=NOPE&method=ideal").status_code == 404


def test_only_with_a_valid_token_whatever_the_parameters(web_client, gifts):
    for query in ("method=ideal&date_from=2025-01-01", "date_from=2025-04-01&date_to=2025-03-01", "method=bitcoin"):
        assert web_client.get(f"/api/v1/donations?{query}").status_code == 401
        assert web_client.get(f"/api/v1/donations?{query}", headers=auth("anbi_not-a-real-token")).status_code == 401


def test_the_schema_names_the_new_parameters(web_client):
    parameters = web_client.get("/api/openapi.json").json()["paths"]["/api/v1/donations"]["get"]["parameters"]
    assert {"limit", "offset", "donor", "year", "campaign", "status", "method", "date_from", "date_to"} == {
        p["name"] for p in parameters}
