"""The hosts the service answers for, the links in e-mail, and several workers
(issue 13, items 8 and 11).

Links in mail come only from `[web] base_url`; `anbi serve` refuses a non-loopback
address without it; requests naming another host are refused except the health
check; more than one worker needs a configured secret key of at least 32
characters."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from anbi.core.errors import ConfigurationError
from anbi.web.identity.security import host_name, web_config
from tests.factories import make_donor, search
from tests.webapp.ui_support import SECRET, Browser, make_app, make_user, web_settings

URL = "https://crm.voorbeeld.example"
KEY = "k" * 32


# --- the settings, decided ----------------------------------------------------------


def test_serving_on_a_public_address_needs_a_base_url():
    with pytest.raises(ConfigurationError) as refused:
        web_config({"secret_key": KEY}, "0.0.0.0", port=8000)
    assert "base_url" in str(refused.value) and "ANBI_WEB_BASE_URL" in str(refused.value)
    config = web_config({"secret_key": KEY, "base_url": URL + "/"}, "0.0.0.0", port=8000)
    assert (config.base_url, config.allowed_hosts) == (URL, frozenset({"crm.voorbeeld.example"}))


@pytest.mark.parametrize("host, base_url", [("127.0.0.1", "http://127.0.0.1:8123"), ("localhost", "http://localhost:8123"),
                                            ("::1", "http://[::1]:8123")])
def test_on_loopback_the_base_url_is_the_served_address(host, base_url):
    config = web_config({}, host, port=8123)
    assert config.base_url == base_url
    assert config.allowed_hosts == frozenset({"127.0.0.1", "localhost", "::1"})
    behind_a_proxy = web_config({"base_url": URL}, host, port=8123)
    assert behind_a_proxy.base_url == URL
    assert behind_a_proxy.allowed_hosts == frozenset({"crm.voorbeeld.example", "127.0.0.1", "localhost", "::1"})


def test_an_app_built_without_serving_checks_hosts_only_with_a_base_url():
    assert web_config({}, None).allowed_hosts is None and web_config({}, None).base_url is None
    assert web_config({"base_url": URL}, None).allowed_hosts == frozenset({"crm.voorbeeld.example"})


@pytest.mark.parametrize("value", ["crm.voorbeeld.example", "ftp://crm.example", "https://", "https://x.example/?a=1"])
def test_a_base_url_that_is_not_an_address_is_refused(value):
    with pytest.raises(ConfigurationError, match="base_url"):
        web_config({"secret_key": KEY, "base_url": value}, "0.0.0.0")


@pytest.mark.parametrize("length", [16, 20, 31])
def test_a_secret_key_shorter_than_32_characters_is_refused(length):
    with pytest.raises(ConfigurationError, match=f"too short \\({length} characters\\): use at least 32"):
        web_config({"secret_key": "k" * length}, "127.0.0.1")
    assert web_config({"secret_key": "k" * 32}, "127.0.0.1").secret_key == "k" * 32


@pytest.mark.parametrize("host", ["127.0.0.1", None])
def test_more_than_one_worker_needs_a_configured_secret_key(host):
    with pytest.raises(ConfigurationError, match="2 workers need one \\[web\\] secret_key"):
        web_config({}, host, port=8000, workers=2)
    assert not web_config({"secret_key": KEY}, host, port=8000, workers=2).ephemeral_secret


@pytest.mark.parametrize("header, host", [("crm.example", "crm.example"), ("CRM.Example:443", "crm.example"),
                                          ("[::1]:8000", "::1"), ("127.0.0.1:8000", "127.0.0.1"), ("", "")])
def test_the_host_of_a_host_header(header, host):
    assert host_name(header) == host


# --- requests for other hosts --------------------------------------------------------


@pytest.fixture
def served(db_url, engine, tmp_path):
    """The app as `anbi serve --host 0.0.0.0` builds it, with base_url https://giften.example.org."""
    from anbi.web.app import create_app

    settings = web_settings(db_url, tmp_path, base_url="https://giften.example.org")
    app = create_app(settings, engine=engine, host="0.0.0.0", port=8000)
    from tests.webapp.ui_support import CapturingMailer

    app.state.mailer = CapturingMailer()
    return app


@pytest.mark.parametrize("path", ["/", "/login", "/portal", "/api/v1/donors", "/api/openapi.json", "/static/app.css"])
def test_a_request_for_another_host_is_refused(served, path):
    client = TestClient(served, base_url="https://evil.example", follow_redirects=False)
    response = client.get(path)
    assert (response.status_code, response.text) == (400, "Invalid host header")
    assert client.post("/webhooks/stripe", content=b"{}").status_code == 400
    # A forged Host on the right address is refused the same way.
    right = TestClient(served, base_url="https://giften.example.org", follow_redirects=False)
    assert right.get(path, headers={"Host": "evil.example"}).status_code == 400
    assert right.get(path).status_code in (200, 303, 401)


