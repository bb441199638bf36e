"""`anbi donors import | list | show`, driven through the CLI on both databases.

Every bad input named in the foundation issue gets a test that checks the message
names line and column, that the exit code is non-zero, and that nothing was written."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, update

from anbi.core.audit import AuditEntry
from anbi.core.db import make_engine, session_scope, utcnow
from donors.models import ConsentEvent, Donor, DonorTag
from donors.suppression import add_suppression

GOOD = (
    "ref,kind,initials,first_name,prefix,last_name,organisation,street,house_number,postcode,city,country,"
    "email,phone,iban,consent_email,consent_post,consent_phone,tags,language,organisation_type\n"
    "D1,,A.B.,Anna,van der,Berg,,Kerkstraat,12,1017gc,Amsterdam,,anna@example.nl,06-12345678,"
    "NL91ABNA0417164300,ja,nee,,major|newsletter,,\n"
    "D2,organisation,,,,,Bakkerij De Korenschoof B.V.,Dorpsweg,1,9711 AB,Groningen,,info@korenschoof.example,,,"
    ",,,,,\n"
    "D3,,,John,,Smith,,High Street,5,SW1A 1AA,London,GB,john@example.co.uk,,,yes,,,,en,\n"
)


def write(tmp_path, content: str | bytes, name: str = "donors.csv"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def snapshot(db_url: str) -> dict:
    """Everything an import may write, to compare before and after."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            donors = connection.execute(select(Donor.__table__).order_by(Donor.ref)).all()
            return {
                "donors": [tuple(row) for row in donors],
                "consent": connection.scalar(select(func.count()).select_from(ConsentEvent)),
                "tags": connection.scalar(select(func.count()).select_from(DonorTag)),
                "audit": connection.scalar(select(func.count()).select_from(AuditEntry)),
            }
    finally:
        engine.dispose()


def donor(db_url: str, ref: str) -> dict:
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            return dict(connection.execute(select(Donor.__table__).where(Donor.ref == ref)).one()._mapping)
    finally:
        engine.dispose()


def audit_rows(db_url: str) -> list[AuditEntry]:
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as session:
            rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
            session.expunge_all()
            return list(rows)
    finally:
        engine.dispose()


def test_import_creates_donors_with_normalised_fields(cli, tmp_path):
    result = cli("donors", "import", write(tmp_path, GOOD))
    assert result.exit_code == 0, result.stderr
    assert "donors.csv: 3 rows. Created 3, updated 0, 0 unchanged." in result.stdout

    anna = donor(cli.db_url, "D1")
    assert (anna["initials"], anna["prefix"], anna["last_name"]) == ("A.B.", "van der", "Berg")
    assert anna["postcode"] == "1017 GC"
    assert anna["phone"] == "0612345678"
    assert anna["iban"] == "NL91ABNA0417164300"
    assert (anna["country"], anna["language"], anna["kind"]) == ("NL", "nl", "person")
    assert anna["sort_name"] == "berg, van der, anna"
    bakery = donor(cli.db_url, "D2")
    assert (bakery["kind"], bakery["organisation_type"]) == ("organisation", "company")
    john = donor(cli.db_url, "D3")
    assert (john["postcode"], john["country"], john["language"]) == ("SW1A 1AA", "GB", "en")

    state = snapshot(cli.db_url)
    assert state["consent"] == 2  # D1 e-mail and D3 e-mail granted; "nee" records nothing new
    assert state["tags"] == 2
    audit = audit_rows(cli.db_url)
    assert [(a.action, a.entity_ref, a.actor) for a in audit] == [
        ("donor_created", "D1", "tester"), ("donor_created", "D2", "tester"), ("donor_created", "D3", "tester"),
    ]
    assert (audit[0].details or {})["source"] == "import:donors.csv"
    assert audit[0].details == {"source": "import:donors.csv", "line": 2}


# --- bad input: each names line and column, exits 1, writes nothing ---------------

