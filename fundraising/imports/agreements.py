"""`anbi agreements import`: periodic gift agreements from a CSV or XLSX file
(DESIGN.md, Import files), keyed by the transactienummer (`number`). The terms are
checked by `fundraising.agreements.check_agreement`; the register itself is
`fundraising.agreements`. An importer of `anbi.core.importing`: its columns, and
load, plan, apply, summarise. Touches the database and never commits."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from anbi.core import audit
from anbi.core.errors import Problem
from anbi.core.importing import Column, Context, Importer, Plan, Row, choice, date, in_euro, money, run_import, text, whole
from donors.models import Donor
from fundraising.agreements import AgreementTerms, check_agreement, status_for
from fundraising.lookups import DonorRefs, by_key, resolve_donor_refs
from fundraising.models import AGREEMENT_END_REASONS, AGREEMENT_STATUSES, PeriodicAgreement

def _euro(value: str) -> str:
    if value.upper() != "EUR":
        raise ValueError("a periodic gift agreement is in euro")
    return "EUR"


COLUMNS = (
    Column("number", text(50, pattern=r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,49}$", reason="use letters, digits and - _ . / only"),
           required=True, help="the transactienummer: the key"),
    Column("donor_ref", text(64), help="the donor (required for a new agreement)"),
    Column("annual_amount", in_euro(money(allow_zero=False), "a periodic gift agreement is in euro"),
           help="the amount a year"),
    Column("start_date", date, help="the first year's start"),
    Column("years", whole(), help="5 or more; empty: indefinite, until death"),
    Column("signed_on", date, help="the day the agreement was signed"),
    Column("end_date", date, help="ended early: the day"),
    Column("end_reason", choice(AGREEMENT_END_REASONS), help="ended early: why"),
    # Written by `anbi export agreements`, so that an export comes back in.
    Column("currency", _euro, help="EUR: a periodic gift agreement is in euro"),
    Column("status", choice(AGREEMENT_STATUSES), help="active, or ended when it has an end_date"),
)


@dataclass
class AgreementImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class AgreementWrite:
    current: PeriodicAgreement | None
    terms: AgreementTerms
    donor: Donor | None
    changed: tuple[str, ...] = ()   # an update: the fields it changes


@dataclass(frozen=True)
class Stored:
    agreements: dict[str, PeriodicAgreement]
    donors: DonorRefs


def load(session: Session, rows: list[Row], context: Context) -> Stored:
    return Stored(by_key(session, PeriodicAgreement, PeriodicAgreement.number, (r.get("number") for r in rows)),
                  resolve_donor_refs(session, (r.get("donor_ref") for r in rows)))


def plan(rows: list[Row], stored: Stored, problems: list[Problem], context: Context) -> Plan[AgreementWrite]:
    """Per row: a new agreement, the terms an update leaves, or unchanged; checked
    whole by `check_agreement` once the file's cells are laid over the stored terms."""
    result: Plan[AgreementWrite] = Plan()
    for row in rows:
        donor_ref = row.get("donor_ref")
        donor = stored.donors.get(donor_ref) if donor_ref else None
        if donor_ref and donor is None:
            row.fail("donor_ref", f"no donor with ref {donor_ref!r}")
        number = row.get("number")
        if number is None:
            continue
        current = stored.agreements.get(number)
        if current is None and not donor_ref:
            row.fail("donor_ref", "is required for a new agreement")
        elif current is not None and donor is not None and donor.id != current.donor_id:
            row.fail("donor_ref", f"agreement {number} belongs to another donor; an agreement does not change donor")
        terms = _terms(row, number, current)
        row.fail_unless_reported(check_agreement(terms, line=row.line))
        if (status := row.get("status")) and status != status_for(terms.end_date):
            row.fail("status", f"is {status}, but an agreement is ended when it has an end_date and active when not")
        if current is None:
            result.creates.append(AgreementWrite(None, terms, donor))
        elif changed := tuple(sorted(k for k, v in _values(terms).items() if getattr(current, k) != v)):
            result.updates.append(AgreementWrite(current, terms, donor, changed))
        else:
            result.unchanged += 1
    return result


def _terms(row: Row, number: str, current: PeriodicAgreement | None) -> AgreementTerms:
    """The terms the row gives, over the stored ones where a cell is empty."""
    amount = row.get("annual_amount")
    if current is None:
        return AgreementTerms(number, amount.cents if amount else None, row.get("start_date"), row.get("years"),
                              row.get("signed_on"), row.get("end_date"), row.get("end_reason"))
    return AgreementTerms(
        number,
        amount.cents if amount else current.annual_amount_cents,
        row.get("start_date") or current.start_date,
        row.get("years") if row.given("years") else current.years,
        row.get("signed_on") or current.signed_on,
        row.get("end_date") or current.end_date,
        row.get("end_reason") or current.end_reason,
    )


def _values(terms: AgreementTerms) -> dict[str, object]:
    return {
        "annual_amount_cents": terms.annual_amount_cents,
        "start_date": terms.start_date,
        "years": terms.years,
        "signed_on": terms.signed_on,
        "end_date": terms.end_date,
        "end_reason": terms.end_reason,
        "status": status_for(terms.end_date),
    }


def apply(session: Session, plan: Plan[AgreementWrite], context: Context) -> None:
    for write in plan.creates:
        session.add(PeriodicAgreement(number=write.terms.number, donor=write.donor, currency="EUR", **_values(write.terms)))
        audit.record(session, actor=context.actor, action="agreement.create", entity="periodic_agreement",
                     entity_ref=write.terms.number, details={"donor_ref": write.donor.ref})
    for write in plan.updates:
        values = _values(write.terms)
        for key in write.changed:
            setattr(write.current, key, values[key])
        audit.record(session, actor=context.actor, action="agreement.update", entity="periodic_agreement",
                     entity_ref=write.terms.number, details={"changed": list(write.changed)})
    session.flush()


def summarise(plan: Plan[AgreementWrite], context: Context) -> AgreementImportSummary:
    return AgreementImportSummary(len(plan.creates), len(plan.updates), plan.unchanged)


AGREEMENTS = Importer("agreements", COLUMNS, load, plan, apply, summarise, unique="number", checking="checking agreements")
COLUMNS_REQUIRED, COLUMNS_OPTIONAL = AGREEMENTS.required, AGREEMENTS.optional


def import_agreements(session: Session, source: str | Path | bytes, *, actor: str, dry_run: bool = False,
                      name: str | None = None) -> AgreementImportSummary:
    """Import the agreements file (DESIGN.md, Import files): validated whole, keyed by
    `number`; a known number is updated and an empty cell leaves its field as it is.
    Nothing is written when any row is wrong (InvalidInput lists every problem)."""
    return run_import(session, AGREEMENTS, source, actor=actor, dry_run=dry_run, name=name)
