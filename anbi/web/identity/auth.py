"""Who is asking, and may they: the `Principal` behind a request and the
`require(permission)` check every API endpoint declares.

A Principal comes from one of the sources in `principal_sources()`, tried in
order: an API token (`Authorization: Bearer <token>`) first. The web application
adds a signed-in user's session cookie as another source there, so pages and API
share one check. What a role may do is only ever decided by
`anbi.core.roles.allowed(role, permission)`.

No principal: 401 (with `WWW-Authenticate: Bearer`). A principal whose role may not:
403."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from anbi.core.roles import allowed
from anbi.web.deps import DbSession


@dataclass(frozen=True)
class Principal:
    kind: str  # "token" (an API token) or "user" (a signed-in person)
    name: str
    role: str
    id: int | None = None

    def may(self, permission: str) -> bool:
        return allowed(self.role, permission)

    @property
    def actor(self) -> str:
        """How the audit trail names it."""
        return f"{self.kind}:{self.name}"


PrincipalSource = Callable[[Request, Session], "Principal | None"]


def bearer_token(request: Request, session: Session) -> Principal | None:
    """An API token in `Authorization: Bearer <token>`."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    from anbi.web.identity.tokens import authenticate_token

    token = authenticate_token(session, secret.strip())
    if token is None:
        return None
    return Principal(kind="token", name=token.name, role=token.role, id=token.id)


def principal_sources() -> list[PrincipalSource]:
    """Where a Principal may come from, in order. The web application adds its
    session-cookie users here."""
    from anbi.web.ui.common import session_user

    return [bearer_token, session_user]


def current_principal(request: Request, session: DbSession) -> Principal | None:
    for source in principal_sources():
        principal = source(request, session)
        if principal is not None:
            return principal
    return None


def authenticated(principal: Principal | None = Depends(current_principal)) -> Principal:
    if principal is None:
        raise HTTPException(
            status_code=401,
            detail="authentication required: send Authorization: Bearer <token> (make one with `anbi tokens create`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def require(permission: str) -> Callable[..., Principal]:
    """A dependency: the principal, if its role may `permission`; else 401 or 403."""

    def check(principal: Principal = Depends(authenticated)) -> Principal:
        if not principal.may(permission):
            raise HTTPException(status_code=403, detail=f"role {principal.role!r} may not {permission}")
        return principal

    check.__name__ = f"require_{permission.replace(':', '_')}"
    return check