BAD = [
    pytest.param("ref,last_name,shoe_size\nD9,Jansen,44\n", 1, "shoe_size", "unknown column", id="unknown-column"),
    pytest.param("last_name,city\nJansen,Zwolle\n", 1, "ref", "required column is missing", id="missing-ref-column"),
    pytest.param("ref,last_name\nD1,Bergen\n,Jansen\n", 3, "ref", "is required", id="missing-ref"),
    pytest.param("ref,last_name\nD9,Jansen\nD9,Pietersen\n", 3, "ref", "'D9' appears twice in the file (also line 2)", id="duplicate-ref"),
    pytest.param("ref,last_name,iban\nD1,Berg,NL91ABNA0417164300\nD9,Jansen,NL91ABNA0417164301\n", 3, "iban", "is not valid", id="invalid-iban"),
    pytest.param("ref,last_name,email\nD9,Jansen,jansen@@example.nl\n", 2, "email", "is not a valid address", id="invalid-email"),
    pytest.param("ref,last_name,deceased_on\nD9,Jansen,31-02-2024\n", 2, "deceased_on", "is not a date", id="invalid-date"),
    pytest.param("ref,last_name,consent_post\nD9,Jansen,misschien\n", 2, "consent_post", "is not yes/no", id="invalid-boolean"),
    pytest.param("ref,last_name,postcode\nD9,Jansen,12345\n", 2, "postcode", "is not a Dutch postcode", id="invalid-dutch-postcode"),
    pytest.param("ref,first_name\nD9,Piet\n", 2, "last_name", "a new person needs last_name", id="person-without-last-name"),
    pytest.param("ref,kind,city\nD9,organisation,Zwolle\n", 2, "organisation", "a new organisation needs its name", id="organisation-without-name"),
    pytest.param("ref,last_name,city\nD9,Jansen,Café\n".encode("cp1252"), 2, "city", "is not UTF-8", id="cp1252-encoding"),
    # PostgreSQL cannot store a NUL at all; the other control characters are refused alike.
    pytest.param("ref,last_name,city\nD9,Jan\x07sen,Zwolle\n", 2, "last_name", "contains a control character (U+0007)", id="control-character"),
]


@pytest.mark.parametrize("content, line, column, reason", BAD)
def test_bad_input_is_refused_whole(cli, tmp_path, content, line, column, reason):
    assert cli("donors", "import", write(tmp_path, GOOD, "first.csv")).exit_code == 0
    before = snapshot(cli.db_url)

    result = cli("donors", "import", write(tmp_path, content))

    assert result.exit_code == 1
    assert f"line {line}, column {column}: " in result.stderr
    assert reason in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(cli.db_url) == before


@pytest.mark.parametrize(
    "content, message",
    [
        pytest.param("", "donors.csv: the file is empty", id="empty-file"),
        pytest.param("ref,last_name,city\n", "donors.csv: line 2: the file has a header but no rows", id="header-only"),
    ],
)
def test_empty_file_and_header_only_are_refused(cli, tmp_path, content, message):
    assert cli("donors", "import", write(tmp_path, GOOD, "first.csv")).exit_code == 0
    before = snapshot(cli.db_url)
    result = cli("donors", "import", write(tmp_path, content))
    assert result.exit_code == 1
    assert message in result.stderr
    assert snapshot(cli.db_url) == before


def test_every_problem_is_reported_at_once_and_good_rows_are_not_written(cli, tmp_path):
    content = (
        "ref,last_name,email,iban,consent_email\n"
        "D1,Berg,anna@example.nl,,ja\n"  # valid
        "D2,,not-an-address,,\n"
        "D3,Smit,,NL00ABNA0000000000,\n"
        "D4,Visser,,,vaak\n"
    )
    result = cli("donors", "import", write(tmp_path, content))
    assert result.exit_code == 1
    assert "donors.csv: 4 problems, nothing was written:" in result.stderr
    for expected in ("line 3, column last_name", "line 3, column email", "line 4, column iban", "line 5, column consent_email"):
        assert expected in result.stderr
    assert snapshot(cli.db_url) == {"donors": [], "consent": 0, "tags": 0, "audit": 0}


