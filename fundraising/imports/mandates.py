"""`anbi mandates import`: SEPA mandates from a CSV or XLSX file (DESIGN.md, Import
files), keyed by the mandate id. An import never moves `last_collected_on` back and
never makes a revoked or expired mandate active again; the summary says what it kept
(`kept`). The register itself is `fundraising.mandates`; this is an importer of
`anbi.core.importing`: its columns, and load, plan, apply, summarise."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from anbi.core import audit, identifiers
from anbi.core.errors import Problem
from anbi.core.importing import Column, Context, Importer, Plan, Row, choice, date, run_import, text
from donors.models import Donor
from fundraising.lookups import DonorRefs, by_key, resolve_donor_refs
from fundraising.mandates import MandateTerms, check_mandate
from fundraising.models import Mandate

IMPORT_STATUSES = ("active", "revoked")  # `expired` is decided by the ledger, not imported
ENDED_STATUSES = ("revoked", "expired")

COLUMNS = (
    # The SEPA character set for identifiers (EPC: Latin letters, digits, / - ? : ( ) . , ' + space).
    Column("mandate_id", text(35, pattern=r"^[A-Za-z0-9/\-?:().,'+ ]{1,35}$",
                              reason="use letters, digits, spaces and / - ? : ( ) . , ' + only (SEPA)"),
           required=True, help="the key; the SEPA character set, up to 35 characters"),
    Column("donor_ref", text(64), help="the donor (required for a new mandate)"),
    Column("iban", identifiers.iban, help="the account collected from"),
    Column("bic", identifiers.bic),
    Column("signed_on", date, help="the day the mandate was signed"),
    Column("signed_place", text(100)),
    Column("status", choice(IMPORT_STATUSES), help="active (default) or revoked"),
    Column("last_collected_on", date, help="for mandates moved from another system: decides FRST and expiry"),
)


def kept_on_import(current_status: str, current_last: dt.date | None, status: str | None,
                   last_collected_on: dt.date | None) -> list[tuple[str, str]]:
    """What an import keeps of an existing mandate, as (field, why) pairs: a last
    collection date earlier than the one known (history does not move back), and a
    revoked or expired mandate that the file calls active (a new mandate has a new id)."""
    kept = []
    if last_collected_on is not None and current_last is not None and last_collected_on < current_last:
        kept.append(("last_collected_on", f"kept {current_last.isoformat()} (the file says {last_collected_on.isoformat()}): "
                                          "collection history does not move back"))
    if status == "active" and current_status in ENDED_STATUSES:
        kept.append(("status", f"kept {current_status}: a {current_status} mandate is not made active again; "
                               "a new mandate is imported with a new mandate_id"))
    return kept


@dataclass
class MandateImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: list[Problem] = field(default_factory=list)   # what the import kept as it was, and why

    def as_json(self) -> dict:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "kept": [k.as_dict() for k in self.kept]}


@dataclass(frozen=True)
class MandateWrite:
    current: Mandate | None
    terms: MandateTerms
    donor: Donor | None
    changed: tuple[str, ...] = ()   # an update: the fields it changes


@dataclass
class MandatePlan(Plan[MandateWrite]):
    kept: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class Stored:
    mandates: dict[str, Mandate]
    donors: DonorRefs


def load(session: Session, rows: list[Row], context: Context) -> Stored:
    return Stored(by_key(session, Mandate, Mandate.mandate_id, (r.get("mandate_id") for r in rows)),
                  resolve_donor_refs(session, (r.get("donor_ref") for r in rows)))


def plan(rows: list[Row], stored: Stored, problems: list[Problem], context: Context) -> MandatePlan:
    """Per row: a new mandate, the terms an update leaves (what would move history
    back is kept, `kept_on_import`), or unchanged; checked whole by `check_mandate`."""
    result = MandatePlan()
    for row in rows:
        donor_ref = row.get("donor_ref")
        donor = stored.donors.get(donor_ref) if donor_ref else None
        if donor_ref and donor is None:
            row.fail("donor_ref", f"no donor with ref {donor_ref!r}")
        mandate_id = row.get("mandate_id")
        if mandate_id is None:
            continue
        current = stored.mandates.get(mandate_id)
        if current is None:
            if not donor_ref:
                row.fail("donor_ref", "is required for a new mandate")
            terms = MandateTerms(mandate_id, row.get("iban"), row.get("bic"), row.get("signed_on"), row.get("signed_place"),
                                 row.get("status") or "active", row.get("last_collected_on"))
        else:
            if donor is not None and donor.id != current.donor_id:
                row.fail("donor_ref", f"mandate {mandate_id} belongs to another donor; a mandate does not change donor")
            terms = _updated_terms(row, current, result.kept)
        row.fail_unless_reported(check_mandate(terms, line=row.line))
        if current is None:
            result.creates.append(MandateWrite(None, terms, donor))
        elif changed := tuple(sorted(k for k, v in _values(terms).items() if getattr(current, k) != v)):
            result.updates.append(MandateWrite(current, terms, donor, changed))
        else:
            result.unchanged += 1
    return result


def _updated_terms(row: Row, current: Mandate, kept: list[Problem]) -> MandateTerms:
    """The row's cells over the stored mandate, but for what an import keeps (listed in `kept`)."""
    status, last_collected_on = row.get("status"), row.get("last_collected_on")
    held = kept_on_import(current.status, current.last_collected_on, status, last_collected_on)
    kept.extend(Problem(row.line, field_name, why) for field_name, why in held)
    held_fields = {field_name for field_name, _ in held}
    return MandateTerms(
        current.mandate_id,
        row.get("iban") or current.iban,
        row.get("bic") or current.bic,
        row.get("signed_on") or current.signed_on,
        row.get("signed_place") or current.signed_place,
        current.status if "status" in held_fields else (status or current.status),
        current.last_collected_on if "last_collected_on" in held_fields else (last_collected_on or current.last_collected_on),
    )