def test_the_health_check_answers_any_host(served):
    for base in ("https://evil.example", "http://10.0.0.7:8000", "https://giften.example.org"):
        response = TestClient(served, base_url=base).get("/healthz")
        assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_the_portal_link_comes_from_base_url_never_from_the_host_header(served, session):
    make_donor(session, ref="P1", email="anna@example.nl")
    session.commit()
    browser = Browser(served, "https://giften.example.org")
    response = browser.post("/portal", {"email": "anna@example.nl"}, csrf_from="/portal",
                            headers={"X-Forwarded-Host": "evil.example"})
    assert response.status_code == 200
    (message,) = served.state.mailer.sent
    assert re.search(r"https://giften\.example\.org/portal/login/[A-Za-z0-9_-]{40,}", message.get_content())
    assert "evil" not in message.get_content()


def test_without_a_base_url_no_link_is_sent_and_the_answer_is_the_same(db_url, engine, tmp_path, session, caplog):
    make_donor(session, ref="P2", email="bram@example.nl")
    session.commit()
    settings = web_settings(db_url, tmp_path, base_url="")
    app = make_app(settings, engine)
    response = Browser(app, "http://anything.example").post("/portal", {"email": "bram@example.nl"}, csrf_from="/portal")
    assert response.status_code == 200 and 'id="portal-sent"' in response.text
    assert app.state.mailer.sent == []
    assert "base_url is not set" in caplog.text


def test_on_loopback_without_a_base_url_the_link_names_the_served_address(db_url, engine, tmp_path, session):
    from anbi.web.app import create_app
    from tests.webapp.ui_support import CapturingMailer

    make_donor(session, ref="P3", email="cor@example.nl")
    session.commit()
    settings = web_settings(db_url, tmp_path, base_url="")
    app = create_app(settings, engine=engine, host="127.0.0.1", port=8123)
    app.state.mailer = CapturingMailer()
    Browser(app, "http://localhost:8123").post("/portal", {"email": "cor@example.nl"}, csrf_from="/portal")
    (message,) = app.state.mailer.sent
    assert "http://127.0.0.1:8123/portal/login/" in message.get_content()


# --- anbi serve ------------------------------------------------------------------------


@pytest.mark.parametrize("args, env, message", [
    (("--host", "0.0.0.0"), {"ANBI_WEB_SECRET_KEY": KEY, "ANBI_WEB_BASE_URL": ""}, "error: serving on 0.0.0.0 needs a base_url"),
    (("--workers", "2"), {"ANBI_WEB_SECRET_KEY": ""}, "error: 2 workers need one [web] secret_key shared by all"),
    (("--workers", "2"), {"ANBI_WEB_SECRET_KEY": "k" * 20},
     "error: $ANBI_WEB_SECRET_KEY [web] secret_key is too short (20 characters)"),
])
def test_serve_refuses_to_start_in_one_line(cli, args, env, message):
    result = cli("serve", "--port", "8999", *args, env=env)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1].startswith(message)
    assert "Traceback" not in result.output


def test_two_workers_with_one_key_keep_a_person_signed_in(db_url, session, tmp_path):
    """`anbi serve --workers 2`: every request on a new connection, so both workers
    answer; with the configured key each opens the session the other signed."""
    from tests.conftest import free_port

    make_user(session, "fundraiser", "anna@example.org")
    port = free_port()
    env = {**os.environ, "ANBI_WEB_SECRET_KEY": SECRET, "ANBI_WEB_SECURE_COOKIES": "false", "ANBI_CONFIG": "",
           "ANBI_WEB_BASE_URL": f"http://127.0.0.1:{port}"}
    server = subprocess.Popen(
        [sys.executable, "-c", "from anbi.cli import main; main()", "--database-url", db_url, "serve", "--port", str(port),
         "--workers", "2", "--no-access-log", "--log-level", "warning"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "anbi serve did not start"
            time.sleep(0.3)
        cookies = httpx.Cookies()

        def fresh(method: str, path: str, **kwargs):
            with httpx.Client(base_url=base, cookies=cookies, follow_redirects=False, timeout=10) as client:
                response = client.request(method, path, **kwargs)
                cookies.update(response.cookies)
                return response

        token = search(r'name="csrf_token" value="([^"]+)"', fresh("GET", "/login").text).group(1)
        signed = fresh("POST", "/login", data={"email": "anna@example.org", "password": "a long enough password",
                                               "next": "/", "csrf_token": token})
        assert signed.status_code == 303 and signed.headers["location"] == "/"
        answers = [fresh("GET", "/donors").status_code for _ in range(12)]
        assert answers == [200] * 12
    finally:
        server.terminate()
        server.wait(timeout=30)
