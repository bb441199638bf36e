"""The REST API under /api/v1 on both databases: every endpoint for every role
(401/403/2xx), validation errors naming the field, pagination, body size."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anbi.core.db import utcnow
from donors.models import ConsentEvent, Donor
from fundraising.models import Campaign, Donation
from tests.factories import make_adjustment, make_campaign, make_donation, make_donor


def auth(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def count(engine, model, *where) -> int:
    with Session(engine) as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


@pytest.fixture
def seeded(session):
    donor = make_donor(session, ref="D1", first_name="Anna", last_name="Bakker", iban="NL91ABNA0417164300",
                       email="anna@example.nl")
    make_campaign(session, code="SPRING", name="Voorjaar")
    make_donation(session, donor=donor, reference="R1", amount="25.00", date="2025-03-01")
    session.commit()
    return donor


DONOR_BODY = {"ref": "NEW1", "first_name": "Piet", "last_name": "Jansen", "postcode": "1017gc", "country": "NL"}
DONATION_BODY = {"reference": "ext-1", "donor_ref": "D1", "date": "2025-04-01", "amount": "12.50", "method": "bank_transfer"}
CAMPAIGN_BODY = {"code": "AUTUMN", "name": "Najaar", "goal": "1000.00"}

# (method, path, body, who may)
ENDPOINTS = [
    ("GET", "/api/v1/donors", None, {"admin", "fundraiser", "finance", "viewer"}),
    ("GET", "/api/v1/donors/D1", None, {"admin", "fundraiser", "finance", "viewer"}),
    ("POST", "/api/v1/donors", DONOR_BODY, {"admin", "fundraiser"}),
    ("PATCH", "/api/v1/donors/D1", {"city": "Utrecht"}, {"admin", "fundraiser"}),
    ("GET", "/api/v1/donations", None, {"admin", "fundraiser", "finance", "viewer"}),
    ("GET", "/api/v1/donations/R1", None, {"admin", "fundraiser", "finance", "viewer"}),
    ("POST", "/api/v1/donations", DONATION_BODY, {"admin", "fundraiser"}),
    ("GET", "/api/v1/campaigns", None, {"admin", "fundraiser", "finance", "viewer"}),
    ("GET", "/api/v1/campaigns/SPRING", None, {"admin", "fundraiser", "finance", "viewer"}),
    ("POST", "/api/v1/campaigns", CAMPAIGN_BODY, {"admin", "fundraiser"}),
]
SUCCESS = {"GET": 200, "POST": 201, "PATCH": 200}


@pytest.mark.parametrize("method, path, body, who", ENDPOINTS, ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
def test_every_endpoint_for_every_role(web_client, api_token, seeded, method, path, body, who):
    tokens = {role: api_token(role) for role in ("admin", "fundraiser", "finance", "viewer")}
    assert web_client.request(method, path, json=body).status_code == 401
    assert web_client.request(method, path, json=body, headers=auth("anbi_not-a-real-token")).status_code == 401
    # Forbidden roles first: a 403 must write nothing the allowed role would then collide with.
    for role in sorted(set(tokens) - who):
        response = web_client.request(method, path, json=body, headers=auth(tokens[role]))
        assert response.status_code == 403, (role, response.text)
    for role in sorted(who):
        response = web_client.request(method, path, json=body, headers=auth(tokens[role]))
        expected = SUCCESS[method]
        if method == "POST" and role != sorted(who)[0]:
            # The same create again: donors and campaigns refuse a second one (409),
            # a donation with the same reference is the same donation (200).
            expected = 200 if path.endswith("donations") else 409
        assert response.status_code == expected, (role, response.text)


def test_unauthenticated_answer_names_the_scheme(web_client):
    response = web_client.get("/api/v1/donors")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_revoked_token_stops_working(web_client, api_token, engine, seeded):
    from anbi.core.db import session_scope
    from anbi.web.identity.tokens import find_token, revoke_token

    secret = api_token("admin")
    assert web_client.get("/api/v1/donors", headers=auth(secret)).status_code == 200
    with session_scope(engine) as session:
        revoke_token(session, secret[:12], actor="tester")
    assert web_client.get("/api/v1/donors", headers=auth(secret)).status_code == 401
    with session_scope(engine) as session:
        assert find_token(session, secret[:12]).last_used_at is not None


def test_viewer_never_sees_an_iban(web_client, api_token, seeded):
    viewer = web_client.get("/api/v1/donors/D1", headers=auth(api_token("viewer"))).json()
    fundraiser = web_client.get("/api/v1/donors/D1", headers=auth(api_token("fundraiser"))).json()
    assert "iban" not in viewer
    assert fundraiser["iban"] == "NL91ABNA0417164300"
    assert viewer["name"] == "Anna Bakker"


def test_health_and_openapi(web_client):
    assert web_client.get("/healthz").json() == {"status": "ok"}
    schema = web_client.get("/api/openapi.json").json()
    assert {"/api/v1/donors", "/api/v1/donations", "/api/v1/campaigns", "/api/v1/donors/{ref}"} <= set(schema["paths"])
    assert "/webhooks/stripe" not in schema["paths"]


# --- donors --------------------------------------------------------------------------


def test_donor_list_pages_and_hides_merged_restricted_and_purged(web_client, api_token, session):
    for ref, last in [("A1", "Aalders"), ("A2", "Bos"), ("A3", "Claassen"), ("A4", "Dekker"), ("A5", "Evers")]:
        make_donor(session, ref=ref, last_name=last, sort_name=last.lower())
    kept = session.scalar(select(Donor).where(Donor.ref == "A1"))
    make_donor(session, ref="M1", last_name="Merged", sort_name="merged", merged_into_id=kept.id)
    make_donor(session, ref="R1", last_name="Restricted", sort_name="restricted", restricted_at=utcnow())
    make_donor(session, ref="P1", last_name="Purged", sort_name="purged", purged_at=utcnow())
    session.commit()
    token = auth(api_token("viewer"))
    first = web_client.get("/api/v1/donors?limit=2", headers=token).json()
    assert [d["ref"] for d in first["items"]] == ["A1", "A2"]
    assert (first["total"], first["next_offset"]) == (5, 2)
    last = web_client.get("/api/v1/donors?limit=2&offset=4", headers=token).json()
    assert [d["ref"] for d in last["items"]] == ["A5"]
    assert last["next_offset"] is None
    assert set(last["items"][0]) == {"ref", "kind", "name", "postcode", "city", "country", "email"}
    assert web_client.get("/api/v1/donors/R1", headers=token).status_code == 404
    assert web_client.get("/api/v1/donors?q=claas", headers=token).json()["total"] == 1


@pytest.mark.parametrize("path", ["/api/v1/donors", "/api/v1/donations"])
@pytest.mark.parametrize("query", ["limit=0", "limit=501", "offset=-1", "limit=ten", "offset=1000000001",
                                   "offset=12816764405452301286768640"])
def test_bad_paging_is_422_naming_the_parameter(web_client, api_token, path, query):
    """An offset past any 64-bit integer once reached the database (a 500)."""
    response = web_client.get(f"{path}?{query}", headers=auth(api_token("viewer")))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", query.split("=")[0]]


def test_the_schema_lists_every_answer_an_endpoint_gives(web_client):
    """401 and 403 everywhere, 404 where a thing is looked up, 409 and 413 where a body is sent."""
    paths = web_client.get("/api/openapi.json").json()["paths"]
    answers = {(method, path): set(operation["responses"]) for path, item in paths.items() for method, operation in item.items()}
    assert all({"401", "403"} <= codes for codes in answers.values())
    for method, path in [("get", "/api/v1/donors/{ref}"), ("patch", "/api/v1/donors/{ref}"), ("get", "/api/v1/donations"),
                         ("get", "/api/v1/donations/{reference}"), ("get", "/api/v1/campaigns/{code}")]:
        assert "404" in answers[method, path], (method, path)
    for path in ["/api/v1/donors", "/api/v1/donations", "/api/v1/campaigns"]:
        assert {"409", "413", "422"} <= answers["post", path], path
    assert "409" in answers["get", "/api/v1/donations/{reference}"]  # a reference of several sources
    assert "200" in answers["post", "/api/v1/donations"]  # a replay


def test_create_donor_through_the_importer_rules(web_client, api_token, engine):
    body = {"ref": "API1", "first_name": "Jan", "prefix": "Van der", "last_name": "Berg", "postcode": "1017gc",
            "email": "jan@EXAMPLE.nl", "consent_email": True, "tags": ["major", "2025"]}
    response = web_client.post("/api/v1/donors", json=body, headers=auth(api_token("fundraiser", "crm sync")))
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["prefix"], created["postcode"], created["email"], created["country"]) == ("van der", "1017 GC", "jan@example.nl", "NL")
    assert created["sort_name"] == "berg, van der, jan"
    assert created["tags"] == ["2025", "major"]
    assert created["consent"]["email"]["granted"] is True
    with Session(engine) as s:
        event = s.execute(select(ConsentEvent)).scalar_one()
        assert event.source == "api:crm sync"


def test_update_donor_changes_only_given_fields(web_client, api_token, seeded, engine):
    response = web_client.patch("/api/v1/donors/D1", json={"city": "Utrecht", "email": None},
                                headers=auth(api_token("admin")))
    assert response.status_code == 200, response.text
    assert (response.json()["city"], response.json()["email"]) == ("Utrecht", "anna@example.nl")


@pytest.mark.parametrize("body, field", [
    ({"ref": "X1", "last_name": "Vos", "email": "not-an-address"}, "email"),
    ({"ref": "X1", "last_name": "Vos", "iban": "NL00ABNA0000000000"}, "iban"),
    ({"ref": "X1", "last_name": "Vos", "postcode": "12345"}, "postcode"),
    ({"ref": "X1", "first_name": "Vos"}, "last_name"),
    ({"ref": "X1", "kind": "organisation"}, "organisation"),
    ({"ref": "X1", "last_name": "Vos", "tags": "a|b"}, "tags"),
    ({"ref": "X1", "last_name": 12}, "last_name"),
    ({"ref": "X1", "last_name": "Vos", "shoe_size": "44"}, "shoe_size"),
    ({"ref": "X1", "last_name": "Vos", "consent_post": "yes"}, "consent_post"),
])
def test_donor_validation_is_422_naming_the_field_and_writes_nothing(web_client, api_token, engine, body, field):
    response = web_client.post("/api/v1/donors", json=body, headers=auth(api_token("admin")))
    assert response.status_code == 422, response.text
    assert field in [entry["loc"][-1] for entry in response.json()["detail"]]
    assert count(engine, Donor) == 0


def test_existing_ref_is_a_conflict(web_client, api_token, seeded):
    response = web_client.post("/api/v1/donors", json={"ref": "D1", "last_name": "X"}, headers=auth(api_token("admin")))
    assert response.status_code == 409
    assert "PATCH" in response.json()["detail"]


# --- donations ---------------------------------------------------------------------------


def test_create_donation_books_with_source_api_and_replays(web_client, api_token, seeded, engine):
    body = {**DONATION_BODY, "campaign": "SPRING", "fund": "WATER", "date": "01-04-2025"}
    token = auth(api_token("fundraiser"))
    first = web_client.post("/api/v1/donations", json=body, headers=token)
    assert first.status_code == 201, first.text
    made = first.json()
    assert (made["source"], made["amount"], made["date"], made["campaign"], made["fund"], made["donor_ref"]) == (
        "api", "12.50", "2025-04-01", "SPRING", "WATER", "D1")
    assert web_client.post("/api/v1/donations", json=body, headers=token).status_code == 200
    conflict = web_client.post("/api/v1/donations", json={**body, "amount": "13.00"}, headers=token)
    assert conflict.status_code == 409
    assert count(engine, Donation, Donation.source == "api") == 1


def test_purchase_without_consideration_is_all_consideration(web_client, api_token, seeded):
    body = {**DONATION_BODY, "kind": "purchase", "amount": "30.00"}
    made = web_client.post("/api/v1/donations", json=body, headers=auth(api_token("admin"))).json()
    shown = web_client.get(f"/api/v1/donations/{made['reference']}?source=api", headers=auth(api_token("viewer"))).json()
    assert shown["consideration"] == "30.00"


@pytest.mark.parametrize("change, field", [
    ({"amount": "-5.00"}, "amount"),
    ({"amount": "1.234"}, "amount"),
    ({"amount": 12.5}, "amount"),
    ({"amount": "abc"}, "amount"),
    ({"campaign": "NOPE"}, "campaign"),
    ({"donor_ref": "NOPE"}, "donor_ref"),
    ({"date": "2025-13-01"}, "date"),
    ({"method": "bitcoin"}, "method"),
    ({"consideration": "99.00"}, "consideration"),
    ({"agreement": "PG-0000-0001"}, "agreement"),
    ({"currency": 978}, "currency"),
    ({"unknown": 1}, "unknown"),
    ({"reference": "ext\x00-1"}, "reference"),  # PostgreSQL cannot store a NUL: once a 500 there
    ({"campaign": "\x07"}, "campaign"),
])
def test_donation_validation_is_422_naming_the_field_and_writes_nothing(web_client, api_token, seeded, engine, change, field):
    response = web_client.post("/api/v1/donations", json={**DONATION_BODY, **change}, headers=auth(api_token("admin")))
    assert response.status_code == 422, response.text
    assert field in [entry["loc"][-1] for entry in response.json()["detail"]]
    assert count(engine, Donation, Donation.source == "api") == 0


def test_donation_list_filters_and_pages(web_client, api_token, session):
    donor = make_donor(session, ref="F1")
    other = make_donor(session, ref="F2")
    spring = make_campaign(session, code="SPR")
    make_donation(session, donor=donor, reference="A", date="2024-12-31", amount="10.00")
    make_donation(session, donor=donor, reference="B", date="2025-01-15", amount="20.00", campaign=spring)
    refunded = make_donation(session, donor=donor, reference="C", date="2025-02-01", amount="30.00", status="refunded")
    make_adjustment(session, refunded, amount="30.00")
    make_donation(session, donor=other, reference="D", date="2025-03-01", amount="40.00", campaign=spring)
    session.commit()
    token = auth(api_token("finance"))

    def refs(query):
        return [d["reference"] for d in web_client.get(f"/api/v1/donations?{query}", headers=token).json()["items"]]

    assert refs("") == ["A", "B", "C", "D"]
    assert refs("year=2025") == ["B", "C", "D"]
    assert refs("campaign=SPR") == ["B", "D"]
    assert refs("donor=F1&year=2025") == ["B", "C"]
    assert refs("status=refunded") == ["C"]
    page = web_client.get("/api/v1/donations?limit=3&offset=1", headers=token).json()
    assert [d["reference"] for d in page["items"]] == ["B", "C", "D"] and page["next_offset"] is None
    page = web_client.get("/api/v1/donations?limit=2", headers=token).json()
    assert page["next_offset"] == 2
    c = web_client.get("/api/v1/donations?status=refunded", headers=token).json()["items"][0]
    assert (c["amount"], c["refunded"], c["status"]) == ("30.00", "30.00", "refunded")
    assert web_client.get("/api/v1/donations?campaign=NONE", headers=token).status_code == 404
    assert web_client.get("/api/v1/donations?status=lost", headers=token).status_code == 422


# --- campaigns ----------------------------------------------------------------------------


def test_campaign_create_and_show(web_client, api_token, engine):
    token = auth(api_token("fundraiser"))
    body = {"code": "XMAS25", "name": "Kerst 2025", "channel": "mail", "start": "2025-12-01", "goal": "25.000,00", "cost": "1500"}
    response = web_client.post("/api/v1/campaigns", json=body, headers=token)
    assert response.status_code == 201, response.text
    shown = response.json()
    assert (shown["code"], shown["goal"], shown["cost"], shown["start"], shown["channel"]) == (
        "XMAS25", "25000.00", "1500.00", "2025-12-01", "mail")
    assert shown["report"]["gross"] == "0.00"
    listed = web_client.get("/api/v1/campaigns", headers=token).json()
    assert [c["code"] for c in listed["items"]] == ["XMAS25"]
    assert web_client.get("/api/v1/campaigns/NOPE", headers=token).status_code == 404


@pytest.mark.parametrize("change, field", [
    ({"goal": "1.234"}, "goal"),
    ({"goal": "-100"}, "goal"),
    ({"start": "tomorrow"}, "start"),
    ({"parent": "NOPE"}, "parent"),
    ({"channel": "radio"}, "channel"),
    ({"code": "bad code!"}, "code"),
])
def test_campaign_validation_is_422_naming_the_field(web_client, api_token, engine, change, field):
    response = web_client.post("/api/v1/campaigns", json={**CAMPAIGN_BODY, **change}, headers=auth(api_token("admin")))
    assert response.status_code == 422, response.text
    assert field in [entry["loc"][-1] for entry in response.json()["detail"]]
    assert count(engine, Campaign) == 0


# --- size --------------------------------------------------------------------------------


def test_oversized_body_is_413_and_writes_nothing(web_client, api_token, engine):
    body = b'{"ref": "BIG", "last_name": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    response = web_client.post("/api/v1/donors", content=body, headers={**auth(api_token("admin")), "Content-Type": "application/json"})
    assert response.status_code == 413
    assert count(engine, Donor) == 0


def test_oversized_body_without_length_is_413(web_client, api_token, engine):
    def chunks():
        for _ in range(20):
            yield b"x" * 100_000

    response = web_client.post("/api/v1/donations", content=chunks(),
                               headers={**auth(api_token("admin")), "Content-Type": "application/json"})
    assert response.status_code == 413
    assert count(engine, Donation) == 0


def test_a_signed_in_user_of_the_web_application_is_a_principal_too(web_client, engine, seeded):
    """The browser's session cookie works for the API; a change also needs the CSRF token."""
    from anbi.core.db import session_scope
    from anbi.web.identity.security import CookieState
    from anbi.web.identity.users import create_user, open_session

    with session_scope(engine) as s:
        user = create_user(s, "fondsenwerver@example.org", "fundraiser", "een lang wachtwoord 2025", actor="tester")
        key = open_session(s, user=user).key
    cookie = web_client.app.state.web_codec.dumps(CookieState(session_key=key, csrf="csrf-token-of-this-session"))
    web_client.cookies.set("anbi_session", cookie)
    try:
        assert web_client.get("/api/v1/donors").status_code == 200
        body = {"code": "BROWSER", "name": "Uit de browser"}
        assert web_client.post("/api/v1/campaigns", json=body).status_code == 401
        created = web_client.post("/api/v1/campaigns", json=body, headers={"X-CSRF-Token": "csrf-token-of-this-session"})
        assert created.status_code == 201, created.text
        assert web_client.get("/api/v1/donors/D1").json()["iban"] == "NL91ABNA0417164300"  # fundraisers see IBANs
    finally:
        web_client.cookies.clear()
    with Session(engine) as s:
        from anbi.core.audit import AuditEntry

        assert s.scalar(select(AuditEntry.actor).where(AuditEntry.action == "campaign.add")) == "user:fondsenwerver@example.org"


