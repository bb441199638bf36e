"""Staff users, sign-in with throttling, and server-side web sessions.

Passwords are hashed with argon2id (memory-hard), session keys are random and kept
only as SHA-256 digests.

Sign-in is throttled, never locked: after a few free failures each wrong password
makes the next try wait longer (1 s, 2 s, 4 s, ... up to a ceiling), per account,
per account at one client address, and per client address (`THROTTLE_RULES`). A
right password is refused only while the current delay runs, and a try after it
signs in. Someone guessing from another address can make an account wait at most
the account's ceiling (30 s); a guesser's own address waits up to 15 minutes. The
state is a row per key in the database (`SignInThrottle`), locked while a try is
judged, so every server process sees it and tries in parallel are judged one after
the other. The delay decision is a plain function (`delay_after`), tested without a
database or a clock. The donor portal's link requests keep a count per window
(`check_throttle`): a limit on mail, not on passwords.

Services take a Session and may flush(), never commit()."""
from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from anbi.core import audit, identifiers
from anbi.core.clock import utcnow
from anbi.core.errors import AnbiError, Conflict, NotFound
from anbi.core.db import insert_once
from anbi.core.roles import check_role
from anbi.web.identity.models import SignInAttempt, SignInThrottle, User, WebSession

MIN_PASSWORD_LENGTH = 12

# The portal's link requests: at most so many per address and per client in the window.
THROTTLE_WINDOW = dt.timedelta(minutes=15)
FAILURES_PER_EMAIL = 5
FAILURES_PER_CLIENT = 20


@dataclass(frozen=True)
class ThrottleRule:
    """`free` failures cost nothing; each one after them doubles the wait, starting
    at `first`, up to `longest`. Failures older than `forget_after` (no failure since)
    are forgotten; a right password forgets them if `reset_by_success`."""

    free: int
    longest: dt.timedelta
    first: dt.timedelta = dt.timedelta(seconds=1)
    forget_after: dt.timedelta = dt.timedelta(hours=1)
    reset_by_success: bool = True


THROTTLE_RULES = {
    # One account, from anywhere: the most a guesser elsewhere can make its owner wait.
    "account": ThrottleRule(free=10, longest=dt.timedelta(seconds=30)),
    # One account from one client address: a guesser there slows down fast.
    "account_at": ThrottleRule(free=3, longest=dt.timedelta(minutes=15)),
    # One client address, any account (an office signs in from behind one address, and
    # a guesser's own right password for an account of theirs must not reset it).
    "client": ThrottleRule(free=20, longest=dt.timedelta(minutes=15), reset_by_success=False),
}


def delay_after(failures: int, rule: ThrottleRule) -> dt.timedelta:
    """How long the next try waits after `failures` failures in a row."""
    if failures < rule.free:
        return dt.timedelta(0)
    doublings = failures - rule.free
    if doublings >= 32:  # far past any ceiling; keeps the number small
        return rule.longest
    return min(rule.first * 2**doublings, rule.longest)


def counted_failures(failures: int, last_failure_at: dt.datetime | None, now: dt.datetime, rule: ThrottleRule) -> int:
    """The failures that still count: none after a quiet `forget_after`."""
    if last_failure_at is None or now - last_failure_at >= rule.forget_after:
        return 0
    return failures

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
        seconds = max(1, math.ceil(wait.total_seconds()))
        self.seconds = seconds
        self.minutes = max(1, -(-seconds // 60))
        if seconds < 120:
            when = f"{seconds} second{'s' if seconds != 1 else ''}"
        else:
            when = f"{self.minutes} minutes"
        super().__init__(f"too many failed attempts; try again in {when}")


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


def _forget_old_throttles(session: Session, now: dt.datetime) -> None:
    """Rows whose failures were forgotten long ago decide nothing; keep the table small."""
    longest = max(rule.forget_after + rule.longest for rule in THROTTLE_RULES.values())
    session.execute(delete(SignInThrottle).where(SignInThrottle.last_failure_at < now - longest - dt.timedelta(days=1)))


def record_attempt(session: Session, *, purpose: str, email: str, client: str, succeeded: bool, now: dt.datetime) -> None:
    session.add(SignInAttempt(purpose=purpose, email=email[:254], client=client[:64], succeeded=succeeded, at=now))
    # Old attempts decide nothing any more; keep the table small.
    session.execute(delete(SignInAttempt).where(SignInAttempt.at < now - dt.timedelta(days=1)))
    session.flush()


def _throttle_keys(address: str, client: str) -> list[tuple[str, str]]:
    """(scope, key) of a try, in the one order rows are locked in (no two tries wait
    for each other in a circle)."""
    client = client[:64]
    return [("account", address), ("account_at", f"{address} {client}"), ("client", client)]


def _claim(session: Session, keys: list[tuple[str, str]], now: dt.datetime) -> list[SignInThrottle]:
    """The throttle rows of a try, made if new and locked (FOR UPDATE on PostgreSQL;
    the insert takes SQLite's write lock) until the caller's transaction ends."""
    table = SignInThrottle.__table__
    statement = insert_once(table, ("scope", "key"), session.get_bind().dialect.name)
    session.execute(statement, [{"scope": scope, "key": key, "failures": 0, "next_try_at": now} for scope, key in keys])
    rows = {(row.scope, row.key): row for row in session.scalars(
        select(SignInThrottle)
        .where(or_(*(and_(SignInThrottle.scope == scope, SignInThrottle.key == key) for scope, key in keys)))
        .order_by(SignInThrottle.scope, SignInThrottle.key)
        .with_for_update()
    )}
    return [rows[key] for key in keys]


def _throttle_failure(rows: list[SignInThrottle], now: dt.datetime) -> None:
    for row in rows:
        rule = THROTTLE_RULES[row.scope]
        row.failures = counted_failures(row.failures, row.last_failure_at, now, rule) + 1
        row.last_failure_at = now
        row.next_try_at = now + delay_after(row.failures, rule)


def _throttle_success(rows: list[SignInThrottle], now: dt.datetime) -> None:
    for row in rows:
        if THROTTLE_RULES[row.scope].reset_by_success:
            row.failures, row.last_failure_at, row.next_try_at = 0, None, now


def authenticate(session: Session, email: str, password: str, *, client: str, now: dt.datetime | None = None) -> User:
    """The user for these credentials, or SignInRefused / Throttled.

    Throttled only while the current delay of the account, the account at this
    client address, or the client address runs (nothing is checked then, so a
    guess costs the guesser the wait); any try after it is judged, and a right
    password signs in. Every failure is counted, also for unknown addresses, so
    guessing addresses is throttled like guessing passwords. The caller must commit
    even on failure, so that the failure is remembered (the web edge does)."""
    now = now or utcnow()
    address = (email or "").strip().lower()[:254]
    rows = _claim(session, _throttle_keys(address, client), now)
    waits = [row.next_try_at - now for row in rows if row.next_try_at > now]
    if waits:
        raise Throttled(max(waits))
    user = session.scalar(select(User).where(User.email == address)) if address else None
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password or "")
    if not ok or user is None or not user.active:
        _throttle_failure(rows, now)
        _forget_old_throttles(session, now)
        session.flush()
        raise SignInRefused()
    _throttle_success(rows, now)
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
