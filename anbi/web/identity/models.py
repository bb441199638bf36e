"""Tables of who may use the web application and the API: staff users, their sign-in
throttles, the portal's link requests (for throttling), server-side sessions,
donor-portal links, and the API tokens programs authenticate with (`anbi tokens
create`). (The log of imports and statement runs is anbi.core.runs.)

Secrets are never stored in the clear: passwords as argon2 hashes, session keys,
portal tokens and API tokens as SHA-256 digests, so a copy of the database opens no
session. An API token is 256 random bits, so a fast digest is enough (no password
stretching is needed for a secret nobody chose); a short prefix recognises it in
lists, and the token itself is shown once, when it is made."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from anbi.core.db import Base, BigIntId, IdMixin, UTCDateTime, utcnow


class User(IdMixin, Base):
    """A person of the fundraising team or finance who signs in to the web application."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SignInAttempt(IdMixin, Base):
    """One try to sign in (or to ask for a portal link): counted per e-mail address
    and per client address to slow down password guessing and mail flooding."""

    __tablename__ = "sign_in_attempts"

    # "password" for staff sign-in, "portal" for a donor asking for a link.
    purpose: Mapped[str] = mapped_column(String(10), default="password")
    email: Mapped[str] = mapped_column(String(254), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)


class SignInThrottle(IdMixin, Base):
    """How often a staff sign-in failed lately for one key — an account, an account
    at one client address, or a client address — and when the next try may come.

    Kept in the database, so every server process sees the same state; the row is
    locked while a try is judged, so tries in parallel are judged one after the other.
    The rules are `anbi.web.identity.users.THROTTLE_RULES`."""

    __tablename__ = "sign_in_throttles"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    # "account", "account_at" (an account from one client address) or "client".
    scope: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(320))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    next_try_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class WebSession(IdMixin, Base):
    """A signed-in browser: either a staff user or a donor in the portal, never both.

    The cookie carries the session key (signed); only its hash is kept here, so
    signing out or deactivating a user ends the session at once."""

    __tablename__ = "web_sessions"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (donor_id IS NULL)", name="one_principal"),
    )

    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    donor_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("donors.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)

    user: Mapped[User | None] = relationship()


class PortalLink(IdMixin, Base):
    """A single-use sign-in link for the donor portal, sent by e-mail; expires soon."""

    __tablename__ = "portal_links"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    donor_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("donors.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ApiToken(IdMixin, Base):
    __tablename__ = "api_tokens"

    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, shown in `anbi tokens list` to tell them apart.
    prefix: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    @property
    def active(self) -> bool:
        return self.revoked_at is None
