"""SEPA batches started at the same moment by separate processes, on both databases:
every gift is collected once per period, and the runs that find the work done say
so in one line — never a traceback, never the SQL or its parameters (issue 13, item 1).

Real processes (`anbi sepa batch` in a subprocess each), not threads: the guard is
the database's — a lock that serialises the runs and a unique index on the gift and
period — and a thread in one process would share what a second process does not."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anbi.core.clock import today, utcnow
from exports.sepa import due as sepa
from fundraising.models import Donation
from fundraising.models_ledger import SepaBatch, SepaCollection
from tests.exports.test_sepa_batch import SEPA_ENV
from tests.factories import make_donation, make_donor, make_mandate, make_recurring

GIFTS = 300
RUNS = 3

# Each process imports the command first, then waits for the common start time, so
# that the runs begin their transactions within milliseconds of each other.
STARTER = (
    "import os, sys, time\n"
    "from anbi.cli import main\n"
    "time.sleep(max(0.0, float(os.environ['START_AT']) - time.time()))\n"
    "sys.argv[0] = 'anbi'\n"
    "main()\n"
)


def dates_in_one_month(count: int) -> list[dt.date]:
    """`count` collection dates in one calendar month: the first business days of next month."""
    first = sepa.add_business_days(today(), 2)
    day = sepa.next_business_day(sepa.add_months(first.replace(day=1), 1))
    dates = [day]
    while len(dates) < count:
        day = sepa.next_business_day(day + dt.timedelta(days=1))
        dates.append(day)
    assert len({d.month for d in dates}) == 1
    return dates


def seed(engine, gifts: int) -> None:
    with Session(engine) as session:
        for n in range(1, gifts + 1):
            donor = make_donor(session, ref=f"D{n}")
            mandate = make_mandate(session, donor=donor, mandate_id=f"MDT-{n}", iban="NL20INGB0001234567",
                                   signed_on=today() - dt.timedelta(days=30))
            make_recurring(session, donor=donor, mandate=mandate, reference=f"RG-{n}", amount="10.00",
                           start_date=today() - dt.timedelta(days=20))
        session.commit()


def start_together(db_url: str, tmp_path, dates: list[dt.date]) -> list[subprocess.CompletedProcess]:
    env = {**os.environ, **SEPA_ENV, "ANBI_CONFIG": "", "ANBI_DATABASE_URL": "", "START_AT": str(time.time() + 4)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", STARTER, "--database-url", db_url, "--actor", f"run{n}", "sepa", "batch",
             "--collection-date", day.isoformat(), "--out", str(tmp_path / f"run{n}.xml"), "--json"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for n, day in enumerate(dates)
    ]
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=180)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr))
    return results


def test_batches_started_at_once_collect_each_gift_once_per_period(db_url, engine, tmp_path):
    seed(engine, GIFTS)
    results = start_together(db_url, tmp_path, dates_in_one_month(RUNS))

    for result in results:
        assert "Traceback" not in result.stderr and "[parameters" not in result.stderr and "SQL" not in result.stderr, result.stderr
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
    collected = [json.loads(result.stdout)["collections"] for result in results]
    assert sorted(collected) == [0] * (RUNS - 1) + [GIFTS]     # one run collects all, the others nothing
    with Session(engine) as session:
        per_gift_and_period = session.execute(
            select(SepaCollection.recurring_gift_id, SepaCollection.period_start, func.count())
            .group_by(SepaCollection.recurring_gift_id, SepaCollection.period_start)).all()
        assert len(per_gift_and_period) == GIFTS
        assert {count for _, _, count in per_gift_and_period} == {1}
        assert session.scalar(select(func.count()).select_from(Donation)) == GIFTS
        assert session.scalar(select(func.count()).select_from(SepaBatch)) == 1
    written = list(tmp_path.glob("run*.xml"))
    assert len(written) == 1 and not list(tmp_path.glob("*.partial"))


def _collection_row(session: Session, gift_id: int, mandate_id: int, batch_id: int, period: dt.date, *,
                    status: str = "presented") -> dict:
    donation = make_donation(session, method="sepa_debit", status="failed" if status == "failed" else "pending",
                             recurring_gift_id=gift_id)
    return dict(batch_id=batch_id, donation_id=donation.id, recurring_gift_id=gift_id, mandate_id=mandate_id,
                period_start=period, sequence_type="RCUR", debtor_iban="NL20INGB0001234567",
                payment_info_id="P-1", status=status)


def test_the_schema_refuses_a_second_collection_for_a_gift_and_period_unless_the_first_failed(session):
    donor = make_donor(session)
    mandate = make_mandate(session, donor=donor)
    gift = make_recurring(session, donor=donor, mandate=mandate)
    batch = SepaBatch(message_id="M-1", collection_date=dt.date(2026, 3, 2), file_name="x.xml", collection_count=3,
                      total_cents=3000, actor="tester", created_at=utcnow())
    session.add(batch)
    session.flush()
    march, april = dt.date(2026, 3, 1), dt.date(2026, 4, 1)
    table = SepaCollection.__table__
    # A failed collection leaves the period open: the retry is allowed.
    session.execute(insert(table), _collection_row(session, gift.id, mandate.id, batch.id, march, status="failed"))
    session.execute(insert(table), _collection_row(session, gift.id, mandate.id, batch.id, march))
    session.execute(insert(table), _collection_row(session, gift.id, mandate.id, batch.id, april))
    second = _collection_row(session, gift.id, mandate.id, batch.id, march)
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(insert(table), second)
