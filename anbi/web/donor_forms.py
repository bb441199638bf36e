"""Changing a donor from a web form, with exactly the validation of the donor
import: the form's fields are the import file's columns, and one form is run
through the importer as a one-row file (parse, plan against the stored donor,
write with consent events and an audit row).

Where a form differs from a file is clearing: in a file an empty cell leaves a
field as it is, while a person who empties a field in a form means "remove it".
Fields that may be empty are cleared after the import step, with their own audit
row. Services take a Session and may flush(), never commit()."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from anbi.core import audit
from anbi.core.clock import utcnow
from anbi.core.csvfile import CsvRow
from anbi.core.errors import Problem
from donors import importer, names
from donors.models import Donor, DonorTag
from donors.service import current_consent

# The columns a staff member may change (the donor's ref and kind are fixed).
STAFF_COLUMNS = (
    "initials", "first_name", "prefix", "last_name", "organisation", "organisation_type",
    "street", "house_number", "house_number_suffix", "postcode", "city", "country",
    "email", "phone", "iban", "consent_email", "consent_post", "consent_phone", "tags", "language",
)
# What donors may change themselves in the portal: address, e-mail, consent.
PORTAL_COLUMNS = (
    "street", "house_number", "house_number_suffix", "postcode", "city", "country",
    "email", "consent_email", "consent_post", "consent_phone",
)
# Fields a form may empty; the field each column fills.
CLEARABLE = {
    "initials": "initials", "first_name": "first_name", "prefix": "prefix",
    "house_number_suffix": "house_number_suffix", "email": "email", "phone": "phone", "iban": "iban",
}

# What a donor's name is made of (donors.names.Name).
_NAME_PARTS = ("kind", "initials", "first_name", "prefix", "last_name", "organisation_name", "language")


@dataclass
class FormResult:
    problems: list[Problem] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def by_field(self) -> dict[str, str]:
        """The first problem per form field (the import's column name)."""
        found: dict[str, str] = {}
        for problem in self.problems:
            found.setdefault(problem.field or "", problem.reason)
        return found


def current_values(donor: Donor) -> dict[str, str]:
    """The donor as form fields (import columns), for showing the form."""
    consent = current_consent(donor.consent_events)
    values = {
        "initials": donor.initials, "first_name": donor.first_name, "prefix": donor.prefix,
        "last_name": donor.last_name, "organisation": donor.organisation_name,
        "organisation_type": donor.organisation_type, "street": donor.street, "house_number": donor.house_number,
        "house_number_suffix": donor.house_number_suffix, "postcode": donor.postcode, "city": donor.city,
        "country": donor.country, "email": donor.email, "phone": donor.phone, "iban": donor.iban,
        "language": donor.language, "tags": "|".join(sorted(t.tag for t in donor.tags)),
    }
    for channel, state in consent.items():
        values[f"consent_{channel}"] = "yes" if state.granted else "no"
    return {key: value or "" for key, value in values.items()}


def apply_form(session: Session, donor: Donor, submitted: dict[str, str], *, columns: tuple[str, ...],
               actor: str, source: str) -> FormResult:
    """Validate the submitted fields as an import row and, when every field is
    right, write them. Nothing is written when any field is wrong."""
    cells = {column: (submitted.get(column) or "").strip() for column in columns}
    before = current_values(donor)
    cells["ref"] = donor.ref
    cells["kind"] = donor.kind
    problems: list[Problem] = []
    parsed = importer.parse_row(CsvRow(line=1, values=cells), problems)
    existing = importer.load_existing(session, [donor.ref])
    plan = importer.plan_import([parsed], existing, problems)
    if plan.skipped:
        problems.extend(Problem(None, None, note.message) for note in plan.skipped)
    if problems:
        return FormResult(problems=problems)
    importer.apply_plan(session, plan, source=source, actor=actor)
    changed = [name for write in plan.updates for name in write.changed]

    cleared = [column for column in columns if column in CLEARABLE and not cells[column] and before.get(column)]
    clear_tags = "tags" in columns and not cells["tags"] and before.get("tags")
    if cleared or clear_tags:
        if cleared:
            values: dict[str, Any] = {CLEARABLE[c]: None for c in cleared}
            if any(field in _NAME_PARTS for field in values):
                # A part of the name removed: the keys it sorts and is found under follow.
                session.expire(donor)
                name: dict[str, Any] = {part: None if part in values else getattr(donor, part) for part in _NAME_PARTS}
                values.update(names.name_keys(names.Name(**name)))
            session.execute(update(Donor).where(Donor.id == donor.id).values({**values, "updated_at": utcnow()}))
        if clear_tags:
            session.execute(delete(DonorTag).where(DonorTag.donor_id == donor.id))
        removed = cleared + (["tags"] if clear_tags else [])
        # Field names only: the audit trail must not keep what an erasure removes.
        audit.record(session, actor=actor, action="donor_updated", entity="donor", entity_ref=donor.ref,
                     details={"source": source, "cleared": removed})
        changed.extend(removed)
    session.flush()
    session.expire(donor)
    return FormResult(changed=sorted(set(changed)))
