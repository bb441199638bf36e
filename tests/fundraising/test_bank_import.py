"""`anbi bank import | unmatched | assign` on both databases: transfers become
donations, collections are confirmed, R-transactions undo what they should, a
statement imported again is a no-op, and bad files write nothing."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fundraising.bank import booking as bank_import, camt_writer as w
from fundraising.bank.camt import CamtLine
from fundraising.models import Donation, DonationAdjustment, Mandate, PeriodicAgreement, RecurringGift
from fundraising.models_ledger import BankLine, BankStatement, SepaCollection, StripePayout
from donors.models import Donor
from exports.sepa.batch import run_batch
from tests.factories import make_agreement, make_campaign, make_donor, make_mandate, make_recurring

D = dt.date
ACCOUNT = "NL91ABNA0417164300"
SEPA = {"creditor_id": "NL33ZZZ140946600000", "name": "Stichting Voorbeeld", "iban": ACCOUNT, "bic": "ABNANL2A"}
COLLECT_ON = D(2025, 3, 5)   # a Wednesday
SHARED = Path(__file__).parents[3] / "shared" / "fixtures" / "camt"


def seed(engine) -> dict:
    """Three SEPA donors (one with an agreement), a donor who transfers, a campaign, and
    a collection batch on 5 March 2025 recorded as pending donations."""
    with Session(engine) as session:
        make_campaign(session, code="VOORJAAR", name="Voorjaarsactie")
        transferer = make_donor(session, ref="D100", iban="NL20INGB0001234567")
        named = make_donor(session, ref="D200")
        refs = {}
        for number, iban in ((1, "NL02ABNA0123456789"), (2, "NL69INGB0123456789"), (3, "NL44RABO0123456789")):
            donor = make_donor(session, ref=f"S{number}")
            mandate = make_mandate(session, donor=donor, mandate_id=f"MDT-{number}", iban=iban, signed_on=D(2024, 1, 1))
            agreement = make_agreement(session, donor=donor, number=f"PG-2024-{number:04d}") if number == 3 else None
            gift = make_recurring(session, donor=donor, mandate=mandate, reference=f"RG-{number}",
                                  amount=f"{10 * number}.00", start_date=D(2024, 1, 1), agreement=agreement)
            refs[number] = gift.id
        result = run_batch(session, SEPA, collection_date=COLLECT_ON, actor="tester", file_name="batch.xml",
                           today=D(2025, 3, 1))
        session.commit()
        assert result.count == 3
        e2e = {number: f"SDD-20250305-{gift_id}" for number, gift_id in refs.items()}
        info = session.scalar(select(SepaCollection.payment_info_id).limit(1))
        return {"e2e": e2e, "gifts": refs, "payment_info": info, "transferer": transferer.id, "named": named.id}


def statement(entries, statement_id="2025-03", version="02") -> bytes:
    return w.render(w.StatementSpec(ACCOUNT, statement_id, 100000, entries), version=version)


def collection(e2e, cents, number):
    return w.Transaction(cents, e2e, f"MDT-{number}", f"Donor {number}", None, "gift")


def write(tmp_path: Path, data: bytes, name="statement.xml") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def donation(session, reference) -> Donation:
    return session.scalar(select(Donation).where(Donation.reference == reference))


def test_transfers_collections_and_returns(cli, engine, tmp_path):
    ids = seed(engine)
    e2e = ids["e2e"]
    data = statement([
        w.transfer(D(2025, 3, 3), 2500, name="A. Jansen", iban="NL20INGB0001234567", remittance="maandgift"),
        w.transfer(D(2025, 3, 3), 5000, name="Onbekend", iban="NL18RABO0123459876", remittance="Gift D200 voorjaar VOORJAAR"),
        w.transfer(D(2025, 3, 4), 777, name="Iemand", iban="NL39RABO0300065264", remittance="voor jullie werk"),
        w.collection_batch(D(2025, 3, 5), ids["payment_info"], [
            collection(e2e[1], 1000, 1), collection(e2e[2], 2000, 2), collection(e2e[3], 3000, 3)]),
        # Returned the day it was booked: it never settled.
        w.returned(D(2025, 3, 5), w.Transaction(1000, e2e[1], "MDT-1", "Donor 1", None, None, "AM04")),
        # Refund request after settlement, and a deceased debtor.
        w.returned(D(2025, 3, 20), w.Transaction(2000, e2e[2], "MDT-2", "Donor 2", None, None, "MD06")),
        w.returned(D(2025, 3, 10), w.Transaction(3000, e2e[3], "MDT-3", "Donor 3", None, None, "MD07")),
        w.Entry(D(2025, 3, 6), "debit", [w.Transaction(12000, None, None, "Drukkerij", "NL86INGB0002445588", "factuur 12")]),
    ])
    result = cli("bank", "import", str(write(tmp_path, data)), "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["lines"] == 10 and summary["already_imported"] == 0
    assert (summary["donations"], summary["donations_total"]) == (2, "75.00")
    # The one returned the same day is not confirmed: it failed before it settled.
    assert (summary["collections_confirmed"], summary["collections_returned"], summary["refunds"]) == (2, 2, 1)
    assert (summary["unmatched"], summary["ignored"], summary["deceased_reported"]) == (1, 1, ["S3"])

    with Session(engine) as session:
        by_iban = session.execute(select(Donation).where(Donation.source == "bank", Donation.amount_cents == 2500)).scalar_one()
        assert (by_iban.donor_id, by_iban.received_on, by_iban.status, by_iban.method) == (
            ids["transferer"], D(2025, 3, 3), "paid", "bank_transfer")
        by_ref = session.execute(select(Donation).where(Donation.source == "bank", Donation.amount_cents == 5000)).scalar_one()
        assert by_ref.campaign is not None
        assert by_ref.donor_id == ids["named"] and by_ref.campaign.code == "VOORJAAR"

        first, second, third = (donation(session, e2e[n]) for n in (1, 2, 3))
        # Returned the same day, before it settled: failed, nothing taken back.
        assert (first.status, first.received_on) == ("failed", D(2025, 3, 5))
        [returned] = first.adjustments
        assert (returned.kind, returned.reason_code, returned.occurred_on, returned.taken_back_cents) == (
            "reversal", "AM04", D(2025, 3, 5), 0)
        # Settled on 5 March, refunded on the donor's request on 20 March.
        assert (second.status, second.received_on) == ("refunded", D(2025, 3, 5))
        [refund] = second.adjustments
        assert (refund.kind, refund.reason_code, refund.occurred_on, refund.taken_back_cents) == ("refund", "MD06", D(2025, 3, 20), 2000)
        assert third.status == "refunded" and third.adjustments[0].reason_code == "MD07"

        gifts = {g.id: g for g in session.scalars(select(RecurringGift))}
        assert gifts[ids["gifts"][1]].failed_attempts == 1
        assert gifts[ids["gifts"][2]].failed_attempts == 0   # a refund is not a failed collection
        assert gifts[ids["gifts"][3]].status == "cancelled" and gifts[ids["gifts"][3]].end_date == D(2025, 3, 10)
        deceased = session.execute(select(Donor).where(Donor.ref == "S3")).scalar_one()
        assert deceased.deceased_on == D(2025, 3, 10) and "MD07" in (deceased.notes or "")
        agreement = session.execute(select(PeriodicAgreement).where(PeriodicAgreement.number == "PG-2024-0003")).scalar_one()
        assert (agreement.status, agreement.end_reason, agreement.end_date) == ("ended", "death", D(2025, 3, 10))
        assert session.scalar(select(Mandate.status).where(Mandate.mandate_id == "MDT-3")) == "revoked"
        assert session.scalar(select(Mandate.last_collected_on).where(Mandate.mandate_id == "MDT-2")) == D(2025, 3, 5)

        lines = session.scalars(select(BankLine).order_by(BankLine.id)).all()
        assert {line.kind for line in lines} == {"transfer", "collection", "return", "outgoing"}
        outgoing = [line for line in lines if line.kind == "outgoing"]
        assert [(line.state, line.amount_cents) for line in outgoing] == [("ignored", 12000)]

    unmatched = json.loads(cli("bank", "unmatched", "--json").stdout)
    assert [(u["amount"], u["iban"], u["text"], u["note"]) for u in unmatched] == [
        ("7.77", "NL39RABO0300065264", "voor jullie werk", "payer unknown")]


def test_the_same_statement_again_changes_nothing(cli, engine, tmp_path):
    ids = seed(engine)
    data = statement([
        w.transfer(D(2025, 3, 3), 2500, name="A. Jansen", iban="NL20INGB0001234567", remittance="gift"),
        w.collection_batch(D(2025, 3, 5), ids["payment_info"], [collection(ids["e2e"][1], 1000, 1)]),
        w.returned(D(2025, 3, 12), w.Transaction(1000, ids["e2e"][1], "MDT-1", "Donor 1", None, None, "AM04")),
    ])
    path = write(tmp_path, data)
    assert cli("bank", "import", str(path)).exit_code == 0

    def snapshot():
        with Session(engine) as session:
            return tuple(session.scalar(select(func.count()).select_from(model))
                         for model in (Donation, DonationAdjustment, BankLine, BankStatement))
    before = snapshot()
    again = cli("bank", "import", str(path))
    assert again.exit_code == 0, again.stderr
    assert "0 new, 3 imported before" in again.stdout
    assert snapshot() == before


def test_a_batch_booked_as_one_amount_confirms_its_collections(cli, engine, tmp_path):
    ids = seed(engine)
    whole = w.Entry(D(2025, 3, 5), "credit", [w.Transaction(6000, None, None, None, None, None)], w.COLLECTION,
                    batch_payment_info_id=ids["payment_info"])
    result = cli("bank", "import", str(write(tmp_path, statement([whole]))), "--json")
    assert json.loads(result.stdout)["collections_confirmed"] == 3
    with Session(engine) as session:
        assert {d.status for d in session.scalars(select(Donation))} == {"paid"}


def test_a_batch_whose_total_differs_is_not_confirmed(cli, engine, tmp_path):
    ids = seed(engine)
    whole = w.Entry(D(2025, 3, 5), "credit", [w.Transaction(5999, None, None, None, None, None)], w.COLLECTION,
                    batch_payment_info_id=ids["payment_info"])
    summary = json.loads(cli("bank", "import", str(write(tmp_path, statement([whole]))), "--json").stdout)
    assert (summary["collections_confirmed"], summary["unmatched"]) == (0, 1)
    with Session(engine) as session:
        assert {d.status for d in session.scalars(select(Donation))} == {"pending"}


def test_a_stripe_payout_line_is_matched_to_its_payout(cli, engine, tmp_path):
    with Session(engine) as session:
        session.add(StripePayout(payout_id="po_1ABC", amount_cents=9450, currency="EUR", arrival_date=D(2025, 3, 4),
                                 created_on=D(2025, 3, 2), status="paid"))
        session.add(StripePayout(payout_id="po_2DEF", amount_cents=3000, currency="EUR", arrival_date=D(2025, 3, 6),
                                 created_on=D(2025, 3, 4), status="paid"))
        session.commit()
    data = statement([
        w.transfer(D(2025, 3, 4), 9450, name="Stripe Payments Europe", iban="IE13CITI99005156781099", remittance="STRIPE po_1ABC"),
        w.transfer(D(2025, 3, 7), 3000, name="STRIPE", iban="IE13CITI99005156781099", remittance="STRIPE PAYOUT"),
        w.transfer(D(2025, 3, 7), 4100, name="STRIPE", iban="IE13CITI99005156781099", remittance="STRIPE PAYOUT"),
    ])
    summary = json.loads(cli("bank", "import", str(write(tmp_path, data)), "--json").stdout)
    assert (summary["payouts_matched"], summary["unmatched"], summary["donations"]) == (2, 1, 0)
    with Session(engine) as session:
        matched = dict(session.execute(select(StripePayout.payout_id, BankLine.amount_cents)
                                       .join(BankLine, BankLine.payout_id == StripePayout.id)).all())
        assert matched == {"po_1ABC": 9450, "po_2DEF": 3000}


def test_unmatched_line_is_assigned_by_hand(cli, engine, tmp_path):
    seed(engine)
    data = statement([w.transfer(D(2025, 3, 4), 777, name="Iemand", iban="NL39RABO0300065264", remittance="voor jullie werk")])
    cli("bank", "import", str(write(tmp_path, data)))
    [line] = json.loads(cli("bank", "unmatched", "--json").stdout)
    result = cli("bank", "assign", str(line["id"]), "D100", "--campaign", "VOORJAAR")
    assert result.exit_code == 0, result.stderr
    assert "booked as a donation of D100: € 7,77 on 2025-03-04" in result.stdout
    with Session(engine) as session:
        gift = session.execute(select(Donation).where(Donation.source == "bank")).scalar_one()
        assert gift.donor is not None and gift.campaign is not None
        assert (gift.donor.ref, gift.campaign.code, gift.amount_cents, gift.received_on) == ("D100", "VOORJAAR", 777, D(2025, 3, 4))
        assert session.get_one(BankLine, line["id"]).state == "matched"
    assert json.loads(cli("bank", "unmatched", "--json").stdout) == []
    again = cli("bank", "assign", str(line["id"]), "D100")
    assert again.exit_code == 1 and "only an unmatched line can be assigned" in again.stderr


def test_assign_refuses_unknown_line_donor_or_campaign(cli, engine, tmp_path):
    seed(engine)
    cli("bank", "import", str(write(tmp_path, statement([
        w.transfer(D(2025, 3, 4), 777, name="Iemand", iban="NL39RABO0300065264", remittance="x")]))))
    [line] = json.loads(cli("bank", "unmatched", "--json").stdout)
    assert "bank line 999999 does not exist" in cli("bank", "assign", "999999", "D100").stderr
    assert "no donor with ref 'NOBODY'" in cli("bank", "assign", str(line["id"]), "NOBODY").stderr
    assert "campaign 'NOPE' does not exist" in cli("bank", "assign", str(line["id"]), "D100", "--campaign", "NOPE").stderr
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Donation).where(Donation.source == "bank")) == 0


def _nothing_written(engine):
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(BankStatement)) == 0
        assert session.scalar(select(func.count()).select_from(BankLine)) == 0


def test_a_file_failing_the_schema_is_refused_and_nothing_is_written(cli, engine, tmp_path):
    data = statement([w.transfer(D(2025, 3, 4), 777, name="A", iban="NL39RABO0300065264", remittance="x")])
    broken = data.replace(b"<CdtDbtInd>CRDT</CdtDbtInd><Sts>", b"<CdtDbtInd>CREDIT</CdtDbtInd><Sts>")
    result = cli("bank", "import", str(write(tmp_path, broken)))
    assert result.exit_code == 1
    assert "statement.xml: line 2, column CdtDbtInd: fails the camt.053.001.02 schema" in result.stderr
    _nothing_written(engine)


def test_the_swiss_sample_is_refused(cli, engine):
    path = SHARED / "oca_test-camt053-txdtls.camt053.001.04.xml"
    if not path.exists():
        pytest.skip(f"AGPL sample read from {SHARED}, which is not present")
    result = cli("bank", "import", str(path))
    assert result.exit_code == 1
    assert "2 problems, nothing was written" in result.stderr and "line 171, column Ctry" in result.stderr
    _nothing_written(engine)


def test_a_truncated_or_non_xml_file_is_refused(cli, engine, tmp_path):
    data = statement([w.transfer(D(2025, 3, 4), 777, name="A", iban="NL39RABO0300065264", remittance="x")])
    truncated = cli("bank", "import", str(write(tmp_path, data[:400], "half.xml")))
    assert truncated.exit_code == 1 and "not well-formed XML" in truncated.stderr and "truncated" in truncated.stderr
    not_xml = cli("bank", "import", str(write(tmp_path, b"%PDF-1.4 not a statement", "scan.pdf")))
    assert not_xml.exit_code == 1 and "scan.pdf: line 1: not well-formed XML" in not_xml.stderr
    missing = cli("bank", "import", str(tmp_path / "nope.xml"))
    assert missing.exit_code == 1 and "cannot read the file" in missing.stderr
    _nothing_written(engine)


def test_the_dutch_sample_imports_its_returns_as_unmatched(cli, engine):
    path = SHARED / "oca_test-camt053.camt053.001.02.xml"
    if not path.exists():
        pytest.skip(f"AGPL sample read from {SHARED}, which is not present")
    summary = json.loads(cli("bank", "import", str(path), "--json").stdout)
    # Two returns of collections that are not ours, one insurance debit, one credit from an unknown payer.
    assert (summary["lines"], summary["unmatched"], summary["ignored"], summary["donations"]) == (4, 3, 1, 0)


# --- the decision, without a database ---------------------------------------------------------

def line(**fields) -> CamtLine:
    values: dict[str, Any] = dict(key="k", account_iban=ACCOUNT, booking_date=D(2025, 3, 5), value_date=None, amount_cents=1000,
                  currency="EUR", direction="credit", reversal=False, status="BOOK", bank_code="PMNT/RCDT/ESCT")
    values.update(fields)
    return CamtLine(**values)


def test_decide_prefers_a_donor_named_in_the_text_over_the_iban():
    known = bank_import.Known(donors_by_ref={"D1": 1, "D2": 2}, donors_by_iban={"NL20INGB0001234567": {2}},
                              campaigns={"VOORJAAR": 7})
    decision = bank_import.decide(line(counterparty_iban="NL20INGB0001234567", remittance="gift d1 voorjaar"), known)
    assert (decision.action, decision.donor_id, decision.campaign_id) == ("donation", 1, 7)
    two = bank_import.decide(line(remittance="D1 and D2"), known)
    assert (two.state, two.note) == ("unmatched", "the text names more than one donor")
    shared_iban = bank_import.Known(donors_by_iban={"NL20INGB0001234567": {1, 2}})
    assert bank_import.decide(line(counterparty_iban="NL20INGB0001234567"), shared_iban).state == "unmatched"


def test_decide_returns_and_refunds():
    known = bank_import.Known(collections={"E1": bank_import.Collection(5, 1000, "paid"),
                                           "E2": bank_import.Collection(6, 1000, "pending")})
    refund = bank_import.decide(line(direction="debit", reversal=True, end_to_end_id="E1", return_reason="MD06"), known)
    assert (refund.action, refund.adjustment_kind) == ("return", "refund")
    early = bank_import.decide(line(direction="debit", end_to_end_id="E2", return_reason="MD06", bank_code="PMNT/IDDT/UPDD"), known)
    assert early.adjustment_kind == "reversal"  # not settled yet: a pending collection cannot be refunded
    unknown = bank_import.decide(line(direction="debit", reversal=True, end_to_end_id="X", return_reason="AC04"), known)
    assert (unknown.kind, unknown.state) == ("return", "unmatched")
    pending = bank_import.decide(line(status="PDNG"), known)
    assert pending.state == "ignored"


def test_a_purge_forgets_the_payer_on_the_donors_bank_lines(cli, engine, tmp_path):
    from donors import privacy
    from fundraising.bank.privacy import forget_bank_lines

    assert forget_bank_lines in privacy.AFTER_PURGE  # registered when `anbi` starts
    seed(engine)
    cli("bank", "import", str(write(tmp_path, statement([
        w.transfer(D(2025, 3, 3), 2500, name="A. Jansen", iban="NL20INGB0001234567", remittance="gift van Anna"),
        w.transfer(D(2025, 3, 3), 700, name="Iemand", iban="NL39RABO0300065264", remittance="x")]))))
    with Session(engine) as session:
        donor = session.execute(select(Donor).where(Donor.ref == "D100")).scalar_one()
        forget_bank_lines(session, [privacy.PurgedDonor(id=donor.id, ref="D100")])
        session.commit()
        lines = {line.amount_cents: line for line in session.scalars(select(BankLine))}
        assert (lines[2500].counterparty_name, lines[2500].counterparty_iban, lines[2500].remittance) == (None, None, None)
        assert lines[2500].booking_date == D(2025, 3, 3)  # the books keep date and amount
        assert lines[700].counterparty_name == "Iemand"  # another payer's line is untouched


# --- the bulk write path: what must come out the same whichever way rows are written ----------

def test_each_line_points_at_its_own_donation_and_texts_are_kept_as_written(cli, engine, tmp_path):
    seed(engine)
    odd = 'gift \\ for "50%" of\tit, D200\'s'
    data = statement([
        # Twice the same gift from the same payer on the same day: two lines, two donations.
        w.transfer(D(2025, 3, 3), 2500, name="A. Jansen", iban="NL20INGB0001234567", remittance="maandgift"),
        w.transfer(D(2025, 3, 3), 2500, name="A. Jansen", iban="NL20INGB0001234567", remittance="maandgift"),
        w.transfer(D(2025, 3, 4), 1200, name='O\'Brien \\ "Co"', iban="NL39RABO0300065264", remittance=odd),
        w.transfer(D(2025, 3, 4), 900, name="Iemand", iban="NL18RABO0123459876", remittance="\\N"),
    ])
    summary = json.loads(cli("bank", "import", str(write(tmp_path, data)), "--json").stdout)
    assert (summary["donations"], summary["donations_total"], summary["unmatched"]) == (3, "62.00", 1)
    with Session(engine) as session:
        lines = session.scalars(select(BankLine).order_by(BankLine.id)).all()
        assert len({line.key for line in lines}) == 4
        booked = [line for line in lines if line.donation_id is not None]
        assert len(booked) == 3 and len({line.donation_id for line in booked}) == 3
        for line in booked:
            gift = session.get_one(Donation, line.donation_id)
            assert (gift.reference, gift.amount_cents, gift.received_on) == (line.key, line.amount_cents, line.booking_date)
        by_text = {line.amount_cents: line for line in lines}
        assert by_text[1200].remittance == odd and by_text[1200].counterparty_name == 'O\'Brien \\ "Co"'
        odd_gift = session.get_one(Donation, by_text[1200].donation_id)
        assert odd_gift.donor is not None and odd_gift.donor.ref == "D200"
        assert by_text[900].remittance == "\\N" and by_text[900].state == "unmatched"   # text, not NULL
        assert by_text[900].value_date is not None and by_text[900].reversal is False
        assert by_text[900].created_at.tzinfo is not None
        gift = session.get_one(Donation, by_text[2500].donation_id)
        assert gift.created_at.tzinfo is not None and gift.flag is None and gift.status == "paid"


def test_a_second_statement_books_its_own_donations_after_the_first(cli, engine, tmp_path):
    seed(engine)
    first = statement([w.transfer(D(2025, 3, 3), 2500, name="A. Jansen", iban="NL20INGB0001234567", remittance="a")],
                      statement_id="2025-03")
    second = statement([
        w.transfer(D(2025, 4, 3), 2600, name="A. Jansen", iban="NL20INGB0001234567", remittance="b"),
        w.transfer(D(2025, 4, 4), 2700, name="A. Jansen", iban="NL20INGB0001234567", remittance="c D200"),
    ], statement_id="2025-04")
    assert cli("bank", "import", str(write(tmp_path, first, "first.xml"))).exit_code == 0
    result = cli("bank", "import", str(write(tmp_path, second, "second.xml")), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["donations"] == 2
    with Session(engine) as session:
        pairs = session.execute(select(BankLine.amount_cents, Donation.amount_cents, Donor.ref)
                                .join(Donation, Donation.id == BankLine.donation_id)
                                .join(Donor, Donor.id == Donation.donor_id).order_by(BankLine.id)).all()
        assert pairs == [(2500, 2500, "D100"), (2600, 2600, "D100"), (2700, 2700, "D200")]


def test_the_import_leaves_the_connection_as_it_found_it(engine, backend):
    seed(engine)
    data = statement([w.transfer(D(2025, 3, 3), 2500, name="A. Jansen", iban="NL20INGB0001234567", remittance="a")])
    with Session(engine) as session:
        if backend == "sqlite":
            before = session.connection().exec_driver_sql("PRAGMA cache_size").scalar()
        summary = bank_import.import_statement(session, data, name="s.xml", actor="tester")
        assert summary.donations == 1
        if backend == "sqlite":   # a larger page cache while writing, the usual one after
            assert session.connection().exec_driver_sql("PRAGMA cache_size").scalar() == before
        session.commit()


def test_a_collection_and_a_transfer_of_the_same_donor_in_one_file(cli, engine, tmp_path):
    ids = seed(engine)
    e2e = ids["e2e"]
    data = statement([
        # S1's collection booked on its own, and a gift S1 transferred from the mandate's account.
        w.Entry(D(2025, 3, 5), "credit", [collection(e2e[1], 1000, 1)], w.COLLECTION),
        w.transfer(D(2025, 3, 5), 4000, name="Donor 1", iban="NL02ABNA0123456789", remittance="extra gift"),
    ])
    path = write(tmp_path, data)
    summary = json.loads(cli("bank", "import", str(path), "--json").stdout)
    assert (summary["collections_confirmed"], summary["donations"], summary["donations_total"]) == (1, 1, "40.00")
    with Session(engine) as session:
        collected = donation(session, e2e[1])
        assert (collected.source, collected.status, collected.received_on, collected.amount_cents) == (
            "sepa", "paid", D(2025, 3, 5), 1000)
        transferred = session.execute(select(Donation).where(Donation.source == "bank")).scalar_one()
        assert (transferred.donor_id, transferred.amount_cents, transferred.status) == (collected.donor_id, 4000, "paid")
        lines = {line.amount_cents: line for line in session.scalars(select(BankLine))}
        assert (lines[1000].kind, lines[1000].donation_id) == ("collection", collected.id)
        assert (lines[4000].kind, lines[4000].donation_id, lines[4000].note) == (
            "transfer", transferred.id, "donor found by IBAN")
        assert session.scalar(select(Mandate.last_collected_on).where(Mandate.mandate_id == "MDT-1")) == D(2025, 3, 5)
    again = json.loads(cli("bank", "import", str(path), "--json").stdout)
    assert (again["already_imported"], again["donations"], again["collections_confirmed"]) == (2, 0, 0)


def test_two_equal_entries_from_one_new_payer_are_two_lines(cli, engine, tmp_path):
    seed(engine)
    unknown = w.transfer(D(2025, 3, 4), 1500, name="Nieuw", iban="NL39RABO0300065264", remittance="gift")
    naming = w.transfer(D(2025, 3, 4), 2000, name="Nieuw", iban="NL39RABO0300065264", remittance="gift D200")
    path = write(tmp_path, statement([unknown, naming, unknown, naming]))
    summary = json.loads(cli("bank", "import", str(path), "--json").stdout)
    assert (summary["lines"], summary["unmatched"], summary["donations"], summary["donations_total"]) == (4, 2, 2, "40.00")
    review = json.loads(cli("bank", "unmatched", "--json").stdout)
    assert [(u["amount"], u["iban"], u["note"]) for u in review] == [
        ("15.00", "NL39RABO0300065264", "payer unknown"), ("15.00", "NL39RABO0300065264", "payer unknown")]
    with Session(engine) as session:
        gifts = session.scalars(select(Donation).where(Donation.source == "bank")).all()
        assert [(g.donor and g.donor.ref, g.amount_cents) for g in gifts] == [("D200", 2000), ("D200", 2000)]
        assert len({g.reference for g in gifts}) == 2
    # One of the two is assigned by hand; importing the file again books neither twice.
    assert cli("bank", "assign", str(review[0]["id"]), "D100").exit_code == 0
    again = json.loads(cli("bank", "import", str(path), "--json").stdout)
    assert (again["already_imported"], again["donations"], again["unmatched"]) == (4, 0, 0)
    assert len(json.loads(cli("bank", "unmatched", "--json").stdout)) == 1
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Donation).where(Donation.source == "bank")) == 3


def test_a_statement_that_grew_books_only_its_new_entries(cli, engine, tmp_path):
    seed(engine)
    first = w.transfer(D(2025, 3, 3), 2500, name="A. Jansen", iban="NL20INGB0001234567", remittance="maart")
    later = w.transfer(D(2025, 3, 10), 2500, name="A. Jansen", iban="NL20INGB0001234567", remittance="maart")
    assert cli("bank", "import", str(write(tmp_path, statement([first]), "day1.xml"))).exit_code == 0
    summary = json.loads(cli("bank", "import", str(write(tmp_path, statement([first, later, first]), "day2.xml")),
                             "--json").stdout)
    assert (summary["lines"], summary["already_imported"], summary["donations"]) == (3, 1, 2)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(BankStatement)) == 1
        days = session.scalars(select(Donation.received_on).where(Donation.source == "bank").order_by(Donation.id)).all()
        assert days == [D(2025, 3, 3), D(2025, 3, 3), D(2025, 3, 10)]


def test_lines_find_their_donations_when_ids_are_handed_out_below_existing_ones(cli, engine, tmp_path):
    from tests.factories import make_donation

    seed(engine)
    with Session(engine) as session:
        # A row written with its own id, above what the sequence hands out next (on
        # PostgreSQL; SQLite's next rowid is above it anyway).
        make_donation(session, id=10_000_000, reference="HIGH-1")
        session.commit()
    data = statement([
        w.transfer(D(2025, 3, 3), 2500, name="A. Jansen", iban="NL20INGB0001234567", remittance="a"),
        w.transfer(D(2025, 3, 4), 2600, name="B", iban="NL39RABO0300065264", remittance="b D200"),
    ])
    assert json.loads(cli("bank", "import", str(write(tmp_path, data)), "--json").stdout)["donations"] == 2
    with Session(engine) as session:
        pairs = session.execute(select(BankLine.key, Donation.reference, Donation.amount_cents)
                                .join(Donation, Donation.id == BankLine.donation_id).order_by(BankLine.id)).all()
        assert [(reference == key, cents) for key, reference, cents in pairs] == [(True, 2500), (True, 2600)]


def test_confirmed_collections_move_the_mandate_date_forward_never_back(engine):
    ids = seed(engine)
    e2e = ids["e2e"]
    with Session(engine) as session:
        session.execute(select(Mandate).where(Mandate.mandate_id == "MDT-1")).scalar_one().last_collected_on = D(2025, 4, 1)
        session.commit()
    data = statement([w.collection_batch(D(2025, 3, 5), ids["payment_info"], [
        collection(e2e[1], 1000, 1), collection(e2e[2], 2000, 2), collection(e2e[3], 3000, 3)])])
    with Session(engine) as session:
        held = session.execute(select(Mandate).where(Mandate.mandate_id == "MDT-2")).scalar_one()   # read before the import
        assert held.last_collected_on is None
        summary = bank_import.import_statement(session, data, name="s.xml", actor="tester")
        assert summary.confirmed == 3
        assert held.last_collected_on == D(2025, 3, 5)   # the session does not keep the old date
        session.commit()
    with Session(engine) as session:
        dates = dict(session.execute(select(Mandate.mandate_id, Mandate.last_collected_on)).all())
        assert dates == {"MDT-1": D(2025, 4, 1), "MDT-2": D(2025, 3, 5), "MDT-3": D(2025, 3, 5)}
        assert {d.status for d in session.scalars(select(Donation).where(Donation.source == "sepa"))} == {"paid"}