def _values(terms: MandateTerms) -> dict[str, object]:
    return {"iban": terms.iban, "bic": terms.bic, "signed_on": terms.signed_on, "signed_place": terms.signed_place,
            "status": terms.status, "last_collected_on": terms.last_collected_on}


def apply(session: Session, plan: MandatePlan, context: Context) -> None:
    for write in plan.creates:
        session.add(Mandate(mandate_id=write.terms.mandate_id, donor=write.donor, **_values(write.terms)))
        # The IBAN is personal data: the audit trail says it was recorded, not what it is.
        audit.record(session, actor=context.actor, action="mandate.create", entity="mandate",
                     entity_ref=write.terms.mandate_id, details={"donor_ref": write.donor.ref})
    for write in plan.updates:
        values = _values(write.terms)
        for key in write.changed:
            setattr(write.current, key, values[key])
        audit.record(session, actor=context.actor, action="mandate.update", entity="mandate",
                     entity_ref=write.terms.mandate_id, details={"changed": list(write.changed)})
    session.flush()


def summarise(plan: MandatePlan, context: Context) -> MandateImportSummary:
    return MandateImportSummary(len(plan.creates), len(plan.updates), plan.unchanged, plan.kept)


MANDATES = Importer("mandates", COLUMNS, load, plan, apply, summarise, unique="mandate_id", checking="checking mandates")
COLUMNS_REQUIRED, COLUMNS_OPTIONAL = MANDATES.required, MANDATES.optional


def import_mandates(session: Session, source: str | Path | bytes, *, actor: str, dry_run: bool = False,
                    name: str | None = None) -> MandateImportSummary:
    """Import the mandates file (DESIGN.md, Import files): validated whole, keyed by
    `mandate_id`; re-importing updates, an empty cell leaves its field as it is; what
    would move history back is kept (`kept_on_import`) and listed."""
    return run_import(session, MANDATES, source, actor=actor, dry_run=dry_run, name=name)
