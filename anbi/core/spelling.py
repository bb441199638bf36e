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


def other_cases(session: Session, column, values, *, scan: bool = True) -> dict[str, str]:
    """`other_case` for many values at once (the ones an import file names but that
    were not found): value -> the one stored value differing only in case. One query
    (per 5,000 values), and none when there is nothing to look up."""
    wanted = sorted({v for v in values if v})
    if not wanted:
        return {}
    found: dict[str, list[str]] = {}
    for start in range(0, len(wanted), 5000):
        part = wanted[start:start + 5000]
        if scan:
            query = select(column).where(func.lower(column).in_(sorted({v.lower() for v in part})))
        else:
            spellings = {s for v in part for s in (v.upper(), v.lower(), v.capitalize())}
            query = select(column).where(column.in_(sorted(spellings)))
        for stored in session.scalars(query):
            found.setdefault(stored.lower(), []).append(stored)
    suggestions = {}
    for value in wanted:
        matches = [m for m in found.get(value.lower(), []) if m != value]
        if len(matches) == 1:
            suggestions[value] = matches[0]
    return suggestions


def did_you_mean(message: str, suggestion: str | None) -> str:
    """`message` with "; did you mean X?" when there is a suggestion."""
    return f"{message}; did you mean {suggestion}?" if suggestion else message
