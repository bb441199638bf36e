"""SEPA rules without a database: business days, lead time, periods, due collections,
mandate expiry and amendments, and the pain.008 file checked against the ISO schema
by a second validator."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from lxml import etree

from anbi.core.errors import ConfigurationError, InvalidInput
from exports.sepa import due as sepa, pain008

D = dt.date
NS = {"p": pain008.PAIN_NS}
CREDITOR = sepa.Creditor(
    creditor_id="NL33ZZZ140946600000", name="Stichting Voorbeeld", iban="NL91ABNA0417164300", bic="ABNANL2A",
)


# --- calendar -------------------------------------------------------------------------

@pytest.mark.parametrize("year, easter", [(2024, D(2024, 3, 31)), (2025, D(2025, 4, 20)), (2026, D(2026, 4, 5))])
def test_easter_sunday(year, easter):
    assert sepa.easter_sunday(year) == easter


def test_target_holidays_2025():
    assert sepa.target_holidays(2025) == {
        D(2025, 1, 1), D(2025, 4, 18), D(2025, 4, 21), D(2025, 5, 1), D(2025, 12, 25), D(2025, 12, 26),
    }


@pytest.mark.parametrize("start, days, expected", [
    (D(2025, 3, 3), 1, D(2025, 3, 4)),      # Monday -> Tuesday
    (D(2025, 3, 7), 1, D(2025, 3, 10)),     # Friday -> Monday
    (D(2025, 4, 17), 1, D(2025, 4, 22)),    # over Good Friday, the weekend and Easter Monday
    (D(2025, 12, 24), 1, D(2025, 12, 29)),  # over Christmas and the weekend
    (D(2025, 4, 30), 2, D(2025, 5, 5)),     # 1 May is closed: Fri 2, Mon 5
])
def test_add_business_days(start, days, expected):
    assert sepa.add_business_days(start, days) == expected


def test_collection_date_on_a_holiday_or_weekend_is_refused_naming_the_next_business_day():
    with pytest.raises(sepa.CollectionDateError, match=r"TARGET holiday.*2025-05-02"):
        sepa.check_collection_date(D(2025, 5, 1), today=D(2025, 4, 1), lead_days=1)
    with pytest.raises(sepa.CollectionDateError, match=r"weekend.*2025-03-10"):
        sepa.check_collection_date(D(2025, 3, 8), today=D(2025, 3, 1), lead_days=1)


def test_collection_date_needs_lead_days_business_days():
    # Monday 3 March with two lead days: Tuesday is too soon, Wednesday is the first.
    with pytest.raises(sepa.CollectionDateError, match=r"fewer than 2 business day.*earliest possible date is 2025-03-05"):
        sepa.check_collection_date(D(2025, 3, 4), today=D(2025, 3, 3), lead_days=2)
    sepa.check_collection_date(D(2025, 3, 5), today=D(2025, 3, 3), lead_days=2)
    with pytest.raises(sepa.CollectionDateError):
        sepa.check_collection_date(D(2025, 3, 3), today=D(2025, 3, 3), lead_days=0)  # never today


# --- periods --------------------------------------------------------------------------

@pytest.mark.parametrize("day, interval, start, end", [
    (D(2025, 8, 15), "monthly", D(2025, 8, 1), D(2025, 8, 31)),
    (D(2025, 8, 15), "quarterly", D(2025, 7, 1), D(2025, 9, 30)),
    (D(2025, 8, 15), "yearly", D(2025, 1, 1), D(2025, 12, 31)),
    (D(2024, 2, 10), "monthly", D(2024, 2, 1), D(2024, 2, 29)),
    (D(2025, 3, 31), "quarterly", D(2025, 1, 1), D(2025, 3, 31)),
])
def test_periods(day, interval, start, end):
    assert sepa.period_start(day, interval) == start
    assert sepa.period_end(day, interval) == end


# --- the decision -----------------------------------------------------------------------

def mandate(**fields) -> sepa.MandateFacts:
    values: dict[str, Any] = dict(pk=1, mandate_id="MDT-1", donor_id=10, iban="NL91ABNA0417164300", bic=None,
                  signed_on=D(2024, 1, 1), status="active")
    values.update(fields)
    return sepa.MandateFacts(**values)


def gift(**fields) -> sepa.GiftFacts:
    values: dict[str, Any] = dict(pk=100, reference="RG-1", donor_id=10, donor_name="A. Jansen", amount_cents=1000,
                  currency="EUR", interval="monthly", method="sepa_debit", start_date=D(2024, 1, 1),
                  end_date=None, status="active", mandate=mandate())
    values.update(fields)
    return sepa.GiftFacts(**values)


def plan(gifts, collected=None, day=dt.date(2025, 3, 5), creditor=CREDITOR):
    return sepa.plan_collections(gifts, collected or {}, collection_date=day, creditor=creditor)


def test_a_failing_gift_is_collected_its_next_regular_collection_is_the_retry():
    result = plan([gift(status="failing")])
    assert [c.gift.pk for c in result.due] == [100] and result.skipped == []


def test_a_paused_gift_is_left_out_with_the_reason_it_was_paused():
    result = plan([gift(status="paused", status_reason="paused: MS02 (refused by the debtor) on 2025-02-04")])
    assert [(s.code, s.reason) for s in result.skipped] == [("paused", "paused: MS02 (refused by the debtor) on 2025-02-04")]


def test_an_active_gift_with_an_active_mandate_is_due_for_the_period_containing_the_date():
    result = plan([gift()])
    assert [c.gift.pk for c in result.due] == [100]
    assert result.due[0].period_start == D(2025, 3, 1)
    assert result.due[0].sequence_type == "RCUR"
    assert result.total_cents == 1000


@pytest.mark.parametrize("fields, code", [
    ({"start_date": D(2025, 3, 6)}, "not_started"),
    ({"end_date": D(2025, 3, 4)}, "ended"),
    ({"status": "paused"}, "paused"),
    ({"status": "cancelled"}, "not_active"),
    ({"method": "stripe"}, "not_sepa"),
    ({"amount_cents": 0}, "zero_amount"),
    ({"currency": "USD"}, "not_euro"),
    ({"mandate": None}, "no_mandate"),
    ({"mandate": mandate(status="revoked")}, "mandate_revoked"),
    ({"mandate": mandate(donor_id=11)}, "mandate_other_donor"),
    ({"donor_deceased": True}, "donor_deceased"),
    ({"donor_inactive": True}, "donor_inactive"),
])
def test_gifts_that_are_not_due(fields, code):
    result = plan([gift(**fields)])
    assert result.due == []
    assert [s.code for s in result.skipped] == [code]


def test_end_date_on_the_collection_date_is_still_due():
    assert len(plan([gift(end_date=D(2025, 3, 5))]).due) == 1


def test_a_period_already_collected_is_not_collected_again_and_earlier_periods_are_not_caught_up():
    collected = {100: {D(2025, 3, 1)}}
    result = plan([gift()], collected)
    assert result.due == [] and result.skipped[0].code == "already_collected"
    # February was never collected: on 5 March only March is collected, once.
    result = plan([gift()], {100: {D(2025, 1, 1)}})
    assert [c.period_start for c in result.due] == [D(2025, 3, 1)]


def test_quarterly_and_yearly_gifts_look_at_their_own_period():
    quarterly = gift(pk=1, interval="quarterly")
    yearly = gift(pk=2, interval="yearly")
    result = plan([quarterly, yearly], {1: {D(2025, 1, 1)}, 2: {D(2024, 1, 1)}}, day=D(2025, 3, 5))
    assert [c.gift.pk for c in result.due] == [2]
    assert result.due[0].period_start == D(2025, 1, 1)


def test_mandate_expires_36_months_after_signature_when_never_collected():
    m = mandate(signed_on=D(2021, 3, 1))
    assert sepa.mandate_expires_on(m, 36) == D(2024, 3, 1)
    assert len(plan([gift(mandate=m)], day=D(2024, 2, 29)).due) == 1
    result = plan([gift(mandate=m)], day=D(2024, 3, 1))
    assert result.due == [] and result.skipped[0].code == "mandate_expired"
    assert [x.mandate_id for x in result.expired_mandates] == ["MDT-1"]


def test_expiry_runs_from_the_last_collection_ours_or_the_previous_systems():
    m = mandate(signed_on=D(2019, 1, 1), last_collected_on=D(2023, 5, 10), last_presented_on=D(2024, 1, 5))
    assert sepa.mandate_expires_on(m, 36) == D(2027, 1, 5)
    assert sepa.mandate_expires_on(replace(m, last_presented_on=None), 36) == D(2026, 5, 10)
    assert sepa.mandate_expires_on(m, 12) == D(2025, 1, 5)
    short = replace(CREDITOR, expiry_months=12)
    assert plan([gift(mandate=m)], day=D(2025, 3, 5), creditor=short).skipped[0].code == "mandate_expired"


def test_first_collection_is_frst_only_when_configured():
    frst = replace(CREDITOR, first_as_frst=True)
    assert plan([gift()], creditor=frst).due[0].sequence_type == "FRST"
    assert plan([gift()]).due[0].sequence_type == "RCUR"
    migrated = gift(mandate=mandate(last_collected_on=D(2024, 12, 1)))
    assert plan([migrated], creditor=frst).due[0].sequence_type == "RCUR"
    ours = gift(mandate=mandate(last_presented_on=D(2025, 2, 5), last_presented_iban="NL91ABNA0417164300"))
    assert plan([ours], creditor=frst).due[0].sequence_type == "RCUR"


def test_a_new_account_at_the_same_bank_is_carried_as_the_original_account():
    changed = gift(mandate=mandate(iban="NL02ABNA0123456789", last_presented_on=D(2025, 2, 5),
                                   last_presented_iban="NL91ABNA0417164300"))
    item = plan([changed]).due[0]
    assert item.amendment == sepa.Amendment(original_iban="NL91ABNA0417164300", other_bank=False)
    assert item.sequence_type == "RCUR"


def test_a_new_account_at_another_bank_is_an_smnda_amendment_and_frst_when_configured():
    changed = gift(mandate=mandate(iban="NL20INGB0001234567", last_presented_on=D(2025, 2, 5),
                                   last_presented_iban="NL91ABNA0417164300"))
    assert plan([changed]).due[0].amendment.other_bank is True
    assert plan([changed], creditor=replace(CREDITOR, first_as_frst=True)).due[0].sequence_type == "FRST"


def test_no_amendment_when_the_account_is_unchanged():
    same = gift(mandate=mandate(last_presented_on=D(2025, 2, 5), last_presented_iban="NL91ABNA0417164300"))
    assert plan([same]).due[0].amendment is None


def test_check_collections_refuses_a_wrong_iban_naming_the_mandate():
    bad = gift(mandate=mandate(iban="NL91ABNA0417164301"))
    with pytest.raises(InvalidInput) as caught:
        sepa.check_collections(plan([bad]))
    assert caught.value.problems[0].field == "mandate MDT-1 iban"
    assert "not valid" in caught.value.problems[0].reason


# --- settings ---------------------------------------------------------------------------

def test_creditor_from_settings_checks_mod_97():
    values = {"creditor_id": "NL34ZZZ140946600000", "name": "X", "iban": "NL91ABNA0417164300", "bic": "ABNANL2A"}
    with pytest.raises(ConfigurationError, match=r"\[sepa\] creditor id 'NL34ZZZ140946600000' fails the Mod 97 check"):
        sepa.Creditor.from_settings(values)
    values["creditor_id"] = "NL33ZZZ140946600000"
    creditor = sepa.Creditor.from_settings({**values, "lead_days": "2", "first_as_frst": True})
    assert (creditor.lead_days, creditor.first_as_frst, creditor.expiry_months) == (2, True, 36)


def test_creditor_settings_name_every_missing_value():
    with pytest.raises(ConfigurationError) as caught:
        sepa.Creditor.from_settings({})
    for key in ("creditor_id", "name", "iban", "bic"):
        assert f"[sepa] {key} is required" in str(caught.value)


# --- the file -----------------------------------------------------------------------------

def instruction(e2e, cents, **fields):
    values: dict[str, Any] = dict(end_to_end_id=e2e, amount_cents=cents, mandate_id=f"M-{e2e}", mandate_signed_on=D(2024, 1, 2),
                  debtor_name="Anna Jansen", debtor_iban="NL20INGB0001234567", debtor_bic=None,
                  sequence_type="RCUR", remittance="Gift")
    values.update(fields)
    return pain008.Instruction(**values)


def build(instructions):
    return pain008.build_pain008(CREDITOR, D(2025, 3, 5), instructions, message_id="ANBI-SDD-20250305-1",
                              created_at=dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC))


def xsd() -> xmlschema.XMLSchema:
    import sepaxml

    return xmlschema.XMLSchema(str(Path(sepaxml.__file__).parent / "schemas" / "pain.008.001.02.xsd"))


def test_pain008_is_valid_against_the_iso_schema_and_carries_our_references():
    items = [
        instruction("SDD-20250305-1", 1000),
        instruction("SDD-20250305-2", 2550, sequence_type="FRST", debtor_bic="INGBNL2A", debtor_name="Zoë Çelik"),
        instruction("SDD-20250305-3", 1, amendment=sepa.Amendment("NL91ABNA0417164300", False)),
        instruction("SDD-20250305-4", 500, amendment=sepa.Amendment("NL91ABNA0417164300", True)),
    ]
    data = build(items)
    xsd().validate(data.decode())  # a second, independent validator
    tree = etree.fromstring(data)
    assert tree.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:MsgId", namespaces=NS) == "ANBI-SDD-20250305-1"
    assert tree.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == "4"
    assert Decimal(tree.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) or "") == Decimal("40.51")
    assert tree.findtext(".//p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id", namespaces=NS) == "NL33ZZZ140946600000"
    transactions = {tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS) or "": tx for tx in tree.iterfind(".//p:DrctDbtTxInf", NS)}
    assert sorted(transactions) == ["SDD-20250305-1", "SDD-20250305-2", "SDD-20250305-3", "SDD-20250305-4"]
    assert transactions["SDD-20250305-2"].findtext("p:InstdAmt", namespaces=NS) == "25.50"
    assert transactions["SDD-20250305-2"].findtext("p:Dbtr/p:Nm", namespaces=NS) == "Zoe Celik"
    same_bank = transactions["SDD-20250305-3"].find("p:DrctDbtTx/p:MndtRltdInf", NS)
    assert same_bank is not None
    assert same_bank.findtext("p:AmdmntInd", namespaces=NS) == "true"
    assert same_bank.findtext("p:AmdmntInfDtls/p:OrgnlDbtrAcct/p:Id/p:IBAN", namespaces=NS) == "NL91ABNA0417164300"
    other_bank = transactions["SDD-20250305-4"].find("p:DrctDbtTx/p:MndtRltdInf", NS)
    assert other_bank is not None
    assert other_bank.findtext("p:AmdmntInfDtls/p:OrgnlDbtrAgt/p:FinInstnId/p:Othr/p:Id", namespaces=NS) == "SMNDA"
    sequence = {info.findtext("p:PmtTpInf/p:SeqTp", namespaces=NS): info.findtext("p:PmtInfId", namespaces=NS)
                for info in tree.iterfind(".//p:PmtInf", NS)}
    assert sequence == {"RCUR": "ANBI-SDD-20250305-1-1", "FRST": "ANBI-SDD-20250305-1-2"}


def test_zero_amount_is_refused_before_any_xml_is_made():
    with pytest.raises(InvalidInput) as caught:
        build([instruction("SDD-1", 0)])
    assert caught.value.problems[0].field == "amount"


def test_a_value_the_schema_refuses_is_caught_before_writing():
    # A mandate id longer than 35 characters fails Max35Text.
    with pytest.raises(pain008.SepaSchemaError) as caught:
        build([instruction("SDD-1", 100, mandate_id="M" * 36)])
    assert "MndtId" in str(caught.value)
