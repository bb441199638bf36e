"""The statement rules as a table of cases (issue 4 item 2), without a database.

Every expected figure is worked out by hand in the case's comment."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

from fundraising.statements import rules as st
from fundraising.statements.rules import Adjustment, Agreement, Gift, compute_statement

D = dt.date.fromisoformat
YEAR = 2025
_ids = itertools.count(1)


def gift(date="2025-03-01", amount=2500, **fields) -> Gift:
    adjustments = tuple(
        Adjustment(kind, cents, D(on)) for kind, cents, on in fields.pop("adjust", ())
    )
    return Gift(id=fields.pop("id", next(_ids)), received_on=D(date), amount_cents=amount, adjustments=adjustments, **fields)


# PG-1: 600.00 a year, five years from 2024-01-01, signed 2023-12-15.
PG1 = Agreement(id=1, number="PG-1", annual_amount_cents=60000, start_date=D("2024-01-01"), signed_on=D("2023-12-15"), years=5)
# PG-2: signed and starting this year (payments before 1 March 2025 are ordinary).
PG2 = Agreement(id=2, number="PG-2", annual_amount_cents=30000, start_date=D("2025-03-01"), signed_on=D("2025-03-01"), years=5)
# PG-3: signed before its start date.
PG3 = Agreement(id=3, number="PG-3", annual_amount_cents=30000, start_date=D("2025-02-01"), signed_on=D("2025-01-10"), years=5)
# PG-4: five years from 2020-01-01: the term ended on 31 December 2024.
PG4 = Agreement(id=4, number="PG-4", annual_amount_cents=60000, start_date=D("2020-01-01"), signed_on=D("2019-12-01"), years=5)
# PG-5: five years from 2020-06-01: covered up to and including 31 May 2025.
PG5 = Agreement(id=5, number="PG-5", annual_amount_cents=60000, start_date=D("2020-06-01"), signed_on=D("2020-05-01"), years=5)
# PG-6: indefinite (until death), from 2010.
PG6 = Agreement(id=6, number="PG-6", annual_amount_cents=120000, start_date=D("2010-01-01"), signed_on=D("2010-01-01"), years=None)
# PG-7: ended early on 30 June 2025 (job loss).
PG7 = Agreement(id=7, number="PG-7", annual_amount_cents=60000, start_date=D("2024-01-01"), signed_on=D("2024-01-01"), years=5, end_date=D("2025-06-30"))
# PG-8: a second agreement of the same donor, to check ordering by number.
PG8 = Agreement(id=8, number="PG-0-first", annual_amount_cents=10000, start_date=D("2024-01-01"), signed_on=D("2024-01-01"), years=10)
ALL = (PG1, PG2, PG3, PG4, PG5, PG6, PG7, PG8)


def monthly(agreement_id, amount=5000, months=range(1, 13), **fields):
    return [gift(f"2025-{m:02d}-05", amount, agreement_id=agreement_id, method="sepa_debit", mandate_ref="MDT-1", **fields) for m in months]


# (name, gifts, expected (regular, periodic, non_deductible), expected periodic per agreement)
CASES = [
    ("ordinary bank transfer", [gift(amount=2500)], (2500, 0, 0), {}),
    ("cash is not deductible (1.1)", [gift(amount=5000, method="cash")], (0, 0, 5000), {}),
    ("lottery ticket is not deductible (1.4)", [gift(amount=1500, kind="lottery", method="ideal")], (0, 0, 1500), {}),
    ("purchase without consideration is wholly non-deductible", [gift(amount=2000, kind="purchase")], (0, 0, 2000), {}),
    # 100.00 paid, 60.00 received in return: 40.00 is a gift.
    ("purchase with consideration: the rest is a gift", [gift(amount=10000, kind="purchase", consideration_cents=6000)], (4000, 0, 6000), {}),
    # benefit dinner 150.00, dinner worth 60.00: 90.00 gift.
    ("gift with consideration", [gift(amount=15000, consideration_cents=6000)], (9000, 0, 6000), {}),
    ("refund of the whole gift: never a gift", [gift(amount=2500, adjust=[("refund", 2500, "2025-03-10")])], (0, 0, 0), {}),
    ("partial refund", [gift(amount=2500, adjust=[("refund", 1000, "2025-03-10")])], (1500, 0, 0), {}),
    ("refund dated next year reduces the gift's year", [gift(amount=2500, adjust=[("refund", 1000, "2026-02-01")])], (1500, 0, 0), {}),
    ("refund this year of last year's gift does not touch this year", [gift("2024-12-20", 2500, adjust=[("refund", 2500, "2025-01-05")]), gift(amount=1000)], (1000, 0, 0), {}),
    ("chargeback", [gift(amount=2500, method="card", adjust=[("chargeback", 2500, "2025-04-01")])], (0, 0, 0), {}),
    ("reversed direct debit (MD06)", [gift(amount=2500, method="sepa_debit", adjust=[("reversal", 2500, "2025-04-01")])], (0, 0, 0), {}),
    ("open dispute is not a refund", [gift(amount=2500, method="card", status="disputed", adjust=[("dispute_opened", 2500, "2025-04-01")])], (2500, 0, 0), {}),
    ("won dispute is not a refund", [gift(amount=2500, method="card", adjust=[("dispute_opened", 2500, "2025-04-01"), ("dispute_won", 2500, "2025-05-01")])], (2500, 0, 0), {}),
    ("lost dispute is a refund", [gift(amount=2500, method="card", adjust=[("dispute_opened", 2500, "2025-04-01"), ("dispute_lost", 2500, "2025-05-01")])], (0, 0, 0), {}),
    ("pending direct debit is no gift yet", [gift(amount=2500, method="sepa_debit", status="pending")], (0, 0, 0), {}),
    ("failed collection is no gift", [gift(amount=2500, method="sepa_debit", status="failed")], (0, 0, 0), {}),
    ("gifts of other years are ignored", [gift("2024-12-31", 2500), gift("2026-01-01", 2500), gift("2025-12-31", 100)], (100, 0, 0), {}),
    ("refund larger than the gift counts as the whole gift", [gift(amount=2500, adjust=[("refund", 4000, "2025-03-10")])], (0, 0, 0), {}),
    # 100.00 with 60.00 consideration, 50.00 refunded: 50.00 kept, all of it the consideration.
    ("partial refund takes back the gift part first", [gift(amount=10000, consideration_cents=6000, adjust=[("refund", 5000, "2025-03-10")])], (0, 0, 5000), {}),
    # 12 x 50.00 under PG-1 = 600.00, exactly the annual amount.
    ("periodic: twelve monthly instalments", monthly(1), (0, 60000, 0), {"PG-1": 60000}),
    # 700.00 in one payment: 600.00 periodic, 100.00 ordinary.
    ("periodic: above the annual amount is ordinary", [gift(amount=70000, agreement_id=1)], (10000, 60000, 0), {"PG-1": 60000}),
    # 400.00 + 400.00: the first fits, the second fills the remaining 200.00.
    ("periodic: cap applies across payments in date order", [gift("2025-06-01", 40000, agreement_id=1), gift("2025-02-01", 40000, agreement_id=1)], (20000, 60000, 0), {"PG-1": 60000}),
    ("periodic: paid before signing is ordinary", [gift("2025-02-15", 30000, agreement_id=2)], (30000, 0, 0), {}),
    ("periodic: on the signing/start day counts", [gift("2025-03-01", 30000, agreement_id=2)], (0, 30000, 0), {"PG-2": 30000}),
    ("periodic: signed but before the start date is ordinary", [gift("2025-01-20", 30000, agreement_id=3), gift("2025-02-01", 30000, agreement_id=3)], (30000, 30000, 0), {"PG-3": 30000}),
    ("periodic: year 6 of a 5-year agreement is ordinary (1.3)", [gift("2025-01-15", 60000, agreement_id=4)], (60000, 0, 0), {}),
    # term of PG-5 ends 2025-06-01: the payment of 31 May counts, 1 June does not.
    ("periodic: the term's last day counts, the next does not", [gift("2025-05-31", 30000, agreement_id=5), gift("2025-06-01", 30000, agreement_id=5)], (30000, 30000, 0), {"PG-5": 30000}),
    ("periodic: indefinite agreement never ends", [gift("2025-07-01", 120000, agreement_id=6)], (0, 120000, 0), {"PG-6": 120000}),
    ("periodic: early end day counts, after it is ordinary", [gift("2025-06-30", 30000, agreement_id=7), gift("2025-07-01", 30000, agreement_id=7)], (30000, 30000, 0), {"PG-7": 30000}),
    ("periodic: agreement of another donor is ordinary", [gift(amount=30000, agreement_id=999)], (30000, 0, 0), {}),
    ("periodic: cash under an agreement is not deductible", [gift(amount=30000, agreement_id=1, method="cash")], (0, 0, 30000), {}),
    # 12 x 50.00, March reversed: 550.00 periodic.
    ("periodic: reversed instalment reduces the periodic gift", monthly(1, months=[1, 2]) + [gift("2025-03-05", 5000, agreement_id=1, method="sepa_debit", adjust=[("reversal", 5000, "2025-03-20")])] + monthly(1, months=range(4, 13)), (0, 55000, 0), {"PG-1": 55000}),
    # 100.00 with 20.00 consideration under an agreement: 80.00 ordinary, 20.00 not deductible.
    ("periodic: a gift with a consideration is not periodic", [gift(amount=10000, agreement_id=1, consideration_cents=2000)], (8000, 0, 2000), {}),
    ("periodic: pending instalment is not counted", monthly(1, months=range(1, 12)) + [gift("2025-12-05", 5000, agreement_id=1, method="sepa_debit", status="pending")], (0, 55000, 0), {"PG-1": 55000}),
    ("non-euro gift is excluded", [gift(amount=5000, currency="USD")], (0, 0, 0), {}),
    # Everything together: ordinary 25.00 + 15.00 (partly refunded 40.00) + 90.00 (dinner)
    # + 100.00 above PG-1 = 230.00; periodic 600.00 (PG-1) + 100.00 (PG-0-first);
    # non-deductible 50.00 cash + 10.00 lottery + 60.00 dinner = 120.00.
    (
        "combination",
        [
            gift(amount=2500),
            gift(amount=4000, adjust=[("refund", 2500, "2025-05-01")]),
            gift(amount=15000, consideration_cents=6000),
            gift(amount=70000, agreement_id=1),
            gift(amount=10000, agreement_id=8),
            gift(amount=5000, method="cash"),
            gift(amount=1000, kind="lottery"),
            gift(amount=9900, currency="GBP"),
            gift(amount=3000, status="pending", method="sepa_debit"),
        ],
        (23000, 70000, 12000),
        {"PG-0-first": 10000, "PG-1": 60000},
    ),
]


@pytest.mark.parametrize("name,gifts,expected,periodic", CASES, ids=[c[0] for c in CASES])
def test_statement_rules(name, gifts, expected, periodic):
    figures = compute_statement(YEAR, gifts, ALL)
    assert (figures.regular_cents, figures.periodic_cents, figures.non_deductible_cents) == expected
    assert {p.number: p.amount_cents for p in figures.periodic} == periodic
    assert figures.total_paid_cents == sum(expected)
    # Each line's parts add up to its amount, and the lines to the totals.
    for line in figures.lines:
        assert line.regular_cents + line.periodic_cents + line.non_deductible_cents == line.amount_cents
    assert sum(line.amount_cents for line in figures.lines) == figures.total_paid_cents


def test_periodic_totals_carry_number_start_year_and_annual_amount_sorted_by_number():
    figures = compute_statement(YEAR, [gift(amount=70000, agreement_id=1), gift(amount=5000, agreement_id=8)], ALL)
    assert [(p.number, p.start_year, p.annual_amount_cents, p.amount_cents) for p in figures.periodic] == [
        ("PG-0-first", 2024, 10000, 5000),
        ("PG-1", 2024, 60000, 60000),
    ]


def test_lines_in_date_order_with_method_campaign_and_mandate_only_for_direct_debits():
    gifts = [
        gift("2025-05-01", 1000, method="ideal", campaign="Winter 2025", mandate_ref="MDT-9"),
        gift("2025-02-01", 2000, method="sepa_debit", mandate_ref="MDT-1"),
    ]
    figures = compute_statement(YEAR, gifts, ())
    assert [(line.received_on, line.method, line.campaign, line.mandate_ref) for line in figures.lines] == [
        (D("2025-02-01"), "sepa_debit", None, "MDT-1"),
        (D("2025-05-01"), "ideal", "Winter 2025", None),
    ]


def test_line_explains_why_a_linked_gift_is_ordinary():
    figures = compute_statement(
        YEAR,
        [gift("2025-02-15", 100, agreement_id=2), gift("2025-01-15", 100, agreement_id=4), gift("2025-07-01", 100, agreement_id=7), gift(amount=70000, agreement_id=1)],
        ALL,
    )
    notes = {line.received_on: line.notes for line in figures.lines}
    assert notes[D("2025-02-15")] == (st.BEFORE_SIGNING,)
    assert notes[D("2025-01-15")] == (st.AFTER_TERM,)
    assert notes[D("2025-07-01")] == (st.AFTER_EARLY_END,)
    assert notes[D("2025-03-01")] == (st.ABOVE_ANNUAL_AMOUNT,)


def test_wholly_refunded_gift_has_no_line_partial_refund_shows_net_and_refunded():
    figures = compute_statement(
        YEAR,
        [gift(amount=2500, adjust=[("refund", 2500, "2025-03-10")]), gift("2025-04-01", 4000, adjust=[("refund", 1000, "2025-04-10")])],
        (),
    )
    assert [(line.amount_cents, line.refunded_cents) for line in figures.lines] == [(3000, 1000)]


def test_recorded_taken_back_amount_beats_the_adjustment_amount():
    # fundraising.donations caps what a row takes back at what was left: a second refund
    # of 20.00 on a 25.00 gift already refunded 10.00 took back 15.00.
    g = Gift(
        id=1, received_on=D("2025-03-01"), amount_cents=2500,
        adjustments=(Adjustment("refund", 1000, D("2025-03-02"), 1000), Adjustment("refund", 2000, D("2025-03-03"), 1500)),
    )
    assert compute_statement(YEAR, [g], ()).total_paid_cents == 0


def test_non_euro_gift_is_reported_as_excluded():
    figures = compute_statement(YEAR, [gift(amount=5000, currency="USD", id=77)], ())
    assert [(e.gift_id, e.amount_cents, e.currency) for e in figures.excluded] == [(77, 5000, "USD")]
    assert figures.lines == ()


def test_non_deductible_reason_per_line():
    figures = compute_statement(
        YEAR,
        [gift("2025-01-01", 100, method="cash"), gift("2025-01-02", 100, kind="lottery"), gift("2025-01-03", 100, kind="purchase"), gift("2025-01-04", 300, consideration_cents=100), gift("2025-01-05", 100)],
        (),
    )
    assert [line.non_deductible_reason for line in figures.lines] == [st.CASH, st.LOTTERY, st.PURCHASE, st.CONSIDERATION, None]


def test_empty_year_has_nothing_deductible():
    figures = compute_statement(YEAR, [], ALL)
    assert (figures.total_paid_cents, figures.has_deductible, figures.lines) == (0, False, ())


@pytest.mark.parametrize(
    "start,years,end",
    [("2020-06-01", 5, "2025-06-01"), ("2024-02-29", 5, "2029-03-01"), ("2024-02-29", 4, "2028-02-29")],
)
def test_term_end_is_start_plus_years(start, years, end):
    agreement = Agreement(1, "X", 100, D(start), D(start), years)
    assert agreement.term_end == D(end)


# --- agreements check ------------------------------------------------------------

# (name, agreement, interval, gifts, expected, received, problems)
CHECK_CASES = [
    ("twelve monthly instalments: as agreed", PG1, "monthly", monthly(1), 60000, 60000, ()),
    ("one failed collection", PG1, "monthly", monthly(1, months=range(1, 12)) + [gift("2025-12-05", 5000, agreement_id=1, status="failed")], 60000, 55000, (st.MISSED, st.FAILED)),
    ("one reversed instalment", PG1, "monthly", monthly(1, months=range(1, 12)) + [gift("2025-12-05", 5000, agreement_id=1, adjust=[("reversal", 5000, "2025-12-20")])], 60000, 55000, (st.MISSED, st.REFUNDED)),
    ("partially refunded yearly payment", PG1, "yearly", [gift("2025-01-01", 60000, agreement_id=1, adjust=[("refund", 10000, "2026-01-10")])], 60000, 50000, (st.REFUNDED,)),
    ("more than agreed", PG1, "yearly", [gift("2025-01-01", 70000, agreement_id=1)], 60000, 70000, (st.MORE_THAN_AGREED,)),
    ("nothing paid", PG1, "yearly", [], 60000, 0, (st.MISSED,)),
    # PG-2 starts 1 March 2025: March..December = 10 of 12 months of 300.00 = 250.00.
    ("first year from March, monthly", PG2, "monthly", [], 25000, 0, (st.MISSED,)),
    # PG-7 ends 30 June 2025: January..June = 6 of 12 months of 600.00 = 300.00.
    ("ended early", PG7, "monthly", monthly(7, months=range(1, 7)), 30000, 30000, ()),
    ("after the term nothing is due", PG4, "monthly", [], 0, 0, ()),
    ("after the term a payment is more than agreed", PG4, "yearly", [gift("2025-01-15", 60000, agreement_id=4)], 0, 60000, (st.MORE_THAN_AGREED,)),
    # quarterly from 2024-01-01: Jan, Apr, Jul, Oct: 4/4 of 600.00.
    ("quarterly", PG1, "quarterly", [gift(f"2025-{m:02d}-01", 15000, agreement_id=1) for m in (1, 4, 7, 10)], 60000, 60000, ()),
    ("pending instalment noted", PG1, "monthly", monthly(1, months=range(1, 12)) + [gift("2025-12-05", 5000, agreement_id=1, status="pending")], 60000, 55000, (st.MISSED, st.PENDING)),
    ("other agreements' gifts ignored", PG1, "yearly", [gift("2025-01-01", 60000, agreement_id=1), gift("2025-01-01", 60000, agreement_id=2)], 60000, 60000, ()),
]


@pytest.mark.parametrize("name,agreement,interval,gifts,expected,received,problems", CHECK_CASES, ids=[c[0] for c in CHECK_CASES])
def test_agreement_check(name, agreement, interval, gifts, expected, received, problems):
    check = st.check_agreement(agreement, gifts, YEAR, interval)
    assert (check.expected_cents, check.received_cents, check.problems) == (expected, received, problems)
    assert check.differs == (expected != received)
    assert check.difference_cents == received - expected


def test_expected_amount_rounds_half_up_to_the_cent():
    # 100.00 a year, monthly, from 1 December: one month is 100.00 / 12 = 8.333 -> 8.33.
    agreement = Agreement(1, "X", 10000, D("2025-12-01"), D("2025-11-01"), 5)
    assert st.check_agreement(agreement, [], YEAR, "monthly").expected_cents == 833
    # 1000.00 / 12 * 7 = 583.333 -> 583.33 from 1 June.
    agreement = Agreement(1, "X", 100000, D("2025-06-01"), D("2025-06-01"), 5)
    assert st.check_agreement(agreement, [], YEAR, "monthly").expected_cents == 58333


def test_due_dates_clamp_to_month_end():
    agreement = Agreement(1, "X", 120000, D("2025-01-31"), D("2025-01-01"), 5)
    assert st.due_dates(agreement, YEAR, "monthly")[:3] == [D("2025-01-31"), D("2025-02-28"), D("2025-03-31")]
