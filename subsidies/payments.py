"""Money received from funders (advances, the settlement, repayments) and the outputs
achieved against a grant's indicators: their import files (CSV or XLSX), importers of
`anbi.core.importing`.

Validated whole, written in the caller's one transaction; a row imported twice is a
no-op, the same reference with other content is refused (DESIGN.md, Idempotency).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from anbi.core.errors import Problem
from anbi.core.importing import Column, Context, Importer, Row, choice, date, run_import, text, whole
from subsidies.costs import ImportResult, chunks, euro_cents, insert_new, known_by_reference, new_or_refused
from subsidies.models import PAYMENT_KINDS, Grant, GrantPayment, Indicator, Output


def _grant_ids(session: Session, references) -> dict[str, int]:
    references = sorted(set(r for r in references if r))
    found = {}
    for chunk in chunks(references):
        found.update(dict(session.execute(select(Grant.reference, Grant.id).where(Grant.reference.in_(chunk))).all()))
    return found


def _result(plan: ImportResult, context: Context) -> ImportResult:
    return ImportResult(created=len(plan.new), unchanged=plan.unchanged)


# --- payments -------------------------------------------------------------------------

PAYMENT_IMPORT_COLUMNS = (
    Column("grant", text(), required=True, help="the grant's reference"),
    Column("date", date, required=True),
    Column("amount", euro_cents(allow_negative=False), required=True),
    Column("kind", choice(PAYMENT_KINDS), required=True, help="advance, settlement, repayment"),
    Column("reference", text(100), required=True, help="the key"),
)


@dataclass(frozen=True)
class PaymentFacts:
    source: str
    reference: str
    grant_id: int
    paid_on: dt.date
    amount_cents: int
    kind: str


@dataclass(frozen=True)
class StoredForPayments:
    grants: dict[str, int]
    payments: dict[str, GrantPayment]


def _load_payments(session: Session, rows: list[Row], context: Context) -> StoredForPayments:
    return StoredForPayments(_grant_ids(session, (row.get("grant") for row in rows)),
                             known_by_reference(session, GrantPayment, context.source, (row.get("reference") for row in rows)))


def _plan_payments(rows: list[Row], stored: StoredForPayments, problems: list[Problem], context: Context) -> ImportResult:
    facts = []
    for row in rows:
        grant_code = row.get("grant")
        grant_id = stored.grants.get(grant_code) if grant_code else None
        if grant_code and grant_id is None:
            row.fail("grant", f"no grant {grant_code!r}")
        values = (row.get("reference"), grant_id, row.get("date"), row.get("amount"), row.get("kind"))
        if None not in values:
            facts.append((row, PaymentFacts(context.source, *values)))
    return new_or_refused(facts, stored.payments, ("grant_id", "paid_on", "amount_cents", "kind"),
                          "payment {reference!r} was imported before with other {fields}; "
                          "a payment is corrected by a new row (a repayment), never overwritten")


def _apply_payments(session: Session, plan: ImportResult, context: Context) -> None:
    insert_new(session, GrantPayment, [{"source": f.source, "reference": f.reference, "grant_id": f.grant_id,
                                        "paid_on": f.paid_on, "amount_cents": f.amount_cents, "currency": "EUR",
                                        "kind": f.kind} for f in plan.new], "Writing payments")


PAYMENTS = Importer("payments", PAYMENT_IMPORT_COLUMNS, _load_payments, _plan_payments, _apply_payments, _result,
                    unique="reference", checking="Checking payments")
PAYMENT_COLUMNS = PAYMENTS.required


def import_payments(session: Session, path, *, source: str = "import", dry_run: bool = False) -> ImportResult:
    """`anbi grants payments import FILE`."""
    return run_import(session, PAYMENTS, path, actor="", dry_run=dry_run, stored_as=source)


# --- outputs --------------------------------------------------------------------------

OUTPUT_IMPORT_COLUMNS = (
    Column("reference", text(100), required=True, help="the key"),
    Column("grant", text(), required=True, help="the grant's reference"),
    Column("indicator", text(), required=True, help="a code of the grant file's [[indicators]]"),
    Column("date", date, required=True),
    Column("value", whole(), required=True, help="a whole number; negative corrects an earlier count"),
)


@dataclass(frozen=True)
class OutputFacts:
    source: str
    reference: str
    grant_id: int
    indicator_id: int
    achieved_on: dt.date
    value: int


@dataclass(frozen=True)
class StoredForOutputs:
    grants: dict[str, int]
    indicators: dict[tuple[int, str], int]   # (grant id, code) -> id
    outputs: dict[str, Output]


def _load_outputs(session: Session, rows: list[Row], context: Context) -> StoredForOutputs:
    grants = _grant_ids(session, (row.get("grant") for row in rows))
    indicators: dict[tuple[int, str], int] = {}
    for chunk in chunks(sorted(set(grants.values()))):
        for grant_id, code, id_ in session.execute(select(Indicator.grant_id, Indicator.code, Indicator.id).where(Indicator.grant_id.in_(chunk))):
            indicators[(grant_id, code)] = id_
    return StoredForOutputs(grants, indicators,
                            known_by_reference(session, Output, context.source, (row.get("reference") for row in rows)))


def _plan_outputs(rows: list[Row], stored: StoredForOutputs, problems: list[Problem], context: Context) -> ImportResult:
    facts = []
    for row in rows:
        grant_code, indicator_code = row.get("grant"), row.get("indicator")
        grant_id = stored.grants.get(grant_code) if grant_code else None
        if grant_code and grant_id is None:
            row.fail("grant", f"no grant {grant_code!r}")
        indicator_id = None
        if grant_id is not None and indicator_code:
            indicator_id = stored.indicators.get((grant_id, indicator_code))
            if indicator_id is None:
                known = sorted(code for (g, code) in stored.indicators if g == grant_id)
                row.fail("indicator", f"grant {grant_code} has no indicator {indicator_code!r} (its indicators: {', '.join(known) or 'none'})")
        values = (row.get("reference"), grant_id, indicator_id, row.get("date"), row.get("value"))
        if None not in values:
            facts.append((row, OutputFacts(context.source, *values)))
    return new_or_refused(facts, stored.outputs, ("grant_id", "indicator_id", "achieved_on", "value"),
                          "output {reference!r} was imported before with other {fields}; correct a count with a new row")


def _apply_outputs(session: Session, plan: ImportResult, context: Context) -> None:
    insert_new(session, Output, [{"source": f.source, "reference": f.reference, "grant_id": f.grant_id,
                                  "indicator_id": f.indicator_id, "achieved_on": f.achieved_on, "value": f.value}
                                 for f in plan.new], "Writing outputs")


OUTPUTS = Importer("outputs", OUTPUT_IMPORT_COLUMNS, _load_outputs, _plan_outputs, _apply_outputs, _result,
                   unique="reference", checking="Checking outputs")
OUTPUT_COLUMNS = OUTPUTS.required


def import_outputs(session: Session, path, *, source: str = "import", dry_run: bool = False) -> ImportResult:
    """`anbi grants outputs import FILE`: counts towards a grant's indicators. A
    negative value corrects an earlier count."""
    return run_import(session, OUTPUTS, path, actor="", dry_run=dry_run, stored_as=source)
