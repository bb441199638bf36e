"""The web application for the fundraising team and finance, and the donor portal:
server-rendered HTML pages (Jinja2), a small CSS file served by the app, charts as
SVG. No JavaScript framework and nothing loaded from another origin.

`install(app, settings, host=..., port=...)` adds it to the FastAPI app: the host
check, the cookie and security-header middleware, the static files, the error pages
and the routers."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from anbi.core.settings import Settings
from anbi.web.identity.security import CookieCodec, HostCheck, web_config
from anbi.web.ui.common import (
    NON_UI_PREFIXES,
    STATIC_DIR,
    PageError,
    WebMiddleware,
    error_page,
    organisation_name,
    page_error_for,
)


def install(app: FastAPI, settings: Settings, *, host: str | None = None, port: int | None = None) -> None:
    """Raises ConfigurationError (one clear line) without a secret key or a base_url
    outside local development (`anbi.web.identity.security.web_config`)."""
    config = web_config(settings.web, host, port=port)
    app.state.web_config = config
    if not hasattr(app.state, "mailer"):
        from anbi.web.mail import SmtpMailer

        app.state.mailer = SmtpMailer(settings.smtp, sender_name=organisation_name(settings))
    app.state.web_codec = CookieCodec(config.secret_key)
    app.add_middleware(WebMiddleware, codec=app.state.web_codec, secure_cookies=config.secure_cookies)
    if config.allowed_hosts is not None:
        # Added last, so it runs first: a request for another host reaches nothing.
        app.add_middleware(HostCheck, allowed=config.allowed_hosts)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

    @app.exception_handler(PageError)
    async def _page_error(request: Request, exc: PageError):
        return error_page(request, exc)

    # A person at a browser gets a page in their language; programs (the API, Stripe)
    # keep FastAPI's JSON.
    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith(NON_UI_PREFIXES):
            return await http_exception_handler(request, exc)
        return error_page(request, page_error_for(exc.status_code, str(exc.detail)))

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError):
        if request.url.path.startswith(NON_UI_PREFIXES):
            return await request_validation_exception_handler(request, exc)
        detail = "; ".join(f"{error['loc'][-1]}: {error['msg']}" for error in exc.errors())
        return error_page(request, page_error_for(400, detail))

    for router in routers():
        app.include_router(router)


def routers() -> list:
    from anbi.web.ui import (
        pages_auth,
        pages_dashboard,
        pages_donors,
        pages_finance,
        pages_fundraising,
        pages_imports,
        pages_portal,
        pages_receipts,
    )

    return [
        pages_auth.router,
        pages_dashboard.router,
        pages_donors.router,
        pages_fundraising.router,
        pages_imports.router,
        pages_finance.router,
        pages_receipts.router,
        pages_portal.router,
    ]
