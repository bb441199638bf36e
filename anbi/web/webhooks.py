"""`POST /webhooks/stripe`: Stripe's events, verified, stored once and applied.

The signature is checked on the exact bytes received, against `[stripe]
webhook_secret`. A bad or missing signature, a stale timestamp, or a body that is
not a JSON event gets 400 and nothing is written. A verified event is stored and
applied in one transaction that commits before the answer: 200 means it is in the
inbox (applied, ignored, waiting for an object, or failed for a person to look at
— a retry from Stripe would not change those). Anything unexpected is a 500, the
transaction is rolled back, and Stripe delivers the event again later."""
from __future__ import annotations

import threading

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from anbi.core.errors import ConfigurationError
from anbi.web.deps import BodyTooLarge, read_limited_body, too_large
from fundraising.stripe.client import webhook_secret
from fundraising.stripe.events import EventError
from fundraising.stripe.webhook import ApplyRefused, WebhookRefused, receive, record_failed, verify

router = APIRouter()

# Stripe's events are small; this only stops a flood of bytes before verification.
MAX_WEBHOOK_BYTES = 5 * 1024 * 1024


@router.post("/webhooks/stripe", include_in_schema=False)
async def stripe_webhook(request: Request) -> JSONResponse:
    try:
        body = await read_limited_body(request, MAX_WEBHOOK_BYTES)
    except BodyTooLarge:
        return too_large(MAX_WEBHOOK_BYTES)
    header = request.headers.get("stripe-signature")
    # Verifying and writing are blocking work: off the event loop.
    return await run_in_threadpool(handle_stripe_event, request.app, body, header)


def handle_stripe_event(app, body: bytes, header: str | None) -> JSONResponse:
    try:
        secret = webhook_secret(app.state.settings)
    except ConfigurationError as exc:
        # Not our sender's fault: 503 makes Stripe try again once it is configured.
        return JSONResponse({"detail": str(exc)}, status_code=503)
    try:
        event = verify(body, header, secret)
    except WebhookRefused as exc:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    if app.state.engine.dialect.name == "sqlite":
        # SQLite has one writer at a time. Queueing this process's deliveries on a
        # lock, rather than letting SQLite's busy handler sleep and retry, keeps a
        # burst of webhooks flowing.
        with _SQLITE_WRITER:
            return _store(app, event, immediate=True)
    return _store(app, event, immediate=False)


_SQLITE_WRITER = threading.Lock()


def _store(app, event: dict, *, immediate: bool) -> JSONResponse:
    session = app.state.sessions()

    def begin() -> None:
        if immediate:
            # Take the write lock now, not at the first write: SQLite then never has
            # to refuse this transaction for reading a snapshot another writer changed.
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")

    try:
        begin()
        try:
            receipt = receive(session, event, via="webhook", isolated=False)
        except ApplyRefused as refused:
            # Nothing of the attempt is kept; the event is, as failed, with the reason.
            session.rollback()
            begin()
            receipt = record_failed(session, event, refused.reason, via="webhook")
        session.commit()
    except EventError as exc:
        session.rollback()
        return JSONResponse({"detail": f"not a Stripe event: {exc}"}, status_code=400)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    return JSONResponse(receipt.as_json(), status_code=200)
