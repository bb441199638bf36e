"""Helpers for testing the web application as a browser uses it: a test client
that keeps cookies, reads the CSRF token from the page, and signs in."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import EmailMessage

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from anbi.core.settings import Organisation, Settings
from anbi.web.app import create_app

PASSWORD = "a long enough password"
SECRET = "test-secret-key-" + "x" * 32
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class CapturingMailer:
    """Stands in for SMTP: keeps what would have been sent."""

    sent: list[EmailMessage] = field(default_factory=list)

    def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


def web_settings(db_url: str, tmp_path, **web) -> Settings:
    # base_url: the TestClient's own host, as a deployment names its address.
    section = {"secret_key": SECRET, "secure_cookies": "false", "upload_dir": str(tmp_path / "uploads"),
               "receipts_dir": str(tmp_path / "receipts"), "base_url": "http://testserver"}
    section.update(web)
    return Settings(
        database_url=db_url,
        organisation=Organisation(name="Stichting Vluchtelingenhulp Test", rsin="824150004",
                                  address="Postbus 1, 1000 AA Amsterdam"),
        sections={"web": section, "smtp": {"host": "127.0.0.1", "port": 1, "sender": "giften@example.org"},
                  "privacy": {"retention_years": 7}},
    )


class Browser:
    """A TestClient with the habits of a person at a browser."""

    def __init__(self, app, base_url: str = "http://testserver"):
        self.app = app
        self.client = TestClient(app, follow_redirects=False, base_url=base_url)

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def csrf(self, path: str = "/login") -> str:
        page = self.client.get(path)
        match = _CSRF.search(page.text)
        assert match, f"no CSRF token on {path} ({page.status_code})"
        return match.group(1)

    def post(self, path: str, data: dict | None = None, *, csrf_from: str | None = None, files=None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf(csrf_from or "/login"))
        return self.client.post(path, data=data, files=files, **kwargs)

    def sign_in(self, email: str, password: str = PASSWORD):
        return self.post("/login", {"email": email, "password": password, "next": "/"})


def make_app(settings: Settings, engine):
    app = create_app(settings, engine=engine)
    app.state.mailer = CapturingMailer()
    return app


def make_user(session: Session, role: str, email: str | None = None, password: str = PASSWORD):
    from anbi.web.identity.users import create_user

    user = create_user(session, email or f"{role}@example.org", role, password, actor="test")
    session.commit()
    return user


def signed_in(app, session: Session, role: str, email: str | None = None) -> Browser:
    """A browser with a user of `role` signed in."""
    user = make_user(session, role, email)
    browser = Browser(app)
    response = browser.sign_in(user.email)
    assert response.status_code == 303, response.text
    return browser


def page_text(html: str) -> str:
    """The visible words of a page, tags removed, whitespace folded."""
    import html as html_module

    text = re.sub(r"<[^>]+>", " ", html)
    return " ".join(html_module.unescape(text).split())


def donation_totals(html: str) -> str:
    """The visible words of the donations page's count and totals (without the CSV link)."""
    count = html.split('id="donation-count"', 1)[1].split("</p>", 1)[0].split(" · ", 1)[0]
    totals = html.split('id="donation-totals"', 1)[1].split("</dl>", 1)[0] if 'id="donation-totals"' in html else ""
    return page_text(count.split(">", 1)[1] + " " + totals.split(">", 1)[-1])
