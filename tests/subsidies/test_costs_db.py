"""Costs, staff costs and timesheets: imports validated whole, idempotent, with the
eligibility rules (grant period, annual hour ceiling) applied."""
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from anbi.core.errors import InvalidInput
from subsidies.costs import import_expenses, import_staff, import_timesheets, record_expense
from subsidies.errors import ExpenseConflict
from subsidies.models import Expense, StaffCost, Timesheet
from tests.factories import make_fund, make_grant

EXPENSE_HEADER = "reference,date,amount,grant,budget_line,fund,description,eligible,reason\n"


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(caught) -> list[tuple[int | None, str | None, str]]:
    return [(p.line, p.field, p.reason) for p in caught.value.problems]


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def grants(session):
    make_fund(session, code="NOODHULP")
    make_grant(session, reference="P1", start="2025-01-01", end="2025-06-30",
               budget=[("staff", "Personeel", "1000.00"), ("other", "Overig", "500.00")], hours_per_year=1720)
    make_grant(session, reference="P2", start="2025-01-01", end="2025-12-31", hours_per_year=1540)
    make_grant(session, reference="NOHOURS", start="2025-01-01", end="2025-12-31")


def test_expenses_are_imported_with_period_and_file_eligibility(session, tmp_path, grants):
    path = write(tmp_path, "costs.csv", EXPENSE_HEADER + (
        "C1,2025-03-01,100.00,P1,other,,Huur,,\n"
        "C2,2025-07-01,50.00,P1,other,,Na de looptijd,,\n"
        "C3,2025-03-01,25.00,P1,other,,Borrel,nee,Representatie\n"
        "C4,2025-03-01,-10.00,P1,other,,Creditnota C1,,\n"
        "C5,2025-03-01,60.00,,,NOODHULP,Dekens,,\n"
        "C6,2025-03-01,9.99,,,,Bankkosten,,\n"
    ))
    result = import_expenses(session, path)
    assert (result.created, result.unchanged) == (6, 0)
    assert result.flagged == ["C2: dated 2025-07-01, outside the grant period 2025-01-01 – 2025-06-30", "C3: Representatie"]
    rows = {e.reference: e for e in session.scalars(select(Expense))}
    assert (rows["C1"].amount_cents, rows["C1"].eligible, rows["C1"].budget_line.code) == (10_000, True, "other")
    assert (rows["C2"].eligible, rows["C3"].eligible, rows["C4"].amount_cents) == (False, False, -1_000)
    assert rows["C5"].fund.code == "NOODHULP" and rows["C5"].grant_id is None
    assert rows["C6"].grant_id is None and rows["C6"].fund_id is None


def test_the_same_file_twice_is_a_no_op_and_changed_money_is_refused(session, tmp_path, grants):
    text = EXPENSE_HEADER + "C1,2025-03-01,100.00,P1,other,,Huur,,\n"
    import_expenses(session, write(tmp_path, "a.csv", text))
    again = import_expenses(session, write(tmp_path, "b.csv", text))
    assert (again.created, again.unchanged) == (0, 1)
    with pytest.raises(InvalidInput) as caught:
        import_expenses(session, write(tmp_path, "c.csv", text.replace("100.00", "100.01") + "C9,2025-03-01,1.00,P1,other,,x,,\n"))
    assert problems(caught) == [(2, "reference", "cost 'C1' was imported before with other amount_cents; a cost is corrected by a new row, never overwritten")]
    assert count(session, Expense) == 1


BAD_COST_ROWS = [
    ("C1,2025-03-01,1.00,NOPE,other,,x,,", "grant", "no grant 'NOPE'"),
    ("C2,2025-03-01,1.00,P1,rent,,x,,", "budget_line", "grant P1 has no budget line 'rent' (its lines: other, staff)"),
    ("C3,2025-03-01,1.00,P1,,,x,,", "budget_line", "is required: grant P1 has a budget (other, staff)"),
    ("C4,2025-03-01,1.00,,,GEENFONDS,x,,", "fund", "no fund 'GEENFONDS' (add it with `anbi funds add`)"),
    ("C5,2025-03-01,1.00,P1,other,NOODHULP,x,,", "fund", "give a grant or a fund, not both: a cost on a grant spends that grant's fund"),
    ("C6,2025-03-01,1.00,,other,,x,,", "budget_line", "a budget line belongs to a grant; the grant column is empty"),
    ("C7,2025-03-01,1.00,P1,other,,x,nee,", "reason", "is required when a cost is marked not eligible: say why"),
    ("C8,2025-03-01,0.00,P1,other,,x,,", "amount", "must not be zero"),
    ("C9,2025-03-01,1.234,P1,other,,x,,", "amount", "'1.234' is ambiguous: write 1234 or 1234,00 for thousands, 1,23 for cents"),
    ("C10,2025-03-01,USD 5.00,P1,other,,x,,", "amount", "only euro amounts are accepted, not USD"),
    ("C11,2025-02-30,1.00,P1,other,,x,,", "date", "'2025-02-30' is not a date (use 2025-03-01 or 01-03-2025)"),
    ("C12,2025-03-01,1.00,P1,other,,x,misschien,", "eligible", "'misschien' is not yes/no (ja/nee, true/false, 1/0)"),
]


