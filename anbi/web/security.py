"""Browser security for the web application: the signed session cookie, the
per-session CSRF token, and the response headers (Content-Security-Policy and
friends).

The cookie is signed with `[web] secret_key` (env ANBI_WEB_SECRET_KEY) using
itsdangerous; it holds the session key (whose digest the server keeps), the CSRF
token and the chosen language. Nothing in it is trusted unless the signature holds.
"""
from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from anbi.core.errors import ConfigurationError

log = logging.getLogger(__name__)

COOKIE_NAME = "anbi_session"
# The cookie outlives no session: the server decides expiry, this is a ceiling.
COOKIE_MAX_AGE = 12 * 3600
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}

TRUE_WORDS = {"1", "true", "yes", "on", "ja"}
FALSE_WORDS = {"0", "false", "no", "off", "nee"}

# No outside origin anywhere: styles, images and forms stay on this server, no
# scripts at all, and nobody may frame the pages.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
])

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}

SECRET_KEY_HELP = (
    "the web application needs a secret key to sign session cookies: set ANBI_WEB_SECRET_KEY "
    "or `secret_key` under [web] in anbi.toml to a long random value, for example the output of "
    "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`"
)


def _boolean(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ConfigurationError(f"[web] {name} must be true or false, not {value!r}")


@dataclass(frozen=True)
class WebConfig:
    secret_key: str
    secure_cookies: bool
    # The address links in e-mails point to (the portal link); from [web] base_url.
    base_url: str | None = None
    ephemeral_secret: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


def web_config(section: Mapping[str, Any], host: str | None) -> WebConfig:
    """Decide the web settings from `[web]` and the address being served.

    `host` is the address `anbi serve` listens on; None when the app is built
    without serving (tests, or embedding it in another program).

    Local development (serving on 127.0.0.1 or localhost) and an app built without
    serving may run without a secret key — a random one is made for this process,
    so sessions end at restart. Serving on any other address without a key refuses
    to start. Cookies are Secure except when serving on a loopback address, where
    the browser talks plain HTTP; `[web] secure_cookies` overrides both."""
    local = host in LOOPBACK_HOSTS
    secret = str(section.get("secret_key") or "").strip()
    ephemeral = False
    if not secret:
        if not (local or host is None):
            raise ConfigurationError(SECRET_KEY_HELP)
        secret = secrets.token_urlsafe(48)
        ephemeral = True
        log.warning("no [web] secret_key: using a random one for this process; sessions end when it stops")
    elif len(secret) < 16:
        raise ConfigurationError("[web] secret_key is too short: use at least 32 random characters")
    if "secure_cookies" in section and str(section.get("secure_cookies")).strip() != "":
        secure = _boolean(section["secure_cookies"], "secure_cookies")
    else:
        secure = not local
    base_url = str(section.get("base_url") or "").strip().rstrip("/") or None
    return WebConfig(secret_key=secret, secure_cookies=secure, base_url=base_url, ephemeral_secret=ephemeral)


@dataclass
class CookieState:
    """What the signed cookie says: session key, CSRF token, language."""

    session_key: str | None = None
    csrf: str = ""
    language: str | None = None
    changed: bool = False

    def to_payload(self) -> dict:
        return {"s": self.session_key, "c": self.csrf, "l": self.language}


class CookieCodec:
    def __init__(self, secret_key: str):
        self._serializer = URLSafeTimedSerializer(secret_key, salt="anbi-web-session")

    def dumps(self, state: CookieState) -> str:
        return self._serializer.dumps(state.to_payload())

    def loads(self, value: str | None) -> CookieState | None:
        """The state in a cookie, or None when absent, tampered with or too old."""
        if not value:
            return None
        try:
            payload = self._serializer.loads(value, max_age=COOKIE_MAX_AGE)
        except BadSignature:
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("c"), str):
            return None
        key = payload.get("s")
        language = payload.get("l")
        return CookieState(
            session_key=key if isinstance(key, str) else None,
            csrf=payload["c"],
            language=language if isinstance(language, str) else None,
        )


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())
