"""Sign-in throttling (issue 13, item 13): delays that grow with each wrong
password, per account, per account at one address and per address; a right
password is refused only while the current delay runs; the state is in the
database, shared by every server process, and tries in parallel are judged one
after the other. Both databases; the parallel tries run in real processes."""
from __future__ import annotations

import datetime as dt
import multiprocessing

import pytest

from anbi.web.identity.users import (
    THROTTLE_RULES,
    SignInRefused,
    Throttled,
    ThrottleRule,
    authenticate,
    counted_failures,
    create_user,
    delay_after,
)

PASSWORD = "a long enough password"
T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
S = dt.timedelta(seconds=1)


# --- the rule, without a database -------------------------------------------------


@pytest.mark.parametrize("failures, wait", [(0, 0), (2, 0), (3, 1), (4, 2), (5, 4), (8, 32), (12, 512), (13, 900),
                                            (1000, 900), (10**9, 900)])
def test_the_delay_doubles_after_the_free_failures_up_to_a_ceiling(failures, wait):
    rule = ThrottleRule(free=3, longest=dt.timedelta(minutes=15))
    assert delay_after(failures, rule) == wait * S


def test_the_most_a_guesser_elsewhere_can_make_an_account_wait_is_short():
    assert max(delay_after(n, THROTTLE_RULES["account"]) for n in range(200)) == 30 * S


def test_failures_are_forgotten_after_a_quiet_hour():
    rule = THROTTLE_RULES["account_at"]
    assert counted_failures(7, T0, T0 + dt.timedelta(minutes=59), rule) == 7
    assert counted_failures(7, T0, T0 + dt.timedelta(hours=1), rule) == 0
    assert counted_failures(7, None, T0, rule) == 0


def test_the_wait_is_said_in_seconds_or_minutes():
    assert str(Throttled(1.2 * S)) == "too many failed attempts; try again in 2 seconds"
    assert str(Throttled(S)) == "too many failed attempts; try again in 1 second"
    assert str(Throttled(15 * 60 * S)) == "too many failed attempts; try again in 15 minutes"


# --- sign-in on the database ----------------------------------------------------------


def _try(session, password: str, at: dt.datetime, client: str = "192.0.2.1", email: str = "x@example.org") -> str:
    try:
        authenticate(session, email, password, client=client, now=at)
        outcome = "signed in"
    except SignInRefused:
        outcome = "refused"
    except Throttled as exc:
        outcome = f"wait {exc.wait.total_seconds():g}"
    session.commit()  # as the web edge does, on failure too
    return outcome


def test_five_wrong_passwords_then_the_right_one_after_the_short_delay(session):
    create_user(session, "x@example.org", "admin", PASSWORD, actor="test")
    session.commit()
    times = [T0 + n * 10 * S for n in range(5)]
    assert [_try(session, "wrong password", at) for at in times] == ["refused"] * 5
    last = times[-1]
    # 5 failures at this address: the next try waits 4 s; the right password too, but no longer.
    assert _try(session, PASSWORD, last + S) == "wait 3"
    assert _try(session, PASSWORD, last + 4 * S) == "signed in"
    # A right password forgets the failures of the account.
    assert _try(session, "wrong password", last + 5 * S) == "refused"
    assert _try(session, PASSWORD, last + 5 * S) == "signed in"


def test_a_guesser_at_another_address_cannot_keep_the_owner_out(session):
    create_user(session, "x@example.org", "admin", PASSWORD, actor="test")
    session.commit()
    at = T0
    outcomes = []
    for _ in range(40):  # as fast as the guesser's own delays allow
        outcome = _try(session, "a guess", at, client="203.0.113.66")
        outcomes.append(outcome)
        at += S * (float(outcome.split()[1]) if outcome.startswith("wait") else 0) + dt.timedelta(milliseconds=1)
    assert outcomes.count("refused") >= 10 and any(o.startswith("wait") for o in outcomes)
    # The owner, at their own address, waits at most the account's ceiling (30 s), then signs in.
    waited = _try(session, PASSWORD, at)
    assert waited == "signed in" or float(waited.split()[1]) <= 30
    assert _try(session, PASSWORD, at + 30 * S) == "signed in"


def test_one_address_guessing_many_accounts_is_slowed(session):
    create_user(session, "x@example.org", "admin", PASSWORD, actor="test")
    session.commit()
    for n in range(20):
        assert _try(session, "a guess", T0 + n * S, email=f"guess{n}@example.org") == "refused"
    assert _try(session, PASSWORD, T0 + 19.5 * S) == "wait 0.5"  # 20 failures from here: the next waits 1 s
    # Another address is not slowed by these.
    assert _try(session, PASSWORD, T0 + 19.5 * S, client="192.0.2.77") == "signed in"


# --- every server process sees the same state; parallel tries are judged one by one ---


def _try_in_process(db_url: str, at: float, password: str, barrier, results) -> None:
    from sqlalchemy.orm import Session

    from anbi.core.db import make_engine

    engine = make_engine(db_url)
    moment = dt.datetime.fromtimestamp(at, dt.UTC)
    with Session(engine) as session:
        barrier.wait(timeout=60)
        results.put(_try(session, password, moment))
    engine.dispose()


def _in_processes(db_url: str, count: int, at: dt.datetime, password: str) -> list[str]:
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(count), context.Queue()
    processes = [context.Process(target=_try_in_process, args=(db_url, at.timestamp(), password, barrier, results))
                 for _ in range(count)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return sorted(outcomes)


def test_parallel_wrong_passwords_in_several_processes_get_only_the_free_tries(db_url, session):
    """Six server processes judge six tries at the same moment: the three free
    failures are checked, the others wait; without the row lock all six would be."""
    create_user(session, "x@example.org", "admin", PASSWORD, actor="test")
    session.commit()
    now = dt.datetime.now(dt.UTC)
    outcomes = _in_processes(db_url, 6, now, "wrong password")
    assert outcomes.count("refused") == 3 and outcomes.count("wait 1") == 3, outcomes
    # Another process (this one) sees the same state.
    assert _try(session, PASSWORD, now).startswith("wait")
    assert _try(session, PASSWORD, now + S) == "signed in"
