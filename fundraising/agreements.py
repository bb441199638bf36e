"""The register of periodic gift agreements (overeenkomst periodieke gift, DOMAIN.md 1.3).

A donor commits to the same annual amount for five or more years, or for life
("indefinite"), in a written agreement signed before the first payment. The
transactienummer (`number`) is the key: required in an import, generated as
`PG-<year>-<seq>` for agreements made in the API or the web application.

This module keeps the register (list, early end; the import is
`fundraising.imports.agreements`). The tax rules built on it
— which payments count as periodic, the printed form, the yearly check — belong to
the annual statements. Here: `check_agreement` and `term_end` are plain functions;
`end_agreement` and `next_agreement_number` touch the database and never commit."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from anbi.core import audit, calendar
from anbi.core.errors import InvalidInput, Problem
from anbi.core.money import cents_to_str
from donors import names
from donors.models import Donor
from donors.service import active_filter
from fundraising.errors import AgreementNotFound, AgreementStateError
from fundraising.models import AGREEMENT_END_REASONS, PeriodicAgreement

MINIMUM_YEARS = 5  # art. 6.38(1) Wet IB: five or more years, or until death
# A longer term is a typing error: an agreement for life leaves `years` empty.
MAXIMUM_YEARS = 99
NUMBER_PREFIX = "PG"


@dataclass(frozen=True)
class AgreementTerms:
    """An agreement's fields as plain values, before or after an update is applied."""

    number: str
    annual_amount_cents: int | None
    start_date: dt.date | None
    years: int | None  # None: indefinite, until death
    signed_on: dt.date | None
    end_date: dt.date | None = None
    end_reason: str | None = None


def term_end(start_date: dt.date, years: int | None) -> dt.date | None:
    """The first day after the agreed term (None for an indefinite agreement):
    a five-year agreement starting 2025-03-01 runs up to and including 2030-02-28."""
    if years is None:
        return None
    return calendar.term_end(start_date, years)  # from 29 February: 1 March of a common year


def check_agreement(terms: AgreementTerms, *, line: int | None = None) -> list[Problem]:
    """Every problem with a complete agreement (DOMAIN.md 1.3)."""
    problems: list[Problem] = []

    def bad(field: str, reason: str) -> None:
        problems.append(Problem(line, field, reason))

    if terms.annual_amount_cents is None:
        bad("annual_amount", "is required")
    elif terms.annual_amount_cents <= 0:
        bad("annual_amount", "must be more than zero")
    if terms.start_date is None:
        bad("start_date", "is required")
    if terms.signed_on is None:
        bad("signed_on", "is required")
    if terms.years is not None and terms.years < MINIMUM_YEARS:
        bad("years", f"a periodic gift runs at least {MINIMUM_YEARS} years (empty means indefinite, until death)")
    elif terms.years is not None and terms.years > MAXIMUM_YEARS:
        bad("years", f"{terms.years} years is longer than a life: leave years empty for an agreement until death")
    if terms.signed_on and terms.start_date and terms.signed_on > terms.start_date:
        bad("signed_on", f"{terms.signed_on.isoformat()} is after the start date {terms.start_date.isoformat()}: "
                         "the agreement must be signed before the first payment")
    if (terms.end_date is None) != (terms.end_reason is None):
        bad("end_reason" if terms.end_date else "end_date", "end_date and end_reason go together: give both or neither")
    if terms.end_reason is not None and terms.end_reason not in AGREEMENT_END_REASONS:
        bad("end_reason", f"{terms.end_reason!r} is not one of {', '.join(AGREEMENT_END_REASONS)}")
    if terms.end_date and terms.signed_on and terms.end_date < terms.signed_on:
        bad("end_date", "is before the agreement was signed")
    return problems


