"""The FastAPI application factory.

One database session per request (the edge owns the transaction): `get_session`
commits when the handler returns and rolls back on any error. Each part of the
service is a router added in `create_app`."""
from __future__ import annotations

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

    app = FastAPI(title="anbi-crm", version="1", docs_url="/api/docs", openapi_url="/api/openapi.json", redoc_url=None,
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
    return app


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
