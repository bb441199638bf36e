"""The return table (issue 13, item 4), code by code and without a database: what a
returned collection does to its recurring gift and mandate, when failures in a row
pause a gift, and how a paid collection makes a failing gift well again."""
from __future__ import annotations

import datetime as dt
import inspect
import re

import pytest

from anbi.core.errors import ConfigurationError
from fundraising.bank import return_reasons as rr

ON = dt.date(2026, 1, 8)


def returned(code, *, status="active", failed_attempts=0, status_reason=None, refund=False, max_failures=3):
    return rr.after_return(code, status=status, failed_attempts=failed_attempts, status_reason=status_reason,
                           refund=refund, max_failures=max_failures, on=ON)


@pytest.mark.parametrize("code, status, revoked, follow_up", [
    ("AM04", "failing", False, None),
    ("MS02", "paused", False, "MS02 (refused by the debtor) on 2026-01-08: paused; ask the donor whether to go on"),
    ("MD06", "paused", False, "MD06 (refund requested by the debtor) on 2026-01-08: paused; ask the donor whether to go on"),
    ("SL01", "paused", False, "SL01 (the debtor's bank blocks our direct debits) on 2026-01-08: paused; ask the donor"),
    ("AC01", "paused", False, "AC01 (account number incorrect) on 2026-01-08: paused; correct the mandate's IBAN, then resume the gift"),
    ("AC04", "paused", True, "AC04 (account closed) on 2026-01-08: paused; ask the donor for a new mandate"),
    ("AC06", "paused", True, "AC06 (account blocked) on 2026-01-08: paused; ask the donor for a new mandate"),
    ("MD01", "paused", True, "MD01 (no mandate) on 2026-01-08: paused; check the mandate and ask the donor for a new one"),
    ("MD07", "cancelled", True, "MD07 (debtor deceased) on 2026-01-08: check the date of death"),
    ("XX99", "failing", False, "XX99 (return reason not in the table) on 2026-01-08: check the return reason with the bank"),
    (None, "failing", False, "returned without a reason on 2026-01-08: check the return reason with the bank"),
])
def test_each_return_reason(code, status, revoked, follow_up):
    outcome = returned(code)
    assert (outcome.status, outcome.failed_attempts, outcome.revoke_mandate, outcome.follow_up) == (
        status, 1, revoked, follow_up)


def test_am04_the_next_regular_collection_is_the_retry():
    outcome = returned("am04")
    assert outcome.status_reason == "failing: AM04 (insufficient funds) on 2026-01-08; the next regular collection is the retry"


def test_the_third_failure_in_a_row_pauses_the_gift():
    second = returned("AM04", status="failing", failed_attempts=1)
    assert (second.status, second.failed_attempts) == ("failing", 2)
    third = returned("AM04", status="failing", failed_attempts=2)
    assert (third.status, third.failed_attempts) == ("paused", 3)
    assert third.follow_up == third.status_reason == (
        "paused: 3 collections failed in a row (last AM04 (insufficient funds) on 2026-01-08); ask the donor")
    assert returned("AM04", failed_attempts=0, max_failures=1).status == "paused"


def test_a_refund_after_settlement_pauses_but_is_no_failed_attempt():
    outcome = returned("MD06", failed_attempts=1, refund=True)
    assert (outcome.status, outcome.failed_attempts) == ("paused", 1)


def test_a_stopped_gift_stays_stopped_and_a_paused_one_stays_paused():
    stopped = returned("AM04", status="cancelled", status_reason="stopped by anna on 2026-01-02")
    assert (stopped.status, stopped.status_reason, stopped.follow_up) == ("cancelled", "stopped by anna on 2026-01-02", None)
    closed = returned("AC04", status="cancelled")
    assert closed.status == "cancelled" and closed.revoke_mandate
    paused = returned("AM04", status="paused", status_reason="paused by anna on 2026-01-02")
    assert (paused.status, paused.status_reason) == ("paused", "paused by anna on 2026-01-02")


@pytest.mark.parametrize("status, reason, after", [
    ("failing", "failing: AM04 ...", ("active", 0, None)),
    ("active", None, ("active", 0, None)),
    ("paused", "paused: MS02 ...", ("paused", 0, "paused: MS02 ...")),
    ("cancelled", "stopped", ("cancelled", 0, "stopped")),
])
def test_a_paid_collection_clears_the_count_and_makes_a_failing_gift_active(status, reason, after):
    assert rr.after_payment(status, reason) == after


def test_max_failures_setting():
    from anbi.core.settings import Settings

    assert Settings().sepa.max_failures == 3
    assert Settings(sections={"sepa": {"max_failures": "5"}}).sepa.max_failures == 5
    assert Settings(sections={"sepa": {"max_failures": 2}}).sepa.max_failures == 2
    for wrong in ("0", "three", -1):
        with pytest.raises(ConfigurationError, match=r"\[sepa\] max_failures must be a whole number of at least 1"):
            Settings(sections={"sepa": {"max_failures": wrong}})


def test_the_documented_table_is_the_table_in_code():
    rows = re.findall(r"^\| (\w{4}) \| ([^|]+) \| ([^|]+) \| (kept|revoked) \|", inspect.getdoc(rr) or "", re.M)
    documented = {code: (meaning.strip(), gift.strip(), mandate) for code, meaning, gift, mandate in rows}
    assert set(documented) == set(rr.RULES)
    words = {rr.RETRY: "retry", rr.PAUSE: "paused", rr.END: "ended"}
    for code, rule in rr.RULES.items():
        meaning, gift, mandate = documented[code]
        assert meaning == rule.meaning and words[rule.gift] in gift and (mandate == "revoked") == rule.revoke_mandate
