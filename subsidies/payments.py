"""Money received from funders (advances, the settlement, repayments) and the outputs
achieved against a grant's indicators: their import files.

Validated whole, written in the caller's one transaction; a row imported twice is a
no-op, the same reference with other content is refused (DESIGN.md, Idempotency).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from anbi.core.csvfile import CsvRow, RowParser, check_unique, read_csv
from anbi.core.errors import InvalidInput, Problem
from anbi.core.progress import progress
from subsidies.costs import ImportResult, chunks, differences, parse_amount
from subsidies.models import PAYMENT_KINDS, Grant, GrantPayment, Indicator, Output

PAYMENT_COLUMNS = ("grant", "date", "amount", "kind", "reference")
OUTPUT_COLUMNS = ("reference", "grant", "indicator", "date", "value")


def _grant_ids(session: Session, references) -> dict[str, int]:
    references = sorted(set(r for r in references if r))
    found = {}
    for chunk in chunks(references):
        found.update(dict(session.execute(select(Grant.reference, Grant.id).where(Grant.reference.in_(chunk))).all()))
    return found


@dataclass(frozen=True)
class PaymentFacts:
    source: str
    reference: str
    grant_id: int
    paid_on: dt.date
    amount_cents: int
    kind: str


def import_payments(session: Session, path, *, source: str = "import") -> ImportResult:
    """`anbi grants payments import FILE`."""
    csv = read_csv(path, required=PAYMENT_COLUMNS)
    problems: list[Problem] = []
    check_unique(csv.rows, "reference", problems)
    grants = _grant_ids(session, (row.values.get("grant", "") for row in csv.rows))
    facts: list[tuple[CsvRow, PaymentFacts]] = []
    for row in progress(csv.rows, label="Checking payments"):
        parser = RowParser(row, problems)
        grant_code = parser.text("grant", required=True)
        paid_on = parser.date("date", required=True)
        amount = parse_amount(parser, "amount", allow_negative=False)
        kind = parser.choice("kind", PAYMENT_KINDS, required=True)
        reference = parser.text("reference", required=True, max_length=100)
        grant_id = grants.get(grant_code) if grant_code else None
        if grant_code and grant_id is None:
            parser.fail("grant", f"no grant {grant_code!r}")
        if None in (grant_id, paid_on, amount, kind, reference):
            continue
        facts.append((row, PaymentFacts(source, reference, grant_id, paid_on, amount, kind)))

    existing = {}
    for chunk in chunks([f.reference for _, f in facts]):
        for payment in session.scalars(select(GrantPayment).where(GrantPayment.source == source, GrantPayment.reference.in_(chunk))):
            existing[payment.reference] = payment
    new = []
    for row, fact in facts:
        found = existing.get(fact.reference)
        if found is None:
            new.append(fact)
        elif differing := differences(found, fact, ("grant_id", "paid_on", "amount_cents", "kind")):
            problems.append(Problem(row.line, "reference", (
                f"payment {fact.reference!r} was imported before with other {', '.join(differing)}; "
                "a payment is corrected by a new row (a repayment), never overwritten")))
    if problems:
        raise InvalidInput(problems, csv.name)
    rows = [{"source": f.source, "reference": f.reference, "grant_id": f.grant_id, "paid_on": f.paid_on,
             "amount_cents": f.amount_cents, "currency": "EUR", "kind": f.kind} for f in new]
    for chunk in chunks(rows):
        session.execute(insert(GrantPayment), chunk)
    session.flush()
    return ImportResult(created=len(rows), unchanged=len(facts) - len(new))


@dataclass(frozen=True)
class OutputFacts:
    source: str
    reference: str
    grant_id: int
    indicator_id: int
    achieved_on: dt.date
    value: int


def import_outputs(session: Session, path, *, source: str = "import") -> ImportResult:
    """`anbi grants outputs import FILE`: counts towards a grant's indicators. A
    negative value corrects an earlier count."""
    csv = read_csv(path, required=OUTPUT_COLUMNS)
    problems: list[Problem] = []
    check_unique(csv.rows, "reference", problems)
    grants = _grant_ids(session, (row.values.get("grant", "") for row in csv.rows))
    indicators: dict[tuple[int, str], int] = {}
    for chunk in chunks(sorted(set(grants.values()))):
        for grant_id, code, id_ in session.execute(select(Indicator.grant_id, Indicator.code, Indicator.id).where(Indicator.grant_id.in_(chunk))):
            indicators[(grant_id, code)] = id_
    facts: list[tuple[CsvRow, OutputFacts]] = []
    for row in progress(csv.rows, label="Checking outputs"):
        parser = RowParser(row, problems)
        reference = parser.text("reference", required=True, max_length=100)
        grant_code = parser.text("grant", required=True)
        indicator_code = parser.text("indicator", required=True)
        achieved_on = parser.date("date", required=True)
        value = parser.integer("value", required=True)
        grant_id = grants.get(grant_code) if grant_code else None
        if grant_code and grant_id is None:
            parser.fail("grant", f"no grant {grant_code!r}")
        indicator_id = None
        if grant_id is not None and indicator_code:
            indicator_id = indicators.get((grant_id, indicator_code))
            if indicator_id is None:
                known = sorted(code for (g, code) in indicators if g == grant_id)
                parser.fail("indicator", f"grant {grant_code} has no indicator {indicator_code!r} (its indicators: {', '.join(known) or 'none'})")
        if None in (reference, grant_id, indicator_id, achieved_on, value):
            continue
        facts.append((row, OutputFacts(source, reference, grant_id, indicator_id, achieved_on, value)))

    existing = {}
    for chunk in chunks([f.reference for _, f in facts]):
        for output in session.scalars(select(Output).where(Output.source == source, Output.reference.in_(chunk))):
            existing[output.reference] = output
    new = []
    for row, fact in facts:
        found = existing.get(fact.reference)
        if found is None:
            new.append(fact)
        elif differing := differences(found, fact, ("grant_id", "indicator_id", "achieved_on", "value")):
            problems.append(Problem(row.line, "reference", (
                f"output {fact.reference!r} was imported before with other {', '.join(differing)}; "
                "correct a count with a new row")))
    if problems:
        raise InvalidInput(problems, csv.name)
    rows = [{"source": f.source, "reference": f.reference, "grant_id": f.grant_id, "indicator_id": f.indicator_id,
             "achieved_on": f.achieved_on, "value": f.value} for f in new]
    for chunk in chunks(rows):
        session.execute(insert(Output), chunk)
    session.flush()
    return ImportResult(created=len(rows), unchanged=len(facts) - len(new))
