"""The Stripe inbox: verify an event, store it once, apply it in the same transaction.

`verify(raw_body, signature_header, secret)` checks the signature with the official
client (`stripe.WebhookSignature.verify_header`) on the exact bytes received and
reads the body with one `json.loads`; anything wrong — a missing or bad signature,
a timestamp older than the tolerance or further ahead than it, a body that is not
UTF-8, not JSON, nested too deeply, not an object, or a thin v2 event — raises
`WebhookRefused` and nothing is written.

`receive(session, event)` is the one way an event enters, from the webhook and from
`anbi stripe sync` alike:

1. the event is inserted into `stripe_events` keyed by its id, with
   `INSERT ... ON CONFLICT DO NOTHING`: a redelivery — even two at the same moment
   on PostgreSQL, where the second insert waits for the first to commit — finds the
   row and does nothing;
2. on PostgreSQL, transaction-level advisory locks on the Stripe ids the event
   touches make concurrent events about the same payment, customer or subscription
   apply one after the other (SQLite serialises every writer already: the insert
   comes first and takes its write lock);
3. it is applied inside a savepoint: an event that cannot be applied is rolled back
   alone and kept as `failed`, with the reason, for a person to look at (the webhook,
   whose transaction holds one event, rolls back instead and records the failure in
   a new transaction: two round trips fewer per event);
4. events that were `waiting` for an object this event made known are applied now.

`receive_together(session, events)` does the same for a batch that arrived together
(the webhook's group commit): one insert, one lock statement and one wake for all,
and consecutive payments booked together (`booking.apply_payments`).

Nothing here calls Stripe or commits.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import stripe
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from anbi.core.db import JSONText, insert_once, one_of, utcnow
from anbi.core.errors import AnbiError
from fundraising.stripe import booking
from fundraising.stripe import events as ev
from fundraising.stripe.models import StripeEvent

# Stripe's own default: a signature older than this is refused as a replay.
TOLERANCE_SECONDS = 300
# Applying waiting events can make further objects known; never loop forever.
MAX_WAKE_ROUNDS = 20


class WebhookRefused(Exception):
    """The request is not a genuine, readable Stripe event (answered with 400)."""


@dataclass(frozen=True)
class Receipt:
    event_id: str
    type: str
    status: str  # applied, ignored, waiting, failed, or duplicate
    note: str | None = None

    def as_json(self) -> dict:
        return {"event": self.event_id, "type": self.type, "status": self.status, "note": self.note}


class SignedEvent(dict):
    """A verified event: its JSON, and the exact text Stripe signed (`body`), which
    the inbox stores as it came."""

    body: str


def verify(raw_body: bytes, signature_header: str | None, secret: str, *, tolerance: int = TOLERANCE_SECONDS,
           now: float | None = None) -> SignedEvent:
    """The event in a webhook request, once its signature holds. Raises WebhookRefused.

    The signature check is the official client's (`stripe.WebhookSignature.verify_header`):
    HMAC-SHA256 over `timestamp.body` against each `v1` signature, and the timestamp
    no older than the tolerance. A timestamp further in the future than the
    tolerance is refused too (the client lets it through): a signature made ahead of
    time would otherwise be replayable until then. The body is then read once, as
    plain JSON — not the client's API object, which anbi would throw away — and must
    be an object that is not a thin (v2) event notification. What anbi keeps is that
    JSON and the exact text that was signed."""
    if not signature_header:
        raise WebhookRefused("no Stripe-Signature header")
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRefused("the body is not a Stripe event: it is not UTF-8") from None
    try:
        stripe.WebhookSignature.verify_header(text, signature_header, secret, tolerance)
    except stripe.SignatureVerificationError as exc:
        raise WebhookRefused(f"signature refused: {exc.user_message or exc}") from None
    if _signed_at(signature_header) > (time.time() if now is None else now) + tolerance:
        raise WebhookRefused(f"signature refused: its timestamp is more than {tolerance} s in the future")
    try:
        document = json.loads(text)
    except RecursionError:
        raise WebhookRefused("the body is not a Stripe event: it is nested too deeply") from None
    except ValueError as exc:
        raise WebhookRefused(f"the body is not a Stripe event: {exc}") from None
    if not isinstance(document, dict):
        raise WebhookRefused("the body is not a JSON object")
    if document.get("object") == "v2.core.event":
        raise WebhookRefused("the body is not a Stripe event: a thin (v2) event notification, not a snapshot event")
    event = SignedEvent(document)
    event.body = text
    return event


def _signed_at(header: str) -> int:
    """The `t=` of a Stripe-Signature header that `verify_header` accepted (the first
    one, as the client reads it)."""
    items = [item.split("=", 2) for item in header.split(",")]
    return int(next(item[1] for item in items if item[0] == "t"))


def _insert(session: Session, values: dict[str, Any]) -> int | None:
    """Insert the event unless its id is there: the new row's id, or None for a
    redelivery. The inbox is written with plain statements, not ORM objects: loading
    the row back as an object (its JSON payload parsed again) would cost more than
    everything else an event does."""
    statement = insert_once(StripeEvent.__table__, ("event_id",), session.get_bind().dialect.name)
    return session.execute(statement, values).scalar()


def _mark(session: Session, row_id: int, status: str, note: str | None, *, object_id: str | None = None,
          count: bool = True) -> None:
    """Record what became of an event (`count`: one more attempt)."""
    table = StripeEvent.__table__
    values: dict[str, Any] = {"status": status, "error": note, "processed_at": utcnow()}
    if count:
        values["attempts"] = table.c.attempts + 1
    if object_id is not None:
        values["object_id"] = object_id
    session.execute(update(table).where(table.c.id == row_id).values(**values))


# In sorted order, so two events sharing ids never wait for each other in a circle.
_LOCK_KEYS = text("SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM unnest(CAST(:keys AS text[])) AS k")


def _lock(session: Session, keys: Iterable[str]) -> None:
    keys = sorted(set(keys))
    if keys and session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK_KEYS, {"keys": keys})


class ApplyRefused(Exception):
    """`receive(..., isolated=False)` could not apply the event. The caller rolls its
    transaction back (this event's writes with it) and keeps the event as failed
    with `record_failed`, in a new transaction."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def receive(session: Session, event: Mapping[str, Any], *, via: str = "webhook", isolated: bool = True) -> Receipt:
    """Store one event and apply it (see the module docstring).

    `isolated=False` is for a caller whose transaction holds this one event only (the
    webhook): instead of a savepoint around the application — two more round trips
    per event — a refusal raises ApplyRefused for the caller to roll back."""
    arrival = _Arrival.of(event)
    receipt, woke = _store_and_apply(session, arrival, via=via, isolated=isolated, lock=True)
    if woke:
        wake(session, woke)
    session.flush()
    return receipt


def receive_together(session: Session, events: Iterable[Mapping[str, Any]], *, via: str = "webhook") -> list[Receipt]:
    """Store and apply events that arrived together, in order, in the caller's
    transaction — as `receive(..., isolated=False)` does one, and raising what it
    raises (the caller rolls the whole transaction back). They are inserted with one
    statement, their locks taken at once in one sorted order, and the events waiting
    for what they made known woken once, at the end: three statements per batch
    instead of three per event. Consecutive payments are booked together, with a
    statement per table for all of them (`booking.apply_payments`)."""
    arrivals = [_Arrival.of(event) for event in events]
    _lock(session, (key for arrival in arrivals for key in arrival.lock_keys))
    # One multi-row VALUES: each row's payload is a long text, which psycopg sends
    # faster as a parameter of its own than inside an array (`insert_new_rows`).
    statement = insert_once(StripeEvent.__table__, ("event_id",), session.get_bind().dialect.name, returning=("id", "event_id"))
    now = utcnow()  # one arrival time for the batch: it is stored in one statement
    rows = [_row(arrival, via=via, isolated=False, now=now) for arrival in arrivals]
    row_ids = {event_id: row_id for row_id, event_id in session.execute(statement, rows)}
    receipts: list[Receipt] = []
    woke: set[str] = set()
    payments: list[tuple[_Arrival, ev.Payment, int]] = []  # consecutive payments, booked together

    def book_payments() -> None:
        try:
            outcomes = booking.apply_payments(session, [(payment, a.envelope.event_id) for a, payment, _ in payments])
        except (AnbiError, ev.EventError) as exc:
            raise ApplyRefused(str(exc)) from exc
        noted = []
        for (arrival, _, row_id), outcome in zip(payments, outcomes):
            receipts.append(Receipt(arrival.envelope.event_id, arrival.envelope.type, outcome.status, outcome.note))
            woke.update(outcome.woke)
            if outcome.note:
                noted.append({"_id": row_id, "_error": outcome.note})
        if noted:  # written as applied; only the notes are added
            session.execute(_NOTE, noted)
        payments.clear()

    for arrival in arrivals:
        # A second delivery of an event in the same batch finds it written by the first.
        row_id = row_ids.pop(arrival.envelope.event_id, None)
        if row_id is not None and isinstance(arrival.meaning, ev.Payment):
            payments.append((arrival, arrival.meaning, row_id))
            continue
        if payments:
            book_payments()
        receipt, made_known = _apply_arrival(session, arrival, row_id, isolated=False, lock=False)
        receipts.append(receipt)
        woke.update(made_known)
    if payments:
        book_payments()
    if woke:
        wake(session, woke)
    session.flush()
    return receipts


_NOTE = update(StripeEvent.__table__).where(StripeEvent.__table__.c.id == bindparam("_id")).values(error=bindparam("_error"))


@dataclass(frozen=True)
class _Arrival:
    """An event as read before it is stored: its envelope and what it means (or why
    it means nothing we can apply)."""

    event: Mapping[str, Any]
    envelope: ev.Envelope
    meaning: ev.Meaning | None
    problem: str | None

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> _Arrival:
        env = ev.envelope(event)  # raises EventError for an event without id, type or object
        try:
            return cls(event, env, ev.interpret(event, env), None)
        except ev.EventError as exc:
            return cls(event, env, None, str(exc))

    @property
    def lock_keys(self) -> list[str]:
        return booking.lock_keys(self.meaning) if self.meaning is not None else []


def _row(arrival: _Arrival, *, via: str, isolated: bool, now: dt.datetime | None = None) -> dict[str, Any]:
    """The inbox row of an event (`now`: when it arrived)."""
    env, meaning = arrival.envelope, arrival.meaning
    now = now or utcnow()
    return {
        "event_id": env.event_id,
        "type": env.type,
        "created": env.created_at,
        "livemode": env.livemode,
        "api_version": env.api_version,
        "object_id": booking.object_of(meaning) if meaning is not None else _object_id(env.obj),
        "payload": JSONText(arrival.event.body) if isinstance(arrival.event, SignedEvent) else dict(arrival.event),
        # Not isolated, an event is applied or the whole transaction is rolled back:
        # the row is written as applied, and updated only when it is not.
        "status": "received" if isolated else "applied",
        "via": via,
        "attempts": 0 if isolated else 1,
        "received_at": now,
        "processed_at": None if isolated else now,
    }


def _store_and_apply(
    session: Session, arrival: _Arrival, *, via: str, isolated: bool, lock: bool
) -> tuple[Receipt, tuple[str, ...]]:
    """Insert the event unless it is there, and apply it: (receipt, the objects it
    made known, whose waiting events the caller wakes)."""
    row_id = _insert(session, _row(arrival, via=via, isolated=isolated))
    return _apply_arrival(session, arrival, row_id, isolated=isolated, lock=lock)


def _apply_arrival(
    session: Session, arrival: _Arrival, row_id: int | None, *, isolated: bool, lock: bool
) -> tuple[Receipt, tuple[str, ...]]:
    """Apply an event just inserted as `row_id` (None: it was there already)."""
    env, meaning = arrival.envelope, arrival.meaning
    if row_id is None:
        return Receipt(env.event_id, env.type, "duplicate", "already received"), ()
    if meaning is None:
        _mark(session, row_id, "failed", arrival.problem, count=isolated)
        return Receipt(env.event_id, env.type, "failed", arrival.problem), ()
    if lock:
        _lock(session, arrival.lock_keys)
    status, note, outcome = _apply(session, row_id, env.event_id, meaning, isolated=isolated)
    return Receipt(env.event_id, env.type, status, note), (outcome.woke if outcome is not None else ())


def record_failed(session: Session, event: Mapping[str, Any], reason: str, *, via: str = "webhook") -> Receipt:
    """Keep an event that could not be applied as `failed`, with the reason (after
    the caller rolled back the attempt)."""
    env = ev.envelope(event)
    now = utcnow()
    row_id = _insert(session, {
        "event_id": env.event_id, "type": env.type, "created": env.created_at, "livemode": env.livemode,
        "api_version": env.api_version, "object_id": _object_id(env.obj), "payload": dict(event), "status": "failed",
        "error": reason, "via": via, "attempts": 1, "received_at": now, "processed_at": now,
    })
    if row_id is None:
        return Receipt(env.event_id, env.type, "duplicate", "already received")
    return Receipt(env.event_id, env.type, "failed", reason)


def _object_id(obj: Mapping[str, Any]) -> str | None:
    value = obj.get("id")
    return value[:255] if isinstance(value, str) else None


def _apply(
    session: Session, row_id: int, event_id: str, meaning: ev.Meaning, *, isolated: bool = True
) -> tuple[str, str | None, booking.EventOutcome | None]:
    """Apply inside a savepoint, so a refusal rolls back this event's writes only
    (or, not isolated, raise ApplyRefused for the caller to roll back); record the
    outcome. Returns (status, note, outcome)."""
    try:
        if isolated:
            with session.begin_nested():
                outcome = booking.apply(session, meaning, event_id=event_id)
        else:
            outcome = booking.apply(session, meaning, event_id=event_id)
    except (AnbiError, ev.EventError) as exc:
        if not isolated:
            raise ApplyRefused(str(exc)) from exc
        _mark(session, row_id, "failed", str(exc))
        return "failed", str(exc), None
    if isolated or outcome.status != "applied" or outcome.note:
        _mark(session, row_id, outcome.status, outcome.note,
              object_id=outcome.waiting_for if outcome.status == "waiting" else None, count=isolated)
    return outcome.status, outcome.note, outcome


def apply_stored(session: Session, row_id: int, event_id: str, payload: Mapping[str, Any]) -> booking.EventOutcome | None:
    """(Re-)apply an event already in the inbox: a waiting one, or a failed one after
    its cause was fixed."""
    try:
        meaning = ev.interpret(payload)
    except ev.EventError as exc:
        _mark(session, row_id, "failed", str(exc))
        return None
    _lock(session, booking.lock_keys(meaning))
    return _apply(session, row_id, event_id, meaning)[2]


_WAITING = (
    select(StripeEvent.__table__.c.id)
    .where(StripeEvent.__table__.c.status == "waiting")
    .order_by(StripeEvent.__table__.c.created, StripeEvent.__table__.c.id)
)
# Asked after every batch that makes an object known, and usually nothing waits:
# built once per dialect, with the object ids as a parameter.
@functools.cache
def _waiting_for(dialect: str):
    return _WAITING.where(one_of(StripeEvent.__table__.c.object_id, "object_ids", dialect))


def _waiting(session: Session, object_ids: Iterable[str] | None = None) -> list[tuple[int, str, Any]]:
    """Waiting events (for these objects), oldest first: (id, event id, payload)."""
    table = StripeEvent.__table__
    if object_ids is None:
        ids = session.execute(_WAITING).scalars().all()
    else:
        ids = session.execute(_waiting_for(session.get_bind().dialect.name), {"object_ids": sorted(object_ids)}).scalars().all()
    # Ids first, payloads only when there are some.
    if not ids:
        return []
    rows = session.execute(select(table.c.id, table.c.event_id, table.c.payload).where(table.c.id.in_(ids))).all()
    order = {row_id: n for n, row_id in enumerate(ids)}
    return sorted(((r.id, r.event_id, r.payload) for r in rows), key=lambda r: order[r[0]])


def _still_waiting(session: Session, row_id: int) -> bool:
    table = StripeEvent.__table__
    return session.execute(select(table.c.status).where(table.c.id == row_id)).scalar() == "waiting"


def wake(session: Session, object_ids: Iterable[str]) -> int:
    """Apply the events waiting for these objects, and for whatever those make known.
    Returns how many were applied."""
    todo = {o for o in object_ids if o}
    done = 0
    for _ in range(MAX_WAKE_ROUNDS):
        if not todo:
            break
        waiting_events = _waiting(session, todo)
        todo = set()
        for row_id, event_id, payload in waiting_events:
            if not _still_waiting(session, row_id):
                continue  # applied meanwhile, woken by an earlier one
            outcome = apply_stored(session, row_id, event_id, payload)
            if outcome is not None and outcome.status == "applied":
                done += 1
                todo.update(outcome.woke)
    return done


def reapply_waiting(session: Session) -> tuple[int, int]:
    """Try every waiting event again (oldest first): (applied now, still waiting)."""
    applied_now = 0
    for row_id, event_id, payload in _waiting(session):
        if not _still_waiting(session, row_id):
            continue  # applied meanwhile, woken by an earlier one
        outcome = apply_stored(session, row_id, event_id, payload)
        if outcome is not None and outcome.status == "applied":
            applied_now += 1
            if outcome.woke:
                applied_now += wake(session, outcome.woke)
    table = StripeEvent.__table__
    remaining = session.execute(select(func.count()).select_from(table).where(table.c.status == "waiting")).scalar_one()
    return applied_now, remaining
