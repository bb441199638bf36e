"""Roles and what each may do: the table in DESIGN.md, as data.

The API and the web application both ask `allowed(role, permission)`; nothing else
decides access."""
from __future__ import annotations

ROLES = ("admin", "fundraiser", "finance", "viewer")

# Permission names: <area>:<verb>.
DONORS_READ = "donors:read"
DONORS_WRITE = "donors:write"
DONORS_ERASE = "donors:erase"
DONORS_SEE_IBAN = "donors:iban"            # viewers never see bank account numbers
CAMPAIGNS_READ = "campaigns:read"
CAMPAIGNS_WRITE = "campaigns:write"
FINANCE_READ = "finance:read"              # grants, costs, finance reports
FINANCE_WRITE = "finance:write"
STATEMENTS_RUN = "statements:run"          # issue, send, print annual statements
EXPORT_DONORS = "exports:donors"           # donor and donation exports
FINANCE_RUN = "finance:run"                # other exports, Odoo, SEPA, bank
USERS_MANAGE = "users:manage"

PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({
        DONORS_READ, DONORS_WRITE, DONORS_ERASE, DONORS_SEE_IBAN, CAMPAIGNS_READ, CAMPAIGNS_WRITE,
        FINANCE_READ, FINANCE_WRITE, STATEMENTS_RUN, EXPORT_DONORS, FINANCE_RUN, USERS_MANAGE,
    }),
    "fundraiser": frozenset({
        DONORS_READ, DONORS_WRITE, DONORS_SEE_IBAN, CAMPAIGNS_READ, CAMPAIGNS_WRITE, STATEMENTS_RUN, EXPORT_DONORS,
    }),
    "finance": frozenset({
        DONORS_READ, DONORS_SEE_IBAN, CAMPAIGNS_READ, FINANCE_READ, FINANCE_WRITE, STATEMENTS_RUN,
        EXPORT_DONORS, FINANCE_RUN,
    }),
    "viewer": frozenset({DONORS_READ, CAMPAIGNS_READ, FINANCE_READ}),
}


def allowed(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
    return role
