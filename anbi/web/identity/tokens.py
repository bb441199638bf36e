"""API tokens: make one (shown once), list them, revoke one, and recognise one.

A token is `anbi_` followed by 43 characters of `secrets.token_urlsafe(32)` (256
random bits). Only its SHA-256 digest is stored; `prefix` (its first 12
characters) tells tokens apart in a list without revealing them. Services take a
Session and flush, never commit."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from anbi.core import audit
from anbi.core.db import utcnow
from anbi.core.errors import Conflict, InvalidInput, NotFound, Problem
from anbi.core.roles import ROLES
from anbi.web.identity.models import ApiToken

TOKEN_PREFIX = "anbi_"
PREFIX_LENGTH = 12
# Writing `last_used_at` on every request would make every GET a write; once a
# minute is enough to see which tokens are in use.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class TokenNotFound(NotFound):
    def __init__(self, which: str):
        self.which = which
        super().__init__(f"no API token {which!r} (see `anbi tokens list`)")


class TokenRevoked(Conflict):
    def __init__(self, which: str):
        self.which = which
        super().__init__(f"API token {which!r} is already revoked")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the token itself: shown once, never stored


def create_token(session: Session, *, role: str, name: str | None, actor: str) -> NewToken:
    """Make a token for `role`; the returned secret is the only copy."""
    problems = []
    if role not in ROLES:
        problems.append(Problem(None, "role", f"{role!r} is not one of {', '.join(ROLES)}"))
    name = (name or "").strip() or f"{role} token"
    if len(name) > 100:
        problems.append(Problem(None, "name", "is longer than 100 characters"))
    if problems:
        raise InvalidInput(problems, "token")
    secret = new_token()
    token = ApiToken(name=name, role=role, token_hash=digest(secret), prefix=secret[:PREFIX_LENGTH], created_by=actor)
    session.add(token)
    session.flush()
    audit.record(session, actor=actor, action="token.create", entity="api_token", entity_ref=str(token.id),
                 details={"name": name, "role": role, "prefix": token.prefix})
    return NewToken(token, secret)


def list_tokens(session: Session, *, include_revoked: bool = False) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return list(session.scalars(query))


def token_json(token: ApiToken) -> dict:
    return {
        "id": token.id,
        "name": token.name,
        "role": token.role,
        "prefix": token.prefix,
        "created_by": token.created_by,
        "created_at": token.created_at.isoformat(),
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }


def find_token(session: Session, which: str) -> ApiToken:
    """A token by its id or by the prefix shown in the list."""
    query = select(ApiToken)
    if which.isdigit():
        token = session.get(ApiToken, int(which))
    else:
        matches = list(session.scalars(query.where(ApiToken.prefix == which[:PREFIX_LENGTH])))
        token = matches[0] if len(matches) == 1 else None
        if len(matches) > 1:
            raise Conflict(f"several tokens start with {which!r}: give the id")
    if token is None:
        raise TokenNotFound(which)
    return token


def revoke_token(session: Session, which: str, *, actor: str) -> ApiToken:
    token = find_token(session, which)
    if token.revoked_at is not None:
        raise TokenRevoked(which)
    token.revoked_at = utcnow()
    session.flush()
    audit.record(session, actor=actor, action="token.revoke", entity="api_token", entity_ref=str(token.id),
                 details={"name": token.name, "prefix": token.prefix})
    return token


def authenticate_token(session: Session, secret: str) -> ApiToken | None:
    """The active token with this secret, or None. Compares digests, never secrets."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    wanted = digest(secret)
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == wanted))
    if token is None or token.revoked_at is not None or not hmac.compare_digest(token.token_hash, wanted):
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    return token
