"""Timesheet lines for a period (a signed monthly sheet): bounded by their days,
split pro rata by days where they cross the grant's start or end, ordered by their
last day for the annual ceiling, and warned about (not refused) above the contract
hours. Every figure below is computed by hand in the comment beside it."""
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from anbi.core.errors import InvalidInput
from subsidies.costs import import_staff, import_timesheets
from subsidies.hours import (
    HourEntry,
    apply_annual_ceiling,
    contract_warning,
    grant_share,
    hours_bound_problem,
    period_problem,
    weekdays_in,
)
from subsidies.models import Timesheet
from subsidies.report import audit_timesheets, figures_json, gather
from tests.factories import make_grant

D = dt.date
STAFF = "employee,year,annual_cost,fte,weekly_hours\n"
HOURS = "reference,employee,date,period_start,period_end,grant,budget_line,hours\n"


# --- the rules, without a database ------------------------------------------------


def test_a_period_across_the_grant_end_is_split_pro_rata_by_days():
    # 1 June – 31 July is 61 days, 30 of them up to the grant's end on 30 June:
    # 160 h × 30 / 61 = 78.6885… → 78.69 h; 81.31 h are not eligible.
    share, reason = grant_share(D(2025, 6, 1), D(2025, 7, 31), 16_000, D(2025, 1, 1), D(2025, 6, 30))
    assert share == 7_869
    assert reason == ("the period 2025-06-01 – 2025-07-31 crosses the grant's end (2025-01-01 – 2025-06-30): "
                      "30 of its 61 days inside, so 78.69 of 160.00 hours pro rata; 81.31 hours not eligible")


def test_a_period_across_the_grant_start_and_one_wholly_inside_or_outside():
    # 1–31 March, the grant starts on the 10th: 22 of 31 days; 160 × 22 / 31 = 113.548… → 113.55 h.
    share, reason = grant_share(D(2025, 3, 1), D(2025, 3, 31), 16_000, D(2025, 3, 10), D(2025, 12, 31))
    assert reason is not None
    assert share == 11_355 and "crosses the grant's start" in reason and "22 of its 31 days" in reason
    assert grant_share(D(2025, 4, 1), D(2025, 4, 30), 16_000, D(2025, 3, 10), D(2025, 12, 31)) == (16_000, None)
    assert grant_share(D(2025, 1, 1), D(2025, 1, 31), 16_000, D(2025, 3, 10), D(2025, 12, 31)) == (
        0, "worked 2025-01-01 – 2025-01-31, outside the grant period 2025-03-10 – 2025-12-31")
    # A grant shorter than the period: both edges, 10 of 30 days → 50.00 of 150.00 hours.
    share, reason = grant_share(D(2025, 6, 1), D(2025, 6, 30), 15_000, D(2025, 6, 11), D(2025, 6, 20))
    assert reason is not None
    assert share == 5_000 and "crosses the grant's start and end" in reason


def test_the_days_bound_the_hours_and_a_period_stays_in_one_year():
    assert hours_bound_problem(D(2025, 3, 1), D(2025, 3, 1), 2_400) is None
    assert hours_bound_problem(D(2025, 3, 1), D(2025, 3, 1), 2_401) == "24.01 hours is more than a day has"
    assert hours_bound_problem(D(2025, 3, 1), D(2025, 3, 31), 74_400) is None          # 31 × 24 = 744
    assert hours_bound_problem(D(2025, 3, 1), D(2025, 3, 31), 74_401) == (
        "744.01 hours is more than its 31 days have (744 hours)")
    assert period_problem(D(2025, 3, 31), D(2025, 3, 1)) == "the period ends (2025-03-01) before it starts (2025-03-31)"
    assert "split the sheet at 31 December" in (period_problem(D(2025, 12, 15), D(2026, 1, 14)) or "")
    assert period_problem(D(2025, 3, 1), D(2025, 3, 31)) is None


def test_contract_hours_count_weekdays():
    # March 2025 starts on a Saturday: 31 days, 21 weekdays; 40 h a week → 168.00 h.
    assert weekdays_in(D(2025, 3, 1), D(2025, 3, 31)) == 21
    assert weekdays_in(D(2025, 3, 1), D(2025, 3, 2)) == 0
    assert contract_warning("E1", D(2025, 3, 1), D(2025, 3, 31), 16_800, Decimal(40)) is None
    assert contract_warning("E1", D(2025, 3, 1), D(2025, 3, 31), 16_801, Decimal(40)) == (
        "168.01 hours in 2025-03-01 – 2025-03-31 is more than E1's contract hours in it (168.00: 40 a week, "
        "21 weekdays); the annual ceiling still decides what is eligible")
    assert contract_warning("E1", D(2025, 3, 3), D(2025, 3, 3), 1_200, Decimal(40)) is None   # one day: no warning


