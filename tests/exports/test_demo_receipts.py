"""The demo's statements step: it issues the demo year's statements with a demo
identity when anbi.toml has none, and says how many, with totals."""
from __future__ import annotations

import random

from anbi.context import AppContext
from anbi.core.settings import Settings
from anbi.demo.statements import DEMO_ORGANISATION, issue_demo_statements
from fundraising.statements.models import Statement
from sqlalchemy import select
from tests.exports.receipt_support import ORGANISATION, manifest
from tests.factories import make_donation, make_donor


def _year(session) -> None:
    for ref, amount in (("X1", "25.00"), ("X2", "40.00")):
        make_donation(session, donor=make_donor(session, ref=ref), amount=amount, date="2025-05-01")
    session.commit()


def test_demo_step_uses_a_marked_demo_identity_without_organisation_settings(db_url, session, tmp_path):
    _year(session)
    app = AppContext(settings=Settings(database_url=db_url), actor="demo")
    try:
        lines = issue_demo_statements(app, tmp_path, random.Random(1))
    finally:
        app.close()
    assert lines[0].startswith("organisation: built-in demo identity Stichting Demo (voorbeeld, geen echte ANBI), RSIN 824150004")
    assert lines[1].startswith("statements 2025: 2 current (2 new, 0 corrections, 0 unchanged)")
    assert lines[2] == "totals: ordinary € 65,00, periodic € 0,00, not deductible € 0,00, total received € 65,00"
    assert [row["donor_ref"] for row in manifest(tmp_path / "receipts")] == ["X1", "X2"]
    assert {s.organisation_name for s in session.scalars(select(Statement))} == {DEMO_ORGANISATION.name}


def test_demo_step_prefers_the_configured_organisation(db_url, session, tmp_path):
    _year(session)
    app = AppContext(settings=Settings(database_url=db_url, organisation=ORGANISATION), actor="demo")
    try:
        lines = issue_demo_statements(app, tmp_path, random.Random(1))
    finally:
        app.close()
    assert not lines[0].startswith("organisation:")
    assert {s.organisation_name for s in session.scalars(select(Statement))} == {"Stichting Voorbeeld"}