def test_foreign_postcodes_are_kept_as_given(cli, tmp_path):
    content = "ref,last_name,postcode,country\nG1,Müller,10115,DE\nB1,Peeters,B-1000,be\n"
    assert cli("donors", "import", write(tmp_path, content)).exit_code == 0
    assert (donor(cli.db_url, "G1")["postcode"], donor(cli.db_url, "G1")["country"]) == ("10115", "DE")
    assert (donor(cli.db_url, "B1")["postcode"], donor(cli.db_url, "B1")["country"]) == ("B-1000", "BE")


# --- re-import --------------------------------------------------------------------

def test_reimport_is_idempotent(cli, tmp_path):
    path = write(tmp_path, GOOD)
    assert cli("donors", "import", path).exit_code == 0
    before = snapshot(cli.db_url)

    result = cli("donors", "import", path, "--json")

    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert (summary["created"], summary["updated"], summary["unchanged"]) == (0, 0, 3)
    assert snapshot(cli.db_url) == before  # not even updated_at moved


def test_changed_cell_updates_one_donor_and_writes_an_audit_row(cli, tmp_path):
    assert cli("donors", "import", write(tmp_path, GOOD)).exit_code == 0
    audit_before = len(audit_rows(cli.db_url))
    changed = GOOD.replace("anna@example.nl", "anna.berg@example.nl")

    result = cli("donors", "import", write(tmp_path, changed, "changed.csv"), "--json")

    summary = json.loads(result.stdout)
    assert (summary["created"], summary["updated"], summary["unchanged"]) == (0, 1, 2)
    assert donor(cli.db_url, "D1")["email"] == "anna.berg@example.nl"
    audit = audit_rows(cli.db_url)
    assert len(audit) == audit_before + 1
    assert (audit[-1].action, audit[-1].entity_ref) == ("donor_updated", "D1")
    assert audit[-1].details == {"source": "import:changed.csv", "line": 2, "changed": ["email"]}


def test_empty_cell_or_missing_column_leaves_the_field(cli, tmp_path):
    assert cli("donors", "import", write(tmp_path, GOOD)).exit_code == 0
    sparse = "ref,last_name,email,city\nD1,,,Haarlem\n"
    result = cli("donors", "import", write(tmp_path, sparse, "sparse.csv"))
    assert result.exit_code == 0, result.stderr
    anna = donor(cli.db_url, "D1")
    assert anna["city"] == "Haarlem"
    assert (anna["last_name"], anna["email"], anna["iban"]) == ("Berg", "anna@example.nl", "NL91ABNA0417164300")


def test_consent_history_and_tags_through_show(cli, tmp_path):
    assert cli("donors", "import", write(tmp_path, GOOD)).exit_code == 0
    withdrawn = "ref,consent_email,consent_phone,tags\nD1,nee,ja,volunteer\n"
    assert cli("donors", "import", write(tmp_path, withdrawn, "withdraw.csv")).exit_code == 0

    shown = json.loads(cli("donors", "show", "D1", "--json").stdout)

    assert shown["tags"] == ["volunteer"]
    email = shown["consent"]["email"]
    assert email["granted"] is False
    assert email["source"] == "import:withdraw.csv"
    assert [(h["granted"], h["source"], h["wording"]) for h in email["history"]] == [
        (True, "import:donors.csv", "import: consent_email"),
        (False, "import:withdraw.csv", "import: consent_email"),
    ]
    assert shown["consent"]["phone"]["granted"] is True
    assert shown["consent"]["post"] == {
        "granted": False, "kind": None, "since": None, "source": None, "wording": None, "history": [],
    }


