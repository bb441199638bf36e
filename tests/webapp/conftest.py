"""Fixtures for the web application's tests: the app on the test database (both
backends, through `db_url`), a browser-like client, and signed-in users."""
from __future__ import annotations

import pytest

from tests.webapp.ui_support import Browser, make_app, signed_in, web_settings


@pytest.fixture
def web_app(db_url, engine, tmp_path):
    return make_app(web_settings(db_url, tmp_path), engine)


@pytest.fixture
def browser(web_app) -> Browser:
    return Browser(web_app)


@pytest.fixture
def sign_in(web_app, session):
    """sign_in("fundraiser") -> a Browser signed in with a new user of that role."""

    def _sign_in(role: str, email: str | None = None) -> Browser:
        return signed_in(web_app, session, role, email)

    return _sign_in
