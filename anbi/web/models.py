"""API tokens: how programs authenticate to the REST API (`anbi tokens create`).

Only a SHA-256 digest of each token is stored, with a short prefix to recognise it
in lists; the token itself is shown once, when it is made. A token is 256 random
bits, so a fast digest is enough (no password stretching is needed for a secret
nobody chose)."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from anbi.core.db import Base, IdMixin, UTCDateTime, utcnow


class ApiToken(IdMixin, Base):
    __tablename__ = "api_tokens"

    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, shown in `anbi tokens list` to tell them apart.
    prefix: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    revoked_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())

    @property
    def active(self) -> bool:
        return self.revoked_at is None
