"""Recurring gifts: import (mandates of the same donor for SEPA) and the list with
what each produced."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from anbi.core.errors import InvalidInput
from fundraising.donations import record_adjustment
from fundraising.models import Donation, Fund, RecurringGift
from fundraising.imports.recurring import import_recurring, status_on_import
from fundraising.recurring import list_recurring
from tests.factories import make_agreement, make_campaign, make_donation, make_donor, make_mandate, make_recurring

D = dt.date
TODAY = D(2025, 6, 1)


def csv(text: str) -> bytes:
    return text.strip().encode() + b"\n"


def test_status_on_import():
    assert status_on_import(None, None, TODAY) == "active"
    assert status_on_import(D(2025, 5, 31), None, TODAY) == "cancelled"
    assert status_on_import(D(2025, 6, 1), None, TODAY) == "active"
    assert status_on_import(None, "failing", TODAY) == "failing"
    assert status_on_import(None, "cancelled", TODAY) == "cancelled"   # an import never revives an ended gift
    assert status_on_import(D(2026, 1, 1), "cancelled", TODAY) == "cancelled"


def test_import_creates_and_reimport_updates(session):
    donor = make_donor(session, ref="D1")
    mandate = make_mandate(session, donor=donor, mandate_id="MDT-1")
    agreement = make_agreement(session, donor=donor, number="PG-2024-0001")
    make_campaign(session, code="MONTHLY")
    data = csv("""
reference,donor_ref,amount,interval,method,start_date,end_date,mandate_id,campaign,fund,agreement
RG-1,D1,"12,50",monthly,sepa_debit,2024-01-01,,MDT-1,MONTHLY,NOODHULP,PG-2024-0001
RG-2,D1,100,yearly,stripe,2023-01-01,2024-12-31,,,,
""")
    summary = import_recurring(session, data, actor="tester", name="recurring.csv", on=TODAY)
    assert (summary.created, summary.updated, summary.unchanged, summary.funds_created) == (2, 0, 0, ["NOODHULP"])
    gifts = {g.reference: g for g in session.scalars(select(RecurringGift))}
    one, two = gifts["RG-1"], gifts["RG-2"]
    assert (one.amount_cents, one.interval, one.method, one.mandate_id, one.agreement_id, one.status, one.failed_attempts) == (
        1250, "monthly", "sepa_debit", mandate.id, agreement.id, "active", 0)
    assert one.fund.code == "NOODHULP" and one.campaign.code == "MONTHLY"
    assert (two.status, two.end_date) == ("cancelled", D(2024, 12, 31))
    assert session.scalar(select(func.count()).select_from(Donation)) == 0  # nothing created in advance

    again = import_recurring(session, data, actor="tester", name="recurring.csv", on=TODAY)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    change = import_recurring(session, csv("""
reference,amount,end_date
RG-1,15,
"""), actor="tester", name="recurring.csv", on=TODAY)
    assert (change.created, change.updated, change.unchanged) == (0, 1, 0)
    assert (one.amount_cents, one.mandate_id, one.interval) == (1500, mandate.id, "monthly")
    assert session.scalar(select(func.count()).select_from(Fund)) == 1


def test_import_bad_input(session):
    donor = make_donor(session, ref="D1")
    other = make_donor(session, ref="D2")
    make_mandate(session, donor=other, mandate_id="MDT-OTHER")
    make_mandate(session, donor=donor, mandate_id="MDT-1")
    make_agreement(session, donor=other, number="PG-OTHER")
    with pytest.raises(InvalidInput) as caught:
        import_recurring(session, csv("""
reference,donor_ref,amount,interval,method,start_date,end_date,mandate_id,campaign,agreement
R-NO-MANDATE,D1,10,monthly,sepa_debit,2024-01-01,,,,
R-UNKNOWN-MANDATE,D1,10,monthly,sepa_debit,2024-01-01,,MDT-NOPE,,
R-OTHERS-MANDATE,D1,10,monthly,sepa_debit,2024-01-01,,MDT-OTHER,,
R-STRIPE-MANDATE,D1,10,monthly,stripe,2024-01-01,,MDT-1,,
R-CAMPAIGN,D1,10,monthly,stripe,2024-01-01,,,NOPE,
R-AGREEMENT,D1,10,monthly,stripe,2024-01-01,,,,PG-OTHER
R-WEEKLY,D1,10,weekly,stripe,2024-01-01,,,,
R-ENDS-EARLY,D1,10,monthly,stripe,2024-01-01,2023-12-31,,,
R-NOBODY,NOBODY,10,monthly,stripe,2024-01-01,,,,
R-MISSING,,,,,,,,,
"""), actor="tester", name="recurring.csv", on=TODAY)
    found = {(p.line, p.field) for p in caught.value.problems}
    assert found == {
        (2, "mandate_id"), (3, "mandate_id"), (4, "mandate_id"), (5, "mandate_id"), (6, "campaign"), (7, "agreement"),
        (8, "interval"), (9, "end_date"), (10, "donor_ref"),
        (11, "donor_ref"), (11, "amount"), (11, "interval"), (11, "method"), (11, "start_date"),
    }
    assert session.scalar(select(func.count()).select_from(RecurringGift)) == 0


def test_a_revoked_mandate_on_a_running_gift_is_a_warning(session):
    donor = make_donor(session, ref="D1")
    make_mandate(session, donor=donor, mandate_id="MDT-R", status="revoked")
    summary = import_recurring(session, csv("""
