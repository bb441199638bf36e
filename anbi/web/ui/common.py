"""What every page of the web application shares: the signed-cookie middleware
with the security headers, CSRF checking, who is signed in (staff or donor), the
role check, rendering templates in the chosen language, and the error pages.

Access is decided only by `anbi.core.roles.allowed(role, permission)`: a page
declares the permission it needs with `Depends(staff(PERMISSION))`."""
from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from anbi.core.clock import FIRST_YEAR, LAST_YEAR, today, utcnow
from anbi.core import formatting
from anbi.core.money import parse_money
from anbi.core.roles import allowed
from anbi.web.app import get_session
from anbi.web.i18n import LANGUAGES, label, pick_language, translate
from anbi.web.identity.security import (
    COOKIE_MAX_AGE,
    COOKIE_NAME,
    SECURITY_HEADERS,
    CookieCodec,
    CookieState,
    csrf_matches,
    new_csrf_token,
)

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

# Paths of the API, the webhooks and the health check: no cookie, no CSRF form.
NON_UI_PREFIXES = ("/api", "/webhooks", "/healthz")
# FastAPI's interactive API docs load their script from a CDN: they keep their own
# headers and are not part of the web application.
NO_CSP_PREFIXES = ("/api/docs", "/api/redoc")

# One database session per request, committed BEFORE the response is sent, so that
# the page a redirect leads to already sees what the form wrote.
DB = Depends(get_session, scope="function")


# --- middleware -----------------------------------------------------------------


class WebMiddleware:
    """Reads the signed cookie into `request.state.web`, writes it back when a page
    changed it, and adds the security headers to every response, with
    `Cache-Control: no-store` on all but the static files (pages and API answers
    carry personal data)."""

    def __init__(self, app: ASGIApp, codec: CookieCodec, secure_cookies: bool):
        self.app = app
        self.codec = codec
        self.secure = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        ui = not path.startswith(NON_UI_PREFIXES)
        state: CookieState | None = None
        if ui:
            state = self.codec.loads(_cookie(scope, COOKIE_NAME))
            if state is None:
                state = CookieState(csrf=new_csrf_token(), changed=True)
            scope.setdefault("state", {})["web"] = state

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if not path.startswith(NO_CSP_PREFIXES):
                    for name, value in SECURITY_HEADERS.items():
                        if name not in headers:
                            headers[name] = value
                if not path.startswith("/static/"):
                    # Pages and API answers show personal data: never keep them in a cache.
                    headers["Cache-Control"] = "no-store"
                if state is not None and state.changed:
                    headers.append("set-cookie", self._cookie_header(state))
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _cookie_header(self, state: CookieState) -> str:
        parts = [f"{COOKIE_NAME}={self.codec.dumps(state)}", "Path=/", "HttpOnly", "SameSite=Lax",
                 f"Max-Age={COOKIE_MAX_AGE}"]
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts)


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            jar = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header is treated as no cookie
                return None
            if name in jar:
                return jar[name].value
    return None


# --- errors shown as pages --------------------------------------------------------


class PageError(Exception):
    """Turned into an HTML error page by the handler `install` registers."""

    status = 400
    title = "Error"

    def __init__(self, message: str = "", **values: Any):
        self.message = message
        self.values = values
        super().__init__(message)


class LoginRequired(PageError):
    status = 303


class PortalLoginRequired(PageError):
    status = 303


class Forbidden(PageError):
    status = 403
    title = "Not allowed"


class PageNotFound(PageError):
    status = 404
    title = "Page not found"


class CsrfRefused(PageError):
    status = 403
    title = "Form expired"


class RequestRefused(PageError):
    title = "Request refused"


def page_error_for(status: int, detail: str) -> PageError:
    """The page for an error raised outside the pages' own checks: an unknown address,
    a parameter of the wrong type, or a request refused before a page ran
    (anbi.web.deps.storable_text)."""
    if status == 404:
        return PageNotFound("This page does not exist.")
    error = RequestRefused("The request was refused: {detail}", detail=detail)
    error.status = status
    return error


# --- who is asking ----------------------------------------------------------------


