"""`anbi.core.locks.hold` across processes, on both databases: a second holder waits
for the first to finish, and stops with `Busy` when it does not finish in time."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest
from sqlalchemy.orm import Session

from anbi.core import locks

HOLDER = (
    "import sys, time\n"
    "from sqlalchemy.orm import Session\n"
    "from anbi.core import locks\n"
    "from anbi.core.db import make_engine\n"
    "engine = make_engine(sys.argv[1])\n"
    "with Session(engine) as session:\n"
    "    locks.hold(session, 'test lock', what='test', wait_seconds=5)\n"
    "    print('held', flush=True)\n"
    "    time.sleep(float(sys.argv[2]))\n"
    "    session.commit()\n"
)


def hold_elsewhere(db_url: str, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, db_url, str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_holder_waits_for_the_first_to_finish(db_url, engine):
    holder = hold_elsewhere(db_url, 1.5)
    try:
        started = time.monotonic()
        with Session(engine) as session:
            locks.hold(session, "test lock", what="test", wait_seconds=30)
            waited = time.monotonic() - started
            session.commit()
    finally:
        holder.wait(timeout=30)
    assert holder.returncode == 0
    assert waited >= 0.5   # it waited for the holder's commit


def test_a_holder_that_does_not_finish_in_time_stops_the_second_with_one_line(db_url, engine):
    holder = hold_elsewhere(db_url, 4)
    try:
        with Session(engine) as session, pytest.raises(locks.Busy) as refused:
            locks.hold(session, "test lock", what="SEPA batch", wait_seconds=0.3)
    finally:
        holder.wait(timeout=30)
    assert str(refused.value) == "another SEPA batch is running (waited 0 s); try again when it has finished"