def test_dry_run_writes_nothing(cli, tmp_path):
    path = write(tmp_path, GOOD)
    result = cli("donors", "import", path, "--dry-run")
    assert result.exit_code == 0
    assert "Dry run, nothing written: would create 3" in result.stdout
    assert snapshot(cli.db_url) == {"donors": [], "consent": 0, "tags": 0, "audit": 0}
    assert cli("donors", "import", path).exit_code == 0
    before = snapshot(cli.db_url)
    changed = write(tmp_path, GOOD.replace("Amsterdam", "Diemen"), "changed.csv")
    summary = json.loads(cli("donors", "import", changed, "--dry-run", "--json").stdout)
    assert (summary["dry_run"], summary["updated"], summary["unchanged"]) == (True, 1, 2)
    assert snapshot(cli.db_url) == before


def test_semicolon_delimiter_and_bom(cli, tmp_path):
    content = "\ufeffref;last_name;prefix;postcode;city\nD7;Vries;de;1234ab;Utrecht\n"
    result = cli("donors", "import", write(tmp_path, content.encode("utf-8")))
    assert result.exit_code == 0, result.stderr
    stored = donor(cli.db_url, "D7")
    assert (stored["last_name"], stored["prefix"], stored["postcode"]) == ("Vries", "de", "1234 AB")


def test_previously_erased_contact_is_imported_but_flagged(cli, tmp_path):
    engine = make_engine(cli.db_url)
    with session_scope(engine) as session:
        add_suppression(session, "email", "Erased@Example.nl")
        add_suppression(session, "iban", "NL91 ABNA 0417 1643 00")
    engine.dispose()
    content = "ref,last_name,email,iban\nD1,Berg,erased@example.nl,NL91ABNA0417164300\nD2,Visser,visser@example.nl,\n"

    result = cli("donors", "import", write(tmp_path, content), "--json")

    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert summary["created"] == 2
    assert summary["flagged"] == [
        {"line": 2, "ref": "D1", "message": "email, iban previously erased — check before contacting"},
    ]
    human = cli("donors", "import", write(tmp_path, content, "again.csv"))
    assert "line 2 (D1): email, iban previously erased — check before contacting" in human.stdout


def test_rows_for_a_merged_donor_are_skipped(cli, tmp_path):
    assert cli("donors", "import", write(tmp_path, GOOD)).exit_code == 0
    engine = make_engine(cli.db_url)
    with session_scope(engine) as session:
        keep = session.execute(select(Donor).where(Donor.ref == "D1")).scalar_one()
        session.execute(update(Donor).where(Donor.ref == "D3").values(merged_into_id=keep.id))
    engine.dispose()
    result = cli("donors", "import", write(tmp_path, GOOD.replace("High Street", "Low Street"), "again.csv"))
    assert result.exit_code == 0
    assert "line 4 (D3): merged into D1; row not applied" in result.stdout
    assert donor(cli.db_url, "D3")["street"] == "High Street"


# --- list and show ----------------------------------------------------------------

LIST = (
    "ref,kind,first_name,prefix,last_name,organisation,postcode,city,country,email\n"
    "P1,,Cor,,Visser,,3511 AA,Utrecht,,cor@example.nl\n"
    "P2,,Anna,van der,Berg,,1017 GC,Amsterdam,,anna@example.nl\n"
    "P3,,Piet,,Bakker,,9711 AB,Groningen,,\n"
    "P4,,Els,de,Vries,,2511 AA,Den Haag,,\n"
    "O1,organisation,,,,Aarde Fonds,,Zwolle,,\n"
    "P5,,Gone,,Merged,,1234 AB,Ede,,\n"
    "P6,,Rest,,Ricted,,1234 AB,Ede,,\n"
    "P7,,Pur,,Ged,,1234 AB,Ede,,\n"
)