def test_the_ceiling_takes_lines_by_their_last_day():
    # Ceiling 1720 × 0.001 = 1.72 h. The period ends on 31 March, the day line is 15 March:
    # the day line comes first (1.00 h), the period gets the 0.72 h left, although it came first.
    period = HourEntry("P", D(2025, 3, 31), 100, D(2025, 1, 1), D(2025, 12, 31), 1720, Decimal("0.001"), D(2025, 3, 1))
    day = HourEntry("Q", D(2025, 3, 15), 100, D(2025, 1, 1), D(2025, 12, 31), 1720, Decimal("0.001"))
    ordered = sorted([period, day], key=lambda entry: entry.worked_on)
    decisions = {d.key: d for d in apply_annual_ceiling("E9", ordered)}
    assert decisions["Q"].eligible_hundredths == 100 and decisions["P"].eligible_hundredths == 72


def test_a_split_period_uses_only_its_days_inside_for_the_ceiling():
    # 150 h over 1–30 June, grant ends 10 June: 10/30 → 50 h inside; the ceiling (1720 × 0.02 = 34.40 h)
    # then keeps 34.40 h of those 50; the reason names both.
    entry = HourEntry("P", D(2025, 6, 30), 15_000, D(2025, 1, 1), D(2025, 6, 10), 1720, Decimal("0.02"), D(2025, 6, 1))
    [decision] = apply_annual_ceiling("E9", [entry])
    assert decision.eligible_hundredths == 3_440
    assert decision.reason is not None
    assert "10 of its 30 days inside" in decision.reason and "15.60 of 50.00 hours pass E9's annual ceiling" in decision.reason


# --- the import and the report ------------------------------------------------------


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def grant(session):
    # Hours basis 1720; the grant ends on 30 June 2025.
    return make_grant(session, reference="AMIF-P", start="2025-01-01", end="2025-06-30", awarded="100000.00",
                      budget=[("staff", "Personeel", "50000.00")], hours_per_year=1720)


def stored(session) -> dict[str, tuple[int, int, str | None]]:
    return {t.reference: (t.hours_hundredths, t.eligible_hundredths, t.ineligible_reason)
            for t in session.scalars(select(Timesheet).execution_options(populate_existing=True))}


def test_monthly_sheets_are_imported_and_a_sheet_across_the_end_is_split_in_the_report(session, tmp_path, grant):
    # E1: € 48.160,00 a year at 1 FTE → € 28,00 an hour (48160 / 1720).
    import_staff(session, write(tmp_path, "s.csv", STAFF + "E1,2025,48160.00,1,\n"))
    result = import_timesheets(session, write(tmp_path, "t.csv", HOURS + (
        "M05,E1,,2025-05-01,2025-05-31,AMIF-P,staff,160\n"      # wholly inside: 160 h
        "M06,E1,,2025-06-01,2025-07-31,AMIF-P,staff,160\n"      # 30 of 61 days inside: 78.69 h
        "D01,E1,2025-06-03,,,AMIF-P,staff,8\n"                  # one day, as before
    )))
    assert (result.created, result.warnings) == (3, [])
    rows = stored(session)
    assert rows["M05"] == (16_000, 16_000, None)
    assert rows["M06"][2] is not None
    assert rows["M06"][:2] == (16_000, 7_869) and "pro rata" in rows["M06"][2]
    assert rows["D01"] == (800, 800, None)
    assert session.get(Timesheet, session.scalar(select(Timesheet.id).where(Timesheet.reference == "M06"))).period_start == D(2025, 6, 1)

    report = figures_json(gather(session, "AMIF-P"))
    # Eligible: 160 + 78.69 + 8 = 246.69 h × € 28,00 = € 6.907,32 on the staff line.
    assert report["budget_lines"][0]["actual"] == "6907.32"
    [item] = report["ineligible_items"]
    # Not eligible: 160 − 78.69 = 81.31 h × € 28,00 = € 2.276,68, dated by the sheet's last day.
    assert item == {"kind": "timesheet", "reference": "M06", "date": "2025-07-31", "budget_line": "staff",
                    "employee": "E1", "hours": "81.31", "amount": "2276.68", "reason": rows["M06"][2]}
    assert item["reason"].startswith("the period 2025-06-01 – 2025-07-31 crosses the grant's end")
    audit = {row.reference: row for row in audit_timesheets(session, grant)}
    assert audit["M06"].period_start == D(2025, 6, 1) and audit["D01"].period_start is None


