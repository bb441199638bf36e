"""Staff users, sign-in with throttling, and server-side web sessions.

Passwords are hashed with argon2id (memory-hard), session keys are random and kept
only as SHA-256 digests. The throttling decision is a plain function over the times
of recent failures, so it is tested without a database or a clock.

Services take a Session and may flush(), never commit()."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from anbi.core import audit, identifiers
from anbi.core.clock import utcnow
from anbi.core.errors import AnbiError, Conflict, NotFound
from anbi.core.roles import check_role
from anbi.web.models_users import SignInAttempt, User, WebSession

MIN_PASSWORD_LENGTH = 12

# Five wrong passwords for one address within fifteen minutes means wait. Per client
# address the limit is higher: an office signs in from behind one address.
THROTTLE_WINDOW = dt.timedelta(minutes=15)
FAILURES_PER_EMAIL = 5
FAILURES_PER_CLIENT = 20

STAFF_SESSION_IDLE = dt.timedelta(hours=2)
STAFF_SESSION_MAX = dt.timedelta(hours=12)

# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): memory-hard
# against guessing on graphics cards, and a sign-in still answers in tens of milliseconds.
# A hash made with other parameters is upgraded at the next sign-in.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# Verified against when the e-mail is unknown, so that the answer takes as long as
# for a known one and timing does not tell which addresses have an account.
_DUMMY_HASH = _hasher.hash("not a password of anyone " + secrets.token_hex(8))


class UserNotFound(NotFound):
    def __init__(self, email: str):
        self.email = email
        super().__init__(f"no user with e-mail {email!r}")


class UserExists(Conflict):
    def __init__(self, email: str):
        self.email = email
        super().__init__(f"a user with e-mail {email!r} already exists")


class WeakPassword(AnbiError):
    def __init__(self, reason: str):
        super().__init__(reason)


class SignInRefused(AnbiError):
    """Wrong e-mail or password, or an inactive user: one message for all, so the
    page does not tell which addresses have an account."""

    def __init__(self) -> None:
        super().__init__("wrong e-mail address or password")


class Throttled(AnbiError):
    def __init__(self, wait: dt.timedelta):
        self.wait = wait
        minutes = max(1, -(-int(wait.total_seconds()) // 60))
        self.minutes = minutes
        super().__init__(f"too many failed attempts; try again in {minutes} minute{'s' if minutes != 1 else ''}")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str, email: str = "") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if email and password.lower() == email.lower():
        raise WeakPassword("the password must not be the e-mail address")


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def normalise_email(email: str) -> str:
    """Users sign in with the address in any case; it is stored and compared lower-cased."""
    return identifiers.email(email).lower()


def create_user(session: Session, email: str, role: str, password: str, *, actor: str) -> User:
    try:
        address = normalise_email(email)
    except ValueError as exc:
        raise AnbiError(str(exc)) from None
    try:
        check_role(role)
    except ValueError as exc:
        raise AnbiError(str(exc)) from None
    check_password_strength(password, address)
    if session.scalar(select(User.id).where(User.email == address)) is not None:
        raise UserExists(address)
    user = User(email=address, role=role, password_hash=hash_password(password), active=True)
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="user_created", entity="user", entity_ref=address, details={"role": role})
    return user


def find_user(session: Session, email: str) -> User:
    try:
        address = normalise_email(email)
    except ValueError:
        raise UserNotFound(email) from None
    user = session.scalar(select(User).where(User.email == address))
    if user is None:
        raise UserNotFound(address)
    return user


def set_password(session: Session, email: str, password: str, *, actor: str) -> User:
    user = find_user(session, email)
    check_password_strength(password, user.email)
    user.password_hash = hash_password(password)
    # A new password ends every open session of the user.
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    audit.record(session, actor=actor, action="password_set", entity="user", entity_ref=user.email)
    session.flush()
    return user


def set_active(session: Session, email: str, active: bool, *, actor: str) -> User:
    user = find_user(session, email)
    user.active = active
    if not active:
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    audit.record(session, actor=actor, action="user_activated" if active else "user_deactivated",
                 entity="user", entity_ref=user.email)
    session.flush()
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email)))


# --- throttling ---------------------------------------------------------------


def throttle_wait(failures: Sequence[dt.datetime], now: dt.datetime, *, limit: int,
                  window: dt.timedelta = THROTTLE_WINDOW) -> dt.timedelta | None:
    """How long to wait before another try, or None when a try is allowed.

    `failures` are the times of failed attempts. With `limit` or more inside the
    window ending now, the next try is allowed once the oldest of the last `limit`
    failures has left the window."""
    recent = sorted(t for t in failures if now - window < t <= now)
    if len(recent) < limit:
        return None
    return recent[-limit] + window - now


def _recent_failures(session: Session, purpose: str, column, value: str, now: dt.datetime, limit: int) -> list[dt.datetime]:
    # Only the latest `limit` rows matter for the decision.
    return list(session.scalars(
        select(SignInAttempt.at)
        .where(SignInAttempt.purpose == purpose, column == value, SignInAttempt.succeeded.is_(False),
               SignInAttempt.at > now - THROTTLE_WINDOW)
        .order_by(SignInAttempt.at.desc()).limit(limit)
    ))


def check_throttle(session: Session, *, purpose: str, email: str, client: str, now: dt.datetime,
                   per_email: int | None = None, per_client: int | None = None) -> None:
    """Raise Throttled when this e-mail address or this client tried too often
    (limits default to the sign-in limits above)."""
    per_email = per_email or FAILURES_PER_EMAIL
    per_client = per_client or FAILURES_PER_CLIENT
    waits = [
        throttle_wait(_recent_failures(session, purpose, SignInAttempt.email, email, now, per_email), now, limit=per_email),
        throttle_wait(_recent_failures(session, purpose, SignInAttempt.client, client, now, per_client), now, limit=per_client),
    ]
    longest = max((w for w in waits if w is not None), default=None)
    if longest is not None:
        raise Throttled(longest)


def record_attempt(session: Session, *, purpose: str, email: str, client: str, succeeded: bool, now: dt.datetime) -> None:
    session.add(SignInAttempt(purpose=purpose, email=email[:254], client=client[:64], succeeded=succeeded, at=now))
    # Old attempts decide nothing any more; keep the table small.
    session.execute(delete(SignInAttempt).where(SignInAttempt.at < now - dt.timedelta(days=1)))
    session.flush()


def authenticate(session: Session, email: str, password: str, *, client: str, now: dt.datetime | None = None) -> User:
    """The user for these credentials, or SignInRefused / Throttled.

    Every failure is counted, also for unknown addresses, so guessing addresses is
    throttled like guessing passwords. The caller must commit even on failure, so
    that the failed attempt is remembered (the web edge does)."""
    now = now or utcnow()
    address = (email or "").strip().lower()[:254]
    check_throttle(session, purpose="password", email=address, client=client, now=now)
    user = session.scalar(select(User).where(User.email == address)) if address else None
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password or "")
    if not ok or user is None or not user.active:
        record_attempt(session, purpose="password", email=address, client=client, succeeded=False, now=now)
        raise SignInRefused()
    record_attempt(session, purpose="password", email=address, client=client, succeeded=True, now=now)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    session.flush()
    return user


# --- sessions -----------------------------------------------------------------


def digest(secret_value: str) -> str:
    return hashlib.sha256(secret_value.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class OpenedSession:
    key: str  # goes into the signed cookie; only its digest is stored
    record: WebSession


def open_session(session: Session, *, user: User | None = None, donor_id: int | None = None,
                 lifetime: dt.timedelta = STAFF_SESSION_MAX, now: dt.datetime | None = None) -> OpenedSession:
    now = now or utcnow()
    key = secrets.token_urlsafe(32)
    record = WebSession(key_hash=digest(key), user_id=user.id if user else None, donor_id=donor_id,
                        created_at=now, last_seen_at=now, expires_at=now + lifetime)
    session.add(record)
    # Expired sessions are removed as new ones are made.
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    session.flush()
    return OpenedSession(key, record)


def find_session(session: Session, key: str, *, now: dt.datetime | None = None,
                 idle: dt.timedelta = STAFF_SESSION_IDLE) -> WebSession | None:
    """The live session for a cookie's key; None when unknown, expired or idle too long."""
    now = now or utcnow()
    record = session.scalar(select(WebSession).where(WebSession.key_hash == digest(key)))
    if record is None or record.expires_at <= now or record.last_seen_at + idle <= now:
        return None
    if record.user_id is not None and (record.user is None or not record.user.active):
        return None
    # Touch at most once a minute: a page view should not always write.
    if now - record.last_seen_at > dt.timedelta(minutes=1):
        record.last_seen_at = now
    return record


def close_session(session: Session, key: str) -> None:
    session.execute(delete(WebSession).where(WebSession.key_hash == digest(key)))


def count_sessions(session: Session, user: User) -> int:
    return session.scalar(select(func.count()).select_from(WebSession).where(WebSession.user_id == user.id)) or 0