@pytest.mark.parametrize("method, path, body, loc", [
    ("post", "/api/v1/donors", {"ref": "N1", "last_name": "Jan\x00sen"}, ["body", "last_name"]),
    ("post", "/api/v1/donors", {"ref": "N1", "last_name": "Jansen", "tags": ["ok", "n\x00"]}, ["body", "tags"]),
    ("patch", "/api/v1/donors/D1", {"city": "Zwolle\x00"}, ["body", "city"]),
    ("post", "/api/v1/campaigns", {"code": "C1", "name": "Na\x1bjaar"}, ["body", "name"]),
    ("get", "/api/v1/donors?q=jan%00sen", None, ["query", "q"]),
    ("get", "/api/v1/donations?campaign=%00", None, ["query", "campaign"]),
    ("get", "/api/v1/donors/D1%00", None, ["path", "ref"]),
])
def test_control_characters_are_422_naming_the_field_and_write_nothing(web_client, api_token, seeded, engine, method, path,
                                                                        body, loc):
    """A NUL cannot be stored in PostgreSQL (it was a 500 there); none of the control
    characters belongs in a name, a code or a search."""
    before = (count(engine, Donor), count(engine, Campaign))
    response = web_client.request(method.upper(), path, json=body, headers=auth(api_token("admin")))
    assert response.status_code == 422, response.text
    assert [entry["loc"][:2] for entry in response.json()["detail"]] == [loc]
    assert "control character" in response.json()["detail"][0]["msg"]
    assert (count(engine, Donor), count(engine, Campaign)) == before
