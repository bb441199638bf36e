"""`POST /webhooks/stripe`: Stripe's events, verified, stored once and applied.

The signature is checked on the exact bytes received, against `[stripe]
webhook_secret`. A bad or missing signature, a stale timestamp, or a body that is
not a JSON event gets 400 and nothing is written. A verified event is stored and
applied in a transaction that commits before the answer: 200 means it is in the
inbox (applied, ignored, waiting for an object, or failed for a person to look at
— a retry from Stripe would not change those). Anything unexpected is a 500, the
transaction is rolled back, and Stripe delivers the event again later.

Verifying runs on the event loop; storing and applying run on the app's writer
thread (`InboxWriter`), which takes the events that arrived meanwhile — and waits a
moment for those still being read or verified — as one batch in one transaction
(group commit), the batch's payments booked together. A burst of webhooks then pays
one transaction, and one commit, per batch instead of per event, and one thread
holds a database connection. A batch that cannot be applied whole is rolled back
and its events are stored one at a time, each in its own transaction, as a lone
event always is — so one event that fails never takes another with it.

`answer_stripe_webhook` answers the same path as a plain ASGI handler, ahead of the
framework (`anbi.web.app.AnbiApp`): the framework's routing, middleware stack and
dependencies cost more CPU per delivery than verifying it. It does what they would
for this path — the host check, the body limit, the security headers and
`Cache-Control: no-store` — and the framework's route below stays for what it does
not take (a delivery with a query string)."""
from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from anbi.core.errors import ConfigurationError
from anbi.web.deps import BodyTooLarge, read_limited_body, too_large
from anbi.web.identity.security import SECURITY_HEADERS, host_allowed, refuse_host
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

PATH = "/webhooks/stripe"
# Stripe's events are small; this only stops a flood of bytes before verification.
MAX_WEBHOOK_BYTES = 5 * 1024 * 1024


