"""Grant costs booked in the general ledger, imported as expenses of their grants
(`anbi odoo pull-costs`).

The ledger is a port (`CostLedger`): `exports.odoo.costs` fills it from the analytic
lines booked on each grant's analytic account in Odoo; this module decides what
becomes an expense and writes it, where grants live. Each cost is imported once (by
the ledger's own id for it); every account is mapped to a budget line through the
grant's `[odoo.budget_lines]` first, and an unmapped account stops the pull, naming
it, before anything is written. Services take a Session and never commit.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from anbi.core.errors import InvalidInput, Problem
from subsidies.costs import record_expense
from subsidies.errors import GrantNotFound
from subsidies.models import Grant


@dataclass(frozen=True)
class BookedCost:
    """One cost booked on a grant in the ledger."""

    reference: str          # the ledger's own id for the line: the expense's reference, so it is imported once
    booked_on: dt.date
    amount_cents: int       # positive: a cost
    account_code: str
    account_name: str
    description: str | None


@dataclass
class BookedCosts:
    """What the ledger holds for the grants asked about."""

    by_grant: dict[str, list[BookedCost]] = field(default_factory=dict)  # grants the ledger books costs on
    notes: list[str] = field(default_factory=list)  # what the ledger could not tell, in plain words
    ready: bool = True  # False: the ledger books nothing on grants yet (the notes say why)


class CostLedger(Protocol):
    """The ledger the costs come from (`exports.odoo.costs.OdooCosts`)."""

    source: str  # the expenses' source ("odoo")

    def booked_costs(self, grant_references: Sequence[str]) -> BookedCosts: ...


@dataclass
class CostsSummary:
    grants: int = 0
    created: int = 0
    already: int = 0
    total_cents: int = 0
    notes: list[str] = field(default_factory=list)


def pull_costs(session: Session, ledger: CostLedger, *, grant_reference: str | None = None) -> CostsSummary:
    """Import the costs the ledger books on grants as expenses of those grants
    (idempotent by the ledger's id for each line)."""
    query = select(Grant).order_by(Grant.reference)
    if grant_reference:
        query = query.where(Grant.reference == grant_reference)
    grants = list(session.scalars(query))
    if grant_reference and not grants:
        raise GrantNotFound(grant_reference)
    summary = CostsSummary(grants=len(grants))
    booked = ledger.booked_costs([grant.reference for grant in grants])
    summary.notes.extend(booked.notes)
    if not booked.ready:
        return summary
    pulled: list[tuple[Grant, BookedCost, str]] = []
    problems: list[Problem] = []
    for grant in grants:
        unmapped: dict[str, str] = {}
        for cost in booked.by_grant.get(grant.reference, ()):
            budget_line = (grant.odoo_budget_lines or {}).get(cost.account_code)
            if budget_line is None:
                unmapped[cost.account_code] = cost.account_name
                continue
            pulled.append((grant, cost, budget_line))
        for code, name in sorted(unmapped.items()):
            problems.append(Problem(None, f"grant {grant.reference} [odoo.budget_lines]",
                                    f"Odoo account {code} ({name}) maps to no budget line; add \"{code}\" = "
                                    "\"<budget line code>\" to the grant file and load it again"))
    if problems:
        raise InvalidInput(problems, "anbi odoo pull-costs (nothing was imported)")
    for grant, cost, budget_line in pulled:
        _, created = record_expense(
            session, source=ledger.source, reference=cost.reference, spent_on=cost.booked_on,
            amount_cents=cost.amount_cents, grant_reference=grant.reference, budget_line=budget_line,
            description=cost.description,
        )
        if created:
            summary.created += 1
            summary.total_cents += cost.amount_cents
        else:
            summary.already += 1
    session.flush()
    return summary
