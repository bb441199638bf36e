"""The SEPA mandate register: import (validated whole, re-import updates) and list."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from anbi.core.audit import AuditEntry
from anbi.core.errors import InvalidInput
from fundraising.mandates import MandateTerms, check_mandate, list_mandates
from fundraising.imports.mandates import import_mandates
from fundraising.models import Mandate
from tests.factories import make_donor, make_mandate

D = dt.date


def csv(text: str) -> bytes:
    return text.strip().encode() + b"\n"


def test_check_mandate_needs_iban_and_signing_date():
    ok = MandateTerms("M1", "NL91ABNA0417164300", None, D(2024, 1, 1), None, "active", None)
    assert check_mandate(ok) == []
    bad = MandateTerms("M1", None, None, None, None, "active", None)
    assert [p.field for p in check_mandate(bad, line=3)] == ["iban", "signed_on"]
    early = MandateTerms("M1", "NL91ABNA0417164300", None, D(2024, 1, 1), None, "active", D(2023, 12, 1))
    assert [p.field for p in check_mandate(early)] == ["last_collected_on"]


def test_import_normalises_the_iban_and_updates_on_reimport(session):
    donor = make_donor(session, ref="D1")
    summary = import_mandates(session, csv("""
mandate_id;donor_ref;iban;bic;signed_on;signed_place;status;last_collected_on
MDT-0001;D1;nl91 abna 0417 1643 00;ABNANL2A;15-12-2023;Amsterdam;;2025-01-28
"""), actor="tester", name="mandates.csv")
    assert (summary.created, summary.updated, summary.unchanged) == (1, 0, 0)
    mandate = session.scalar(select(Mandate))
    assert (mandate.donor_id, mandate.iban, mandate.bic, mandate.signed_on, mandate.status, mandate.last_collected_on) == (
        donor.id, "NL91ABNA0417164300", "ABNANL2A", D(2023, 12, 15), "active", D(2025, 1, 28))

    summary = import_mandates(session, csv("""
mandate_id,status,signed_place
MDT-0001,revoked,
"""), actor="tester", name="mandates.csv")
    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 0)
    assert (mandate.status, mandate.signed_place, mandate.iban) == ("revoked", "Amsterdam", "NL91ABNA0417164300")
    audit = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_ref == "MDT-0001").order_by(AuditEntry.id)).all()
    assert audit == ["mandate.create", "mandate.update"]
    # The audit trail never holds the account number itself.
    assert all("NL91" not in str(e.details) for e in session.scalars(select(AuditEntry)))


def test_import_bad_input_names_line_and_field_and_writes_nothing(session):
    make_donor(session, ref="D1")
    make_mandate(session, donor=make_donor(session, ref="D2"), mandate_id="TAKEN")
    with pytest.raises(InvalidInput) as caught:
        import_mandates(session, csv("""
mandate_id,donor_ref,iban,signed_on,status
M-BAD-IBAN,D1,NL91ABNA0417164301,2024-01-01,
M-NO-DATE,D1,NL91ABNA0417164300,,
M-NO-DONOR,NOBODY,NL91ABNA0417164300,2024-01-01,
M-STATUS,D1,NL91ABNA0417164300,2024-01-01,expired
TAKEN,D1,,,
THIS-MANDATE-ID-IS-LONGER-THAN-35-CHARS,D1,NL91ABNA0417164300,2024-01-01,
M-NEW,,NL91ABNA0417164300,2024-01-01,
"""), actor="tester", name="mandates.csv")
    found = {(p.line, p.field) for p in caught.value.problems}
    assert found == {
        (2, "iban"), (3, "signed_on"), (4, "donor_ref"), (5, "status"), (6, "donor_ref"), (7, "mandate_id"), (8, "donor_ref"),
    }
    assert next(p for p in caught.value.problems if p.line == 2).reason.startswith("IBAN 'NL91ABNA0417164301' is not valid")
    assert session.scalar(select(func.count()).select_from(Mandate)) == 1


def test_list(session):
    make_mandate(session, donor=make_donor(session, ref="D5"), mandate_id="M-5", signed_on="2024-02-03", signed_place="Zwolle")
    assert list_mandates(session) == [{
        "mandate_id": "M-5", "donor_ref": "D5", "iban": "NL91ABNA0417164300", "bic": None, "signed_on": "2024-02-03",
        "signed_place": "Zwolle", "status": "active", "last_collected_on": None,
    }]
    assert list_mandates(session, show_iban=False)[0]["iban"] is None


def test_reimport_never_moves_the_last_collection_back_nor_revives_an_ended_mandate(session):
    donor = make_donor(session, ref="D1")
    make_mandate(session, donor=donor, mandate_id="MDT-1", last_collected_on="2026-01-05")   # a statement moved it on
    make_mandate(session, donor=donor, mandate_id="MDT-2", status="revoked")                  # revoked by a return
    summary = import_mandates(session, csv("""
mandate_id,donor_ref,iban,signed_on,status,last_collected_on
MDT-1,D1,NL91ABNA0417164300,2024-01-01,,2024-12-30
MDT-2,D1,NL91ABNA0417164300,2024-01-01,active,
"""), actor="tester", name="mandates.csv")
    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 2)
    assert [str(k) for k in summary.kept] == [
        "line 2, column last_collected_on: kept 2026-01-05 (the file says 2024-12-30): collection history does not move back",
        "line 3, column status: kept revoked: a revoked mandate is not made active again; "
        "a new mandate is imported with a new mandate_id",
    ]
    mandates = {m.mandate_id: m for m in session.scalars(select(Mandate))}
    assert mandates["MDT-1"].last_collected_on == D(2026, 1, 5) and mandates["MDT-2"].status == "revoked"
    later = import_mandates(session, csv("mandate_id,last_collected_on\nMDT-1,2026-02-03\n"), actor="tester", name="m.csv")
    assert (later.updated, later.kept) == (1, []) and mandates["MDT-1"].last_collected_on == D(2026, 2, 3)


def test_the_import_command_says_what_it_kept(cli, session, tmp_path):
    donor = make_donor(session, ref="D1")
    make_mandate(session, donor=donor, mandate_id="MDT-1", last_collected_on="2026-01-05")
    session.commit()
    path = tmp_path / "mandates.csv"
    path.write_text("mandate_id,last_collected_on\nMDT-1,2024-12-30\n")
    text = cli("mandates", "import", str(path))
    assert text.exit_code == 0, text.stderr
    assert text.stdout.splitlines() == [
        "mandates.csv: 0 created, 0 updated, 1 unchanged, 1 kept as they were", "kept as they were:",
        "  line 2, column last_collected_on: kept 2026-01-05 (the file says 2024-12-30): collection history does not move back"]
    document = __import__("json").loads(cli("mandates", "import", str(path), "--json").stdout)
    assert document == {"created": 0, "updated": 0, "unchanged": 1, "dry_run": False, "kept": [
        {"line": 2, "field": "last_collected_on",
         "reason": "kept 2026-01-05 (the file says 2024-12-30): collection history does not move back"}]}
