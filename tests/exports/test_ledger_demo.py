"""The demo run twice on both databases (issue 13, item 5): the ledger steps move
history on — collections confirmed (mandates' last collection dates), a donor
reported deceased (MD07: the recurring gift cancelled) — and the second run's
imports keep it, say what they kept, and collect nothing again."""
from __future__ import annotations

import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from anbi.context import AppContext
from anbi.core.settings import load_settings
from anbi.demo import ledger as ledger_demo
from fundraising.models import Mandate, RecurringGift
from tests.factories import search


def history(engine) -> tuple[dict, dict]:
    with Session(engine) as session:
        gifts = {r: (s, e) for r, s, e in session.execute(
            select(RecurringGift.reference, RecurringGift.status, RecurringGift.end_date))}
        mandates = {m: (s, d) for m, s, d in session.execute(
            select(Mandate.mandate_id, Mandate.status, Mandate.last_collected_on))}
    return gifts, mandates


def test_a_second_demo_keeps_what_the_first_moved_on(db_url, engine, tmp_path):
    from anbi.demo.donors import seed_donors
    from anbi.demo.fundraising import seed_fundraising

    app = AppContext(settings=load_settings(environ={}, database_url=db_url), actor="tester")
    try:
        seed_donors(app, tmp_path, random.Random(2025))
        seed_fundraising(app, tmp_path, random.Random(1))
        ledger_demo.sepa_batch(app, tmp_path, random.Random(2))
        lines = ledger_demo.bank_statement(app, tmp_path, random.Random(3))
        deceased = [line for line in lines if "reported deceased (MD07)" in line]
        assert len(deceased) == 1
        gifts, mandates = history(engine)
        ended = [ref for ref, (status, end) in gifts.items() if status == "cancelled" and str(end) == "2026-01-08"]
        assert len(ended) == 1                                       # the deceased donor's gift
        moved = {m for m, (_, day) in mandates.items() if str(day) == "2026-01-05"}
        assert len(moved) > 100                                      # confirmed collections moved the date on

        again = seed_fundraising(app, tmp_path, random.Random(1))
        assert ledger_demo.sepa_batch(app, tmp_path, random.Random(2)) == [
            "nothing to collect on 2026-01-05 (collected before)"]
    finally:
        app.close()
    assert history(engine) == (gifts, mandates)
    # Kept: the mandates the file dates before the collection a statement confirmed.
    [line] = [line for line in again if line.startswith("mandates: 0 created")]
    assert int(search(r"(\d+) kept as they were", line).group(1)) > 100
    assert any(line.startswith("recurring gifts: 0 created") and "1 kept as they were" in line for line in again)
    assert any(line.startswith("  kept: line ") and f"recurring gift {ended[0]} was cancelled on 2026-01-08" in line
               for line in again)
