"""The demo's donors: valid for the importer, planted duplicates that carry the
evidence they claim, and a second seeding that changes nothing."""
from __future__ import annotations

import random

from sqlalchemy import func, select

from anbi.context import AppContext
from anbi.core.csvfile import CsvRow
from anbi.core.errors import Problem
from anbi.core.settings import load_settings
from anbi.demo import donors as demo
from donors.importer import parse_row, plan_import
from donors.models import Donor
from stdnum import iban as stdnum_iban


def test_generated_rows_pass_the_importers_checks():
    generated = demo.generate_donors(random.Random(1), 600)
    problems: list[Problem] = []
    rows = [parse_row(CsvRow(line, row), problems) for line, row in enumerate(generated.rows, start=2)]
    plan = plan_import(rows, {}, problems)
    assert problems == []
    assert len(plan.creates) == 600
    assert len({row["ref"] for row in generated.rows}) == 600
    kinds = {w.values["kind"] for w in plan.creates}
    assert kinds == {"person", "organisation"}
    assert {w.values["organisation_type"] for w in plan.creates if w.values["kind"] == "organisation"} >= {
        "company", "foundation", "other_nonprofit"}
    assert any(w.values["language"] == "en" for w in plan.creates)


def test_nl_iban_check_digits_are_right():
    rng = random.Random(3)
    for _ in range(200):
        assert stdnum_iban.is_valid(demo.nl_iban(rng))


def test_planted_duplicates_share_their_evidence():
    generated = demo.generate_donors(random.Random(2), 2000)
    assert len(generated.planted) == 20
    by_ref = {row["ref"]: row for row in generated.rows}
    for original_ref, duplicate_ref, kind in generated.planted:
        a, b = by_ref[original_ref], by_ref[duplicate_ref]
        assert (a["postcode"], a["house_number"]) == (b["postcode"], b["house_number"])
        if kind == "iban":
            assert a["iban"] and a["iban"] == b["iban"]
        elif kind == "email":
            assert a["email"] and a["email"] == b["email"]
        elif kind == "name_address":
            assert (a["last_name"], a["organisation"]) == (b["last_name"], b["organisation"])
        else:
            assert (a["last_name"], a["organisation"]) != (b["last_name"], b["organisation"])


def test_same_seed_same_file():
    first = demo.generate_donors(random.Random(9), 300)
    second = demo.generate_donors(random.Random(9), 300)
    assert first.rows == second.rows and first.planted == second.planted


def test_seed_donors_imports_and_is_idempotent(db_url, tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "DEMO_DONORS", 150)
    app = AppContext(settings=load_settings(None, environ={}, database_url=db_url), actor="demo")
    try:
        lines = demo.seed_donors(app, tmp_path, random.Random(2025))
        assert lines[0] == "donors.csv: 150 rows. Created 150, updated 0, 0 unchanged."
        again = demo.seed_donors(app, tmp_path, random.Random(2025))
        assert again[0] == "donors.csv: 150 rows. Created 0, updated 0, 150 unchanged."
        with app.session() as session:
            assert session.scalar(select(func.count()).select_from(Donor)) == 150
    finally:
        app.close()
