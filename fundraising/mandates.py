"""The register of SEPA direct-debit mandates (doorlopende machtiging, DOMAIN.md 7.2).

A mandate is the donor's signed permission to collect from one IBAN; the ledger
writes the pain.008 collection files from this register. Its id (machtigingskenmerk,
at most 35 characters) is the key. `last_collected_on` carries over the history of
mandates moved from another system: it decides whether the next collection is the
first (FRST) and when an unused mandate expires. An import never moves it back (the
bank statements move it forward as collections settle), and never makes a revoked or
expired mandate active again; the summary says what it kept (`kept`).

The list here; the import is `fundraising.imports.mandates`."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from anbi.core.errors import Problem
from donors.models import Donor
from donors.service import active_filter
from fundraising.models import Mandate


@dataclass(frozen=True)
class MandateTerms:
    mandate_id: str
    iban: str | None
    bic: str | None
    signed_on: dt.date | None
    signed_place: str | None
    status: str
    last_collected_on: dt.date | None


def check_mandate(terms: MandateTerms, *, line: int | None = None) -> list[Problem]:
    """Problems with a complete mandate (after an update is applied)."""
    problems: list[Problem] = []
    if terms.iban is None:
        problems.append(Problem(line, "iban", "is required"))
    if terms.signed_on is None:
        problems.append(Problem(line, "signed_on", "is required: a mandate without a signing date cannot be collected"))
    if terms.signed_on and terms.last_collected_on and terms.last_collected_on < terms.signed_on:
        problems.append(Problem(line, "last_collected_on", "is before the mandate was signed"))
    return problems


def list_mandates(session: Session, *, show_iban: bool = True) -> list[dict]:
    rows = session.execute(
        select(Mandate, Donor.ref).join(Donor, Donor.id == Mandate.donor_id).where(*active_filter())
        .order_by(Mandate.mandate_id)
    ).all()
    return [
        {
            "mandate_id": mandate.mandate_id,
            "donor_ref": donor_ref,
            "iban": mandate.iban if show_iban else None,
            "bic": mandate.bic,
            "signed_on": mandate.signed_on.isoformat(),
            "signed_place": mandate.signed_place,
            "status": mandate.status,
            "last_collected_on": mandate.last_collected_on.isoformat() if mandate.last_collected_on else None,
        }
        for mandate, donor_ref in rows
    ]
