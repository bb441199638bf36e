"""Who may open what: every page of the web application, for every role, signed
out, and with the headers and cookie a browser must get. Expected access is written
out by hand from the roles table in DESIGN.md, not taken from the code."""
from __future__ import annotations

import dataclasses
import re

from fastapi.routing import APIRoute
from sqlalchemy import func, select

from anbi.core.audit import AuditEntry
from anbi.core.roles import ROLES
from anbi.web.identity.models import SignInThrottle, WebSession
from tests.factories import make_campaign, make_donation, make_donor, make_grant
from tests.webapp.ui_support import Browser, page_text

ALL = set(ROLES)
DONOR_EDITORS = {"admin", "fundraiser"}
FINANCE_READERS = {"admin", "finance", "viewer"}
EXPORTERS = {"admin", "fundraiser", "finance"}
STATEMENT_RUNNERS = {"admin", "fundraiser", "finance"}
IMPORTERS = {"admin", "fundraiser", "finance"}

# path -> roles that may open it (DESIGN.md, Roles)
PAGES = {
    "/": ALL,
    "/donors": ALL,
    "/donors?q=Jansen": ALL,
    "/donors/duplicates": DONOR_EDITORS,
    "/donors/compare?a=WEB1&b=WEB2": DONOR_EDITORS,
    "/donors/WEB1": ALL,
    "/donors/WEB1/edit": DONOR_EDITORS,
    "/donors/WEB1/erase": {"admin"},
    "/campaigns": ALL,
    "/campaigns/SPRING": ALL,
    "/donations": ALL,
    "/donations?method=card&from=2025-01-01": ALL,
    "/donations.csv": EXPORTERS,
    "/donations/lapsed?list=sybunt&year=2026": ALL,
    "/donations/lapsed.csv?list=lybunt&year=2026": EXPORTERS,
    "/imports": IMPORTERS,
    "/grants": FINANCE_READERS,
    "/grants/G-WEB": FINANCE_READERS,
    "/grants/G-WEB/report.pdf": FINANCE_READERS,
    "/grants/G-WEB/report.xlsx": FINANCE_READERS,
    "/funds?year=2025": FINANCE_READERS,
    "/reports?year=2025": FINANCE_READERS,
    "/reports/income-2025.pdf": FINANCE_READERS,
    "/receipts": STATEMENT_RUNNERS,
}


def _data(session):
    campaign = make_campaign(session, code="SPRING", name="Voorjaar", goal="1000.00", channel="mail")
    first = make_donor(session, ref="WEB1", last_name="Jansen", iban="NL91ABNA0417164300")
    second = make_donor(session, ref="WEB2", last_name="Janssen")
    make_donation(session, donor=first, amount="25.00", date="2025-03-01", campaign=campaign, method="card")
    make_donation(session, donor=second, amount="10.00", date="2025-04-01")
    make_grant(session, reference="G-WEB", budget=[("STAFF", "Personeel", "5000.00")])
    session.commit()


def test_every_page_by_role_and_signed_out(web_app, session, sign_in):
    _data(session)
    browsers = {role: sign_in(role) for role in ROLES}
    anonymous = Browser(web_app)
    wrong = []
    for path, roles in PAGES.items():
        response = anonymous.get(path)
        location = response.headers.get("location", "")
        if response.status_code != 303 or not location.startswith("/login?next="):
            wrong.append(f"signed out {path}: {response.status_code} {location}")
        for role, browser in browsers.items():
            status = browser.get(path).status_code
            expected = 200 if role in roles else 403
            if status != expected:
                wrong.append(f"{role} {path}: {status}, expected {expected}")
    assert wrong == []


def test_signed_out_page_comes_back_after_sign_in(web_app, session):
    from tests.webapp.ui_support import make_user

    make_user(session, "viewer")
    browser = Browser(web_app)
    response = browser.get("/donors?q=Jansen")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fdonors%3Fq%3DJansen"
    login = browser.get(response.headers["location"])
    assert 'name="next" value="/donors?q=Jansen"' in login.text
    signed = browser.post("/login", {"email": "viewer@example.org", "password": "a long enough password",
                                     "next": "/donors?q=Jansen"})
    assert signed.status_code == 303 and signed.headers["location"] == "/donors?q=Jansen"


def test_a_forbidden_page_says_why_in_the_chosen_language(session, sign_in):
    browser = sign_in("viewer")
    response = browser.get("/imports")
    assert response.status_code == 403
    assert "Uw rol (viewer) geeft geen toegang tot deze pagina." in page_text(response.text)


