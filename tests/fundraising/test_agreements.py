"""The periodic gift agreement register: its rules, import, early end, numbering."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from anbi.core.errors import InvalidInput
from fundraising.agreements import (
    AgreementTerms,
    check_agreement,
    end_agreement,
    list_agreements,
    next_agreement_number,
    paid_outside_agreement,
    term_end,
)
from fundraising.imports.agreements import import_agreements
from fundraising.errors import AgreementNotFound, AgreementStateError
from fundraising.models import PeriodicAgreement
from tests.factories import make_agreement, make_donor

D = dt.date


def terms(**overrides) -> AgreementTerms:
    values: dict[str, Any] = dict(number="PG-2025-0001", annual_amount_cents=60000, start_date=D(2025, 1, 1), years=5,
                  signed_on=D(2024, 12, 20))
    values.update(overrides)
    return AgreementTerms(**values)


def test_term_end_is_the_day_after_the_last_day():
    assert term_end(D(2025, 3, 1), 5) == D(2030, 3, 1)
    assert term_end(D(2024, 2, 29), 5) == D(2029, 3, 1)  # no 29 February in 2029
    assert term_end(D(2025, 3, 1), None) is None


@pytest.mark.parametrize(
    "overrides",
    [{}, {"years": None}, {"years": 10}, {"signed_on": D(2025, 1, 1)},
     {"end_date": D(2026, 5, 1), "end_reason": "death"}],
)
def test_valid_agreements(overrides):
    assert check_agreement(terms(**overrides)) == []


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"years": 4}, "years"),
        ({"years": 1}, "years"),
        ({"years": 100}, "years"),
        ({"years": 10**30}, "years"),  # once a database error: past any integer column
        ({"signed_on": D(2025, 1, 2)}, "signed_on"),
        ({"signed_on": None}, "signed_on"),
        ({"annual_amount_cents": None}, "annual_amount"),
        ({"annual_amount_cents": 0}, "annual_amount"),
        ({"start_date": None}, "start_date"),
        ({"end_date": D(2026, 5, 1)}, "end_reason"),
        ({"end_reason": "death"}, "end_date"),
        ({"end_date": D(2026, 5, 1), "end_reason": "bored"}, "end_reason"),
        ({"end_date": D(2024, 12, 1), "end_reason": "other"}, "end_date"),
    ],
)
def test_invalid_agreements_name_the_field(overrides, field):
    problems = check_agreement(terms(**overrides), line=7)
    assert [(p.line, p.field) for p in problems] == [(7, field)]


def test_which_payments_fall_outside_an_agreement():
    agreement = PeriodicAgreement(number="PG-1", signed_on=D(2025, 2, 1), start_date=D(2025, 3, 1), years=5,
                                  end_date=None, end_reason=None)
    assert paid_outside_agreement(D(2025, 1, 31), agreement) == "paid before agreement PG-1 was signed (2025-02-01)"
    assert paid_outside_agreement(D(2025, 2, 15), agreement) == "paid before agreement PG-1 starts (2025-03-01)"
    assert paid_outside_agreement(D(2025, 3, 1), agreement) is None
    assert paid_outside_agreement(D(2030, 2, 28), agreement) is None
    assert paid_outside_agreement(D(2030, 3, 1), agreement) == "paid after the term of agreement PG-1 (5 years from 2025-03-01)"
    agreement.end_date, agreement.end_reason = D(2026, 6, 30), "job_loss"
    assert paid_outside_agreement(D(2026, 7, 1), agreement) == "paid after agreement PG-1 ended (2026-06-30, job_loss)"


def test_next_agreement_number_counts_per_year(session):
    assert next_agreement_number(session, 2025) == "PG-2025-0001"
    make_agreement(session, number="PG-2025-0001")
    make_agreement(session, number="PG-2025-0007")
    make_agreement(session, number="PG-2024-0099")
    make_agreement(session, number="PG-2025-OLD")  # an imported number of another shape is skipped
    assert next_agreement_number(session, 2025) == "PG-2025-0008"
    assert next_agreement_number(session, 2026) == "PG-2026-0001"


def test_end_agreement_once_and_only_once(session):
    agreement = make_agreement(session, number="PG-2024-0100", start_date="2024-01-01")
    end_agreement(session, "PG-2024-0100", end_date=D(2025, 4, 30), reason="death", actor="tester")
    assert (agreement.status, agreement.end_date, agreement.end_reason) == ("ended", D(2025, 4, 30), "death")
    with pytest.raises(AgreementStateError):
        end_agreement(session, "PG-2024-0100", end_date=D(2025, 5, 1), reason="other", actor="tester")
    with pytest.raises(AgreementNotFound):
        end_agreement(session, "PG-NOPE", end_date=D(2025, 5, 1), reason="other", actor="tester")


def test_end_agreement_refuses_a_bad_reason_or_a_date_before_signing(session):
    make_agreement(session, number="PG-2024-0200", start_date="2024-01-01", signed_on="2023-12-01")
    with pytest.raises(InvalidInput) as caught:
        end_agreement(session, "PG-2024-0200", end_date=D(2023, 11, 1), reason="bored", actor="tester")
    assert {p.field for p in caught.value.problems} == {"reason", "date"}


def csv(text: str) -> bytes:
    return text.strip().encode() + b"\n"


def test_import_creates_then_updates_with_empty_cells_leaving_fields(session):
    donor = make_donor(session, ref="D1")
    first = csv("""
