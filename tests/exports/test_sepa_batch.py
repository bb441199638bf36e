"""`anbi sepa batch` on both databases: pending donations recorded through the
fundraising service, a file valid against the ISO schema, nothing collected twice,
and every bad input refused with nothing written."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import xmlschema
from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anbi.core.clock import today
from exports.sepa import due as sepa, pain008
from fundraising.donations import mark_failed
from fundraising.models import Donation, Mandate, RecurringGift
from fundraising.models_ledger import SepaBatch, SepaCollection
from tests.factories import make_donor, make_mandate, make_recurring

NS = {"p": pain008.PAIN_NS}
SEPA_ENV = {
    "ANBI_SEPA_CREDITOR_ID": "NL33ZZZ140946600000",
    "ANBI_SEPA_NAME": "Stichting Voorbeeld",
    "ANBI_SEPA_IBAN": "NL91ABNA0417164300",
    "ANBI_SEPA_BIC": "ABNANL2A",
    "ANBI_SEPA_LEAD_DAYS": "1",
}


def collection_day(offset_months: int = 0) -> dt.date:
    """A valid collection date: two business days ahead, or the first business day of a later month."""
    first = sepa.add_business_days(today(), 2)
    if offset_months == 0:
        return first
    return sepa.next_business_day(sepa.add_months(first.replace(day=1), offset_months))


def seed(engine, **gift_fields) -> dict:
    with Session(engine) as session:
        donor = make_donor(session, ref="D1", first_name="Anna", last_name="Jansen")
        mandate = make_mandate(session, donor=donor, mandate_id="MDT-1", iban="NL20INGB0001234567",
                               signed_on=today() - dt.timedelta(days=30))
        gift = make_recurring(session, donor=donor, mandate=mandate, reference="RG-1", amount="12.50",
                              start_date=today() - dt.timedelta(days=20), **gift_fields)
        other = make_donor(session, ref="D2")
        other_mandate = make_mandate(session, donor=other, mandate_id="MDT-2", iban="NL02ABNA0123456789",
                                     signed_on=today() - dt.timedelta(days=30))
        make_recurring(session, donor=other, mandate=other_mandate, reference="RG-2", amount="5.00",
                       interval="quarterly", start_date=today() - dt.timedelta(days=20))
        paused = make_donor(session, ref="D3")
        make_recurring(session, donor=paused, reference="RG-3", status="paused",
                       mandate=make_mandate(session, donor=paused, mandate_id="MDT-3"))
        session.commit()
        return {"gift": gift.id, "mandate": mandate.id}


def validate(path: Path) -> etree._Element:
    import sepaxml

    schema = xmlschema.XMLSchema(str(Path(sepaxml.__file__).parent / "schemas" / "pain.008.001.02.xsd"))
    schema.validate(str(path))
    return etree.parse(str(path)).getroot()


def counts(engine) -> tuple[int, int, int]:
    with Session(engine) as session:
        return (
            session.execute(select(func.count()).select_from(Donation)).scalar_one(),
            session.execute(select(func.count()).select_from(SepaCollection)).scalar_one(),
            session.execute(select(func.count()).select_from(SepaBatch)).scalar_one(),
        )


def test_batch_records_pending_donations_and_writes_a_valid_file(cli, engine, tmp_path):
    seed(engine)
    day = collection_day()
    out = tmp_path / "batch.xml"
    result = cli("sepa", "batch", "--collection-date", day.isoformat(), "--out", str(out), "--json", env=SEPA_ENV)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["collections"], summary["total"], summary["sequence_types"]) == (2, "17.50", {"RCUR": 2})
    assert summary["skipped"] == {"paused": 1}   # left out, and said so
    assert summary["left_out"] == [{"reference": "RG-3", "donor_ref": "D3", "code": "paused", "reason": "paused"}]
    root = validate(out)
    e2e = sorted(root.xpath("//p:EndToEndId/text()", namespaces=NS))
    with Session(engine) as session:
        donations = session.scalars(select(Donation).order_by(Donation.reference)).all()
        assert sorted(d.reference for d in donations) == e2e
        assert {(d.source, d.status, d.received_on, d.method) for d in donations} == {("sepa", "pending", day, "sepa_debit")}
        assert sorted(d.amount_cents for d in donations) == [500, 1250]
        collections = session.scalars(select(SepaCollection)).all()
        assert {c.sequence_type for c in collections} == {"RCUR"}
        assert {c.period_start for c in collections} == {sepa.period_start(day, "monthly"), sepa.period_start(day, "quarterly")}
    assert root.findtext(".//p:ReqdColltnDt", namespaces=NS) == day.isoformat()
    assert not out.with_name("batch.xml.partial").exists()


def test_running_again_for_the_same_date_or_period_collects_nothing_and_writes_no_file(cli, engine, tmp_path):
    seed(engine)
    day = collection_day()
    assert cli("sepa", "batch", "--collection-date", day.isoformat(), "--out", str(tmp_path / "a.xml"), env=SEPA_ENV).exit_code == 0
    before = counts(engine)
    again = cli("sepa", "batch", "--collection-date", day.isoformat(), "--out", str(tmp_path / "b.xml"), env=SEPA_ENV)
    assert again.exit_code == 0
    assert "Nothing to collect" in again.stdout and "no file written" in again.stdout
    assert not (tmp_path / "b.xml").exists()
    later = sepa.next_business_day(day + dt.timedelta(days=1))
    if later.month == day.month:  # another date in the same month: still nothing twice
        third = cli("sepa", "batch", "--collection-date", later.isoformat(), "--out", str(tmp_path / "c.xml"), env=SEPA_ENV)
        assert "Nothing to collect" in third.stdout
    assert counts(engine) == before


def test_a_failed_collection_does_not_count_as_collected(cli, engine, tmp_path):
    ids = seed(engine)
    day = collection_day()
    cli("sepa", "batch", "--collection-date", day.isoformat(), "--out", str(tmp_path / "a.xml"), env=SEPA_ENV)
    with Session(engine) as session:
        donation = session.scalars(select(Donation).where(Donation.recurring_gift_id == ids["gift"])).first()
        assert donation is not None
        mark_failed(session, donation, reason="AM04")
        session.commit()
    result = cli("sepa", "batch", "--collection-date", day.isoformat(), "--out", str(tmp_path / "b.xml"), "--json", env=SEPA_ENV)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["collections"] == 1
    references = validate(tmp_path / "b.xml").xpath("//p:EndToEndId/text()", namespaces=NS)
    assert references == [f"SDD-{day:%Y%m%d}-{ids['gift']}-2"]  # a reference is never reused


def test_next_month_collects_again_and_carries_a_changed_account_once(cli, engine, tmp_path):
    ids = seed(engine)
    first, second, third = collection_day(), collection_day(1), collection_day(2)
    cli("sepa", "batch", "--collection-date", first.isoformat(), "--out", str(tmp_path / "1.xml"), env=SEPA_ENV)
    with Session(engine) as session:
        session.get_one(Mandate, ids["mandate"]).iban = "NL69INGB0123456789"  # same bank (INGB), new account
        session.commit()
    assert cli("sepa", "batch", "--collection-date", second.isoformat(), "--out", str(tmp_path / "2.xml"), env=SEPA_ENV).exit_code == 0
    root = validate(tmp_path / "2.xml")
    amended = root.xpath("//p:DrctDbtTxInf[p:DrctDbtTx/p:MndtRltdInf/p:MndtId='MDT-1']", namespaces=NS)[0]
    assert amended.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == "NL69INGB0123456789"
    assert amended.findtext(".//p:AmdmntInd", namespaces=NS) == "true"
    assert amended.findtext(".//p:AmdmntInfDtls/p:OrgnlDbtrAcct/p:Id/p:IBAN", namespaces=NS) == "NL20INGB0001234567"
    cli("sepa", "batch", "--collection-date", third.isoformat(), "--out", str(tmp_path / "3.xml"), env=SEPA_ENV)
    later = validate(tmp_path / "3.xml").xpath("//p:DrctDbtTxInf[p:DrctDbtTx/p:MndtRltdInf/p:MndtId='MDT-1']", namespaces=NS)[0]
    assert later.find(".//p:AmdmntInd", NS) is None


def test_first_collection_as_frst_when_configured(cli, engine, tmp_path):
    seed(engine)
    env = {**SEPA_ENV, "ANBI_SEPA_FIRST_AS_FRST": "true"}
    result = cli("sepa", "batch", "--collection-date", collection_day().isoformat(), "--out", str(tmp_path / "a.xml"), "--json", env=env)
    assert json.loads(result.stdout)["sequence_types"] == {"FRST": 2}
    result = cli("sepa", "batch", "--collection-date", collection_day(1).isoformat(), "--out", str(tmp_path / "b.xml"), "--json", env=env)
    assert json.loads(result.stdout)["sequence_types"]["RCUR"] >= 1
    assert "FRST" not in json.loads(result.stdout)["sequence_types"]


def test_an_expired_mandate_is_marked_and_skipped(cli, engine, tmp_path):
    with Session(engine) as session:
        donor = make_donor(session, ref="OLD")
        mandate = make_mandate(session, donor=donor, mandate_id="MDT-OLD", signed_on=today() - dt.timedelta(days=4 * 366))
        make_recurring(session, donor=donor, mandate=mandate, reference="RG-OLD", start_date=today() - dt.timedelta(days=4 * 366))
        session.commit()
    result = cli("sepa", "batch", "--collection-date", collection_day().isoformat(), "--out", str(tmp_path / "a.xml"), env=SEPA_ENV)
    assert result.exit_code == 0
    assert "Mandate MDT-OLD expired" in result.stdout
    assert not (tmp_path / "a.xml").exists()
    with Session(engine) as session:
        assert session.scalar(select(Mandate.status).where(Mandate.mandate_id == "MDT-OLD")) == "expired"


def test_collection_date_too_soon_is_refused_and_nothing_is_written(cli, engine, tmp_path):
    seed(engine)
    env = {**SEPA_ENV, "ANBI_SEPA_LEAD_DAYS": "3"}
    too_soon = sepa.add_business_days(today(), 2)
    result = cli("sepa", "batch", "--collection-date", too_soon.isoformat(), "--out", str(tmp_path / "a.xml"), env=env)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: collection date {too_soon.isoformat()}: is fewer than 3 business day(s) ahead")
    assert len(result.stderr.strip().splitlines()) == 1
    assert counts(engine) == (0, 0, 0) and not (tmp_path / "a.xml").exists()


def test_creditor_id_failing_mod_97_is_refused(cli, engine, tmp_path):
    seed(engine)
    env = {**SEPA_ENV, "ANBI_SEPA_CREDITOR_ID": "NL34ZZZ140946600000"}
    result = cli("sepa", "batch", "--collection-date", collection_day().isoformat(), "--out", str(tmp_path / "a.xml"), env=env)
    assert result.exit_code == 1
    assert "creditor id 'NL34ZZZ140946600000' fails the Mod 97 check" in result.stderr
    assert counts(engine) == (0, 0, 0) and not (tmp_path / "a.xml").exists()


def test_a_mandate_with_a_wrong_iban_stops_the_batch_naming_it(cli, engine, tmp_path):
    ids = seed(engine)
    with Session(engine) as session:
        session.get_one(Mandate, ids["mandate"]).iban = "NL20INGB0001234568"
        session.commit()
    result = cli("sepa", "batch", "--collection-date", collection_day().isoformat(), "--out", str(tmp_path / "a.xml"), env=SEPA_ENV)
    assert result.exit_code == 1
    assert "mandate MDT-1 iban" in result.stderr and "not valid" in result.stderr
    assert counts(engine) == (0, 0, 0) and not (tmp_path / "a.xml").exists()


def test_the_batch_lists_each_gift_it_left_out_with_its_reason(cli, engine, tmp_path):
    seed(engine)
    with Session(engine) as session:
        donor = make_donor(session, ref="D4")
        mandate = make_mandate(session, donor=donor, mandate_id="MDT-4", status="revoked")
        make_recurring(session, donor=donor, mandate=mandate, reference="RG-4", start_date=today() - dt.timedelta(days=20))
        failing = session.execute(select(RecurringGift).where(RecurringGift.reference == "RG-3")).scalar_one()
        failing.status, failing.status_reason = "failing", "failing: AM04 (insufficient funds) on 2026-01-05"
        paused_donor = make_donor(session, ref="D5")
        make_recurring(session, donor=paused_donor, reference="RG-5", status="paused",
                       status_reason="paused: MS02 (refused by the debtor) on 2026-01-08; ask the donor whether to go on",
                       mandate=make_mandate(session, donor=paused_donor, mandate_id="MDT-5"))
        session.commit()
    result = cli("sepa", "batch", "--collection-date", collection_day().isoformat(), "--out", str(tmp_path / "a.xml"),
                 env=SEPA_ENV)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Wrote ") and "3 collection(s)" in lines[0]      # the failing gift is collected: the retry
    assert lines[1:] == [
        "Not collected: 1 mandate revoked, 1 paused",
        "Left out, to follow up (2):",
        "  RG-4 (donor D4): mandate MDT-4 is revoked",
        "  RG-5 (donor D5): paused: MS02 (refused by the debtor) on 2026-01-08; ask the donor whether to go on",
    ]


def test_a_collection_the_lock_did_not_stop_is_refused_by_the_schema_in_one_line(cli, engine, tmp_path, monkeypatch):
    """The second guarantee alone: without the lock and blind to what was collected,
    a second run for the period is stopped by the unique index; nothing is written."""
    from exports.sepa import batch as sepa_batch

    seed(engine)
    day = collection_day()
    assert cli("sepa", "batch", "--collection-date", day.isoformat(), "--out", str(tmp_path / "a.xml"), env=SEPA_ENV).exit_code == 0
    before = counts(engine)
    monkeypatch.setattr(sepa_batch.locks, "hold", lambda *args, **kwargs: None)
    monkeypatch.setattr(sepa_batch, "_collected_periods", lambda session, day: {})
    again = cli("sepa", "batch", "--collection-date", day.isoformat(), "--out", str(tmp_path / "b.xml"), env=SEPA_ENV)
    assert again.exit_code == 1
    assert again.stderr == ("error: another SEPA batch collected some of these gifts for this period at the same time; "
                            "nothing was written: run the batch again to collect what is left\n")
    assert counts(engine) == before and not (tmp_path / "b.xml").exists()