def test_every_bad_cost_row_is_named_by_line_and_field_and_nothing_is_written(session, tmp_path, grants):
    rows = "".join(row + "\n" for row, _, _ in BAD_COST_ROWS)
    path = write(tmp_path, "costs.csv", EXPENSE_HEADER + "OK1,2025-03-01,5.00,P1,other,,fine,,\n" + rows)
    with pytest.raises(InvalidInput) as caught:
        import_expenses(session, path)
    expected = [(line, field, reason) for line, (_, field, reason) in enumerate(BAD_COST_ROWS, start=3)]
    assert problems(caught) == expected
    assert count(session, Expense) == 0


def test_duplicate_reference_in_one_file(session, tmp_path, grants):
    path = write(tmp_path, "costs.csv", EXPENSE_HEADER + "C1,2025-03-01,5.00,P1,other,,,,\nC1,2025-03-02,6.00,P1,other,,,,\n")
    with pytest.raises(InvalidInput) as caught:
        import_expenses(session, path)
    assert problems(caught) == [(3, "reference", "'C1' appears twice in the file (also line 2)")]


def test_record_expense_is_idempotent_and_refuses_other_money(session, grants):
    expense, created = record_expense(session, source="odoo", reference="odoo:42", spent_on=dt.date(2025, 2, 1),
                                      amount_cents=12_345, grant_reference="P1", budget_line="staff", description="Salaris")
    assert created and expense.eligible
    again, created = record_expense(session, source="odoo", reference="odoo:42", spent_on=dt.date(2025, 2, 1),
                                    amount_cents=12_345, grant_reference="P1", budget_line="staff", description="Salaris")
    assert not created and again.id == expense.id
    with pytest.raises(ExpenseConflict, match="already exists with other amount_cents"):
        record_expense(session, source="odoo", reference="odoo:42", spent_on=dt.date(2025, 2, 1),
                       amount_cents=12_346, grant_reference="P1", budget_line="staff", description="Salaris")
    with pytest.raises(InvalidInput, match="is required: grant P1 has a budget"):
        record_expense(session, source="odoo", reference="odoo:43", spent_on=dt.date(2025, 2, 1), amount_cents=1, grant_reference="P1")


# --- staff costs and timesheets ------------------------------------------------------

STAFF = "employee,year,annual_cost,fte\n"
HOURS = "reference,employee,date,grant,budget_line,hours\n"


def test_staff_costs_import_once_and_are_never_overwritten(session, tmp_path):
    text = STAFF + "E1,2025,48160.00,1\nE2,2025,\"41.280,00\",\"0,8\"\n"
    assert import_staff(session, write(tmp_path, "s.csv", text)).created == 2
    assert import_staff(session, write(tmp_path, "s2.csv", text)).unchanged == 2
    assert session.scalar(select(StaffCost.fte).where(StaffCost.employee == "E2")) == Decimal("0.8")
    with pytest.raises(InvalidInput) as caught:
        import_staff(session, write(tmp_path, "s3.csv", STAFF + "E1,2025,48000.00,1\n"))
    assert problems(caught) == [(2, "annual_cost", "E1 2025 was documented before as 48160.00 at 1 FTE; documented costs are not overwritten")]


def test_bad_staff_rows_are_named_and_nothing_is_written(session, tmp_path):
    bad = [
        ("E1,2025,48160.00,1.2", "fte", "'1.2' is not between 0 and 1 (1 is full time)"),
        ("E2,2025,48160.00,0", "fte", "'0' is not between 0 and 1 (1 is full time)"),
        ("E3,25,48160.00,1", "year", "must be at least 1900"),
        ("E4,2025,-5.00,1", "annual_cost", "'-5.00' is negative; a positive amount is required"),
        (",2025,5.00,1", "employee", "is required"),
        ("E5,2025,5.00,1", "employee", "E5 2025 appears twice in the file (also line 8)"),
    ]
    text = STAFF + "OK,2025,1000.00,1\n" + "".join(row + "\n" for row, _, _ in bad[:-1]) + "E5,2025,5.00,1\nE5,2025,5.00,1\n"
    with pytest.raises(InvalidInput) as caught:
        import_staff(session, write(tmp_path, "s.csv", text))
    assert problems(caught) == [(line, field, reason) for line, (_, field, reason) in
                                zip((3, 4, 5, 6, 7, 9), bad)]
    assert count(session, StaffCost) == 0