def web_state(request: Request) -> CookieState:
    state = getattr(request.state, "web", None)
    if state is None:  # only when the middleware is missing, which install() prevents
        raise RuntimeError("the web middleware is not installed")
    return state


def language(request: Request) -> str:
    return pick_language(web_state(request).language)


# The years a page may be asked for (those a date may fall in): anything else (a
# typo, a hand-edited address) shows the current year rather than an error.
YEARS = range(FIRST_YEAR, LAST_YEAR + 1)


def year_asked(request: Request) -> int:
    """The `year` of the address, or the current year."""
    try:
        year = int(request.query_params.get("year", ""))
    except ValueError:
        return today().year
    return year if year in YEARS else today().year


def page_asked(page: int, last: int = 1_000_000) -> int:
    """A page number of the address, between 1 and `last` (an offset past that would
    not fit the database's integers)."""
    return min(max(page, 1), last)


@dataclass(frozen=True)
class Staff:
    """A signed-in user of the fundraising team or finance."""

    user_id: int
    email: str
    role: str
    session_key: str

    def can(self, permission: str) -> bool:
        return allowed(self.role, permission)


def current_staff(request: Request, db: Session) -> Staff | None:
    from anbi.web.identity.users import find_session

    state = web_state(request)
    if not state.session_key:
        return None
    record = find_session(db, state.session_key)
    if record is None or record.user is None:
        return None
    return Staff(user_id=record.user.id, email=record.user.email, role=record.user.role,
                 session_key=state.session_key)


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def session_user(request: Request, session: Session):
    """A Principal from a signed-in user's session cookie, for `anbi.web.identity.auth`'s
    principal sources: the API then serves the browser as it serves a token.

    The API is outside the cookie middleware, so the cookie is read here. A request
    that changes something must also carry the session's CSRF token in X-CSRF-Token:
    a cookie alone is what another site can make a browser send."""
    from anbi.web.identity.auth import Principal
    from anbi.web.identity.users import find_session

    codec: CookieCodec | None = getattr(request.app.state, "web_codec", None)
    if codec is None:
        return None
    state = codec.loads(request.cookies.get(COOKIE_NAME))
    if state is None or not state.session_key:
        return None
    if request.method not in SAFE_METHODS and not csrf_matches(state.csrf, request.headers.get("x-csrf-token")):
        return None
    record = find_session(session, state.session_key)
    if record is None or record.user is None:
        return None
    return Principal(kind="user", name=record.user.email, role=record.user.role, id=record.user.id)


def staff(permission: str) -> Callable[..., Staff]:
    """A dependency: the signed-in staff member, if their role has `permission`.

    Signed out → to the sign-in page (and back here afterwards); a role without the
    permission → 403."""

    def dependency(request: Request, db: Session = DB) -> Staff:
        person = current_staff(request, db)
        if person is None:
            raise LoginRequired()
        request.state.staff = person  # the error page still shows the menu of this role
        if not allowed(person.role, permission):
            raise Forbidden("Your role ({role}) may not open this page.", role=person.role)
        return person

    dependency.__name__ = f"staff_{permission.replace(':', '_')}"
    return dependency


async def csrf_protect(request: Request) -> None:
    """Every POST must carry the session's CSRF token, from a form field or the
    X-CSRF-Token header; anything else is refused before the page runs."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    state = web_state(request)
    token = request.headers.get("x-csrf-token")
    if token is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form(max_part_size=MAX_FIELD_BYTES)
            value = form.get("csrf_token")
            token = value if isinstance(value, str) else None
    if not csrf_matches(state.csrf, token):
        raise CsrfRefused("The form has expired or did not come from this site. Go back, reload the page and try again.")


MAX_FIELD_BYTES = 1024 * 1024
# A form is small; a larger request is refused (413) before it is read. The import
# upload has its own, larger limit.
MAX_FORM_BYTES = 1024 * 1024


def ui_router() -> APIRouter:
    """A router of web pages: every POST is CSRF-checked, bodies are limited, and
    the pages stay out of the API's OpenAPI schema."""
    return APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False, max_body_size=MAX_FORM_BYTES)


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target on this site only: a path, never another origin."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parsed = urllib.parse.urlsplit(target)
    if parsed.scheme or parsed.netloc:
        return default
    return target


