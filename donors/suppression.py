"""The suppression list: hashed contact details of erased donors (DOMAIN.md 6.3).

After an erasure the person's e-mail, phone and IBAN are gone, but a one-way hash of
each is kept so that the same details, arriving again through an import or a form,
can be recognised and the person not re-contacted by mistake. Only the hash is
stored, so the list itself identifies nobody.

`hash_contact` normalises before hashing, so that `Anna@Example.NL` and
`anna@example.nl`, or `06-12345678` and `+31 6 1234 5678`, give the same hash.
"""
from __future__ import annotations

import hashlib
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from donors.models import Suppression

KINDS = ("email", "phone", "iban")

_PHONE_NOISE = re.compile(r"[\s()./-]")
_IBAN_NOISE = re.compile(r"[\s.-]")


def normalise_contact(kind: str, value: str) -> str:
    """The canonical form of a contact detail, used only for hashing.

    Lenient on purpose: a detail that would fail validation is still hashed in a
    stable form, because the list must match whatever was once stored."""
    s = (value or "").strip()
    if kind == "email":
        # Mail providers treat the local part case-insensitively in practice; a
        # missed match here means contacting someone who asked to be forgotten.
        return s.lower()
    if kind == "phone":
        s = _PHONE_NOISE.sub("", s)
        if s.startswith("00"):
            s = "+" + s[2:]
        elif s.startswith("0"):
            # A national Dutch number: 06... is +316...
            s = "+31" + s[1:]
        return s
    if kind == "iban":
        return _IBAN_NOISE.sub("", s).upper()
    raise ValueError(f"unknown contact kind {kind!r} (expected one of {', '.join(KINDS)})")


def hash_contact(kind: str, value: str) -> str:
    """SHA-256 hex digest of the normalised contact detail, prefixed by its kind so
    that an e-mail and a phone number with the same text never collide."""
    normalised = normalise_contact(kind, value)
    return hashlib.sha256(f"{kind}:{normalised}".encode()).hexdigest()


def suppressed_kinds(
    session: Session,
    email: str | None = None,
    phone: str | None = None,
    iban: str | None = None,
) -> set[str]:
    """Which of the given contact details are on the suppression list."""
    wanted = {kind: hash_contact(kind, value)
              for kind, value in (("email", email), ("phone", phone), ("iban", iban)) if value}
    found = suppressed_hashes(session, set(wanted.items()))
    return {kind for kind, digest in wanted.items() if (kind, digest) in found}


def suppressed_hashes(session: Session, pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (kind, hash) pairs among `pairs` that are on the list, in few queries
    (the importer checks a whole file at once)."""
    found: set[tuple[str, str]] = set()
    pairs_list = sorted(pairs)
    for start in range(0, len(pairs_list), 500):
        chunk = pairs_list[start:start + 500]
        hashes = {h for _, h in chunk}
        rows = session.execute(
            select(Suppression.kind, Suppression.value_hash).where(Suppression.value_hash.in_(hashes))
        ).all()
        wanted = set(chunk)
        found.update((k, h) for k, h in rows if (k, h) in wanted)
    return found


def add_suppression(session: Session, kind: str, value: str, reason: str = "erasure") -> bool:
    """Put a contact detail on the list; False when it was already there."""
    digest = hash_contact(kind, value)
    exists = session.scalar(
        select(Suppression.id).where(Suppression.kind == kind, Suppression.value_hash == digest)
    )
    if exists is not None:
        return False
    session.add(Suppression(kind=kind, value_hash=digest, reason=reason))
    session.flush()
    return True
