"""Merging two donor records that are one person or organisation.

`merge_donors(session, keep_ref, duplicate_ref, actor)` moves everything that points
at the duplicate onto the donor that is kept, fills the kept donor's empty fields
from the duplicate (never overwriting a value), records the merge, and marks the
duplicate `merged_into` the kept donor so that its ref resolves there from then on.
It runs inside the caller's transaction: all of it happens, or none.

Which rows point at a donor is not listed by hand: every foreign key to `donors.id`
in `Base.metadata` is found at run time, including tables added later by other parts
of the product. Each must be declared in `MERGE_POLICY` with how a merge treats it;
a merge refuses to run while any is undeclared (and a test fails), so a new table
can never be left pointing at a merged-away record.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, Table, UniqueConstraint, and_, delete, exists, select, update
from sqlalchemy.orm import Session

from anbi.core import audit
from anbi.core.db import Base, rows_matched
from anbi.core.errors import ConfigurationError
from donors import names
from donors.errors import DonorInactive, DonorNotFound, MergeRefused
from donors.models import Donor, DonorMerge

# How a merge treats each foreign key to donors.id, keyed by "table.column":
#   move   - the duplicate's rows now belong to the kept donor
#   union  - as move, but for a table with a per-donor unique constraint: a row the
#            kept donor already has (the same tag) is dropped instead of duplicated
#   chain  - donors earlier merged into the duplicate now point at the kept donor
#   keep   - history that must keep naming the record it was about (a past merge)
# Declare every new table that references donors here (CONTRIBUTING.md).
MERGE_POLICY: dict[str, str] = {
    "donors.merged_into_id": "chain",
    "donor_tags.donor_id": "union",
    "consent_events.donor_id": "move",  # both consent histories are kept: they are proof
    "donor_merges.kept_donor_id": "keep",
    "donor_merges.merged_donor_id": "keep",
    "donations.donor_id": "move",
    "mandates.donor_id": "move",
    "periodic_agreements.donor_id": "move",
    "recurring_gifts.donor_id": "move",
    # Issued statements keep naming the donor they were issued to; the next receipts
    # run replaces them with the kept donor's corrected statement (issue 4).
    "statements.donor_id": "keep",
    "statement_deliveries.donor_id": "keep",
    # The web application: a portal link or portal session of the duplicate opens the kept donor.
    "portal_links.donor_id": "move",
    "web_sessions.donor_id": "move",
}

# Fields copied from the duplicate when the kept donor has none. Name and address
# parts travel as a group, so that a street is never combined with another
# record's postcode.
_SINGLE_FIELDS = ("initials", "first_name", "organisation_name", "organisation_type", "email", "phone", "iban",
                  "deceased_on")
_SURNAME_FIELDS = ("prefix", "last_name")
_PERSON_FIELDS = ("initials", "first_name")
_ORGANISATION_FIELDS = ("organisation_name", "organisation_type")
_ADDRESS_FIELDS = ("street", "house_number", "house_number_suffix", "postcode", "city", "country")


@dataclass
class MergeResult:
    kept_ref: str
    merged_ref: str
    moved: dict[str, int] = field(default_factory=dict)  # "table.column" -> rows now on the kept donor
    dropped: dict[str, int] = field(default_factory=dict)  # rows the kept donor already had (a shared tag)
    filled: list[str] = field(default_factory=list)  # fields of the kept donor filled from the duplicate
    rechained: list[str] = field(default_factory=list)  # refs earlier merged into the duplicate

    def as_dict(self) -> dict:
        return {"kept_ref": self.kept_ref, "merged_ref": self.merged_ref, "moved": self.moved,
                "dropped": self.dropped, "filled": self.filled, "rechained": self.rechained}


# --- which tables point at donors ------------------------------------------------

def donor_references(metadata: MetaData | None = None) -> dict[str, tuple[Table, Column]]:
    """Every foreign key column to donors.id, as {"table.column": (table, column)}."""
    metadata = metadata if metadata is not None else Base.metadata
    donors = metadata.tables["donors"]
    found = {}
    for table in metadata.sorted_tables:
        for foreign_key in table.foreign_keys:
            if foreign_key.references(donors):
                found[f"{table.name}.{foreign_key.parent.name}"] = (table, foreign_key.parent)
    return found


def undeclared_references(metadata: MetaData | None = None, policy: dict[str, str] | None = None) -> list[str]:
    """Foreign keys to donors that MERGE_POLICY does not say how to merge."""
    policy = MERGE_POLICY if policy is None else policy
    return sorted(set(donor_references(metadata)) - set(policy))


def _check_policy() -> dict[str, tuple[Table, Column]]:
    references = donor_references()
    missing = undeclared_references()
    if missing:
        raise ConfigurationError(
            "cannot merge: no merge policy for " + ", ".join(missing) + " (declare it in donors/merge.py MERGE_POLICY)"
        )
    unknown = sorted(f"{key}: {handler}" for key, handler in MERGE_POLICY.items()
                     if key in references and handler not in HANDLERS)
    if unknown:
        raise ConfigurationError("cannot merge: unknown merge handler " + ", ".join(unknown))
    return references


# --- handlers: one per kind of policy ----------------------------------------------

def _move(session: Session, table: Table, column: Column, keep_id: int, duplicate_id: int) -> tuple[int, int]:
    result = session.execute(update(table).where(column == duplicate_id).values({column.name: keep_id}))
    return rows_matched(result), 0


def _union(session: Session, table: Table, column: Column, keep_id: int, duplicate_id: int) -> tuple[int, int]:
    """Move, except rows the kept donor already has under a unique constraint that
    includes the donor column (the same tag twice): those are dropped."""
    dropped = 0
    for constraint in table.constraints:
        columns = list(getattr(constraint, "columns", []))
        if not _is_unique(constraint) or column not in columns or len(columns) < 2:
            continue
        kept = table.alias("kept")
        same_values = and_(*(kept.c[c.name] == c for c in columns if c is not column))
        already_there = exists().where(kept.c[column.name] == keep_id, same_values)
        result = session.execute(delete(table).where(column == duplicate_id, already_there))
        dropped += rows_matched(result)
    moved, _ = _move(session, table, column, keep_id, duplicate_id)
    return moved, dropped


def _is_unique(constraint) -> bool:
    return isinstance(constraint, UniqueConstraint) and not isinstance(constraint, PrimaryKeyConstraint)


def _chain(session: Session, table: Table, column: Column, keep_id: int, duplicate_id: int) -> tuple[int, int]:
    return _move(session, table, column, keep_id, duplicate_id)


def _keep(session: Session, table: Table, column: Column, keep_id: int, duplicate_id: int) -> tuple[int, int]:
    return 0, 0


Handler = Callable[[Session, Table, Column, int, int], tuple[int, int]]
# A later part may register a handler of its own here and name it in MERGE_POLICY.
HANDLERS: dict[str, Handler] = {"move": _move, "union": _union, "chain": _chain, "keep": _keep}


# --- the merge -----------------------------------------------------------------------

def _donor_by_ref(session: Session, ref: str) -> Donor:
    donor = session.scalar(select(Donor).where(Donor.ref == ref))
    if donor is None:
        raise DonorNotFound(ref)
    return donor


def _check_mergeable(session: Session, keep: Donor, duplicate: Donor) -> None:
    if keep.id == duplicate.id:
        raise MergeRefused(keep.ref, duplicate.ref, "a donor cannot be merged into itself")
    if keep.merged_into_id is not None:
        survivor = session.get_one(Donor, keep.merged_into_id)
        raise MergeRefused(keep.ref, duplicate.ref,
                           f"{keep.ref} was itself merged into {survivor.ref}; merge into {survivor.ref} instead")
    if duplicate.merged_into_id is not None:
        survivor = session.get_one(Donor, duplicate.merged_into_id)
        raise MergeRefused(keep.ref, duplicate.ref, f"{duplicate.ref} was already merged into {survivor.ref}")
    for donor in (keep, duplicate):
        if donor.purged_at is not None:
            raise DonorInactive(donor.ref, "purged (pseudonymised after its retention period) and cannot be merged")
        if donor.restricted_at is not None:
            raise DonorInactive(donor.ref, "restricted after an erasure request and cannot be merged")


def _empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def fill_empty_fields(keep: Donor, duplicate: Donor) -> list[str]:
    """Copy what the kept donor lacks from the duplicate; return the fields filled."""
    filled = []
    for name in _SINGLE_FIELDS:
        # A person's given names mean nothing on an organisation, and the other way round.
        if name in _ORGANISATION_FIELDS and keep.kind != "organisation":
            continue
        if name in _PERSON_FIELDS and keep.kind == "organisation":
            continue
        if _empty(getattr(keep, name)) and not _empty(getattr(duplicate, name)):
            setattr(keep, name, getattr(duplicate, name))
            filled.append(name)
    for group in ((_SURNAME_FIELDS,) if keep.kind != "organisation" else ()) + (_ADDRESS_FIELDS,):
        # Only when the kept donor has none of the group (country always has a default).
        if all(_empty(getattr(keep, n)) for n in group if n != "country") \
                and not all(_empty(getattr(duplicate, n)) for n in group if n != "country"):
            for name in group:
                if getattr(keep, name) != getattr(duplicate, name):
                    setattr(keep, name, getattr(duplicate, name))
                    filled.append(name)
    if duplicate.notes is not None and not _empty(duplicate.notes):
        # Free text is never dropped: the duplicate's notes are added under a marker.
        addition = f"[merged from {duplicate.ref}] {duplicate.notes.strip()}"
        keep.notes = addition if keep.notes is None or _empty(keep.notes) else f"{keep.notes.rstrip()}\n{addition}"
        filled.append("notes")
    if filled:
        for key, value in names.name_keys(keep).items():  # the name may have changed: its keys with it
            setattr(keep, key, value)
    return filled


def merge_donors(session: Session, keep_ref: str, duplicate_ref: str, actor: str) -> MergeResult:
    """Merge the donor `duplicate_ref` into `keep_ref` (see the module docstring).

    Refuses (and writes nothing) for an unknown ref, a donor merged into itself,
    into or from an already merged donor, or a restricted or purged donor."""
    references = _check_policy()
    keep = _donor_by_ref(session, keep_ref)
    duplicate = _donor_by_ref(session, duplicate_ref)
    _check_mergeable(session, keep, duplicate)

    result = MergeResult(kept_ref=keep.ref, merged_ref=duplicate.ref)
    result.filled = fill_empty_fields(keep, duplicate)
    result.rechained = list(session.scalars(
        select(Donor.ref).where(Donor.merged_into_id == duplicate.id).order_by(Donor.ref)
    ))
    session.flush()

    keep_id, duplicate_id = keep.id, duplicate.id
    for key in sorted(references):
        table, column = references[key]
        moved, dropped = HANDLERS[MERGE_POLICY[key]](session, table, column, keep_id, duplicate_id)
        if moved:
            result.moved[key] = moved
        if dropped:
            result.dropped[key] = dropped

    duplicate.merged_into_id = keep_id
    session.add(DonorMerge(kept_donor_id=keep_id, merged_donor_id=duplicate_id, merged_ref=duplicate.ref, actor=actor))
    details = result.as_dict()
    audit.record(session, actor=actor, action="merge", entity="donor", entity_ref=keep.ref, details=details)
    audit.record(session, actor=actor, action="merged_into", entity="donor", entity_ref=duplicate.ref,
                 details={"kept_ref": keep.ref})
    session.flush()
    # The Core updates above bypassed the identity map; reload from the database.
    session.expire_all()
    return result
