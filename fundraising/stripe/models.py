"""The Stripe event inbox: every event we received, keyed by its id.

An event is stored once (the unique `event_id` makes a redelivery a no-op) and
applied in the same transaction. Its `status` says what became of it:

- `applied`: its effect is booked (a donation, a refund, a recurring gift update);
- `ignored`: a type that means nothing to us, or nothing to do;
- `waiting`: it is about an object we have not seen yet (`object_id`, e.g. a refund
  of a payment whose own event has not arrived); applied when that object arrives,
  or by `anbi stripe sync`;
- `failed`: it could not be applied; `error` says why, for a person to look at.

`received` is only seen inside the transaction that stores the event."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from anbi.core.db import Base, IdMixin, UTCDateTime, utcnow

EVENT_STATUSES = ("received", "applied", "ignored", "waiting", "failed")


class StripeEvent(IdMixin, Base):
    __tablename__ = "stripe_events"
    __table_args__ = (Index("ix_stripe_events_status_object_id", "status", "object_id"),)

    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100), index=True)
    # When Stripe created the event: a payment is dated by it (DESIGN.md, Dates).
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    livemode: Mapped[bool] = mapped_column(Boolean, default=False)
    api_version: Mapped[str | None] = mapped_column(String(40))
    # The Stripe object this event is about, or waits for while `waiting`.
    object_id: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="received")
    # Why it failed or waits, or what a person should know (a flag on the booking).
    error: Mapped[str | None] = mapped_column(Text)
    # How it reached us: `webhook` or `sync`.
    via: Mapped[str] = mapped_column(String(10), default="webhook")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
