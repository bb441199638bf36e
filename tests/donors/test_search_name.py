"""Every write of a donor's name keeps its folded search key (Donor.search_name)
with it: the import (new and changed donors), a web form that removes a part of the
name, a merge that fills in a surname, and the pseudonymisation of a purge. (A
Stripe payer's new donor: tests/fundraising/stripe/test_webhook.py; the migration
that fills it in for donors made before: tests/core/test_migration_0014.py.)"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from anbi.core.clock import utcnow
from donors import names
from donors.importer import import_donors
from donors.merge import merge_donors
from donors.models import Donor
from donors.privacy import purge
from tests.factories import make_donation, make_donor


def _search_name(session, ref: str) -> str:
    session.expire_all()
    return session.scalar(select(Donor.search_name).where(Donor.ref == ref))


def test_the_import_writes_it_for_new_and_changed_names(session, tmp_path):
    path = tmp_path / "donors.csv"
    path.write_text("ref,first_name,prefix,last_name,kind,organisation\n"
                    "D1,Ayşe,,Öztürk,,\nD2,Anna,van der,Berg,,\nO1,,,,organisation,Stichting 't Hof\n", encoding="utf-8")
    import_donors(session, path, actor="test")
    assert [_search_name(session, ref) for ref in ("D1", "D2", "O1")] == ["ozturk ayse", "berg van der anna",
                                                                         "stichting t hof"]
    path.write_text("ref,last_name\nD1,Öztürk-Yılmaz\n", encoding="utf-8")
    summary = import_donors(session, path, actor="test")
    assert summary.updated == 1
    assert _search_name(session, "D1") == "ozturk yilmaz ayse"


def test_a_form_that_removes_a_part_of_the_name_changes_the_keys_too(session):
    from anbi.web.donor_forms import STAFF_COLUMNS, apply_form, current_values

    donor = make_donor(session, ref="F1", first_name="Anna", prefix="van der", last_name="Berg")
    submitted = {**current_values(donor), "prefix": ""}
    result = apply_form(session, donor, submitted, columns=STAFF_COLUMNS, actor="test", source="web")
    assert result.ok, result.problems
    assert _search_name(session, "F1") == "berg anna"
    assert session.scalar(select(Donor.sort_name).where(Donor.ref == "F1")) == "berg, anna"


def test_a_merge_that_fills_in_the_surname_changes_the_keys_too(session):
    make_donor(session, ref="KEEP", first_name="Tesfaye", last_name="", sort_name="tesfaye")
    make_donor(session, ref="DUP", first_name="T.", last_name="Gebremedhin")
    merge_donors(session, "KEEP", "DUP", actor="test")
    assert _search_name(session, "KEEP") == "gebremedhin tesfaye"


def test_a_purged_donor_is_found_under_the_pseudonym_only(session):
    donor = make_donor(session, ref="GONE", first_name="Mehmet", last_name="Öztürk",
                       restricted_at=utcnow() - dt.timedelta(days=4000))
    make_donation(session, donor=donor, date="2010-01-01")
    purge(session, dt.date(2026, 1, 1), retention_years=7, actor="test")
    session.expire_all()
    purged = session.scalar(select(Donor).where(Donor.ref == "GONE"))
    assert purged.search_name == names.search_text(purged.last_name) and "ozturk" not in purged.search_name
