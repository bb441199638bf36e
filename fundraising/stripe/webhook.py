"""The Stripe inbox: verify an event, store it once, apply it in the same transaction.

`verify(raw_body, signature_header, secret)` checks the signature with the official
client (`stripe.Webhook.construct_event`) on the exact bytes received; anything
wrong — a missing or bad signature, a timestamp older than the tolerance, a body
that is not JSON — raises `WebhookRefused` and nothing is written.

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

Nothing here calls Stripe or commits.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import stripe
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from anbi.core.db import utcnow
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


def verify(raw_body: bytes, signature_header: str | None, secret: str, *, tolerance: int = TOLERANCE_SECONDS) -> dict[str, Any]:
    """The event in a webhook request, once its signature holds. Raises WebhookRefused."""
    if not signature_header:
        raise WebhookRefused("no Stripe-Signature header")
    try:
        stripe.Webhook.construct_event(raw_body, signature_header, secret, tolerance=tolerance)
    except stripe.SignatureVerificationError as exc:
        raise WebhookRefused(f"signature refused: {exc.user_message or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookRefused(f"the body is not JSON: {exc}") from None
    except (AttributeError, TypeError):
        # The client reads the parsed body as an object; a JSON list or number breaks it.
        raise WebhookRefused("the body is not a JSON object") from None
    try:
        # construct_event made an API object of it; we keep the plain JSON.
        event = json.loads(raw_body)
    except ValueError as exc:  # pragma: no cover - construct_event parsed it already
        raise WebhookRefused(f"the body is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise WebhookRefused("the body is not a JSON object")
    return event


def _insert(session: Session, values: dict[str, Any]) -> StripeEvent | None:
    """Insert the event unless its id is there: the new row, or None for a redelivery.
    (An ORM insert that returns the row, so no second query reads it back.)"""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement = pg_insert(StripeEvent).on_conflict_do_nothing(index_elements=["event_id"])
    elif dialect == "sqlite":
        statement = sqlite_insert(StripeEvent).on_conflict_do_nothing(index_elements=["event_id"])
    else:  # pragma: no cover - only the two databases are supported
        raise NotImplementedError(dialect)
    return session.scalars(statement.returning(StripeEvent), [values]).first()


def _lock(session: Session, keys: Iterable[str]) -> None:
    keys = sorted(set(keys))
    if not keys or session.get_bind().dialect.name != "postgresql":
        return
    # In sorted order, so two events sharing ids never wait for each other in a circle.
    session.execute(
        text("SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM unnest(CAST(:keys AS text[])) AS k"),
        {"keys": keys},
    )


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
    env = ev.envelope(event)  # raises EventError for an event without id, type or object
    try:
        meaning: ev.Meaning | None = ev.interpret(event)
        problem = None
    except ev.EventError as exc:
        meaning, problem = None, str(exc)
    now = utcnow()
    stored = _insert(
        session,
        {
            "event_id": env.event_id,
            "type": env.type,
            "created": env.created_at,
            "livemode": env.livemode,
            "api_version": env.api_version,
            "object_id": booking.object_of(meaning) if meaning is not None else _object_id(env.obj),
            "payload": dict(event),
            "status": "received",
            "via": via,
            "attempts": 0,
            "received_at": now,
        },
    )
    if stored is None:
        return Receipt(env.event_id, env.type, "duplicate", "already received")
    if meaning is None:
        _finish(stored, "failed", problem)
        session.flush()
        return Receipt(env.event_id, env.type, "failed", problem)
    _lock(session, booking.lock_keys(meaning))
    outcome = _apply(session, stored, meaning, isolated=isolated)
    if outcome is not None and outcome.woke:
        wake(session, outcome.woke)
    session.flush()
    return Receipt(env.event_id, env.type, stored.status, stored.error)


def record_failed(session: Session, event: Mapping[str, Any], reason: str, *, via: str = "webhook") -> Receipt:
    """Keep an event that could not be applied as `failed`, with the reason (after
    the caller rolled back the attempt)."""
    env = ev.envelope(event)
    now = utcnow()
    stored = _insert(session, {
        "event_id": env.event_id, "type": env.type, "created": env.created_at, "livemode": env.livemode,
        "api_version": env.api_version, "object_id": _object_id(env.obj), "payload": dict(event), "status": "failed",
        "error": reason, "via": via, "attempts": 1, "received_at": now, "processed_at": now,
    })
    if stored is None:
        return Receipt(env.event_id, env.type, "duplicate", "already received")
    session.flush()
    return Receipt(env.event_id, env.type, "failed", reason)


def _object_id(obj: Mapping[str, Any]) -> str | None:
    value = obj.get("id")
    return value[:255] if isinstance(value, str) else None


def _finish(stored: StripeEvent, status: str, note: str | None) -> None:
    stored.status = status
    stored.error = note
    stored.attempts = (stored.attempts or 0) + 1
    stored.processed_at = utcnow()


def _apply(session: Session, stored: StripeEvent, meaning: ev.Meaning, *, isolated: bool = True) -> booking.Outcome | None:
    """Apply inside a savepoint, so a refusal rolls back this event's writes only
    (or, not isolated, raise ApplyRefused for the caller to roll back)."""
    try:
        if isolated:
            with session.begin_nested():
                outcome = booking.apply(session, meaning, event_id=stored.event_id)
        else:
            outcome = booking.apply(session, meaning, event_id=stored.event_id)
    except (AnbiError, ev.EventError) as exc:
        if not isolated:
            raise ApplyRefused(str(exc)) from exc
        _finish(stored, "failed", str(exc))
        return None
    _finish(stored, outcome.status, outcome.note)
    if outcome.status == "waiting":
        stored.object_id = outcome.waiting_for
    return outcome


def apply_stored(session: Session, stored: StripeEvent) -> booking.Outcome | None:
    """(Re-)apply an event already in the inbox: a waiting one, or a failed one after
    its cause was fixed."""
    try:
        meaning = ev.interpret(stored.payload)
    except ev.EventError as exc:
        _finish(stored, "failed", str(exc))
        return None
    _lock(session, booking.lock_keys(meaning))
    return _apply(session, stored, meaning)


def wake(session: Session, object_ids: Iterable[str]) -> int:
    """Apply the events waiting for these objects, and for whatever those make known.
    Returns how many were applied."""
    todo = {o for o in object_ids if o}
    done = 0
    for _ in range(MAX_WAKE_ROUNDS):
        if not todo:
            break
        # Usually nothing waits: ask for ids only, load events only when there are some.
        ids = session.execute(
            select(StripeEvent.id)
            .where(StripeEvent.status == "waiting", StripeEvent.object_id.in_(sorted(todo)))
            .order_by(StripeEvent.created, StripeEvent.id)
        ).scalars().all()
        if not ids:
            break
        waiting_events = [session.get(StripeEvent, event_id) for event_id in ids]
        todo = set()
        for stored in waiting_events:
            outcome = apply_stored(session, stored)
            if outcome is not None and outcome.status == "applied":
                done += 1
                todo.update(outcome.woke)
    return done


def reapply_waiting(session: Session) -> tuple[int, int]:
    """Try every waiting event again (oldest first): (applied now, still waiting)."""
    applied_now = 0
    for stored in session.scalars(
        select(StripeEvent).where(StripeEvent.status == "waiting").order_by(StripeEvent.created, StripeEvent.id)
    ).all():
        if stored.status != "waiting":
            continue  # applied meanwhile, woken by an earlier one
        outcome = apply_stored(session, stored)
        if outcome is not None and outcome.status == "applied":
            applied_now += 1
            if outcome.woke:
                applied_now += wake(session, outcome.woke)
    still = session.scalar(select(StripeEvent.id).where(StripeEvent.status == "waiting").limit(1))
    remaining = 0 if still is None else len(session.scalars(select(StripeEvent.id).where(StripeEvent.status == "waiting")).all())
    return applied_now, remaining
