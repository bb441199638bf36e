"""Spelling hints for a code or reference that was not found: refs and codes are
compared exactly (KERST-2025 is not kerst-2025), so when only the case differs the
message says which one was meant ("did you mean KERST-2025?").

Used where a NotFound is raised for a value a person typed. Never changes what is
found: the lookup itself stays exact."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def other_case(session: Session, column, value: str | None, *, scan: bool = True) -> str | None:
    """The one stored value of `column` that equals `value` but for upper and lower
    case, or None (none, or several).

    `scan=True` compares `lower()` of every row (for small tables: campaigns, funds,
    grants; SQLite lowers ASCII letters only, which is what codes are made of);
    `scan=False` tries only the upper-case, lower-case and capitalised spellings,
    through the column's own index (for donors, where a scan of a million rows on
    each miss would cost more than a hint is worth)."""
    if not value:
        return None
    if scan:
        query = select(column).where(func.lower(column) == value.lower(), column != value)
    else:
        spellings = {value.upper(), value.lower(), value.capitalize()} - {value}
        if not spellings:
            return None
        query = select(column).where(column.in_(sorted(spellings)))
    found = session.scalars(query.limit(2)).all()
    return found[0] if len(found) == 1 else None


def did_you_mean(message: str, suggestion: str | None) -> str:
    """`message` with "; did you mean X?" when there is a suggestion."""
    return f"{message}; did you mean {suggestion}?" if suggestion else message