def test_list_shows_active_donors_sorted_by_sort_name(cli, tmp_path):
    assert cli("donors", "import", write(tmp_path, LIST)).exit_code == 0
    engine = make_engine(cli.db_url)
    with session_scope(engine) as session:
        keep = session.execute(select(Donor).where(Donor.ref == "P1")).scalar_one()
        session.execute(update(Donor).where(Donor.ref == "P5").values(merged_into_id=keep.id))
        session.execute(update(Donor).where(Donor.ref == "P6").values(restricted_at=utcnow()))
        session.execute(update(Donor).where(Donor.ref == "P7").values(purged_at=utcnow(), restricted_at=utcnow()))
    engine.dispose()

    result = cli("donors", "list", "--json")

    assert result.exit_code == 0
    listed = json.loads(result.stdout)
    assert [d["ref"] for d in listed] == ["O1", "P3", "P2", "P1", "P4"]  # Aarde, Bakker, Berg, Visser, Vries
    assert listed[2] == {
        "ref": "P2", "kind": "person", "name": "Anna van der Berg", "postcode": "1017 GC",
        "city": "Amsterdam", "country": "NL", "email": "anna@example.nl",
    }
    assert listed[0]["name"] == "Aarde Fonds" and listed[0]["kind"] == "organisation"
    text = cli("donors", "list")
    assert text.stdout.splitlines()[2].startswith("P2")
    assert "5 donors" in text.stderr


def test_show_json_has_every_field(cli, tmp_path):
    assert cli("donors", "import", write(tmp_path, GOOD)).exit_code == 0
    result = cli("donors", "show", "D1", "--json")
    assert result.exit_code == 0
    shown = json.loads(result.stdout)
    expected_keys = {
        "ref", "requested_ref", "merged_from", "status", "kind", "name", "label_name", "salutation", "sort_name",
        "initials", "first_name", "prefix", "last_name", "organisation", "organisation_type", "street",
        "house_number", "house_number_suffix", "postcode", "city", "country", "email", "phone", "iban",
        "language", "notes", "deceased_on", "tags", "consent", "created_at", "updated_at", "restricted_at",
        "purged_at",
    }
    assert set(shown) == expected_keys
    assert (shown["ref"], shown["name"], shown["label_name"]) == ("D1", "Anna van der Berg", "A.B. van der Berg")
    assert shown["salutation"] == "Geachte heer/mevrouw Van der Berg"
    assert shown["tags"] == ["major", "newsletter"]
    assert set(shown["consent"]) == {"email", "post", "phone"}
    assert shown["consent"]["email"]["granted"] is True
    assert shown["status"] == "active"
    english = json.loads(cli("donors", "show", "D3", "--json").stdout)
    assert english["salutation"] == "Dear J. Smith"


def test_show_of_a_merged_ref_gives_the_surviving_donor(cli, tmp_path):
    assert cli("donors", "import", write(tmp_path, GOOD)).exit_code == 0
    engine = make_engine(cli.db_url)
    with session_scope(engine) as session:
        keep = session.execute(select(Donor).where(Donor.ref == "D1")).scalar_one()
        session.execute(update(Donor).where(Donor.ref == "D3").values(merged_into_id=keep.id))
    engine.dispose()

    shown = json.loads(cli("donors", "show", "D3", "--json").stdout)
    assert (shown["ref"], shown["requested_ref"], shown["last_name"]) == ("D1", "D3", "Berg")
    assert json.loads(cli("donors", "show", "D1", "--json").stdout)["merged_from"] == ["D3"]
    text = cli("donors", "show", "D3")
    assert text.stdout.splitlines()[0] == "D3 was merged into D1"


def test_show_of_an_unknown_ref_is_a_clear_error(cli):
    result = cli("donors", "show", "NOPE")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: no donor with ref 'NOPE'"


def test_commands_explain_themselves(cli):
    for command in ("import", "list", "show"):
        result = cli("donors", command, "--help")
        assert result.exit_code == 0
        assert "--json" in result.stdout
    assert "--dry-run" in cli("donors", "import", "--help").stdout


def test_donors_show_writes_address_and_dates_as_people_do(cli, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("ref,first_name,last_name,street,house_number,house_number_suffix,postcode,city,deceased_on\n"
                    "G1,Sara,Bakker,Prinsengracht,162,2 hoog,1016 HK,Amsterdam,2025-11-02\n", encoding="utf-8")
    assert cli("donors", "import", str(path)).exit_code == 0
    shown = cli("donors", "show", "G1").stdout
    assert "Prinsengracht 162 2 hoog, 1016 HK Amsterdam" in shown and "deceased on   02-11-2025" in shown