def test_security_headers_and_cookie_flags(web_app, browser):
    response = browser.get("/login")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    # No outside origin anywhere in the policy.
    assert not re.search(r"https?://", csp) and "*" not in csp and "'unsafe-inline'" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("anbi_session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # this app is configured for plain-HTTP development
    css = browser.get("/static/app.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


def test_cookies_are_secure_outside_local_development(db_url, engine, tmp_path):
    from tests.webapp.ui_support import make_app, web_settings

    settings = web_settings(db_url, tmp_path)
    settings = dataclasses.replace(settings, web=dataclasses.replace(settings.web, secure_cookies=None))
    app = make_app(settings, engine)
    cookie = Browser(app).get("/login").headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_pages_load_nothing_from_another_origin(session, sign_in):
    _data(session)
    browser = sign_in("admin")
    for path in ("/", "/donors/WEB1", "/campaigns/SPRING", "/grants/G-WEB", "/imports", "/portal"):
        html = browser.get(path).text
        assert not re.search(r'(src|href)="(https?:)?//', html), path
        assert "<script" not in html and "style=" not in html, path


def test_every_form_post_is_refused_without_the_csrf_token(web_app, session, sign_in):
    """Each POST route of the web application, with a signed-in admin but no (or a
    wrong) token: 403 and nothing written."""
    _data(session)
    browser = sign_in("admin")
    from anbi.web.ui import routers

    routes = sorted({route.path for router in routers() for route in router.routes
                     if isinstance(route, APIRoute) and "POST" in (route.methods or ())})
    assert {"/login", "/logout", "/language", "/donors/{ref}/edit", "/donors/merge", "/donors/{ref}/erase",
            "/imports", "/imports/confirm", "/receipts", "/portal", "/portal/login", "/portal/logout",
            "/portal/details"} <= set(routes)
    before = session.scalar(select(func.count()).select_from(AuditEntry))
    wrong = []
    for path in routes:
        url = path.replace("{ref}", "WEB1")
        for data in ({}, {"csrf_token": "not-the-token"}):
            response = browser.client.post(url, data={**data, "keep": "WEB1", "duplicate": "WEB2", "year": "2025",
                                                      "confirm_ref": "WEB1", "email": "x@example.org"})
            if response.status_code != 403 or ("Form expired" not in response.text and "Formulier verlopen" not in response.text):
                wrong.append(f"{url} {data}: {response.status_code}")
    assert wrong == []
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == before
    # Still signed in: the refused sign-out did not sign out.
    assert browser.get("/donors").status_code == 200


def test_a_token_from_another_session_is_refused(web_app, session, sign_in):
    _data(session)
    admin = sign_in("admin")
    other = Browser(web_app)
    foreign_token = other.csrf("/login")
    response = admin.client.post("/donors/WEB1/edit", data={"csrf_token": foreign_token, "last_name": "Pietersen"})
    assert response.status_code == 403


def test_sign_in_rotates_the_session_and_sign_out_ends_it(web_app, session, sign_in):
    browser = sign_in("viewer")
    assert session.scalar(select(func.count()).select_from(WebSession)) == 1
    stolen_cookie = browser.client.cookies.get("anbi_session")
    response = browser.post("/logout", csrf_from="/donors")
    assert response.status_code == 303 and response.headers["location"] == "/login?msg=signed_out"
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(WebSession)) == 0
    # The old cookie opens nothing any more, even replayed.
    replay = Browser(web_app)
    replay.client.cookies.set("anbi_session", stolen_cookie)
    assert replay.get("/donors").status_code == 303


def test_wrong_password_and_unknown_address_get_the_same_answer(browser, session):
    from tests.webapp.ui_support import make_user

    make_user(session, "admin")
    wrong_password = browser.post("/login", {"email": "admin@example.org", "password": "not the password"})
    unknown = browser.post("/login", {"email": "nobody@example.org", "password": "not the password"})
    assert wrong_password.status_code == unknown.status_code == 400
    assert page_text(wrong_password.text).count("Onjuist e-mailadres of wachtwoord.") == 1
    assert "Onjuist e-mailadres of wachtwoord." in page_text(unknown.text)
    # Both failures are remembered for throttling (per account, account at this address, and the address).
    failures = dict(session.execute(select(SignInThrottle.key, SignInThrottle.failures)
                                    .where(SignInThrottle.scope == "account")).all())
    assert failures == {"admin@example.org": 1, "nobody@example.org": 1}


def test_sign_in_slows_down_and_a_right_password_after_the_delay_signs_in(browser, session):
    """Issue 13, item 13: five wrong passwords locked the address out for fifteen
    minutes, right password or not. Now each failure after the third makes the next
    try wait longer (1 s, 2 s, ...), and the right password after the wait signs in."""
    import time

    from tests.webapp.ui_support import make_user

    make_user(session, "admin")
    for _ in range(3):  # free; after the third, the next try waits 1 s
        assert browser.post("/login", {"email": "admin@example.org", "password": "wrong password!"}).status_code == 400
    waiting = browser.post("/login", {"email": "admin@example.org", "password": "a long enough password"})
    assert waiting.status_code == 429 and waiting.headers["Retry-After"] == "1"
    assert "Te veel mislukte pogingen. Probeer het over" in page_text(waiting.text)
    assert "seconden opnieuw" in page_text(waiting.text)
    time.sleep(int(waiting.headers["Retry-After"]) + 0.1)
    assert browser.post("/login", {"email": "admin@example.org", "password": "a long enough password"}).status_code == 303


def test_sign_in_is_throttled_per_client_address(browser, session, monkeypatch):
    from anbi.web.identity import users
    from tests.webapp.ui_support import make_user

    # Fewer free failures than the real 20, to keep the test quick; the rule is the same.
    monkeypatch.setitem(users.THROTTLE_RULES, "client", users.ThrottleRule(
        free=7, longest=users.THROTTLE_RULES["client"].longest, reset_by_success=False))
    make_user(session, "admin")
    for n in range(7):
        browser.post("/login", {"email": f"guess{n}@example.org", "password": "wrong password!"})
    response = browser.post("/login", {"email": "admin@example.org", "password": "a long enough password"})
    assert response.status_code == 429


def test_api_answers_and_pages_are_not_stored_by_caches(sign_in, web_app, session):
    from fastapi.testclient import TestClient

    from anbi.core.db import session_scope
    from anbi.web.identity.tokens import create_token

    browser = sign_in("viewer")
    assert browser.get("/donors").headers["cache-control"] == "no-store"
    with session_scope(web_app.state.engine) as s:
        token = create_token(s, role="viewer", name="t", actor="test").secret
    api = TestClient(web_app, base_url="http://testserver")
    answer = api.get("/api/v1/donors", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    assert api.get("/api/v1/donors").headers["cache-control"] == "no-store"  # the 401 too
    assert "no-store" not in api.get("/static/app.css").headers.get("cache-control", "")


def test_a_deactivated_user_is_signed_out_at_once(web_app, session, sign_in):
    from anbi.web.identity.users import set_active

    browser = sign_in("fundraiser")
    assert browser.get("/donors").status_code == 200
    set_active(session, "fundraiser@example.org", False, actor="test")
    session.commit()
    assert browser.get("/donors").status_code == 303
    assert browser.sign_in("fundraiser@example.org").status_code == 400


def test_language_switch_is_kept_in_the_session(browser, session):
    dutch = browser.get("/login")
    assert 'lang="nl"' in dutch.text and "Aanmelden" in dutch.text
    response = browser.post("/language", {"language": "en", "next": "/login"})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    english = browser.get("/login")
    assert 'lang="en"' in english.text and ">Sign in<" in english.text
    # An unknown language changes nothing; an outside address is not followed.
    response = browser.post("/language", {"language": "fr", "next": "https://evil.example/"}, csrf_from="/login")
    assert response.headers["location"] == "/"
    assert 'lang="en"' in browser.get("/login").text


def test_api_accepts_the_session_cookie_only_with_the_csrf_header_for_changes(web_app, session, sign_in):
    """The browser's session is a principal for the API too (anbi.web.identity.auth), but a
    request that changes something must carry X-CSRF-Token."""
    from anbi.web.identity.auth import Principal, current_principal
    from anbi.web.ui.common import session_user
    from starlette.requests import Request

    browser = sign_in("fundraiser")
    cookie = browser.client.cookies.get("anbi_session")
    csrf = web_app.state.web_codec.loads(cookie).csrf

    def principal(method: str, headers: dict) -> Principal | None:
        raw = [(b"cookie", f"anbi_session={cookie}".encode())] + [(k.encode(), v.encode()) for k, v in headers.items()]
        request = Request({"type": "http", "method": method, "path": "/api/v1/donors", "headers": raw,
                           "app": web_app, "query_string": b""})
        return session_user(request, session)

    got = principal("GET", {})
    assert got is not None
    assert got == Principal(kind="user", name="fundraiser@example.org", role="fundraiser", id=got.id)
    assert principal("POST", {}) is None
    assert principal("POST", {"x-csrf-token": "wrong"}) is None
    assert (found := principal("POST", {"x-csrf-token": csrf})) is not None and found.role == "fundraiser"
    assert current_principal.__name__ == "current_principal"


def test_a_form_larger_than_the_limit_is_refused_before_it_is_read(session, sign_in):
    from anbi.web.ui.common import MAX_FORM_BYTES

    _data(session)
    browser = sign_in("admin")
    token = browser.csrf("/donors/WEB1/edit")
    response = browser.client.post("/donors/WEB1/edit", data={"csrf_token": token, "street": "x" * (MAX_FORM_BYTES + 1)})
    assert response.status_code == 413
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.entity_ref == "WEB1")) == 0
