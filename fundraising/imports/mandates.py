"""`anbi mandates import`: SEPA mandates from a CSV file (DESIGN.md, Import files),
keyed by the mandate id. An import never moves `last_collected_on` back and never makes
a revoked or expired mandate active again; the summary says what it kept (`kept`).
The register itself is `fundraising.mandates`."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from anbi.core import audit, identifiers
from anbi.core.csvfile import RowParser, check_unique, read_csv
from anbi.core.errors import InvalidInput, Problem
from anbi.core.progress import progress
from donors.models import Donor
from fundraising.lookups import by_key, resolve_donor_refs
from fundraising.mandates import MandateTerms, check_mandate
from fundraising.models import Mandate

COLUMNS_REQUIRED = ("mandate_id",)
COLUMNS_OPTIONAL = ("donor_ref", "iban", "bic", "signed_on", "signed_place", "status", "last_collected_on")
IMPORT_STATUSES = ("active", "revoked")  # `expired` is decided by the ledger, not imported


# The SEPA character set for identifiers (EPC: Latin letters, digits, / - ? : ( ) . , ' + space).
_MANDATE_ID = re.compile(r"^[A-Za-z0-9/\-?:().,'+ ]{1,35}$")
ENDED_STATUSES = ("revoked", "expired")


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


def import_mandates(session: Session, source: str | Path | bytes, *, actor: str, dry_run: bool = False,
                    name: str | None = None) -> MandateImportSummary:
    """Import the mandates file (DESIGN.md, Import files): validated whole, keyed by
    `mandate_id`; re-importing updates, an empty cell leaves its field as it is; what
    would move history back is kept (`kept_on_import`) and listed."""
    csv = read_csv(source, required=COLUMNS_REQUIRED, optional=COLUMNS_OPTIONAL, name=name)
    problems: list[Problem] = []
    kept: list[Problem] = []
    check_unique(csv.rows, "mandate_id", problems)
    existing = by_key(session, Mandate, Mandate.mandate_id, (r.values.get("mandate_id", "") for r in csv.rows))
    donors = resolve_donor_refs(session, (r.values.get("donor_ref", "") for r in csv.rows))

    plans: list[tuple[Mandate | None, MandateTerms, Donor | None]] = []
    for row in progress(csv.rows, label="checking mandates"):
        cells = RowParser(row, problems)
        mandate_id = cells.text("mandate_id", required=True, max_length=35)
        if mandate_id and not _MANDATE_ID.match(mandate_id):
            cells.fail("mandate_id", "use letters, digits, spaces and / - ? : ( ) . , ' + only (SEPA)")
            mandate_id = None
        donor_ref = cells.text("donor_ref", max_length=64)
        iban = cells.convert("iban", identifiers.iban)
        bic = cells.convert("bic", identifiers.bic)
        signed_on = cells.date("signed_on")
        signed_place = cells.text("signed_place", max_length=100)
        status = cells.choice("status", IMPORT_STATUSES)
        last_collected_on = cells.date("last_collected_on")
        donor = donors.get(donor_ref) if donor_ref else None
        if donor_ref and donor is None:
            cells.fail("donor_ref", f"no donor with ref {donor_ref!r}")
        if mandate_id is None:
            continue
        current = existing.get(mandate_id)
        if current is None:
            if not donor_ref:
                cells.fail("donor_ref", "is required for a new mandate")
            terms = MandateTerms(mandate_id, iban, bic, signed_on, signed_place, status or "active", last_collected_on)
            reported = {p.field for p in problems if p.line == row.line}
        else:
            if donor is not None and donor.id != current.donor_id:
                cells.fail("donor_ref", f"mandate {mandate_id} belongs to another donor; a mandate does not change donor")
            held = kept_on_import(current.status, current.last_collected_on, status, last_collected_on)
            kept.extend(Problem(row.line, field_name, why) for field_name, why in held)
            held_fields = {field_name for field_name, _ in held}
            terms = MandateTerms(
                mandate_id,
                iban or current.iban,
                bic or current.bic,
                signed_on or current.signed_on,
                signed_place or current.signed_place,
                current.status if "status" in held_fields else (status or current.status),
                current.last_collected_on if "last_collected_on" in held_fields
                else (last_collected_on or current.last_collected_on),
            )
            reported = {p.field for p in problems if p.line == row.line}
        problems.extend(p for p in check_mandate(terms, line=row.line) if p.field not in reported)
        plans.append((current, terms, donor))
    if problems:
        raise InvalidInput(problems, csv.name)

    summary = MandateImportSummary(kept=kept)
    for current, terms, donor in progress(plans, label="writing mandates"):
        values = {
            "iban": terms.iban,
            "bic": terms.bic,
            "signed_on": terms.signed_on,
            "signed_place": terms.signed_place,
            "status": terms.status,
            "last_collected_on": terms.last_collected_on,
        }
        if current is None:
            summary.created += 1
            if not dry_run:
                session.add(Mandate(mandate_id=terms.mandate_id, donor=donor, **values))
                # The IBAN is personal data: the audit trail says it was recorded, not what it is.
                audit.record(session, actor=actor, action="mandate.create", entity="mandate",
                             entity_ref=terms.mandate_id, details={"donor_ref": donor.ref})
            continue
        changes = sorted(key for key, new in values.items() if getattr(current, key) != new)
        if not changes:
            summary.unchanged += 1
            continue
        summary.updated += 1
        if not dry_run:
            for key in changes:
                setattr(current, key, values[key])
            audit.record(session, actor=actor, action="mandate.update", entity="mandate",
                         entity_ref=terms.mandate_id, details={"changed": changes})
    session.flush()
    return summary
