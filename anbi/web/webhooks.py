"""`POST /webhooks/stripe`: Stripe's events, verified, stored once and applied.

The signature is checked on the exact bytes received, against `[stripe]
webhook_secret`. A bad or missing signature, a stale timestamp, or a body that is
not a JSON event gets 400 and nothing is written. A verified event is stored and
applied in a transaction that commits before the answer: 200 means it is in the
inbox (applied, ignored, waiting for an object, or failed for a person to look at
— a retry from Stripe would not change those). Anything unexpected is a 500, the
transaction is rolled back, and Stripe delivers the event again later.

Verifying runs in the request's thread; storing and applying run on the app's
writer thread (`InboxWriter`), which takes the events that
arrived meanwhile — and waits a moment for those still being read or verified — as
one batch in one transaction (group commit). A burst of webhooks then pays one
transaction, and one commit, per batch instead of per event, and the requests do
not fight over the interpreter lock while they hold database connections. A batch
that cannot be applied whole is rolled back and its events are stored one at a
time, each in its own transaction, as a lone event always is — so one event that
fails never takes another with it."""
from __future__ import annotations

import logging
import queue
import threading
import time
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
    coming = inbox_writer(request.app).expect()
    try:
        try:
            body = await read_limited_body(request, MAX_WEBHOOK_BYTES)
        except BodyTooLarge:
            return too_large(MAX_WEBHOOK_BYTES)
        header = request.headers.get("stripe-signature")
        # Verifying and writing are blocking work: off the event loop.
        return await run_in_threadpool(handle_stripe_event, request.app, body, header, coming)
    finally:
        coming.arrived()  # whatever happened: a refused, broken or cancelled request comes no more


def handle_stripe_event(app, body: bytes, header: str | None, coming: Expected | None = None) -> JSONResponse:
    """Verify a delivery and store its event. `coming`: the writer was told that this
    request is on its way (`InboxWriter.expect`); it is told when it is verified."""
    try:
        secret = webhook_secret(app.state.settings)
        event = verify(body, header, secret)
    except ConfigurationError as exc:
        # Not our sender's fault: 503 makes Stripe try again once it is configured.
        return JSONResponse({"detail": str(exc)}, status_code=503)
    except WebhookRefused as exc:
        return JSONResponse({"detail": str(exc)}, status_code=400)
    finally:
        if coming is not None:
            coming.arrived()
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


class Expected:
    """A delivery the writer waits for; `arrived()` (once, however often it is called)
    when its event is verified and about to be stored, or will not come."""

    def __init__(self, writer: InboxWriter):
        self._writer = writer
        self._pending = True
        self._lock = threading.Lock()

    def arrived(self) -> None:
        with self._lock:
            if not self._pending:
                return
            self._pending = False
        self._writer._arrived()


class InboxWriter:
    """The thread that stores and applies the verified events of an app, a batch at a
    time. It starts with the first event and stops after a few idle seconds. One is
    enough on both databases: SQLite has one writer at a time, and on PostgreSQL a
    second thread measured slower (it splits the batches, so more commits wait for the
    disk, and fights the request threads for the interpreter lock)."""

    MAX_BATCH = 50
    IDLE_SECONDS = 2.0
    MAX_WAIT_SECONDS = 0.02

    def __init__(self, app):
        self._app = app
        self._waiting: queue.SimpleQueue[_Delivery] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running = False  # the writer thread
        self._arriving = 0  # deliveries read or verified now, whose events are on their way

    def expect(self) -> Expected:
        """A delivery came in: its event may be on its way to a batch."""
        with self._lock:
            self._arriving += 1
        return Expected(self)

    def _arrived(self) -> None:
        with self._lock:
            self._arriving -= 1

    def store(self, event: dict[str, Any]) -> JSONResponse:
        """Store and apply one event; returns once it is committed (or raises what
        went wrong, for a 500)."""
        delivery = _Delivery(event)
        self._waiting.put(delivery)
        with self._lock:
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="stripe-inbox-writer", daemon=True).start()
        delivery.done.wait()
        if delivery.error is not None:
            raise delivery.error
        return delivery.response

    def _run(self) -> None:
        while True:
            batch = self._gather()
            if batch is None:
                return
            try:
                self._write(batch)
            except BaseException as exc:  # never leave a request waiting
                for delivery in batch:
                    if not delivery.done.is_set():
                        delivery.error = exc
                        delivery.done.set()

    def _gather(self) -> list[_Delivery] | None:
        """The next batch; None when the thread should stop, idle."""
        while True:
            try:
                first = self._waiting.get(timeout=self.IDLE_SECONDS)
                break
            except queue.Empty:
                with self._lock:
                    # Decided under the lock `store` starts a thread under: an event
                    # put after this check finds no thread and starts one.
                    if self._waiting.empty():
                        self._running = False
                        return None
        batch = [first]
        self._take_waiting(batch)
        # Requests still being read or verified will be here in a moment: wait for them
        # (a little), so that they share this batch's commit instead of each paying one.
        deadline = time.monotonic() + self.MAX_WAIT_SECONDS
        while self._arriving and len(batch) < self.MAX_BATCH:
            left = deadline - time.monotonic()
            try:
                batch.append(self._waiting.get(timeout=left) if left > 0 else self._waiting.get_nowait())
            except queue.Empty:
                break
            self._take_waiting(batch)
        return batch

    def _take_waiting(self, batch: list[_Delivery]) -> None:
        while len(batch) < self.MAX_BATCH:
            try:
                batch.append(self._waiting.get_nowait())
            except queue.Empty:
                return

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
