"""Finding a donor from one search box: by name, postcode + house number, e-mail,
IBAN or donor number. What the text looks like decides how it is searched
(`interpret`, a plain function); the query then runs in the database with a limit.

Only active donors are found (not merged, restricted or purged), as in every list;
a donor number that was merged away leads to the donor it was merged into."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from anbi.core import identifiers
from donors import names
from donors.models import Donor
from donors.service import active_filter, find_by_ref, resolve_ref, sort_name_order

_POSTCODE_HOUSE = re.compile(r"^\s*([1-9]\d{3})\s?([A-Za-z]{2})(?:[\s,]+(\d+)\s*([A-Za-z0-9-]*))?\s*$")
_IBAN_LIKE = re.compile(r"^[A-Za-z]{2}\d{2}[A-Za-z0-9 ]{10,40}$")


@dataclass(frozen=True)
class Query:
    """How a search text is understood."""

    kind: str  # all | email | iban | postcode | ref_or_name
    text: str
    postcode: str | None = None
    house_number: str | None = None
    suffix: str | None = None


def interpret(text: str) -> Query:
    s = " ".join((text or "").split())
    if not s:
        return Query("all", "")
    if "@" in s:
        return Query("email", s.lower())
    compact = s.replace(" ", "")
    if _IBAN_LIKE.match(s) and len(compact) >= 15:
        try:
            return Query("iban", identifiers.iban(compact))
        except ValueError:
            return Query("iban", compact.upper())
    m = _POSTCODE_HOUSE.match(s)
    if m:
        postcode = f"{m.group(1)} {m.group(2).upper()}"
        return Query("postcode", s, postcode=postcode, house_number=m.group(3), suffix=m.group(4) or None)
    return Query("ref_or_name", s)


@dataclass(frozen=True)
class Found:
    ref: str
    kind: str
    name: str
    street: str | None
    house_number: str | None
    house_number_suffix: str | None
    postcode: str | None
    city: str | None
    email: str | None
    iban: str | None


@dataclass(frozen=True)
class Results:
    query: Query
    donors: list[Found]
    more: bool  # there are more than were returned
    refused: str | None = None  # why the search did not run (an IBAN search without the right)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_donors(session: Session, text: str, *, may_see_iban: bool, limit: int = 50, offset: int = 0) -> Results:
    query = interpret(text)
    donor = Donor
    conditions = list(active_filter())
    if query.kind == "iban":
        if not may_see_iban:
            # Finding a person by bank account is seeing whose account it is.
            return Results(query, [], False, refused="iban")
        conditions.append(donor.iban == query.text)
    elif query.kind == "email":
        conditions.append(func.lower(donor.email).like(_like_escape(query.text) + "%", escape="\\"))
    elif query.kind == "postcode":
        conditions.append(donor.postcode == query.postcode)
        if query.house_number:
            conditions.append(donor.house_number == query.house_number)
        if query.suffix:
            conditions.append(func.lower(donor.house_number_suffix) == query.suffix.lower())
    elif query.kind == "ref_or_name":
        exact = find_by_ref(session, query.text)
        if exact is not None:
            survivor = resolve_ref(session, query.text)
            if survivor.is_active:
                return Results(query, [_found(survivor)], False)
        # Every word must appear in some part of the name (or be the start of a donor number).
        for word in query.text.lower().split():
            pattern = "%" + _like_escape(word) + "%"
            conditions.append(or_(
                func.lower(donor.last_name).like(pattern, escape="\\"),
                func.lower(donor.first_name).like(pattern, escape="\\"),
                func.lower(donor.prefix).like(pattern, escape="\\"),
                func.lower(donor.initials).like(pattern, escape="\\"),
                func.lower(donor.organisation_name).like(pattern, escape="\\"),
                func.lower(donor.ref).like(_like_escape(word) + "%", escape="\\"),
            ))
    rows = session.scalars(
        select(donor).where(and_(*conditions)).order_by(sort_name_order(session), donor.ref)
        .offset(offset).limit(limit + 1)
    ).all()
    return Results(query, [_found(d) for d in rows[:limit]], len(rows) > limit)


def _found(d: Donor) -> Found:
    return Found(d.ref, d.kind, names.display_name(d), d.street, d.house_number, d.house_number_suffix,
                 d.postcode, d.city, d.email, d.iban)
