"""Bulk lookups for the importers: one query per chunk of keys, never one per row.

Donor refs resolve through merges: the common case (a live donor) is found in bulk;
a ref that was merged away is followed with `donors.service.resolve_ref`, the one
place that knows how merges chain."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from donors.models import Donor

T = TypeVar("T")

# Well below SQLite's limit on bound parameters (32766) and PostgreSQL's (65535).
CHUNK = 5000


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def by_key(session: Session, model: Any, column: Any, keys: Iterable[str]) -> dict[str, Any]:
    """Rows of `model` whose `column` is one of `keys`, keyed by that value."""
    wanted = sorted({k for k in keys if k})
    found: dict[str, Any] = {}
    for part in chunks(wanted):
        for row in session.scalars(select(model).where(column.in_(part))):
            found[getattr(row, column.key)] = row
    return found


def by_reference(session: Session, model: Any, source: str, references: Iterable[str]) -> dict[str, Any]:
    """Rows of a model keyed by (source, reference), for one source, keyed by reference."""
    wanted = sorted({r for r in references if r})
    found: dict[str, Any] = {}
    for part in chunks(wanted):
        for row in session.scalars(select(model).where(model.source == source, model.reference.in_(part))):
            found[row.reference] = row
    return found


@dataclass
class DonorRefs:
    """Refs resolved to the donor that now holds them (after merges)."""

    donors: dict[str, Donor] = field(default_factory=dict)
    merged: dict[str, str] = field(default_factory=dict)  # old ref -> surviving ref

    def get(self, ref: str) -> Donor | None:
        return self.donors.get(ref)


def resolve_donor_refs(session: Session, refs: Iterable[str]) -> DonorRefs:
    """Resolve every ref in one query per chunk; unknown refs are simply absent."""
    from donors.service import resolve_ref  # the donors package owns merge chains
    from donors.errors import DonorNotFound

    result = DonorRefs()
    for ref, donor in by_key(session, Donor, Donor.ref, refs).items():
        if donor.merged_into_id is None:
            result.donors[ref] = donor
            continue
        try:
            survivor = resolve_ref(session, ref)
        except DonorNotFound:
            continue
        result.donors[ref] = survivor
        result.merged[ref] = survivor.ref
    return result