reference,donor_ref,amount,interval,method,start_date,mandate_id
RG-R,D1,10,monthly,sepa_debit,2024-01-01,MDT-R
"""), actor="tester", name="recurring.csv", on=TODAY)
    assert summary.created == 1
    assert [(w.line, w.field) for w in summary.warnings] == [(2, "mandate_id")]


def test_list_counts_what_each_gift_produced(session):
    donor = make_donor(session, ref="D1")
    gift = make_recurring(session, donor=donor, reference="RG-1", amount="10.00", method="stripe", failed_attempts=2, status="failing")
    make_recurring(session, donor=donor, reference="RG-2", amount="5.00", method="stripe")
    make_donation(session, donor=donor, recurring_gift=gift, amount="10.00", date="2025-01-01")
    refunded = make_donation(session, donor=donor, recurring_gift=gift, amount="10.00", date="2025-02-01")
    make_donation(session, donor=donor, recurring_gift=gift, amount="10.00", date="2025-03-01", status="failed")
    make_donation(session, donor=donor, recurring_gift=gift, amount="10.00", date="2025-04-01", status="pending")
    record_adjustment(session, refunded, kind="refund", amount_cents=400, occurred_on=D(2025, 2, 10), source="stripe", reference="re_1")
    items = {item["reference"]: item for item in list_recurring(session)}
    one = items["RG-1"]
    # 3 donations not failed (2 received + 1 pending); received: 10.00 + (10.00 - 4.00) = 16.00
    assert (one["status"], one["failed_attempts"], one["donations"], one["donated"]) == ("failing", 2, 3, "16.00")
    assert (items["RG-2"]["donations"], items["RG-2"]["donated"]) == (0, "0.00")


def test_reimport_never_revives_a_cancelled_gift_and_says_so(session):
    donor = make_donor(session, ref="D1", deceased_on=D(2026, 1, 8))
    mandate = make_mandate(session, donor=donor, mandate_id="MDT-1", status="revoked")
    make_recurring(session, donor=donor, mandate=mandate, reference="RG-1", source="import", status="cancelled",
                   end_date="2026-01-08", start_date="2024-01-01",
                   status_reason="ended: MD07 (debtor deceased) reported by the bank on 2026-01-08")
    data = csv("""
reference,donor_ref,amount,interval,method,start_date,end_date,mandate_id
RG-1,D1,10,monthly,sepa_debit,2024-01-01,,MDT-1
""")
    summary = import_recurring(session, data, actor="tester", name="recurring.csv", on=D(2026, 1, 1))
    gift = session.scalar(select(RecurringGift).where(RecurringGift.reference == "RG-1"))
    assert (gift.status, gift.end_date) == ("cancelled", D(2026, 1, 8))
    assert (summary.updated, summary.unchanged) == (0, 1)
    assert [str(k) for k in summary.kept] == [
        "line 2, column status: kept cancelled: recurring gift RG-1 was cancelled on 2026-01-08 (ended: MD07 (debtor "
        "deceased) reported by the bank on 2026-01-08); an import does not revive an ended gift (a new commitment is "
        "a new reference)"]
    longer = import_recurring(session, csv("reference,end_date\nRG-1,2030-12-31\n"), actor="tester", name="r.csv",
                              on=D(2026, 1, 1))
    assert (gift.status, gift.end_date) == ("cancelled", D(2026, 1, 8))
    assert [(k.line, k.field) for k in longer.kept] == [(2, "end_date")]
    assert longer.kept[0].reason.startswith("kept 2026-01-08: recurring gift RG-1 was cancelled on 2026-01-08")
