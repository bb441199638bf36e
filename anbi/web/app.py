"""The FastAPI application factory.

One database session per request (the edge owns the transaction): `get_session`
commits when the handler returns and rolls back on any error. Each part of the
service is a router added in `create_app`."""
from __future__ import annotations

import functools
from collections.abc import Iterator

from fastapi import Depends, FastAPI, Request
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from anbi.core.db import make_engine, session_factory
from anbi.core.settings import Settings


def create_app(settings: Settings, engine: Engine | None = None, *, host: str | None = None,
               port: int | None = None) -> FastAPI:
    """`host` and `port` are the address being served (by `anbi serve`), None when
    not serving; the web application decides from them whether a secret key and a
    base_url are required, and which hosts requests may name."""
    from anbi.web.deps import storable_text

    app = AnbiApp(title="anbi-crm", version="1", docs_url="/api/docs", openapi_url="/api/openapi.json", redoc_url=None,
                  dependencies=[Depends(storable_text)])
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.database_url)
    app.state.sessions = session_factory(app.state.engine)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"status": "ok"}

    for router in _routers():
        app.include_router(router)
    # The web application and donor portal: pages, their middleware and error pages.
    from anbi.web.ui import install as install_web_application

    install_web_application(app, settings, host=host, port=port)
    from anbi.web.webhooks import PATH, answer_stripe_webhook

    assert PATH == "/webhooks/stripe"  # the path AnbiApp answers ahead of the framework
    app.stripe_webhook = functools.partial(answer_stripe_webhook, app)
    return app


class AnbiApp(FastAPI):
    """The service. Stripe's webhook (POST /webhooks/stripe) is answered ahead of the
    framework, by `anbi.web.webhooks.answer_stripe_webhook`: a burst of deliveries
    then costs the service little more than verifying them. Everything else, and a
    delivery with a query string (whose parameters the framework's checks read), goes
    through the framework."""

    stripe_webhook = None  # set by create_app: anbi.web.webhooks.answer_stripe_webhook

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == "/webhooks/stripe" and scope["method"] == "POST" \
                and not scope.get("query_string") and self.stripe_webhook is not None:
            await self.stripe_webhook(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _routers() -> list:
    """The parts of the service, in the order their routes should match."""
    from anbi.web import api, webhooks

    return [webhooks.router, api.router]


def get_session(request: Request) -> Iterator[Session]:
    """The request's session. Always depend on it with `scope="function"` (as
    `anbi.web.deps.DbSession` does): otherwise FastAPI runs the commit after the
    response has been sent, and a client could get 201 for a write that then fails."""
    session: Session = request.app.state.sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_settings(request: Request) -> Settings:
    return request.app.state.settings
