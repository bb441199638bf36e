"""Finding a donor from one search box: by name, postcode + house number, e-mail,
IBAN, donor number or city. What the text looks like decides how it is searched
(`interpret`, a plain function); the query then runs in the database with a limit.

A name is searched in `Donor.search_name`, the folded words of the name kept beside
it (`donors.names.search_key`): case and accents never decide what is found, on
either database, and a search for the start of a name is a range of its index.

Only active donors are found (not merged, restricted or purged), as in every list;
a donor number that was merged away leads to the donor it was merged into."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import and_, func, literal, or_, select
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


def _range(column, prefix: str):
    """`column` begins with `prefix`: `prefix` <= value < `prefix` with its last
    character one higher, a range of the column's index."""
    return and_(column >= prefix, column < prefix[:-1] + chr(ord(prefix[-1]) + 1))


def _starts(text: str):
    """Names whose folded key begins with `text`: exact on both databases, because
    search_name compares code point by code point (BINARY on SQLite, "C" on
    PostgreSQL)."""
    return _range(Donor.search_name, text)


def _active(postgresql: bool) -> list:
    """The active donors (donors.service.active_filter). SQLite without statistics
    reads "not merged" (true of nearly every donor) through the merged_into_id index
    and sorts them all: there `+ 0` leaves it a filter, so the name's index leads.
    PostgreSQL has statistics, and an expression would only spoil its estimate."""
    if postgresql:
        return list(active_filter())
    return [(Donor.merged_into_id + 0).is_(None), Donor.restricted_at.is_(None), Donor.purged_at.is_(None)]


def beginning_with(folded: str, postgresql: bool):
    """The ids of the active donors whose folded name begins with `folded`, in its
    order: read from the (search_name, id) index."""
    return select(Donor.id).where(*_active(postgresql), _starts(folded)).order_by(Donor.search_name, Donor.id)


def _has_word(column, word: str):
    """`column` has a word that begins with `word`."""
    escaped = _like_escape(word)
    return or_(column.like(escaped + "%", escape="\\"), column.like("% " + escaped + "%", escape="\\"))


def _in_name(word: str):
    return _has_word(Donor.search_name, word)  # folded already: no case to ignore


def _in_ref_or_city(word: str, postgresql: bool):
    """The start of the ref, or the start of a word of the city, whatever the case
    (SQLite's LIKE ignores the case of ASCII letters by itself)."""
    ref, city = (func.lower(Donor.ref), func.lower(Donor.city)) if postgresql else (Donor.ref, Donor.city)
    return or_(ref.like(_like_escape(word) + "%", escape="\\"), _has_word(city, word))


def _spellings(word: str) -> list[str]:
    """How a ref or a city that begins with `word` (typed in any case) is written:
    as typed, in capitals (D000123), capitalised (Utrecht, Den Haag)."""
    return sorted({word, word.upper(), word.capitalize()})


def _groups(text: str, folded: str, words: list[str], postgresql: bool) -> list:
    """The donors a text finds, in three groups shown in this order, each by name;
    each a query of the ids in order.

    1. The name begins with the text (Öz -> Öztürk; berg van -> Van der Berg): a range
       of the search_name index, read in order.
    2. Every word begins a word of the name (amrani -> El Amrani; anna berg): the
       search_name index read whole (it holds nothing but the names), in order,
       looking up only the donors found, so a common word stops after a page.
    3. The text begins the ref, or the other words begin the ref or the city
       (D00012; x-20; jansen utrecht; den haag):
       only donors whose ref or city begins with one of the words are read, from
       the indexes on ref and city, and checked.
    """
    begins = _starts(folded)
    all_in_name = and_(*(_in_name(w) for w in words))
    named = select(Donor.id, Donor.search_name).where(all_in_name, ~begins).subquery("named")
    starts = [_range(column, spelling) for w in words for spelling in _spellings(w) for column in (Donor.ref, Donor.city)]
    # The text as typed may be the start of a ref with a hyphen in it (X-20: X-2000).
    typed = " ".join(text.split())
    ref_typed = or_(*(_range(Donor.ref, spelling) for spelling in _spellings(typed)))
    # Each a range of the ref's or the city's index: the database reads those and only those.
    hinted = or_(*starts, ref_typed)
    return [
        beginning_with(folded, postgresql),
        select(named.c.id).join(Donor, Donor.id == named.c.id).where(*_active(postgresql))
        .order_by(named.c.search_name, named.c.id),
        # Sorted by an expression: the few found are sorted, the name index is not walked.
        select(Donor.id)
        .where(hinted, *_active(postgresql), ~all_in_name,
               or_(ref_typed, and_(*(or_(_in_name(w), _in_ref_or_city(w, postgresql)) for w in words))))
        .order_by(Donor.search_name + literal(""), Donor.id),
    ]


def _by_name_ref_or_city(session: Session, text: str, *, limit: int, offset: int) -> tuple[list, bool]:
    """Active donors found by the words of `text` (see `_groups`), as (page of rows,
    more after it): each group is read only as far as the page reaches."""
    folded = names.search_text(text)
    words = folded.split()
    if not words:
        return [], False
    ids: list[int] = []
    skip = offset
    for page in _groups(text, folded, words, session.get_bind().dialect.name == "postgresql"):
        found = session.scalars(page.offset(skip).limit(limit + 1 - len(ids))).all()
        if found:
            skip = 0
        elif skip:
            # The whole group lies before the page: how many it holds.
            skip = max(0, skip - session.execute(select(func.count()).select_from(page.order_by(None).subquery())).scalar_one())
        ids.extend(found)
        if len(ids) > limit:
            break
    shown = ids[:limit]
    by_id = {d.id: d for d in session.scalars(select(Donor).where(Donor.id.in_(shown)))} if shown else {}
    return [by_id[i] for i in shown], len(ids) > limit


def search_donors(session: Session, text: str, *, may_see_iban: bool, limit: int = 50, offset: int = 0) -> Results:
    """A page of the active donors the text finds. A name is found by any of its
    words or their beginnings, whatever the case or accents (`Öztürk`, `ozturk` and
    `Öz` find Öztürk; `van der berg` and `berg` find Van der Berg), also with the
    city or the ref among the words (`jansen utrecht`, `D00012`)."""
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
        rows, more = _by_name_ref_or_city(session, query.text, limit=limit, offset=offset)
        return Results(query, [_found(d) for d in rows], more)
    found = session.scalars(
        select(donor).where(and_(*conditions)).order_by(sort_name_order(session), donor.ref)
        .offset(offset).limit(limit + 1)
    ).all()
    return Results(query, [_found(d) for d in found[:limit]], len(found) > limit)


def _found(d: Donor) -> Found:
    return Found(d.ref, d.kind, names.display_name(d), d.street, d.house_number, d.house_number_suffix,
                 d.postcode, d.city, d.email, d.iban)
