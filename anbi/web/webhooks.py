"""`POST /webhooks/stripe`: Stripe's events, verified, stored once and applied.

The signature is checked on the exact bytes received, against `[stripe]
webhook_secret`. A bad or missing signature, a stale timestamp, or a body that is
not a JSON event gets 400 and nothing is written. A verified event is stored and
applied in a transaction that commits before the answer: 200 means it is in the
inbox (applied, ignored, waiting for an object, or failed for a person to look at
— a retry from Stripe would not change those). Anything unexpected is a 500, the
transaction is rolled back, and Stripe delivers the event again later.

Verifying runs in the request's thread; storing and applying run on one writer
thread per app (`InboxWriter`), which takes the events that arrived meanwhile as one
batch in one transaction (group commit). A burst of webhooks then pays one
transaction, and one commit, per batch instead of per event, and the requests do
not fight over the interpreter lock while they hold database connections. A batch
that cannot be applied whole is rolled back and its events are stored one at a
time, each in its own transaction, as a lone event always is — so one event that
fails never takes another with it."""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from anbi.core.errors import ConfigurationError
from anbi.web.deps import BodyTooLarge, read_limited_body, too_large
from fundraising.stripe.client import webhook_secret
from fundraising.stripe.events import EventError
from fundraising.stripe.webhook import (
    ApplyRefused,
    Receipt,
    WebhookRefused,
    receive,
    receive_together,
    record_failed,
    verify,
)

router = APIRouter()
log = logging.getLogger(__name__)

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
    return inbox_writer(app).store(event)


_WRITERS_LOCK = threading.Lock()


def inbox_writer(app) -> InboxWriter:
    with _WRITERS_LOCK:
        writer = getattr(app.state, "stripe_inbox_writer", None)
        if writer is None:
            writer = app.state.stripe_inbox_writer = InboxWriter(app)
        return writer


@dataclass(eq=False)
class _Delivery:
    event: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    response: JSONResponse | None = None
    error: BaseException | None = None


class InboxWriter:
    """The threads that store and apply the verified events of an app, a batch at a
    time. They start with the first events and stop after a few idle seconds."""

    MAX_BATCH = 50
    IDLE_SECONDS = 2.0

    def __init__(self, app):
        self._app = app
        self._waiting: queue.SimpleQueue[_Delivery] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        # SQLite has one writer at a time. PostgreSQL takes two: while one batch waits
        # for the server (a commit waits for the disk), the next is being applied.
        self._max_threads = 1 if app.state.engine.dialect.name == "sqlite" else 2

    def store(self, event: dict[str, Any]) -> JSONResponse:
        """Store and apply one event; returns once it is committed (or raises what
        went wrong, for a 500)."""
        delivery = _Delivery(event)
        self._waiting.put(delivery)
        with self._lock:
            if self._threads < self._max_threads:
                self._threads += 1
                threading.Thread(target=self._run, name="stripe-inbox-writer", daemon=True).start()
        delivery.done.wait()
        if delivery.error is not None:
            raise delivery.error
        return delivery.response

    def _run(self) -> None:
        while True:
            try:
                first = self._waiting.get(timeout=self.IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    # Decided under the lock `store` starts a thread under: an event
                    # put after this check finds no thread and starts one.
                    if self._waiting.empty():
                        self._threads -= 1
                        return
                continue
            batch = [first]
            while len(batch) < self.MAX_BATCH:
                try:
                    batch.append(self._waiting.get_nowait())
                except queue.Empty:
                    break
            try:
                self._write(batch)
            except BaseException as exc:  # never leave a request waiting
                for delivery in batch:
                    if not delivery.done.is_set():
                        delivery.error = exc
                        delivery.done.set()

    def _write(self, batch: list[_Delivery]) -> None:
        if len(batch) > 1:
            receipts = _store_together(self._app, [d.event for d in batch])
            if receipts is not None:
                for delivery, receipt in zip(batch, receipts):
                    delivery.response = JSONResponse(receipt.as_json(), status_code=200)
                    delivery.done.set()
                return
        for delivery in batch:
            try:
                delivery.response = _store_one(self._app, delivery.event)
            except BaseException as exc:
                delivery.error = exc
            finally:
                delivery.done.set()


def _begin(session) -> None:
    if session.get_bind().dialect.name == "sqlite":
        # Take the write lock now, not at the first write: SQLite then never has to
        # refuse this transaction for reading a snapshot another writer changed.
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")


def _store_together(app, events: list[dict[str, Any]]) -> list[Receipt] | None:
    """Store and apply the events in one transaction: their receipts, or None (and
    nothing written) when any of them cannot be, for `_store_one` to take them
    one by one."""
    session = app.state.sessions()
    try:
        _begin(session)
        receipts = receive_together(session, events, via="webhook")
        session.commit()
        return receipts
    except Exception as exc:
        session.rollback()
        log.debug("a batch of %d Stripe events is stored one by one: %s", len(events), exc)
        return None
    finally:
        session.close()


def _store_one(app, event: dict[str, Any]) -> JSONResponse:
    session = app.state.sessions()
    try:
        _begin(session)
        try:
            receipt = receive(session, event, via="webhook", isolated=False)
        except ApplyRefused as refused:
            # Nothing of the attempt is kept; the event is, as failed, with the reason.
            session.rollback()
            _begin(session)
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
