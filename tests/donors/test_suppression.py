"""The suppression list: hashes that survive an erasure, matched after normalising."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from donors.models import Suppression
from donors.suppression import add_suppression, hash_contact, normalise_contact, suppressed_kinds


@pytest.mark.parametrize(
    "kind, a, b",
    [
        ("email", "Anna@Example.NL", " anna@example.nl "),
        ("phone", "06-12345678", "+31 6 1234 5678"),
        ("phone", "0031 6 12345678", "+31612345678"),
        ("iban", "nl91 abna 0417 1643 00", "NL91ABNA0417164300"),
    ],
)
def test_same_detail_written_differently_has_one_hash(kind, a, b):
    assert hash_contact(kind, a) == hash_contact(kind, b)


def test_hash_is_sha256_of_kind_and_normalised_value():
    expected = hashlib.sha256(b"email:anna@example.nl").hexdigest()
    assert hash_contact("email", "Anna@Example.nl") == expected
    assert len(expected) == 64


def test_kinds_never_collide():
    assert hash_contact("email", "0612345678") != hash_contact("phone", "0612345678")


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown contact kind 'fax'"):
        normalise_contact("fax", "020-1234567")


def test_suppressed_kinds_finds_only_listed_details(session):
    assert add_suppression(session, "email", "erased@example.nl") is True
    assert add_suppression(session, "iban", "NL91ABNA0417164300") is True
    assert add_suppression(session, "email", "ERASED@example.nl") is False  # already there
    assert session.scalar(select(func.count()).select_from(Suppression)) == 2

    assert suppressed_kinds(session, email="Erased@Example.nl", phone="0612345678", iban="NL91 ABNA 0417 1643 00") == {"email", "iban"}
    assert suppressed_kinds(session, email="someone@example.nl") == set()
    assert suppressed_kinds(session) == set()
    # the same text as another kind is not a match
    assert suppressed_kinds(session, phone="erased@example.nl") == set()