def test_contract_hours_are_a_warning_and_the_ceiling_still_decides(session, tmp_path, grant):
    # E2 works 32 h a week (0.8 FTE): March 2025 has 21 weekdays → 134.40 contract hours.
    # Ceiling 1720 × 0.8 = 1376 h: 170 h fit, all eligible despite the warning.
    import_staff(session, write(tmp_path, "s.csv", STAFF + "E2,2025,40000.00,0.8,32\n"))
    result = import_timesheets(session, write(tmp_path, "t.csv", HOURS + "M03,E2,,2025-03-01,2025-03-31,AMIF-P,staff,170\n"))
    assert result.warnings == ["M03: 170.00 hours in 2025-03-01 – 2025-03-31 is more than E2's contract hours in it "
                               "(134.40: 32 a week, 21 weekdays); the annual ceiling still decides what is eligible"]
    assert stored(session)["M03"] == (17_000, 17_000, None)
    assert "1 warning" in result.summary("timesheet lines")


def test_the_cli_prints_the_warning_and_the_json_lists_it(cli, tmp_path, session, grant):
    import_staff(session, write(tmp_path, "s.csv", STAFF + "E3,2025,48160.00,1,\n"))
    session.commit()
    path = write(tmp_path, "t.csv", HOURS + "M03,E3,,2025-03-01,2025-03-31,AMIF-P,staff,180\n")
    result = cli("timesheets", "import", str(path), "--dry-run")
    assert result.exit_code == 0, result.stderr
    # 40 h a week × 21 weekdays / 5 = 168.00 contract hours.
    assert "warning: M03: 180.00 hours in 2025-03-01 – 2025-03-31 is more than E3's contract hours in it (168.00" in result.stdout
    result = cli("timesheets", "import", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    assert '"warnings": [' in result.stdout and "168.00" in result.stdout


def test_bad_period_lines_are_named_by_line_and_field_and_nothing_is_written(session, tmp_path, grant):
    import_staff(session, write(tmp_path, "s.csv", STAFF + "E1,2025,48160.00,1,\n"))
    with pytest.raises(InvalidInput) as caught:
        import_timesheets(session, write(tmp_path, "t.csv", HOURS + (
            "A,E1,2025-03-03,2025-03-01,2025-03-31,AMIF-P,staff,8\n"    # both forms
            "B,E1,,,,AMIF-P,staff,8\n"                                  # neither
            "C,E1,,2025-03-01,,AMIF-P,staff,8\n"                        # half a period
            "D,E1,,2025-03-31,2025-03-01,AMIF-P,staff,8\n"              # backwards
            "E,E1,,2025-12-15,2026-01-14,AMIF-P,staff,8\n"              # across 31 December
            "F,E1,,2025-03-01,2025-03-02,AMIF-P,staff,48.5\n"           # more than 2 × 24 h
            "G,E1,2025-03-03,,,AMIF-P,staff,160\n"                      # 160 h on one day
        )))
    assert [(p.line, p.field, p.reason) for p in caught.value.problems] == [
        (2, "date", "give either date (one day) or period_start and period_end (a period), not both"),
        (3, "date", "is required: give date (one day), or period_start and period_end (a period)"),
        (4, "period_end", "is required"),
        (5, "period_end", "the period ends (2025-03-01) before it starts (2025-03-31)"),
        (6, "period_end", "the period 2025-12-15 – 2026-01-14 runs into 2026: the annual hour ceiling is per "
                          "calendar year, so split the sheet at 31 December"),
        (7, "hours", "48.50 hours is more than its 2 days have (48 hours)"),
        (8, "hours", "160.00 hours is more than a day has"),
    ]
    assert session.scalar(select(func.count()).select_from(Timesheet)) == 0


def test_a_file_of_periods_needs_no_date_column_and_a_reimport_is_a_no_op(session, tmp_path, grant):
    import_staff(session, write(tmp_path, "s.csv", STAFF + "E1,2025,48160.00,1,\n"))
    text = "reference,employee,period_start,period_end,grant,budget_line,hours\nM04,E1,01-04-2025,30-04-2025,AMIF-P,staff,150\n"
    assert import_timesheets(session, write(tmp_path, "t.csv", text)).created == 1
    assert import_timesheets(session, write(tmp_path, "t2.csv", text)).unchanged == 1
    with pytest.raises(InvalidInput) as caught:
        import_timesheets(session, write(tmp_path, "t3.csv", text.replace("01-04-2025", "02-04-2025")))
    assert "other period_start" in caught.value.problems[0].reason


def test_weekly_hours_are_documented_once(session, tmp_path):
    import_staff(session, write(tmp_path, "s.csv", STAFF + "E1,2025,48160.00,1,36\n"))
    assert import_staff(session, write(tmp_path, "s2.csv", STAFF + "E1,2025,48160.00,1,\n")).unchanged == 1
    with pytest.raises(InvalidInput) as caught:
        import_staff(session, write(tmp_path, "s3.csv", STAFF + "E1,2025,48160.00,1,38\n"))
    assert caught.value.problems[0].field == "weekly_hours"
    with pytest.raises(InvalidInput) as caught:
        import_staff(session, write(tmp_path, "s4.csv", STAFF + "E2,2025,48160.00,1,200\n"))
    assert caught.value.problems[0].reason == "'200' is not between 0 and 168 hours a week"
