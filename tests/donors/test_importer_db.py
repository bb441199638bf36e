"""The importer against a database: bulk loading of stored donors (both ways it
can read them), chunk boundaries, and refreshed statistics after a big import."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from donors import importer
from donors.importer import import_donors, load_existing
from donors.models import ConsentEvent, Donor, DonorTag

FIRST = (
    "ref,last_name,consent_email,consent_post,tags\n"
    "A1,Aalders,ja,,x|y\n"
    "A2,Bakker,,ja,\n"
    "A3,Claes,ja,ja,z\n"
    "A4,Dekker,,,\n"
    "A5,Evers,ja,,\n"
)
SECOND = "ref,consent_email,tags\nA1,nee,y\nA3,,q\n"


def _import(session, tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return import_donors(session, path, actor="tester")


@pytest.mark.parametrize("chunk", [1000, 2], ids=["in-lists", "whole-tables"])
def test_load_existing_reads_current_consent_tags_and_status(session, tmp_path, monkeypatch, chunk):
    _import(session, tmp_path, "first.csv", FIRST)
    _import(session, tmp_path, "second.csv", SECOND)
    keep = session.scalar(select(Donor).where(Donor.ref == "A2"))
    session.execute(update(Donor).where(Donor.ref == "A4").values(merged_into_id=keep.id))
    # With CHUNK = 2, five refs against five donors take the one-pass branch.
    monkeypatch.setattr(importer, "CHUNK", chunk)

    found = load_existing(session, ["A1", "A2", "A3", "A4", "NEW"])

    assert sorted(found) == ["A1", "A2", "A3", "A4"]
    assert found["A1"].consent == {"email": (False, "consent")}  # the withdrawal is the latest
    assert sorted(found["A1"].tags) == ["y"]
    assert found["A2"].consent == {"post": (True, "consent")}
    assert found["A3"].consent == {"email": (True, "consent"), "post": (True, "consent")}
    assert sorted(found["A3"].tags) == ["q"]
    assert found["A4"].inactive == "merged into A2"
    assert found["A1"].inactive is None
    assert found["A1"].values["last_name"] == "Aalders"
    assert found["A1"].values["sort_name"] == "aalders"
    assert "A5" not in found  # stored but not asked for


def test_small_chunks_create_and_update_every_row(session, tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "CHUNK", 2)
    monkeypatch.setattr(importer, "ANALYZE_AFTER", 1)  # also runs ANALYZE on PostgreSQL
    summary = _import(session, tmp_path, "first.csv", FIRST)
    assert summary.created == 5
    assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 5
    assert session.scalar(select(func.count()).select_from(DonorTag)) == 3
    changed = FIRST.replace("Aalders", "Alders").replace("Evers", "Everts")
    summary = _import(session, tmp_path, "changed.csv", changed)
    assert (summary.created, summary.updated, summary.unchanged) == (0, 2, 3)
    names = dict(session.execute(select(Donor.ref, Donor.last_name)).all())
    assert names == {"A1": "Alders", "A2": "Bakker", "A3": "Claes", "A4": "Dekker", "A5": "Everts"}


@pytest.mark.parametrize("few", [100, 2], ids=["returning", "read-back-by-id"])
def test_new_donors_get_their_own_ids_on_both_write_paths(session, tmp_path, monkeypatch, few):
    """A few new donors are written with INSERT ... RETURNING, many with an
    executemany and a read-back: consent and tags land on the right donor either way."""
    monkeypatch.setattr(importer, "FEW", few)
    _import(session, tmp_path, "first.csv", FIRST)
    consent = {(ref, channel) for ref, channel in session.execute(
        select(Donor.ref, ConsentEvent.channel).join(ConsentEvent, ConsentEvent.donor_id == Donor.id))}
    tags = {(ref, tag) for ref, tag in session.execute(
        select(Donor.ref, DonorTag.tag).join(DonorTag, DonorTag.donor_id == Donor.id))}
    assert consent == {("A1", "email"), ("A2", "post"), ("A3", "email"), ("A3", "post"), ("A5", "email")}
    assert tags == {("A1", "x"), ("A1", "y"), ("A3", "z")}


def test_many_new_donors_are_written_with_copy_on_postgresql_and_read_back_as_given(session, tmp_path, monkeypatch, backend):
    """Past FEW new donors the importer writes donors, consent events, tags and audit
    rows with the fastest plain write of each database (binary COPY on PostgreSQL,
    the driver's executemany on SQLite): every value reads back as the file gave it."""
    from anbi.core import db
    from anbi.core.audit import AuditEntry

    copied = []
    real_copy = db._copy

    def counted_copy(connection, table, names, rows):
        copied.append(table.name)
        return real_copy(connection, table, names, rows)

    monkeypatch.setattr(db, "_copy", counted_copy)
    monkeypatch.setattr(importer, "FEW", 2)
    content = ("ref,kind,initials,first_name,prefix,last_name,organisation,street,house_number,postcode,city,email,"
               "iban,deceased_on,language,consent_email,tags\n"
               "A1,person,J.,Jan,van der,Berg,,Kerkstraat,12,1017gc,Amsterdam,Jan@Example.NL,nl91 abna 0417 1643 00,"
               "2024-05-01,en,ja,x|y\n"
               "A2,organisation,,,,,Stichting Öztürk,,,,,,,,,nee,\n"
               "A3,,,,,Claes,,,,,,,,,,,z\n")
    _import(session, tmp_path, "bulk.csv", content)

    assert sorted(copied) == (["audit_entries", "consent_events", "donor_tags", "donors"] if backend == "postgresql" else [])
    donors = {d.ref: d for d in session.scalars(select(Donor))}
    jan = donors["A1"]
    assert (jan.initials, jan.first_name, jan.prefix, jan.last_name, jan.sort_name) == ("J.", "Jan", "van der", "Berg",
                                                                                      "berg, van der, jan")
    assert (jan.postcode, jan.email, jan.iban, str(jan.deceased_on), jan.language) == (
        "1017 GC", "Jan@example.nl", "NL91ABNA0417164300", "2024-05-01", "en")
    assert jan.created_at.tzinfo is not None and jan.created_at == jan.updated_at
    assert (donors["A2"].organisation_name, donors["A2"].organisation_type, donors["A2"].country) == (
        "Stichting Öztürk", "company", "NL")
    consent = {(ref, channel, granted) for ref, channel, granted in session.execute(
        select(Donor.ref, ConsentEvent.channel, ConsentEvent.granted).join(ConsentEvent, ConsentEvent.donor_id == Donor.id))}
    assert consent == {("A1", "email", True)}  # "nee" without an earlier "ja" changes nothing
    tags = {(ref, tag) for ref, tag in session.execute(
        select(Donor.ref, DonorTag.tag).join(DonorTag, DonorTag.donor_id == Donor.id))}
    assert tags == {("A1", "x"), ("A1", "y"), ("A3", "z")}
    audit = {entry.entity_ref: entry for entry in session.scalars(select(AuditEntry))}
    assert audit["A3"].details == {"source": "import:bulk.csv", "line": 4}
    assert audit["A1"].action == "donor_created" and audit["A1"].actor == "tester"