class Answer:
    """What a delivery is answered: a status and a JSON document. Made on the writer's
    thread and sent by whichever handler took the request (`as_response` for the
    framework's route)."""

    __slots__ = ("document", "status_code")

    def __init__(self, document: dict[str, Any], status_code: int = 200):
        self.document = document
        self.status_code = status_code

    @property
    def body(self) -> bytes:
        # Written as the framework's JSONResponse writes it.
        return json.dumps(self.document, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")

    def as_response(self) -> JSONResponse:
        return JSONResponse(self.document, status_code=self.status_code)


def _too_large() -> Answer:
    return Answer(json.loads(too_large(MAX_WEBHOOK_BYTES).body), 413)


@router.post(PATH, include_in_schema=False)
async def stripe_webhook(request: Request) -> JSONResponse:
    writer = inbox_writer(request.app)
    coming = writer.expect()
    try:
        try:
            body = await read_limited_body(request, MAX_WEBHOOK_BYTES)
        except BodyTooLarge:
            return too_large(MAX_WEBHOOK_BYTES)
        # The check (under a millisecond, all Python) runs here on the event loop: a
        # thread would hold the same interpreter lock, and handing over costs more.
        event = verified_event(request.app, body, request.headers.get("stripe-signature"))
        if isinstance(event, Answer):
            return event.as_response()
        return (await writer.submit(event, coming)).as_response()
    finally:
        coming.arrived()  # whatever happened: a refused, broken or cancelled request comes no more


# The headers every answer of the web application gets (`anbi.web.ui.common.WebMiddleware`).
_HEADERS = [(b"content-type", b"application/json"), (b"cache-control", b"no-store"),
            *((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in SECURITY_HEADERS.items())]


async def answer_stripe_webhook(app, scope, receive, send) -> None:
    """POST /webhooks/stripe as a plain ASGI application (see the module docstring):
    the same answers, statuses and headers as the framework's route."""
    allowed = getattr(app.state, "web_config", None)
    allowed = allowed.allowed_hosts if allowed is not None else None
    if allowed is not None and not host_allowed(scope, allowed):
        await refuse_host(scope, receive, send)
        return
    writer = inbox_writer(app)
    coming = writer.expect()
    try:
        body = await _body(scope, receive)
        if body is None:  # the client went away: nobody to answer
            return
        if body is False:
            answer = _too_large()
        else:
            event = verified_event(app, body, _header(scope, b"stripe-signature"))
            answer = event if isinstance(event, Answer) else await writer.submit(event, coming)
    finally:
        coming.arrived()
    content = answer.body
    await send({"type": "http.response.start", "status": answer.status_code,
                "headers": [*_HEADERS, (b"content-length", str(len(content)).encode("latin-1"))]})
    await send({"type": "http.response.body", "body": content})


def _header(scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def _body(scope, receive) -> bytes | bool | None:
    """The request body; False once it passes MAX_WEBHOOK_BYTES (a declared
    Content-Length is checked before reading anything), None when the client left."""
    declared = _header(scope, b"content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > MAX_WEBHOOK_BYTES:
        return False
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > MAX_WEBHOOK_BYTES:
                return False
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def verified_event(app, body: bytes, header: str | None) -> dict[str, Any] | Answer:
    """The event of a delivery, or the answer that refuses it."""
    try:
        return verify(body, header, webhook_secret(app.state.settings))
    except ConfigurationError as exc:
        # Not our sender's fault: 503 makes Stripe try again once it is configured.
        return Answer({"detail": str(exc)}, 503)
    except WebhookRefused as exc:
        return Answer({"detail": str(exc)}, 400)


_WRITERS_LOCK = threading.Lock()


def inbox_writer(app) -> InboxWriter:
    with _WRITERS_LOCK:
        writer = getattr(app.state, "stripe_inbox_writer", None)
        if writer is None:
            writer = app.state.stripe_inbox_writer = InboxWriter(app)
        return writer


@dataclass(eq=False)
class _Delivery:
    """An event on its way through the writer, and what became of it. A request on
    the event loop awaits `future` (set from the writer's thread through the loop); a
    caller on a thread of its own waits for `done`."""

    event: dict[str, Any]
    loop: asyncio.AbstractEventLoop | None = None
    future: asyncio.Future | None = None
    done: threading.Event | None = None  # only for a caller on a thread (made for it: a lock and a condition)
    response: Answer | None = None
    error: BaseException | None = None
    finished: bool = False

    def __post_init__(self) -> None:
        if self.loop is None:
            self.done = threading.Event()

    def finish(self, response: Answer | None = None, error: BaseException | None = None) -> None:
        if self.finished:
            return
        self.response, self.error, self.finished = response, error, True
        if self.done is not None:
            self.done.set()

    def settle(self) -> None:
        """On the event loop: hand the answer to the waiting request."""
        if self.future.done():  # the request was cancelled: its client went away
            return
        if self.error is not None:
            self.future.set_exception(self.error)
        else:
            self.future.set_result(self.response)


def _answer(batch: list[_Delivery]) -> None:
    """Wake the requests of a batch that wait on an event loop: one call into each
    loop for the whole batch, not one per request (each call wakes the loop)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Delivery]] = {}
    for delivery in batch:
        if delivery.loop is not None:
            by_loop.setdefault(delivery.loop, []).append(delivery)
    for loop, deliveries in by_loop.items():
        loop.call_soon_threadsafe(_settle_all, deliveries)


def _settle_all(deliveries: list[_Delivery]) -> None:
    for delivery in deliveries:
        delivery.settle()


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
    disk). A writer on the event loop with an async driver measured no faster."""

    MAX_BATCH = 50
    IDLE_SECONDS = 2.0
    MAX_WAIT_SECONDS = 0.02

    def __init__(self, app):
        self._app = app
        self._waiting: queue.SimpleQueue[_Delivery] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running = False  # the writer thread
        self._arriving = 0  # deliveries read or verified now, whose events are on their way
        self._connection: Connection | None = None  # the writer thread's own
        self._last_batch = 0  # deliveries in the batch written last

    def expect(self) -> Expected:
        """A delivery came in: its event may be on its way to a batch."""
        with self._lock:
            self._arriving += 1
        return Expected(self)

    def _arrived(self) -> None:
        with self._lock:
            self._arriving -= 1

    async def submit(self, event: dict[str, Any], coming: Expected | None = None) -> Answer:
        """Store and apply one event, from the event loop: the answer once it is
        committed (or raises what went wrong, for a 500). `coming`: this delivery,
        as `expect` announced it."""
        loop = asyncio.get_running_loop()
        delivery = _Delivery(event, loop=loop, future=loop.create_future())
        self._enqueue(delivery, coming)
        return await delivery.future

    def store(self, event: dict[str, Any]) -> Answer:
        """As `submit`, from a thread that may wait."""
        delivery = _Delivery(event)
        self._enqueue(delivery)
        delivery.done.wait()
        if delivery.error is not None:
            raise delivery.error
        return delivery.response

    def _enqueue(self, delivery: _Delivery, coming: Expected | None = None) -> None:
        self._waiting.put(delivery)
        if coming is not None:
            coming.arrived()  # after the put: a waiting writer finds the event there
        with self._lock:
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="stripe-inbox-writer", daemon=True).start()

    def _run(self) -> None:
        while True:
            batch = self._gather()
            if batch is None:
                return
            self._last_batch = len(batch)
            try:
                self._write(batch)
            except BaseException as exc:  # never leave a request waiting
                self._let_go_of_connection()  # it may be what broke: the next batch takes a new one
                for delivery in batch:
                    delivery.finish(error=exc)
            finally:
                _answer(batch)

    def _gather(self) -> list[_Delivery] | None:
        """The next batch; None when the thread should stop, idle."""
        # The senders of the last batch, just answered, and those that arrived while it
        # was written: in a burst, each sends its next event at once.
        senders = self._last_batch + self._waiting.qsize() if self._last_batch > 1 else 0
        while True:
            try:
                first = self._waiting.get(timeout=self.IDLE_SECONDS)
                break
            except queue.Empty:
                with self._lock:
                    # Decided under the lock `store` starts a thread under: an event
                    # put after this check finds no thread and starts one.
                    if self._waiting.empty():
                        self._let_go_of_connection()  # before a new thread may take it
                        self._running = False
                        return None
        batch = [first]
        self._take_waiting(batch)
        # Requests still being read or verified will be here in a moment, and in a
        # burst so will the next events of the senders: wait for them (a little), so
        # that they share this batch's commit and lookups instead of splitting into
        # two half batches that take turns, each paying its own.
        deadline = time.monotonic() + self.MAX_WAIT_SECONDS
        while (self._arriving or len(batch) < senders) and len(batch) < self.MAX_BATCH:
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

    def _session(self) -> Session:
        """A session on the writer's own connection. Held from batch to batch, it
        spares each batch the pool's checkout, and the liveness check that comes with
        it, a round trip to the database."""
        if self._connection is None:
            self._connection = self._app.state.engine.connect()
        return Session(bind=self._connection, expire_on_commit=False)

    def _let_go_of_connection(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()

    def _write(self, batch: list[_Delivery]) -> None:
        if len(batch) > 1:
            receipts = _store_together(self._session, [d.event for d in batch])
            if receipts is not None:
                for delivery, receipt in zip(batch, receipts):
                    delivery.finish(Answer(receipt.as_json()))
                return
        for delivery in batch:
            try:
                response = _store_one(self._session, delivery.event)
            except BaseException as exc:
                self._let_go_of_connection()  # it may be what broke: the next event takes a new one
                delivery.finish(error=exc)
            else:
                delivery.finish(response)


def _begin(session) -> None:
    if session.get_bind().dialect.name == "sqlite":
        # Take the write lock now, not at the first write: SQLite then never has to
        # refuse this transaction for reading a snapshot another writer changed.
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")


def _store_together(sessions: Callable[[], Session], events: list[dict[str, Any]]) -> list[Receipt] | None:
    """Store and apply the events in one transaction: their receipts, or None (and
    nothing written) when any of them cannot be, for `_store_one` to take them
    one by one."""
    session = sessions()
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


def _store_one(sessions: Callable[[], Session], event: dict[str, Any]) -> Answer:
    session = sessions()
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
        return Answer({"detail": f"not a Stripe event: {exc}"}, 400)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    return Answer(receipt.as_json())