# --- rendering --------------------------------------------------------------------


def _format_date(value: dt.date | dt.datetime | str | None, lang: str) -> str:
    """A date (or a timestamp, in Amsterdam time) as the page's language writes it in
    a table; an ISO text from a service's JSON rows is read first."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return formatting.moment(value, lang)
    return formatting.date(value, lang)


@pass_context
def _money(context, cents: int | None, currency: str = "EUR") -> str:
    if cents is None:
        return ""
    return formatting.money(cents, currency, context.get("lang"))


@pass_context
def _amount(context, text: str | None, currency: str = "EUR") -> str:
    """An amount as the services write it for JSON ("1234.56"), shown to people."""
    if not text:
        return ""
    return formatting.money(parse_money(text, currency=currency).cents, currency, context.get("lang"))


@pass_context
def _percent(context, value, *, of_hundred: bool = True, decimals: int = 2) -> str:
    """A percentage (77.25 by default, or a fraction 0.7725 with of_hundred=False):
    `77,25%`; empty for None."""
    if value is None:
        return ""
    number = Decimal(str(value))
    return formatting.percent(number / 100 if of_hundred else number, context.get("lang"), decimals=decimals, trim=False)


@pass_context
def _number(context, value, decimals: int = 0) -> str:
    return "" if value is None else formatting.number(Decimal(str(value)), decimals, context.get("lang"))


@functools.lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html", "svg"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = _money
    env.filters["amount"] = _amount
    env.filters["percent"] = _percent
    env.filters["number"] = _number
    env.globals["address"] = formatting.street_line
    return env


MESSAGES = {
    # ?msg=... after a redirect: only these texts can be shown, never text from the URL
    "saved": "Saved.",
    "signed_out": "You have been signed out.",
    "merged": "Merged {duplicate} into {kept}.",
    "erased": "Erased.",
    "portal_updated": "Your details have been updated.",
    "imported": "Imported.",
}


PRODUCT_NAME = "anbi-crm"


def organisation_name(settings) -> str | None:
    """The charity's name (`[organisation] name`), or None when it is not set."""
    organisation = getattr(settings, "organisation", None)
    return organisation.name if organisation is not None and organisation.name else None


def render(request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200,
           person: Staff | None = None) -> HTMLResponse:
    lang = language(request)
    state = web_state(request)
    person = person or getattr(request.state, "staff", None)

    def _(text: str, **values: Any) -> str:
        return translate(lang, text, **values)

    def can(permission: str) -> bool:
        return person is not None and allowed(person.role, permission)

    message_key = request.query_params.get("msg")
    message = None
    if message_key in MESSAGES:
        values = {k: request.query_params.get(k, "") for k in ("duplicate", "kept")}
        message = _(MESSAGES[message_key], **values) if "{" in MESSAGES[message_key] else _(MESSAGES[message_key])
    ctx = {
        "request": request,
        "_": _,
        "lang": lang,
        "languages": LANGUAGES,
        "csrf_token": state.csrf,
        "staff": person,
        "can": can,
        "path": request.url.path,
        "full_path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "date": lambda value: _format_date(value, lang),
        "label": lambda code: label(lang, code),
        "message": message,
        "now": utcnow(),
        # What the donor portal is headed with: the charity's name where it is set.
        "organisation_name": organisation_name(getattr(request.app.state, "settings", None)) or PRODUCT_NAME,
    }
    ctx.update(context or {})
    html = environment().get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status)


def redirect(url: str) -> RedirectResponse:
    """After a POST: See Other, so the browser fetches the next page with GET."""
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, exc: PageError) -> HTMLResponse | RedirectResponse:
    lang = language(request)
    if isinstance(exc, LoginRequired):
        target = safe_next(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return redirect("/login?" + urllib.parse.urlencode({"next": target}))
    if isinstance(exc, PortalLoginRequired):
        return redirect("/portal")
    message = translate(lang, exc.message, **exc.values) if exc.message else ""
    return render(request, "error.html", {"title": translate(lang, exc.title), "detail": Markup.escape(message)},
                  status=exc.status)
