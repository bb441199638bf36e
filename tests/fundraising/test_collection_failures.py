"""Failed collections on both databases, through real batches and bank statements
(issue 13, item 4): a failing gift is collected again and recovers when paid, three
failures in a row pause it, each return reason does what the table says, nothing is
left out of a batch silently, and `anbi recurring pause|resume|stop` are guarded
transitions, each audited."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from anbi.core.audit import AuditEntry
from anbi.core.clock import today
from exports.sepa.batch import run_batch
from fundraising.bank import camt_writer as w
from fundraising.models import Mandate, RecurringGift
from tests.factories import make_donor, make_mandate, make_recurring
from tests.fundraising.test_bank_import import COLLECT_ON, SEPA, collection, seed, statement, write

D = dt.date
# The first business day of April, May and June 2025, each run from a few days before.
LATER = [(D(2025, 4, 2), D(2025, 3, 28)), (D(2025, 5, 2), D(2025, 4, 28)), (D(2025, 6, 2), D(2025, 5, 28))]


def gift(engine, reference: str) -> RecurringGift:
    with Session(engine) as session:
        return session.execute(select(RecurringGift).where(RecurringGift.reference == reference)).scalar_one()


def batch(engine, day: dt.date, run_on: dt.date):
    with Session(engine) as session:
        result = run_batch(session, SEPA, collection_date=day, actor="tester", file_name="b.xml", today=run_on)
        session.commit()
        return result


def returned(day: dt.date, e2e: str, cents: int, number: int, code: str) -> w.Entry:
    return w.returned(day, w.Transaction(cents, e2e, f"MDT-{number}", f"Donor {number}", None, None, code))


def bank_import(cli, tmp_path, entries, name: str, *args: str, env=None) -> dict:
    result = cli("bank", "import", str(write(tmp_path, statement(entries, statement_id=name), name=f"{name}.xml")),
                 "--json", *args, env=env)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_a_failing_gift_is_collected_again_and_recovers_when_paid(cli, engine, tmp_path):
    ids = seed(engine)
    e2e, gifts = ids["e2e"], ids["gifts"]
    bank_import(cli, tmp_path, [
        w.collection_batch(COLLECT_ON, ids["payment_info"], [collection(e2e[n], 1000 * n, n) for n in (1, 2, 3)]),
        returned(COLLECT_ON, e2e[1], 1000, 1, "AM04"),
    ], "march")
    failing = gift(engine, "RG-1")
    assert (failing.status, failing.failed_attempts) == ("failing", 1)
    assert failing.status_reason == "failing: AM04 (insufficient funds) on 2025-03-05; the next regular collection is the retry"

    april, run_on = LATER[0]
    result = batch(engine, april, run_on)
    assert result.count == 3 and result.left_out == []        # the failing gift is collected: no catch-up, one amount
    assert result.total_cents == 6000
    again = f"SDD-{april:%Y%m%d}-{gifts[1]}"
    summary = bank_import(cli, tmp_path, [w.collection_batch(april, None, [collection(again, 1000, 1)])], "april")
    assert summary["collections_confirmed"] == 1 and summary["follow_up"] == []
    well = gift(engine, "RG-1")
    assert (well.status, well.failed_attempts, well.status_reason) == ("active", 0, None)


def test_three_failures_in_a_row_pause_the_gift_and_the_next_batch_says_so(cli, engine, tmp_path):
    ids = seed(engine)
    e2e, gifts = ids["e2e"], ids["gifts"]
    bank_import(cli, tmp_path, [returned(COLLECT_ON, e2e[1], 1000, 1, "AM04")], "march")
    for (day, run_on), name in zip(LATER[:2], ("april", "may")):
        batch(engine, day, run_on)
        summary = bank_import(cli, tmp_path, [returned(day, f"SDD-{day:%Y%m%d}-{gifts[1]}", 1000, 1, "AM04")], name)
    paused = gift(engine, "RG-1")
    assert (paused.status, paused.failed_attempts) == ("paused", 3)
    reason = "paused: 3 collections failed in a row (last AM04 (insufficient funds) on 2025-05-02); ask the donor"
    assert paused.status_reason == reason
    assert summary["follow_up"] == [{"recurring_gift": "RG-1", "donor_ref": "S1", "reason_code": "AM04", "status": "paused",
                                     "mandate_revoked": False, "note": reason}]
    june, run_on = LATER[2]
    result = batch(engine, june, run_on)
    assert [item for item in result.left_out if item["reference"] == "RG-1"] == [
        {"reference": "RG-1", "donor_ref": "S1", "code": "paused", "reason": reason}]
    with Session(engine) as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_ref == "RG-1")
                                  .order_by(AuditEntry.id)).all()
    assert actions == ["recurring.failing", "recurring.pause"]


def test_max_failures_is_a_setting(cli, engine, tmp_path):
    ids = seed(engine)
    summary = bank_import(cli, tmp_path, [returned(COLLECT_ON, ids["e2e"][1], 1000, 1, "AM04")], "march",
                          env={"ANBI_SEPA_MAX_FAILURES": "1"})
    assert gift(engine, "RG-1").status == "paused" and summary["follow_up"][0]["status"] == "paused"
    wrong = cli("bank", "import", str(tmp_path / "march.xml"), env={"ANBI_SEPA_MAX_FAILURES": "none"})
    assert wrong.exit_code == 1
    assert wrong.stderr == "error: $ANBI_SEPA_MAX_FAILURES [sepa] max_failures must be a whole number of at least 1, not 'none'\n"


def test_returns_follow_the_table_and_are_listed_for_follow_up(cli, engine, tmp_path):
    ids = seed(engine)
    e2e = ids["e2e"]
    data = statement([
        w.collection_batch(COLLECT_ON, ids["payment_info"], [collection(e2e[n], 1000 * n, n) for n in (1, 2, 3)]),
        returned(D(2025, 3, 7), e2e[1], 1000, 1, "AC04"),       # account closed
        returned(D(2025, 3, 7), e2e[2], 2000, 2, "MS02"),       # refused by the debtor
        returned(D(2025, 3, 20), e2e[3], 3000, 3, "MD06"),      # the donor's refund, after settlement
    ], statement_id="march")
    result = cli("bank", "import", str(write(tmp_path, data)))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-4:] == [
        "  To follow up (3):",
        "    recurring gift RG-1 (donor S1), paused: AC04 (account closed) on 2025-03-07: paused; ask the donor for a new mandate",
        "    recurring gift RG-2 (donor S2), paused: MS02 (refused by the debtor) on 2025-03-07: paused; ask the donor whether to go on",
        "    recurring gift RG-3 (donor S3), paused: MD06 (refund requested by the debtor) on 2025-03-20: paused; ask the donor whether to go on",
    ]
    with Session(engine) as session:
        statuses = dict(session.execute(select(RecurringGift.reference, RecurringGift.status)).all())
        attempts = dict(session.execute(select(RecurringGift.reference, RecurringGift.failed_attempts)).all())
        mandates = dict(session.execute(select(Mandate.mandate_id, Mandate.status)).all())
        revoked = session.execute(select(AuditEntry).where(AuditEntry.action == "mandate.revoke")).scalar_one()
    assert statuses == {"RG-1": "paused", "RG-2": "paused", "RG-3": "paused"}
    assert attempts == {"RG-1": 1, "RG-2": 1, "RG-3": 0}        # a refund is no failed collection
    assert mandates == {"MDT-1": "revoked", "MDT-2": "active", "MDT-3": "active"}
    assert (revoked.entity_ref, revoked.details) == ("MDT-1", {"reason": "bank return AC04", "on": "2025-03-07"})
    april, run_on = LATER[0]
    assert {item["reference"]: item["code"] for item in batch(engine, april, run_on).left_out} == {
        "RG-1": "paused", "RG-2": "paused", "RG-3": "paused"}


# --- anbi recurring pause | resume | stop -------------------------------------------------


def sepa_gift(engine, reference="RG-1", **fields) -> None:
    with Session(engine) as session:
        donor = make_donor(session, ref="D1")
        mandate = make_mandate(session, donor=donor, mandate_id="MDT-1", status=fields.pop("mandate_status", "active"))
        make_recurring(session, donor=donor, mandate=mandate, reference=reference, start_date=D(2025, 1, 1), **fields)
        session.commit()


def audit_trail(engine, reference="RG-1") -> list[tuple[str, str, dict | None]]:
    with Session(engine) as session:
        return [(e.action, e.actor, e.details) for e in session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "recurring_gift", AuditEntry.entity_ref == reference)
            .order_by(AuditEntry.id))]


def test_pause_resume_and_stop_are_guarded_and_audited(cli, engine):
    sepa_gift(engine, status="failing", failed_attempts=2, status_reason="failing: AM04 (insufficient funds) on 2025-03-05")
    paused = cli("recurring", "pause", "RG-1", "--reason", "donor on holiday until June")
    assert (paused.exit_code, paused.stdout) == (0, "Recurring gift RG-1 paused.\n")
    assert gift(engine, "RG-1").status_reason == f"paused by tester on {today().isoformat()}: donor on holiday until June"
    twice = cli("recurring", "pause", "RG-1")
    assert (twice.exit_code, twice.stderr) == (1, "error: recurring gift RG-1 is paused already\n")

    resumed = cli("recurring", "resume", "RG-1")
    assert (resumed.exit_code, resumed.stdout) == (0, "Recurring gift RG-1 is active again.\n")
    well = gift(engine, "RG-1")
    assert (well.status, well.failed_attempts, well.status_reason) == ("active", 0, None)
    active = cli("recurring", "resume", "RG-1")
    assert (active.exit_code, active.stderr) == (1, "error: recurring gift RG-1 is active already\n")

    stopped = cli("recurring", "stop", "RG-1", "--reason", "donor's request by phone")
    assert stopped.exit_code == 0, stopped.stderr
    assert stopped.stdout == f"Recurring gift RG-1 stopped: cancelled, ending on {today().isoformat()}.\n"
    ended = gift(engine, "RG-1")
    assert (ended.status, ended.end_date) == ("cancelled", today())
    for command in ("pause", "resume", "stop"):
        refused = cli("recurring", command, "RG-1")
        assert refused.exit_code == 1 and "\n" not in refused.stderr.rstrip("\n")
    assert cli("recurring", "resume", "RG-1").stderr == (
        f"error: recurring gift RG-1 was stopped on {today().isoformat()}: a stopped gift is not resumed; import a new one\n")
    assert cli("recurring", "stop", "RG-1").stderr == (
        f"error: recurring gift RG-1 was stopped already on {today().isoformat()}\n")

    assert audit_trail(engine) == [
        ("recurring.pause", "tester", {"from": "failing", "to": "paused", "reason": "donor on holiday until June"}),
        ("recurring.resume", "tester", {"from": "paused", "to": "active"}),
        ("recurring.stop", "tester", {"from": "active", "to": "cancelled", "reason": "donor's request by phone",
                                      "end_date": today().isoformat()}),
    ]


def test_stop_on_a_past_date_keeps_an_earlier_end_and_refuses_the_future(cli, engine):
    sepa_gift(engine)
    future = cli("recurring", "stop", "RG-1", "--date", (today() + dt.timedelta(days=3)).isoformat())
    assert future.exit_code == 1 and future.stderr.startswith("error: --date: ") and "is in the future" in future.stderr
    assert gift(engine, "RG-1").status == "active"
    assert cli("recurring", "stop", "RG-1", "--date", "2025-06-30").exit_code == 0
    assert (gift(engine, "RG-1").status, gift(engine, "RG-1").end_date) == ("cancelled", D(2025, 6, 30))


def test_resume_needs_an_active_mandate_and_stripe_gifts_are_changed_in_stripe(cli, engine):
    sepa_gift(engine, status="paused", mandate_status="revoked")
    refused = cli("recurring", "resume", "RG-1")
    assert refused.stderr == ("error: recurring gift RG-1 cannot be collected: mandate MDT-1 is revoked; "
                              "import a new mandate and name it in the gift first\n")
    with Session(engine) as session:
        make_recurring(session, donor=make_donor(session, ref="D2"), reference="sub_1", method="stripe", source="stripe")
        session.commit()
    stripe = cli("recurring", "stop", "sub_1")
    assert stripe.exit_code == 1 and stripe.stderr == (
        "error: recurring gift sub_1 is a Stripe subscription: pause, resume or cancel it in Stripe; "
        "the change arrives here by its webhook\n")
    unknown = cli("recurring", "pause", "RG-404")
    assert (unknown.exit_code, unknown.stderr) == (1, "error: recurring gift 'RG-404' does not exist\n")
    assert audit_trail(engine) == [] and audit_trail(engine, "sub_1") == []