def test_timesheets_refuse_unknown_employee_years_and_grants_without_hours_basis(session, tmp_path, grants):
    import_staff(session, write(tmp_path, "s.csv", STAFF + "E1,2025,48160.00,1\n"))
    path = write(tmp_path, "t.csv", HOURS + (
        "T1,E1,2025-02-03,P1,staff,8\n"
        "T2,E2,2025-02-03,P1,staff,8\n"        # nobody documented E2
        "T3,E1,2024-12-31,P1,staff,8\n"        # E1's first documented year is 2025
        "T4,E1,2025-02-03,NOHOURS,,8\n"
        "T5,E1,2025-02-03,P1,staff,7.333\n"
        "T6,E1,2025-02-03,GEEN,staff,1\n"
    ))
    with pytest.raises(InvalidInput) as caught:
        import_timesheets(session, path)
    assert problems(caught) == [
        (3, "employee", "no documented annual cost for E2 in 2025 or before; import it first with `anbi staff import`"),
        (4, "employee", "no documented annual cost for E1 in 2024 or before; import it first with `anbi staff import`"),
        (5, "grant", "grant NOHOURS has no hours basis (hours_per_year), so it takes no timesheets; charge its staff as expenses"),
        (6, "hours", "'7.333' has more than two decimals"),
        (7, "grant", "no grant 'GEEN'"),
    ]
    assert count(session, Timesheet) == 0


def eligible(session) -> dict[str, tuple[int, str | None]]:
    return {t.reference: (t.eligible_hundredths, t.ineligible_reason)
            for t in session.scalars(select(Timesheet).execution_options(populate_existing=True))}


def test_ceiling_across_grants_in_date_then_file_order_and_recomputed_when_earlier_hours_arrive(session, tmp_path, grants):
    # E1 at 0.001 FTE: ceiling 1.72 h on P1 (basis 1720) and 1.54 h on P2 (basis 1540).
    import_staff(session, write(tmp_path, "s.csv", STAFF + "E1,2025,1000.00,0.001\n"))
    import_timesheets(session, write(tmp_path, "t1.csv", HOURS + (
        "A,E1,2025-03-02,P2,,1\n"          # after B by date: 1.54 − 1.00 = 0.54 fits
        "B,E1,2025-03-01,P1,staff,1\n"
        "C,E1,2025-07-01,P1,staff,1\n"     # after P1's end: not eligible, not counted
        "D,E1,2025-03-02,P1,staff,1\n"     # same day as A, later in the file: 0.72 − 0.54 → 0.18
    )))
    state = eligible(session)
    assert state["B"] == (100, None)
    assert state["A"][1] is not None
    assert state["A"][0] == 54 and state["A"][1].startswith("0.46 of 1.00 hours pass E1's annual ceiling of 1.54 hours in 2025")
    assert state["C"] == (0, "worked on 2025-07-01, outside the grant period 2025-01-01 – 2025-06-30")
    assert state["D"][1] is not None
    assert state["D"][0] == 18 and state["D"][1].startswith("0.82 of 1.00 hours pass E1's annual ceiling of 1.72 hours")

    # An earlier day arrives later: it comes first now, and the rest moves past the ceiling:
    # Z 1.50 h; B 1.72 − 1.50 = 0.22 h; A on P2 finds 1.72 h used, past its 1.54; D nothing left.
    result = import_timesheets(session, write(tmp_path, "t2.csv", HOURS + "Z,E1,2025-02-01,P1,staff,1.5\n"))
    assert result.created == 1
    state = eligible(session)
    assert [state[k][0] for k in ("Z", "B", "A", "D")] == [150, 22, 0, 0]


def test_a_new_documented_year_applies_its_fte_to_the_hours_of_that_year(session, tmp_path, grants):
    import_staff(session, write(tmp_path, "s.csv", STAFF + "E1,2024,1000.00,1\n"))
    import_timesheets(session, write(tmp_path, "t.csv", HOURS + "A,E1,2025-03-01,P1,staff,2\n"))
    assert eligible(session)["A"] == (200, None)
    # 2025 documented at 0.001 FTE: the ceiling becomes 1.72 h, so 0.28 h of A no longer fit.
    result = import_staff(session, write(tmp_path, "s2.csv", STAFF + "E1,2025,1000.00,0.001\n"))
    assert eligible(session)["A"][0] == 172
    assert result.flagged and result.flagged[0].startswith("A: 0.28 of 2.00 hours pass")


def test_timesheet_lines_are_idempotent_and_changed_hours_refused(session, tmp_path, grants):
    import_staff(session, write(tmp_path, "s.csv", STAFF + "E1,2025,48160.00,1\n"))
    text = HOURS + "A,E1,2025-03-01,P1,staff,8\n"
    import_timesheets(session, write(tmp_path, "t.csv", text))
    assert import_timesheets(session, write(tmp_path, "t2.csv", text)).unchanged == 1
    with pytest.raises(InvalidInput) as caught:
        import_timesheets(session, write(tmp_path, "t3.csv", text.replace(",8", ",7")))
    assert problems(caught) == [(2, "reference", "timesheet line 'A' was imported before with other hours_hundredths; hours are corrected by a new line, never overwritten")]
    assert count(session, Timesheet) == 1