number,donor_ref,annual_amount,start_date,years,signed_on
PG-2025-0001,D1,600,2025-01-01,5,2024-12-20
PG-2025-0002,D1,"1.200,00",01-03-2025,,01-02-2025
""")
    summary = import_agreements(session, first, actor="tester", name="agreements.csv")
    assert (summary.created, summary.updated, summary.unchanged) == (2, 0, 0)
    again = import_agreements(session, first, actor="tester", name="agreements.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)

    update = csv("""
number,donor_ref,annual_amount,start_date,years,signed_on,end_date,end_reason
PG-2025-0001,,720,,,,,
PG-2025-0002,,,,,,2026-01-31,job_loss
""")
    summary = import_agreements(session, update, actor="tester", name="agreements.csv")
    assert (summary.created, summary.updated, summary.unchanged) == (0, 2, 0)
    rows = {a.number: a for a in session.scalars(select(PeriodicAgreement))}
    one, two = rows["PG-2025-0001"], rows["PG-2025-0002"]
    assert (one.annual_amount_cents, one.years, one.start_date, one.donor_id, one.status) == (72000, 5, D(2025, 1, 1), donor.id, "active")
    assert (two.annual_amount_cents, two.years, two.status, two.end_date, two.end_reason) == (120000, None, "ended", D(2026, 1, 31), "job_loss")


def test_import_bad_input_lists_every_problem_and_writes_nothing(session):
    make_donor(session, ref="D1")
    other = make_donor(session, ref="D2")
    make_agreement(session, donor=other, number="PG-OTHER")
    bad = csv("""
number,donor_ref,annual_amount,start_date,years,signed_on,end_date,end_reason
PG-A,D1,600,2025-01-01,4,2024-12-01,,
PG-B,D1,600,2025-01-01,5,2025-01-02,,
PG-C,NOBODY,600,2025-01-01,5,2024-12-01,,
PG-D,D1,600,2025-01-01,5,2024-12-01,2026-01-01,
PG-E,D1,,2025-01-01,5,,,
PG-OTHER,D1,,,,,,
PG-G,D1,600,2025-01-01,5,2024-12-01,,
PG-G,D1,600,2025-01-01,5,2024-12-01,,
""")
    with pytest.raises(InvalidInput) as caught:
        import_agreements(session, bad, actor="tester", name="agreements.csv")
    found = {(p.line, p.field) for p in caught.value.problems}
    assert found == {
        (2, "years"),
        (3, "signed_on"),
        (4, "donor_ref"),
        (5, "end_reason"),
        (6, "annual_amount"), (6, "signed_on"),
        (7, "donor_ref"),
        (9, "number"),
    }
    assert session.scalar(select(func.count()).select_from(PeriodicAgreement)) == 1


def test_list_gives_the_term_end(session):
    make_agreement(session, donor=make_donor(session, ref="D9"), number="PG-2025-0001", start_date="2025-03-01", years=5,
                   annual_amount="600.00")
    [item] = list_agreements(session)
    assert item == {
        "number": "PG-2025-0001", "donor_ref": "D9", "annual_amount": "600.00", "currency": "EUR",
        "start_date": "2025-03-01", "years": 5, "term_ends": "2030-02-28", "signed_on": "2025-03-01",
        "end_date": None, "end_reason": None, "status": "active",
    }
