"""Finding and describing donors: resolve a ref (following merges), the list of
active donors, and everything held on one donor.

Services take a Session and never commit; the command or request owns the
transaction. Later parts (gifts, agreements, receipts) find donors through
`resolve_ref`, so that a ref that was merged away still leads to the right person.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from anbi.core.errors import Conflict
from anbi.core.spelling import other_case
from donors import names
from donors.errors import DonorNotFound
from donors.models import CHANNELS, ConsentEvent, Donor


def find_by_ref(session: Session, ref: str) -> Donor | None:
    """The donor row carrying exactly this ref, merged or not."""
    return session.scalar(select(Donor).where(Donor.ref == ref))


def resolve_ref(session: Session, ref: str) -> Donor:
    """The donor a ref stands for today: the record itself, or, when it was merged,
    the donor it was merged into (following a chain of merges). DonorNotFound
    suggests a ref that differs only in case (looked up through the ref's index)."""
    donor = find_by_ref(session, ref)
    if donor is None:
        raise DonorNotFound(ref, other_case(session, Donor.ref, ref, scan=False))
    seen: set[int] = set()
    while donor.merged_into_id is not None:
        if donor.id in seen:
            # Only a bug could make this; refuse rather than loop forever.
            raise Conflict(f"donor {ref!r} is part of a merge cycle; check donor_merges")
        seen.add(donor.id)
        donor = session.get_one(Donor, donor.merged_into_id)
    return donor


def active_filter():
    """The condition for donors shown in lists, search, exports and the API."""
    return (Donor.merged_into_id.is_(None), Donor.restricted_at.is_(None), Donor.purged_at.is_(None))


def hidden_donors():
    """The ids of the donors whose records are kept but never shown: restricted after
    an erasure request, or purged (AVG art. 18). Few, and found through their own
    partial index (`ix_donors_hidden`)."""
    return select(Donor.id).where(or_(Donor.restricted_at.is_not(None), Donor.purged_at.is_not(None)))


def shown_donor(donor_id):
    """The condition for rows that name a donor by `donor_id` (gifts, agreements,
    mandates, ...) in lists, search, exports and API answers: anonymous (NULL), or
    not a hidden donor (`hidden_donors`). Their records are kept for the books, never
    shown: every list of them applies this one definition — a query that joins the
    donor row uses `active_filter`, which also leaves out merged records — and the
    financial reports (statements, income statement, ledger), which must keep
    counting the money, do not."""
    return or_(donor_id.is_(None), donor_id.not_in(hidden_donors()))


def resolve_listed_ref(session: Session, ref: str) -> Donor:
    """`resolve_ref` for a list or an answer about a donor: a restricted or purged
    donor is not found (DonorNotFound), as if the ref were unknown."""
    donor = resolve_ref(session, ref)
    if not donor.is_active:
        raise DonorNotFound(ref)
    return donor


def sort_name_order(session: Session):
    """Order by sort_name byte by byte on both databases: PostgreSQL's default
    collation ignores the comma and spaces in `berg, van der`, SQLite does not."""
    if session.get_bind().dialect.name == "postgresql":
        return Donor.sort_name.collate("C")
    return Donor.sort_name


@dataclass(frozen=True)
class DonorListItem:
    ref: str
    kind: str
    name: str
    postcode: str | None
    city: str | None
    country: str
    email: str | None

    def as_json(self) -> dict:
        return {
            "ref": self.ref,
            "kind": self.kind,
            "name": self.name,
            "postcode": self.postcode,
            "city": self.city,
            "country": self.country,
            "email": self.email,
        }


def list_donors(session: Session) -> list[DonorListItem]:
    """Active donors (not merged, restricted or purged), sorted by sort_name."""
    rows = session.execute(
        select(
            Donor.ref, Donor.kind, Donor.initials, Donor.first_name, Donor.prefix, Donor.last_name,
            Donor.organisation_name, Donor.language, Donor.postcode, Donor.city, Donor.country, Donor.email,
        )
        .where(*active_filter())
        .order_by(sort_name_order(session), Donor.ref)
    ).all()
    items = []
    for row in rows:
        name = names.Name(
            kind=row.kind, initials=row.initials, first_name=row.first_name, prefix=row.prefix,
            last_name=row.last_name, organisation_name=row.organisation_name, language=row.language,
        )
        items.append(DonorListItem(row.ref, row.kind, names.display_name(name), row.postcode, row.city, row.country, row.email))
    return items


@dataclass(frozen=True)
class ConsentState:
    """A channel's current consent: the latest event, or nothing recorded."""

    channel: str
    granted: bool
    kind: str | None
    at: dt.datetime | None
    source: str | None
    wording: str | None


def current_consent(events: Iterable[ConsentEvent]) -> dict[str, ConsentState]:
    """The latest event per channel decides; a channel without events has no consent."""
    latest: dict[str, ConsentEvent] = {}
    for event in sorted(events, key=lambda e: (e.at, e.id or 0)):
        latest[event.channel] = event
    states = {}
    for channel in CHANNELS:
        last = latest.get(channel)
        if last is None:
            states[channel] = ConsentState(channel, False, None, None, None, None)
        else:
            states[channel] = ConsentState(channel, last.granted, last.kind, last.at, last.source, last.wording)
    return states


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def donor_detail(session: Session, ref: str) -> dict:
    """Every field held on the donor a ref stands for, with tags and consent per
    channel (current state and history). For a merged ref, `ref` is the surviving
    donor's and `requested_ref` the one asked for."""
    donor = resolve_ref(session, ref)
    donor = session.execute(
        select(Donor)
        .where(Donor.id == donor.id)
        .options(selectinload(Donor.tags), selectinload(Donor.consent_events))
    ).scalar_one()
    merged_refs = session.scalars(select(Donor.ref).where(Donor.merged_into_id == donor.id).order_by(Donor.ref)).all()
    states = current_consent(donor.consent_events)
    consent = {}
    for channel in CHANNELS:
        state = states[channel]
        history = [
            {"granted": e.granted, "kind": e.kind, "at": _iso(e.at), "source": e.source, "wording": e.wording}
            for e in sorted(donor.consent_events, key=lambda e: (e.at, e.id))
            if e.channel == channel
        ]
        consent[channel] = {
            "granted": state.granted,
            "kind": state.kind,
            "since": _iso(state.at),
            "source": state.source,
            "wording": state.wording,
            "history": history,
        }
    if donor.restricted_at is not None or donor.purged_at is not None:
        status = "purged" if donor.purged_at is not None else "restricted"
    else:
        status = "active"
    return {
        "ref": donor.ref,
        "requested_ref": ref,
        "merged_from": list(merged_refs),
        "status": status,
        "kind": donor.kind,
        "name": names.display_name(donor),
        "label_name": names.label_name(donor),
        "salutation": names.salutation(donor),
        "sort_name": donor.sort_name,
        "initials": donor.initials,
        "first_name": donor.first_name,
        "prefix": donor.prefix,
        "last_name": donor.last_name,
        "organisation": donor.organisation_name,
        "organisation_type": donor.organisation_type,
        "street": donor.street,
        "house_number": donor.house_number,
        "house_number_suffix": donor.house_number_suffix,
        "postcode": donor.postcode,
        "city": donor.city,
        "country": donor.country,
        "email": donor.email,
        "phone": donor.phone,
        "iban": donor.iban,
        "language": donor.language,
        "notes": donor.notes,
        "deceased_on": _iso(donor.deceased_on),
        "tags": sorted(t.tag for t in donor.tags),
        "consent": consent,
        "created_at": _iso(donor.created_at),
        "updated_at": _iso(donor.updated_at),
        "restricted_at": _iso(donor.restricted_at),
        "purged_at": _iso(donor.purged_at),
    }
