"""The audit trail: who did what to which record, and when.

Personal data changes, merges, exports, erasures and every issued statement write a
row here. Rows are only ever added."""
from __future__ import annotations

import datetime as dt
import getpass
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from anbi.core.db import Base, IdMixin, UTCDateTime, utcnow


class AuditEntry(IdMixin, Base):
    __tablename__ = "audit_entries"

    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(50))
    entity_ref: Mapped[str] = mapped_column(String(100), index=True)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


def default_actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in a container: still say something true
        return "unknown"


def record(session: Session, *, actor: str, action: str, entity: str, entity_ref: str, details: dict | None = None) -> AuditEntry:
    entry = AuditEntry(actor=actor, action=action, entity=entity, entity_ref=str(entity_ref), details=details)
    session.add(entry)
    return entry
