"""A newcomer's documents (issue 15 item 8): the README and docs/ link only to what
the repository holds, the settings example holds every setting the code reads and
works as it is, every import column is documented, and the grant file examples are
read by the real grant-file parser as the demo's own grants."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def relative_links(path: Path) -> list[str]:
    return [target for target in LINK.findall(path.read_text(encoding="utf-8"))
            if not re.match(r"^[a-z]+:", target) and not target.startswith("#")]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_relative_link_resolves_inside_the_repository(document):
    if document.name == "README.md":
        assert len(relative_links(document)) >= 6, "the README links to the docs"
    for target in relative_links(document):
        resolved = (document.parent / target.split("#", 1)[0]).resolve()
        assert resolved.exists(), f"{document.name}: {target} does not exist"
        assert ROOT in resolved.parents or resolved == ROOT, f"{document.name}: {target} is outside the repository"


def test_no_document_points_outside_the_clone():
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        assert "../shared" not in text and "DESIGN.md" not in text and "DOMAIN.md" not in text, document.name


# --- the settings example ----------------------------------------------------------

EXAMPLE = ROOT / "anbi.example.toml"


def example_sections(text: str) -> dict[str, set[str]]:
    """The keys anbi.example.toml shows (set or commented out) under each [section]."""
    keys: dict[str, set[str]] = {"": set()}
    section = ""
    for line in text.splitlines():
        heading = re.match(r"^#?\s*\[([a-z_.]+)\]", line)
        if heading:
            section = heading.group(1)
            keys.setdefault(section, set())
            continue
        key = re.match(r"^#?\s*([a-z_.]+)\s*=", line)
        if key:
            keys[section].add(key.group(1))
    return keys


def test_the_example_and_the_settings_page_name_every_setting_the_code_reads():
    """The code reads nothing but the typed sections of anbi.core.settings (a key
    that is not one is refused when anbi starts): the example and docs/settings.md
    show each of their keys, in its section."""
    import dataclasses

    from anbi.core.settings import INCOME_LINES, ODOO_ACCOUNT_KEYS, SECTIONS, TOP_LEVEL_KEYS

    text = EXAMPLE.read_text(encoding="utf-8")
    page = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    shown = example_sections(text)
    assert set(TOP_LEVEL_KEYS) == shown[""]
    for name, section in SECTIONS.items():
        keys = {f.name for f in dataclasses.fields(section)} - {"accounts"}
        assert keys == shown[name], f"[{name}]: the code reads {sorted(keys)}, the example shows {sorted(shown[name])}"
        assert f"`[{name}]`" in page
        for key in keys:
            assert f"`{key}`" in page, f"docs/settings.md does not explain [{name}] {key}"
    assert set(ODOO_ACCOUNT_KEYS) == shown["odoo.accounts"]
    from fundraising.income import INCOME_LINES as RJ_650_LINES

    assert INCOME_LINES == RJ_650_LINES, "anbi.core.settings knows the income lines [odoo.accounts] may name"


def test_the_example_works_as_it_is():
    from anbi.core.settings import load_settings
    from anbi.web.identity.security import web_config
    from exports.sepa.due import Creditor

    settings = load_settings(EXAMPLE, environ={})
    organisation = settings.require_organisation()
    assert (organisation.name, organisation.rsin) == ("Stichting Voorbeeld", "824150004")
    assert settings.database_url == "sqlite:///anbi.db" and settings.retention_years == 7
    assert Creditor.from_settings(settings.sepa).creditor_id == "NL33ZZZ140946600000"
    assert web_config(settings.web, "127.0.0.1").ephemeral_secret
    # Nothing that would reach another system is switched on by the example.
    assert not settings.odoo.url and not settings.stripe.api_key
    assert not settings.smtp.host


def test_the_example_with_every_setting_switched_on_loads(tmp_path):
    """Each commented-out value of the example is a value the settings accept."""
    from anbi.core.settings import load_settings

    text = EXAMPLE.read_text(encoding="utf-8")
    on = re.sub(r"^# (\[odoo\.accounts\]|[a-z_.]+ = )", r"\1", text, flags=re.MULTILINE)
    assert on.count("\n# ") < text.count("\n# ")
    on = on.replace('"..."', '"' + "k" * 48 + '"')   # the secrets' placeholders
    path = tmp_path / "anbi.toml"
    path.write_text(on, encoding="utf-8")
    settings = load_settings(path, environ={})
    assert settings.smtp.port == 587 and settings.smtp.tls == "starttls"
    assert settings.odoo.url == "https://odoo.voorbeeld.example" and settings.odoo.on_lock_date == "stop"
    assert settings.odoo.accounts["income.private_individuals"] == "400100"
    assert settings.web.secure_cookies is True and settings.stripe.max_network_retries == 2


def test_receipts_are_issued_with_the_example_settings(cli, tmp_path, monkeypatch):
    """The README's path: `cp anbi.example.toml anbi.toml`, then `anbi receipts issue`
    (without it the command stops for lack of [organisation])."""
    from tests.exports.receipt_support import pdf_text

    monkeypatch.chdir(tmp_path)
    (tmp_path / "donors.csv").write_text("ref,first_name,last_name\nD1,Anna,Jansen\n", encoding="utf-8")
    (tmp_path / "gifts.csv").write_text("reference,donor_ref,date,amount,method\nG1,D1,2025-03-01,10.00,ideal\n",
                                         encoding="utf-8")
    assert cli("donors", "import", "donors.csv").exit_code == 0
    assert cli("donations", "import", "gifts.csv").exit_code == 0
    refused = cli("receipts", "issue", "--year", "2025", "--out", "statements")
    assert refused.exit_code == 1 and "[organisation]" in refused.stderr
    (tmp_path / "anbi.toml").write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    result = cli("receipts", "issue", "--year", "2025", "--out", "statements")
    assert result.exit_code == 0, result.stderr
    [statement] = (tmp_path / "statements").glob("*.pdf")
    assert "Stichting Voorbeeld" in pdf_text(statement) and "RSIN 824150004" in pdf_text(statement)


# --- the import documentation ----------------------------------------------------------

def test_every_import_column_is_documented():
    from donors.importer import OPTIONAL_COLUMNS as DONOR_OPTIONAL, REQUIRED_COLUMNS as DONOR_REQUIRED
    from fundraising.imports import agreements, mandates, recurring
    from fundraising.imports import donations as donation_import
    from subsidies import costs, payments
    from subsidies.grants import OPTIONAL_FIELDS, REQUIRED_FIELDS

    text = (ROOT / "docs" / "imports.md").read_text(encoding="utf-8")
    files = {
        "Donors": (*DONOR_REQUIRED, *DONOR_OPTIONAL),
        "Donations": (*donation_import.COLUMNS_REQUIRED, *donation_import.COLUMNS_OPTIONAL),
        "Periodic gift agreements": (*agreements.COLUMNS_REQUIRED, *agreements.COLUMNS_OPTIONAL),
        "Recurring gifts": (*recurring.COLUMNS_REQUIRED, *recurring.COLUMNS_OPTIONAL),
        "Mandates": (*mandates.COLUMNS_REQUIRED, *mandates.COLUMNS_OPTIONAL),
        "Expenses": (*costs.EXPENSE_COLUMNS, *costs.EXPENSE_OPTIONAL),
        "Staff costs": (*costs.STAFF_COLUMNS, *costs.STAFF_OPTIONAL),
        "Timesheets": (*costs.TIMESHEET_COLUMNS, *costs.TIMESHEET_OPTIONAL),
        "Grant payments": (*payments.PAYMENT_COLUMNS, *payments.OUTPUT_COLUMNS),
        "Grant files": (*REQUIRED_FIELDS, *(f for f in OPTIONAL_FIELDS if f not in ("budget", "indicators", "odoo"))),
    }
    sections = re.split(r"^## ", text, flags=re.MULTILINE)
    for title, columns in files.items():
        [section] = [s for s in sections if s.startswith(title)]
        missing = [c for c in columns if f"`{c}`" not in section]
        assert missing == [], f"{title}: {missing}"


# --- the grant file examples -----------------------------------------------------------

@pytest.mark.parametrize("example, demo_text", [
    ("grant-amif.toml", "AMIF"), ("grant-municipal.toml", "MUNICIPAL"), ("grant-npl.toml", "NPL"),
])
def test_each_grant_example_is_read_by_the_grant_file_parser_as_the_demo_grant(example, demo_text):
    from anbi.demo import subsidies as demo
    from subsidies.grants import parse_grant_file

    spec = parse_grant_file((ROOT / "docs" / "examples" / example).read_text(encoding="utf-8"), example)
    assert spec == parse_grant_file(getattr(demo, demo_text), "demo")


def test_the_grant_examples_are_added_through_the_command(cli):
    for example in sorted((ROOT / "docs" / "examples").glob("grant-*.toml")):
        result = cli("grants", "add", "--from-file", str(example))
        assert result.exit_code == 0, result.stderr
    listed = cli("grants", "list", "--json")
    assert {"AMIF-2024-017", "UTR-MB-2025", "NPL-2025"} <= set(re.findall(r'"reference": "([^"]+)"', listed.stdout))
