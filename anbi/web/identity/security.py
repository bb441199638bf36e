"""Browser security for the web application: the signed session cookie, the
per-session CSRF token, the response headers (Content-Security-Policy and
friends), and the hosts the service answers for.

Links in e-mail (the portal's sign-in link) are built only from `[web] base_url`,
never from a request's Host header, which the sender of the request chooses.
Requests naming another host are refused (`HostCheck`): the trusted host is the one
of `base_url`, and the loopback names when serving on a loopback address; the
health check (`/healthz`) answers whatever the Host, as a load balancer calls it by
the server's own address.

The cookie is signed with `[web] secret_key` (env ANBI_WEB_SECRET_KEY) using
itsdangerous; it holds the session key (whose digest the server keeps), the CSRF
token and the chosen language. Nothing in it is trusted unless the signature holds.
"""
from __future__ import annotations

import hmac
import logging
import secrets
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from anbi.core.errors import ConfigurationError
from anbi.core.settings import WebSection

log = logging.getLogger(__name__)

COOKIE_NAME = "anbi_session"
# The cookie outlives no session: the server decides expiry, this is a ceiling.
COOKIE_MAX_AGE = 12 * 3600
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Answered whatever the Host header says: what a load balancer calls.
HEALTH_PATHS = frozenset({"/healthz"})

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


BASE_URL_HELP = (
    "set [web] base_url (ANBI_WEB_BASE_URL) to the address people and e-mails use, for example "
    "https://crm.voorbeeld.example: links in e-mail are made from it, and requests for other hosts are refused"
)


@dataclass(frozen=True)
class WebConfig:
    secret_key: str
    secure_cookies: bool
    # The address links in e-mails point to (the portal link): [web] base_url, or the
    # loopback address served when none is set; None when there is none to use.
    base_url: str | None = None
    ephemeral_secret: bool = False
    # The Host names requests may carry; None: not checked (an app built without
    # serving and without a base_url, e.g. embedded in another program).
    allowed_hosts: frozenset[str] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host



def web_config(section: WebSection | Mapping[str, Any], host: str | None, *, port: int | None = None,
               workers: int = 1) -> WebConfig:
    """Decide the web settings from `[web]` (checked when the settings were read: a
    key too short or a base_url that is no address never gets here) and the address
    being served.

    `host` and `port` are what `anbi serve` listens on, `workers` how many
    processes it starts; host None when the app is built without serving (tests, or
    embedding it in another program).

    - Secret key: local development (serving on 127.0.0.1, localhost or ::1) and an
      app built without serving may run without one — a random one is made for
      this process, so sessions end at restart. Serving on any other address, or
      with more than one worker (each would make its own key, and a session signed
      by one would not open in another), refuses to start without a key of at
      least 32 characters.
    - base_url: required to serve on a non-loopback address; on a loopback address
      it defaults to that address (http://127.0.0.1:PORT). Requests for other hosts
      than base_url's (and the loopback names, when serving on loopback) are refused.
    - Cookies are Secure except when serving on a loopback address, where the
      browser talks plain HTTP; `[web] secure_cookies` overrides both."""
    section = WebSection.of(section)
    local = host in LOOPBACK_HOSTS
    serving = host is not None
    secret = section.secret_key
    ephemeral = False
    if not secret:
        if workers > 1:
            raise ConfigurationError(f"{workers} workers need one [web] secret_key shared by all (each would make its "
                                     f"own, and a session signed by one would not open in another): {SECRET_KEY_HELP}")
        if serving and not local:
            raise ConfigurationError(SECRET_KEY_HELP)
        secret = secrets.token_urlsafe(48)
        ephemeral = True
        log.warning("no [web] secret_key: using a random one for this process; sessions end when it stops")
    secure = not local if section.secure_cookies is None else section.secure_cookies
    base_url = section.base_url or None
    if serving and not local and base_url is None:
        raise ConfigurationError(f"serving on {host} needs a base_url: {BASE_URL_HELP}")
    hosts: set[str] = set()
    if base_url is not None:
        base_host = urllib.parse.urlsplit(base_url).hostname
        assert base_host is not None  # _base_url refuses an address without a host
        hosts.add(base_host.lower())
    if local:
        assert host is not None  # one of the loopback names
        hosts |= LOOPBACK_HOSTS
        if base_url is None and port is not None:
            base_url = f"http://{_url_host(host)}:{port}"
    allowed = frozenset(hosts) if serving or base_url is not None else None
    return WebConfig(secret_key=secret, secure_cookies=secure, base_url=base_url, ephemeral_secret=ephemeral,
                     allowed_hosts=allowed)


def host_name(header: str) -> str:
    """The host a Host header names, without its port, lower case (`[::1]:8000` -> `::1`)."""
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 0 else value
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


class HostCheck:
    """ASGI middleware: 400 for a request whose Host header is not one this service
    answers for, before anything else reads it; the health paths answer any Host."""

    def __init__(self, app, allowed: frozenset[str]):
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket") and not host_allowed(scope, self.allowed):
            await refuse_host(scope, receive, send)
            return
        await self.app(scope, receive, send)


def host_allowed(scope, allowed: frozenset[str]) -> bool:
    """Whether a request may be answered: its Host is one of `allowed`, or it asks
    for a health path (`HostCheck`, and the webhook answered ahead of it)."""
    if scope.get("path") in HEALTH_PATHS:
        return True
    header = next((value for key, value in scope.get("headers", []) if key == b"host"), b"")
    return host_name(header.decode("latin-1")) in allowed


async def refuse_host(scope, receive, send) -> None:
    from starlette.responses import PlainTextResponse

    await PlainTextResponse("Invalid host header", status_code=400)(scope, receive, send)


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
