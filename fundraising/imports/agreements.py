"""`anbi agreements import`: periodic gift agreements from a CSV file (DESIGN.md,
Import files), keyed by the transactienummer (`number`). The terms are checked by
`fundraising.agreements.check_agreement`; the register itself is
`fundraising.agreements`. Touches the database and never commits."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from anbi.core import audit
from anbi.core.csvfile import RowParser, check_unique, read_csv
from anbi.core.errors import InvalidInput, Problem
from anbi.core.progress import progress
from donors.models import Donor
from fundraising.agreements import AgreementTerms, check_agreement, status_for
from fundraising.lookups import by_key, resolve_donor_refs
from fundraising.models import AGREEMENT_END_REASONS, PeriodicAgreement

COLUMNS_REQUIRED = ("number",)
COLUMNS_OPTIONAL = ("donor_ref", "annual_amount", "start_date", "years", "signed_on", "end_date", "end_reason")
_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,49}$")


@dataclass
class AgreementImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def import_agreements(session: Session, source: str | Path | bytes, *, actor: str, dry_run: bool = False,
                      name: str | None = None) -> AgreementImportSummary:
    """Import the agreements file (DESIGN.md, Import files): validated whole, keyed by
    `number`; a known number is updated and an empty cell leaves its field as it is.
    Nothing is written when any row is wrong (InvalidInput lists every problem)."""
    csv = read_csv(source, required=COLUMNS_REQUIRED, optional=COLUMNS_OPTIONAL, name=name)
    problems: list[Problem] = []
    check_unique(csv.rows, "number", problems)
    existing = by_key(session, PeriodicAgreement, PeriodicAgreement.number, (r.values.get("number", "") for r in csv.rows))
    donors = resolve_donor_refs(session, (r.values.get("donor_ref", "") for r in csv.rows))

    plans: list[tuple[PeriodicAgreement | None, AgreementTerms, Donor | None]] = []
    for row in progress(csv.rows, label="checking agreements"):
        cells = RowParser(row, problems)
        number = cells.text("number", required=True, max_length=50)
        if number and not _NUMBER.match(number):
            cells.fail("number", "use letters, digits and - _ . / only")
            number = None
        donor_ref = cells.text("donor_ref", max_length=64)
        amount = cells.money("annual_amount", allow_zero=False)
        start_date = cells.date("start_date")
        years = cells.integer("years")
        signed_on = cells.date("signed_on")
        end_date = cells.date("end_date")
        end_reason = cells.choice("end_reason", AGREEMENT_END_REASONS)
        if amount is not None and amount.currency != "EUR":
            cells.fail("annual_amount", "a periodic gift agreement is in euro")
            amount = None
        donor = donors.get(donor_ref) if donor_ref else None
        if donor_ref and donor is None:
            cells.fail("donor_ref", f"no donor with ref {donor_ref!r}")
        if number is None:
            continue
        current = existing.get(number)
        if current is None:
            if not donor_ref:
                cells.fail("donor_ref", "is required for a new agreement")
            terms = AgreementTerms(number, amount.cents if amount else None, start_date, years, signed_on, end_date, end_reason)
        else:
            if donor is not None and donor.id != current.donor_id:
                cells.fail("donor_ref", f"agreement {number} belongs to another donor; an agreement does not change donor")
            terms = AgreementTerms(
                number,
                amount.cents if amount else current.annual_amount_cents,
                start_date or current.start_date,
                years if cells.given("years") else current.years,
                signed_on or current.signed_on,
                end_date or current.end_date,
                end_reason or current.end_reason,
            )
        for problem in check_agreement(terms, line=row.line):
            # A field with its own reading problem is reported once.
            if not any(p.line == problem.line and p.field == problem.field for p in problems):
                problems.append(problem)
        plans.append((current, terms, donor))
    if problems:
        raise InvalidInput(problems, csv.name)

    summary = AgreementImportSummary()
    for current, terms, donor in progress(plans, label="writing agreements"):
        values = {
            "annual_amount_cents": terms.annual_amount_cents,
            "start_date": terms.start_date,
            "years": terms.years,
            "signed_on": terms.signed_on,
            "end_date": terms.end_date,
            "end_reason": terms.end_reason,
            "status": status_for(terms.end_date),
        }
        if current is None:
            summary.created += 1
            if not dry_run:
                session.add(PeriodicAgreement(number=terms.number, donor=donor, currency="EUR", **values))
                audit.record(session, actor=actor, action="agreement.create", entity="periodic_agreement",
                             entity_ref=terms.number, details={"donor_ref": donor.ref})
            continue
        changes = {key: (getattr(current, key), new) for key, new in values.items() if getattr(current, key) != new}
        if not changes:
            summary.unchanged += 1
            continue
        summary.updated += 1
        if not dry_run:
            for key, (_, new) in changes.items():
                setattr(current, key, new)
            audit.record(session, actor=actor, action="agreement.update", entity="periodic_agreement",
                         entity_ref=terms.number, details={"changed": sorted(changes)})
    session.flush()
    return summary
