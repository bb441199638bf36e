"""`anbi donations import` at the service level: validated whole, idempotent on
reference, refunds on the gift's own date, warnings for gifts outside an agreement."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from anbi.core.errors import InvalidInput
from fundraising.imports.donations import import_donations
from fundraising.models import Donation, DonationAdjustment, Fund
from tests.factories import make_agreement, make_campaign, make_donor, make_fund

D = dt.date
HEADER = "reference,donor_ref,date,amount,currency,method,campaign,fund,kind,consideration,agreement,refunded"


def csv(*lines: str) -> bytes:
    return ("\n".join((HEADER,) + lines) + "\n").encode()


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def world(session):
    donor = make_donor(session, ref="D1")
    other = make_donor(session, ref="D2")
    make_campaign(session, code="SPRING")
    make_fund(session, code="EDUCATION")
    make_agreement(session, donor=donor, number="PG-1", start_date="2025-01-01", signed_on="2024-12-15", years=5)
    make_agreement(session, donor=other, number="PG-2", start_date="2025-01-01", signed_on="2024-12-15", years=5)
    return donor, other


def test_a_file_of_every_kind_is_imported(session, world):
    _donor, _other = world
    summary = import_donations(session, csv(
        "G1,D1,2025-01-05,50,,sepa_debit,SPRING,,gift,,PG-1,",
        "G2,D2,05-02-2025,\"1.250,00\",EUR,bank_transfer,,EDUCATION,gift,,,250",
        "G3,,2025-02-06,10,,cash,SPRING,,,,,",
        "G4,D1,2025-03-01,40,,card,,,purchase,,,",
        "G5,D1,2025-03-02,150,,ideal,,,purchase,90,,",
        "G6,D2,2025-03-03,5,,other,,NEW-FUND,lottery,,,",
        "G7,D2,2025-03-04,20,USD,card,,,,,,",
    ), actor="tester", name="donations.csv")
    assert (summary.created, summary.unchanged, summary.refunds) == (7, 0, 1)
    assert summary.created_cents == {"EUR": 5000 + 125000 + 1000 + 4000 + 15000 + 500, "USD": 2000}
    assert summary.funds_created == ["NEW-FUND"]
    assert [(w.line, w.field) for w in summary.warnings] == [(8, "currency")]

    rows = {d.reference: d for d in session.scalars(select(Donation))}
    assert rows["G1"].agreement.number == "PG-1" and rows["G1"].campaign.code == "SPRING"
    assert (rows["G2"].amount_cents, rows["G2"].received_on, rows["G2"].status, rows["G2"].fund.code) == (
        125000, D(2025, 2, 5), "partially_refunded", "EDUCATION")
    assert rows["G3"].donor_id is None and rows["G3"].method == "cash"
    assert (rows["G4"].kind, rows["G4"].consideration_cents) == ("purchase", 4000)  # no consideration given: all of it
    assert rows["G5"].consideration_cents == 9000
    assert (rows["G6"].kind, rows["G6"].fund.code) == ("lottery", "NEW-FUND")
    assert (rows["G7"].currency, rows["G7"].flag) == ("USD", "currency USD: not included in EUR totals")
    assert {d.source for d in rows.values()} == {"import"}
    [refund] = session.scalars(select(DonationAdjustment)).all()
    assert (refund.donation_id, refund.kind, refund.amount_cents, refund.taken_back_cents, refund.occurred_on, refund.reference) == (
        rows["G2"].id, "refund", 25000, 25000, D(2025, 2, 5), "G2:refunded")
    assert count(session, Fund) == 2


def test_a_full_refund_makes_the_gift_refunded(session, world):
    import_donations(session, csv("G1,D1,2025-01-05,50,,ideal,,,,,,50"), actor="tester", name="donations.csv")
    assert session.scalar(select(Donation.status)) == "refunded"


def test_the_same_file_again_changes_nothing(session, world):
    data = csv("G1,D1,2025-01-05,50,,ideal,SPRING,NEW-FUND,,,,10", "G2,,2025-01-06,5,,cash,,,,,,")
    import_donations(session, data, actor="tester", name="donations.csv")
    summary = import_donations(session, data, actor="tester", name="donations.csv")
    assert (summary.created, summary.unchanged, summary.refunds, summary.funds_created) == (0, 2, 0, [])
    assert (count(session, Donation), count(session, DonationAdjustment), count(session, Fund)) == (2, 1, 2)


def test_a_refund_added_later_is_recorded_once(session, world):
    import_donations(session, csv("G1,D1,2025-01-05,50,,ideal,,,,,,"), actor="tester", name="donations.csv")
    summary = import_donations(session, csv("G1,D1,2025-01-05,50,,ideal,,,,,,20"), actor="tester", name="donations.csv")
    assert (summary.created, summary.unchanged, summary.refunds) == (0, 0, 1)
    donation = session.scalar(select(Donation))
    assert donation.status == "partially_refunded"
    again = import_donations(session, csv("G1,D1,2025-01-05,50,,ideal,,,,,,20"), actor="tester", name="donations.csv")
    assert (again.unchanged, again.refunds) == (1, 0)
    with pytest.raises(InvalidInput) as caught:
        import_donations(session, csv("G1,D1,2025-01-05,50,,ideal,,,,,,30"), actor="tester", name="donations.csv")
    assert [(p.line, p.field) for p in caught.value.problems] == [(2, "refunded")]
    assert count(session, DonationAdjustment) == 1


def test_the_same_reference_with_other_money_is_refused_naming_the_line(session, world):
    import_donations(session, csv("G1,D1,2025-01-05,50,,ideal,,,,,,"), actor="tester", name="donations.csv")
    with pytest.raises(InvalidInput) as caught:
        import_donations(session, csv(
            "G0,D1,2025-01-04,10,,ideal,,,,,,",
            "G1,D1,2025-01-05,55,,ideal,,,,,,",
        ), actor="tester", name="donations.csv")
    [problem] = caught.value.problems
    assert (problem.line, problem.field) == (3, "reference")
    assert "'G1' was imported before with a different amount" in problem.reason
    assert count(session, Donation) == 1
    assert session.scalar(select(Donation.amount_cents)) == 5000


def test_gifts_outside_their_agreement_are_accepted_with_a_warning(session, world):
    summary = import_donations(session, csv(
        "G1,D1,2024-12-01,50,,ideal,,,,,PG-1,",   # before it was signed
        "G2,D1,2024-12-20,50,,ideal,,,,,PG-1,",   # signed, but before the start
        "G3,D1,2030-01-01,50,,ideal,,,,,PG-1,",   # after the five years
        "G4,D1,2025-06-01,50,,ideal,,,,,PG-1,",   # inside: no warning
    ), actor="tester", name="donations.csv")
    assert summary.created == 4
    assert [(w.line, w.field) for w in summary.warnings] == [(2, "agreement"), (3, "agreement"), (4, "agreement")]
    assert summary.warnings[0].reason == "paid before agreement PG-1 was signed (2024-12-15): counts as an ordinary gift"
    assert session.scalar(select(func.count()).select_from(Donation).where(Donation.agreement_id.is_not(None))) == 4


def test_a_merged_donor_ref_books_on_the_surviving_donor(session, world):
    donor, _ = world
    gone = make_donor(session, ref="OLD-1")
    gone.merged_into_id = donor.id
    session.flush()
    import_donations(session, csv("G1,OLD-1,2025-01-05,50,,ideal,,,,,PG-1,"), actor="tester", name="donations.csv")
    assert session.scalar(select(Donation.donor_id)) == donor.id


def test_bad_input_lists_every_problem_and_writes_nothing(session, world):
    with pytest.raises(InvalidInput) as caught:
        import_donations(session, csv(
            "B1,NOBODY,2025-01-05,50,,ideal,,,,,,",          # unknown donor ref
            "B2,D1,2025-01-05,50,,ideal,NOPE,,,,,",           # unknown campaign
            "B3,D1,2025-01-05,50,,ideal,,,,,,60",             # refunded > amount
            "B4,D1,2025-01-05,50,,ideal,,,purchase,60,,",     # consideration > amount
            "B5,D1,2025-01-05,50,,ideal,,,,,PG-NOPE,",        # agreement that does not exist
            "B6,D1,2025-01-05,50,,ideal,,,,,PG-2,",           # agreement of another donor
            "B7,,2025-01-05,50,,ideal,,,,,PG-1,",             # anonymous under an agreement
            "B8,D1,2025-02-30,-5,,cheque,,,gift,,,",          # bad date, negative amount, unknown method
            "B9,D1,2025-01-05,1.234,,ideal,,,,,,",            # ambiguous amount
            "B10,D1,2025-01-05,50,EURO,ideal,,,donation,,,",  # bad currency and kind
            "B11,D1,2025-01-05,$ 50,EUR,ideal,,,,,,",         # amount in another currency than the column
            ",D1,2025-01-05,50,,ideal,,,,,,",                 # no reference
            "B1,D1,2025-01-05,50,,ideal,,,,,,",               # reference twice in the file
            "B14,D1,2025-01-05,0,,ideal,,bad fund,,,,",        # zero amount, bad fund code
        ), actor="tester", name="donations.csv")
    found = {(p.line, p.field) for p in caught.value.problems}
    assert found == {
        (2, "donor_ref"), (3, "campaign"), (4, "refunded"), (5, "consideration"), (6, "agreement"), (7, "agreement"),
        (8, "agreement"), (9, "date"), (9, "amount"), (9, "method"), (10, "amount"), (11, "currency"), (11, "kind"),
        (12, "amount"), (13, "reference"), (14, "reference"), (15, "amount"), (15, "fund"),
    }
    assert (count(session, Donation), count(session, DonationAdjustment), count(session, Fund)) == (0, 0, 1)


def test_dry_run_writes_nothing_but_reports_the_same(session, world):
    summary = import_donations(session, csv("G1,D1,2025-01-05,50,,ideal,,BRAND-NEW,,,,10"), actor="tester",
                               name="donations.csv", dry_run=True)
    assert (summary.created, summary.refunds, summary.funds_created) == (1, 1, ["BRAND-NEW"])
    assert (count(session, Donation), count(session, DonationAdjustment), count(session, Fund)) == (0, 0, 1)


@pytest.mark.parametrize(
    "data, line, field, reason",
    [
        (b"", None, None, "the file is empty"),
        (b"reference,date,amount\nG1,2025-01-01,5\n", 1, "method", "required column is missing"),
        (b"reference,date,amount,method,colour\nG1,2025-01-01,5,ideal,red\n", 1, "colour", "unknown column"),
        (b"reference,date,amount,method\n", 2, None, "the file has a header but no rows"),
        (b"reference,date,amount,method\nG1,2025-01-01,5\n", 2, None, "has 3 fields, the header has 4"),
        ("reference,date,amount,method\nG1,2025-01-01,5,caf\u00e9\n".encode("latin-1"), 2, None, "the file is not UTF-8"),
        # A spreadsheet's "Unicode text" (UTF-16) reads as UTF-8 with a NUL in every other byte.
        ("reference,date,amount,method\nG1,2025-01-01,5,ideal\n".encode("utf-16-le"), 1, None,
         "the file contains NUL characters"),
        (b"reference,date,amount,method\nG1,2025-01-01,5,ideal\nG2\x00,2025-01-01,5,ideal\n", 3, None,
         "the file contains NUL characters"),
    ],
)
def test_generic_import_errors(session, data, line, field, reason):
    with pytest.raises(InvalidInput) as caught:
        import_donations(session, data, actor="tester", name="donations.csv")
    problem = caught.value.problems[0]
    assert (problem.line, problem.field) == (line, field)
    assert problem.reason.startswith(reason)
    assert count(session, Donation) == 0


def test_a_bom_and_semicolons_are_read(session, world):
    data = "\ufeffreference;donor_ref;date;amount;method\nG1;D1;05-01-2025;12,50;ideal\n".encode()
    summary = import_donations(session, data, actor="tester", name="donations.csv")
    assert summary.created == 1
    assert session.scalar(select(Donation.amount_cents)) == 1250


def test_instalments_link_to_their_recurring_gift_and_its_mandate(session, world):
    from tests.factories import make_mandate, make_recurring

    donor, other = world
    mandate = make_mandate(session, donor=donor, mandate_id="MDT-1")
    gift = make_recurring(session, donor=donor, reference="RG-1", mandate=mandate)
    make_recurring(session, donor=other, reference="RG-2", method="stripe")
    data = (b"reference,donor_ref,date,amount,method,recurring\n"
            b"I1,D1,2025-01-28,10,sepa_debit,RG-1\n")
    import_donations(session, data, actor="tester", name="donations.csv")
    donation = session.scalar(select(Donation))
    assert (donation.recurring_gift_id, donation.mandate_id) == (gift.id, mandate.id)
    with pytest.raises(InvalidInput) as caught:
        import_donations(session, (b"reference,donor_ref,date,amount,method,recurring\n"
                                   b"I2,D1,2025-02-28,10,card,RG-2\n"
                                   b"I3,D1,2025-02-28,10,card,RG-NOPE\n"
                                   b"I4,,2025-02-28,10,card,RG-1\n"
                                   b"I1,D1,2025-01-28,10,sepa_debit,\n"), actor="tester", name="donations.csv")
    assert {(p.line, p.field) for p in caught.value.problems} == {(2, "recurring"), (3, "recurring"), (4, "recurring"), (5, "reference")}


def test_a_one_off_direct_debit_names_its_mandate_and_its_statement_line_shows_it(session, world):
    """Issue 15 item 6: a one-off SEPA gift (a street-stand signature) carries its
    mandate, so the annual statement can print it; a wrong mandate is refused."""
    from tests.factories import make_mandate

    donor, other = world
    mandate = make_mandate(session, donor=donor, mandate_id="EMDT-2025-001")
    make_mandate(session, donor=other, mandate_id="EMDT-2025-002")
    header = HEADER + ",mandate"
    data = (header + "\nS1,D1,2025-05-03,20.00,,sepa_debit,,,,,,,EMDT-2025-001\n").encode()
    import_donations(session, data, actor="tester")
    gift = session.scalar(select(Donation).where(Donation.reference == "S1"))
    assert gift.mandate_id == mandate.id
    # The same file again is a no-op; naming another mandate for it is refused like other money changes.
    assert import_donations(session, data, actor="tester").unchanged == 1

    with pytest.raises(InvalidInput) as caught:
        import_donations(session, (header + (
            "\nS2,D1,2025-05-03,20.00,,ideal,,,,,,,EMDT-2025-001"
            "\nS3,D1,2025-05-03,20.00,,sepa_debit,,,,,,,EMDT-2025-002"
            "\nS4,D1,2025-05-03,20.00,,sepa_debit,,,,,,,NOPE"
            "\nS1,D1,2025-05-03,20.00,,sepa_debit,,,,,,,EMDT-2025-002\n")).encode(), actor="tester")
    assert [(p.line, p.field, p.reason) for p in caught.value.problems] == [
        (2, "mandate", "only a direct debit (method sepa_debit) is collected under a mandate"),
        (3, "mandate", "mandate EMDT-2025-002 is another donor's"),
        (4, "mandate", "no mandate 'NOPE' (import the mandates first)"),
        (5, "mandate", "mandate EMDT-2025-002 is another donor's"),
    ]
    assert count(session, Donation) == 1
