"""Finding donors: a ref resolves through merges; an unknown ref is a clear error."""
from __future__ import annotations

import datetime as dt

import pytest

from donors.errors import DonorNotFound
from donors.models import ConsentEvent
from donors.service import current_consent, donor_detail, resolve_ref
from tests.factories import make_donor


def test_resolve_ref_follows_a_chain_of_merges(session):
    first = make_donor(session, ref="A")
    second = make_donor(session, ref="B")
    third = make_donor(session, ref="C")
    first.merged_into_id = second.id
    second.merged_into_id = third.id
    session.flush()
    assert resolve_ref(session, "A") is third
    assert resolve_ref(session, "B") is third
    assert resolve_ref(session, "C") is third


def test_unknown_ref_raises_donor_not_found(session):
    with pytest.raises(DonorNotFound) as raised:
        resolve_ref(session, "NOPE")
    assert raised.value.ref == "NOPE"
    assert str(raised.value) == "no donor with ref 'NOPE'"


def test_donor_detail_of_a_restricted_donor_says_so(session):
    make_donor(session, ref="R1", restricted_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    assert donor_detail(session, "R1")["status"] == "restricted"


def _event(channel, granted, at, kind="consent", event_id=None):
    return ConsentEvent(id=event_id, channel=channel, granted=granted, kind=kind, source="test",
                        at=dt.datetime(2025, 1, at, tzinfo=dt.UTC))


def test_current_consent_is_the_latest_event_per_channel():
    events = [
        _event("email", True, 1),
        _event("email", False, 3),
        _event("phone", False, 2, kind="objection"),
        _event("post", True, 5),
        _event("post", False, 4),
    ]
    states = current_consent(events)
    assert states["email"].at is not None
    assert (states["email"].granted, states["email"].at.day) == (False, 3)
    assert (states["phone"].granted, states["phone"].kind) == (False, "objection")
    assert states["post"].granted is True
    assert current_consent([])["email"].granted is False