def paid_outside_agreement(paid_on: dt.date, agreement: PeriodicAgreement) -> str | None:
    """Why a gift on `paid_on` cannot count under this agreement, or None if it can.

    Not an error: such a gift is an ordinary gift (DOMAIN.md 1.3, Agreement first;
    After the term)."""
    if paid_on < agreement.signed_on:
        return f"paid before agreement {agreement.number} was signed ({agreement.signed_on.isoformat()})"
    if paid_on < agreement.start_date:
        return f"paid before agreement {agreement.number} starts ({agreement.start_date.isoformat()})"
    end = term_end(agreement.start_date, agreement.years)
    if end is not None and paid_on >= end:
        return f"paid after the term of agreement {agreement.number} ({agreement.years} years from {agreement.start_date.isoformat()})"
    if agreement.end_date is not None and paid_on > agreement.end_date:
        return f"paid after agreement {agreement.number} ended ({agreement.end_date.isoformat()}, {agreement.end_reason})"
    return None


def status_for(end_date: dt.date | None) -> str:
    return "ended" if end_date is not None else "active"


# --- the register ------------------------------------------------------------


def get_agreement(session: Session, number: str) -> PeriodicAgreement:
    agreement = session.scalar(select(PeriodicAgreement).where(PeriodicAgreement.number == number))
    if agreement is None:
        raise AgreementNotFound(number)
    return agreement


def next_agreement_number(session: Session, year: int) -> str:
    """The next free transactienummer of a year: `PG-2025-0001`, `PG-2025-0002`, ...

    The unique constraint on `number` guards two callers racing for the same one."""
    prefix = f"{NUMBER_PREFIX}-{year}-"
    numbers = session.scalars(select(PeriodicAgreement.number).where(PeriodicAgreement.number.like(prefix + "%")))
    highest = 0
    for number in numbers:
        tail = number[len(prefix):]
        if tail.isdigit():
            highest = max(highest, int(tail))
    return f"{prefix}{highest + 1:04d}"


def end_agreement(session: Session, number: str, *, end_date: dt.date, reason: str, actor: str) -> PeriodicAgreement:
    """End an agreement early (death, job loss, incapacity, loss of ANBI status, other).
    Ending an agreement that has already ended is refused."""
    agreement = get_agreement(session, number)
    if agreement.status == "ended":
        raise AgreementStateError(number, "ended", f"end it again (it ended on {agreement.end_date})")
    problems = []
    if reason not in AGREEMENT_END_REASONS:
        problems.append(Problem(None, "reason", f"{reason!r} is not one of {', '.join(AGREEMENT_END_REASONS)}"))
    if end_date < agreement.signed_on:
        problems.append(Problem(None, "date", f"{end_date.isoformat()} is before the agreement was signed ({agreement.signed_on.isoformat()})"))
    if problems:
        raise InvalidInput(problems, f"agreement {number}")
    agreement.end_date = end_date
    agreement.end_reason = reason
    agreement.status = "ended"
    session.flush()
    audit.record(session, actor=actor, action="agreement.end", entity="periodic_agreement", entity_ref=number,
                 details={"end_date": end_date.isoformat(), "reason": reason})
    return agreement


def list_agreements(session: Session, *, with_names: bool = False) -> list[dict]:
    """The register by number. `with_names`: each also has `donor_name`, the donor's
    name as lists show it, for a person reading the list."""
    rows = session.execute(
        select(PeriodicAgreement, Donor).join(Donor, Donor.id == PeriodicAgreement.donor_id)
        .where(*active_filter()).order_by(PeriodicAgreement.number)
    ).all()
    items = []
    for agreement, donor in rows:
        item = agreement_json(agreement, donor.ref)
        if with_names:
            item["donor_name"] = names.display_name(donor)
        items.append(item)
    return items


def agreement_json(agreement: PeriodicAgreement, donor_ref: str) -> dict:
    end = term_end(agreement.start_date, agreement.years)
    return {
        "number": agreement.number,
        "donor_ref": donor_ref,
        "annual_amount": cents_to_str(agreement.annual_amount_cents),
        "currency": agreement.currency,
        "start_date": agreement.start_date.isoformat(),
        "years": agreement.years,
        "term_ends": (end - dt.timedelta(days=1)).isoformat() if end else None,
        "signed_on": agreement.signed_on.isoformat(),
        "end_date": agreement.end_date.isoformat() if agreement.end_date else None,
        "end_reason": agreement.end_reason,
        "status": agreement.status,
    }
