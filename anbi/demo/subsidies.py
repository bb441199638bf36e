"""The demo's subsidies: an AMIF project grant (75% co-financing, a 7% flat rate on
direct costs, staff at the 1,720-hour rule), a small municipal grant for the social
guidance of status holders, and the Postcode Loterij's regular contribution — with
staff costs, timesheets, expenses, payments and outputs written as files in the demo
folder and loaded through the real importers. Then each grant's report (PDF, XLSX,
JSON), the RJ 650 income statement and the funds.

The files come from a generator with its own seed, so they do not change when other
demo steps change, and a second `anbi demo` finds everything already there.
"""
from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

from sqlalchemy import select

from anbi.context import AppContext
from anbi.core.clock import today
from anbi.core.money import cents_to_str, format_dutch
from fundraising.models import Fund
from subsidies.costs import import_expenses, import_staff, import_timesheets
from subsidies.funds import add_fund, funds_report
from subsidies.grants import add_grant, parse_grant_file
from subsidies.payments import import_outputs, import_payments

SEED = 20250505
D = dt.date

AMIF = """\
reference = "AMIF-2024-017"
title = "Juridische begeleiding asielzoekers"
funder = "Uitvoering van Beleid SZW (AMIF)"
funder_type = "eu"
kind = "project"
start = 2024-01-01
end = 2025-12-31
awarded = "400000.00"
funding_rate = "0.75"
indirect_rate = "0.07"
indirect_base = "direct"
hours_per_year = 1720
report_due = 2026-03-31
settlement_due = 2026-06-30

[[budget]]
code = "staff"
name = "Personeel"
amount = "300000.00"

[[budget]]
code = "interpreters"
name = "Tolken en vertalingen"
amount = "45000.00"

[[budget]]
code = "travel"
name = "Reis- en verblijfkosten"
amount = "15000.00"

[[budget]]
code = "material"
name = "Materiële kosten"
amount = "20000.00"

[[indicators]]
code = "clients"
name = "Asielzoekers juridisch begeleid"
target = 1200

[[indicators]]
code = "trainings"
name = "Trainingen voor vrijwilligers"
target = 24

[odoo.budget_lines]
"611000" = "staff"
"623000" = "interpreters"
"624000" = "travel"
"625000" = "material"
"""

MUNICIPAL = """\
reference = "UTR-MB-2025"
title = "Maatschappelijke begeleiding statushouders Utrecht"
funder = "Gemeente Utrecht"
funder_type = "municipality"
kind = "project"
start = 2025-01-01
end = 2025-12-31
awarded = "24000.00"
report_due = 2026-03-01

[[budget]]
code = "guidance"
name = "Begeleiding door consulenten"
amount = "20000.00"

[[budget]]
code = "material"
name = "Lesmateriaal en vertaling"
amount = "4000.00"

[[indicators]]
code = "status_holders"
name = "Statushouders begeleid"
target = 40
"""

NPL = """\
reference = "NPL-2025"
title = "Vaste bijdrage Nationale Postcode Loterij 2025"
funder = "Nationale Postcode Loterij"
funder_type = "lottery"
kind = "regular_contribution"
start = 2025-01-01
end = 2025-12-31
awarded = "2250000.00"
accountability = "activities"
"""

# employee, {year: (annual cost in euro, fte)}, share of their days on AMIF
STAFF = [
    ("JUR-001", {2024: (58_480, "1"), 2025: (60_200, "1")}, 0.8),
    ("JUR-002", {2024: (51_600, "0.8")}, 0.7),             # 8 h a day in 2024: past the 0.8 × 1,720 h ceiling
    ("JUR-003", {2024: (47_300, "1"), 2025: (49_020, "1")}, 0.6),
    ("JUR-004", {2025: (44_720, "0.6")}, 0.5),
    ("CON-101", {2025: (46_000, "1")}, 0.0),               # municipal guidance, booked as expenses
]


def _weekdays(start: dt.date, end: dt.date):
    day = start
    while day <= end:
        if day.weekday() < 5:
            yield day
        day += dt.timedelta(days=1)


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_files(folder: Path) -> dict[str, Path]:
    """The grant files and the cost, payment and output files of the demo."""
    rng = random.Random(SEED)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for key, text in (("amif", AMIF), ("municipal", MUNICIPAL), ("npl", NPL)):
        paths[key] = folder / f"grant-{key}.toml"
        paths[key].write_text(text, encoding="utf-8")

    paths["staff"] = _write_csv(folder / "staff.csv", ["employee", "year", "annual_cost", "fte"], [
        [employee, str(year), f"{cost}.00", fte] for employee, years, _ in STAFF for year, (cost, fte) in sorted(years.items())
    ])

    timesheets = []
    for employee, years, share in STAFF:
        if share == 0:
            continue
        first_year = min(years)
        for day in _weekdays(D(first_year, 1, 2), D(2025, 12, 19)):
            if rng.random() >= share:
                continue
            hours = rng.choice(["6", "7", "7.5", "8", "8", "8"])
            if employee == "JUR-002" and day.year == 2024:
                hours = "8"
            timesheets.append([f"UREN-{employee}-{day.isoformat()}", employee, day.isoformat(), "AMIF-2024-017", "staff", hours])
    paths["timesheets"] = _write_csv(folder / "timesheets.csv",
                                     ["reference", "employee", "date", "grant", "budget_line", "hours"], timesheets)

    expenses = []
    n = 0

    def cost(day: dt.date, cents: int, grant: str = "", line: str = "", fund: str = "", description: str = "",
             eligible: str = "", reason: str = "") -> None:
        nonlocal n
        n += 1
        expenses.append([f"KOST-{n:05d}", day.isoformat(), cents_to_str(cents), grant, line, fund, description, eligible, reason])

    for month in range(1, 25):
        year, month_of_year = 2024 + (month - 1) // 12, (month - 1) % 12 + 1
        day = D(year, month_of_year, 28)
        cost(day, rng.randrange(120_000, 240_000), "AMIF-2024-017", "interpreters", description="Tolkdiensten")
        if month % 2 == 0:
            cost(day, rng.randrange(30_000, 90_000), "AMIF-2024-017", "travel", description="Reizen naar aanmeldcentra")
    cost(D(2024, 2, 12), 1_234_567, "AMIF-2024-017", "material", description="Laptops en software voor juristen")
    cost(D(2025, 3, 3), 45_000, "AMIF-2024-017", "material", description="Lunch bij teamdag", eligible="nee",
         reason="Representatiekosten zijn niet subsidiabel")
    cost(D(2023, 12, 18), 75_000, "AMIF-2024-017", "material", description="Voorbereiding aanvraag")   # before the start
    for quarter, day in enumerate((D(2025, 3, 31), D(2025, 6, 30), D(2025, 9, 30), D(2025, 12, 15)), start=1):
        cost(day, 550_000, "UTR-MB-2025", "guidance", description=f"Consulenten begeleiding Q{quarter}")
    cost(D(2025, 5, 1), 123_456, "UTR-MB-2025", "material", description="Lesmateriaal Nederlands")
    for month in range(1, 13):
        cost(D(2025, month, 25), 19_500_000, "NPL-2025", description="Loonkosten regionale teams")
    cost(D(2025, 2, 14), 245_000, fund="NOODHULP", description="Noodpakketten winter")
    cost(D(2025, 11, 20), 180_000, fund="NOODHULP", description="Opvang en vervoer")
    cost(D(2025, 1, 31), 125_000, description="Accountantskosten (algemeen)")
    paths["expenses"] = _write_csv(folder / "expenses.csv", [
        "reference", "date", "amount", "grant", "budget_line", "fund", "description", "eligible", "reason"], expenses)

    paths["payments"] = _write_csv(folder / "grant-payments.csv", ["grant", "date", "amount", "kind", "reference"], [
        ["AMIF-2024-017", "2024-02-15", "120000.00", "advance", "UVB-AMIF-2024-017-V1"],
        ["AMIF-2024-017", "2025-02-14", "120000.00", "advance", "UVB-AMIF-2024-017-V2"],
        ["UTR-MB-2025", "2025-01-20", "19200.00", "advance", "UTR-2025-00417"],
        ["NPL-2025", "2025-02-28", "1125000.00", "advance", "NPL-2025-1"],
        ["NPL-2025", "2025-08-29", "1125000.00", "advance", "NPL-2025-2"],
    ])
    outputs = [[f"OUT-AMIF-{q}", "AMIF-2024-017", "clients", day.isoformat(), str(rng.randrange(120, 180))]
               for q, day in enumerate((D(2024, 3, 31), D(2024, 6, 30), D(2024, 9, 30), D(2024, 12, 31),
                                        D(2025, 3, 31), D(2025, 6, 30), D(2025, 9, 30), D(2025, 12, 31)), start=1)]
    outputs += [[f"OUT-TRAIN-{year}", "AMIF-2024-017", "trainings", D(year, 12, 1).isoformat(), "11"] for year in (2024, 2025)]
    outputs.append(["OUT-UTR-2025", "UTR-MB-2025", "status_holders", "2025-12-31", "43"])
    paths["outputs"] = _write_csv(folder / "grant-outputs.csv", ["reference", "grant", "indicator", "date", "value"], outputs)
    return paths


def seed_subsidies(app: AppContext, out_dir: Path, rng: random.Random) -> list[str]:
    """Grants, staff, hours, costs, payments and outputs, through the importers."""
    paths = write_files(out_dir / "subsidies")
    lines = []
    for key in ("amif", "municipal", "npl"):
        spec = parse_grant_file(paths[key].read_text(encoding="utf-8"), paths[key].name)
        with app.session() as session:
            _, created = add_grant(session, spec, actor=app.actor)
        lines.append(f"grant {spec.reference}: {'added' if created else 'already there'} ({format_dutch(spec.awarded_cents)}, {spec.funder})")
    with app.session() as session:
        # The fundraising step names this fund through earmarked gifts; on its own, add it.
        if session.scalar(select(Fund).where(Fund.code == "NOODHULP")) is None:
            add_fund(session, "NOODHULP", "Noodhulp", actor=app.actor)
    for key, importer, noun in (
        ("staff", import_staff, "staff cost years"),
        ("timesheets", import_timesheets, "timesheet lines"),
        ("expenses", import_expenses, "costs"),
        ("payments", import_payments, "grant payments"),
        ("outputs", import_outputs, "outputs"),
    ):
        with app.session() as session:
            result = importer(session, paths[key])
        lines.append(f"{paths[key].name}: {result.summary(noun)}")
    return lines


def write_reports(app: AppContext, out_dir: Path, rng: random.Random) -> list[str]:
    """Each grant's report in three formats, the income statement and the funds."""
    # The renderers live in exports; the demo is an edge, like the CLI, so it may use them.
    from exports.reports.income_statement import write as write_statement
    from exports.reports.commands import write_grant_report
    from subsidies.income import income_statement

    folder = out_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    organisation = app.settings.organisation.name if app.settings.organisation else "Stichting VluchtelingenWerk (demo)"
    issued_on = today()
    lines = []
    for reference in ("AMIF-2024-017", "UTR-MB-2025", "NPL-2025"):
        with app.session() as session:
            for fmt in ("pdf", "xlsx", "json"):
                figures = write_grant_report(session, reference, fmt, folder / f"verantwoording-{reference}.{fmt}",
                                             organisation=organisation, issued_on=issued_on)
        lines.append(
            f"{reference}: eligible {format_dutch(figures.total_eligible_cents)}, funder share "
            f"{format_dutch(figures.funder_share_cents)}, received {format_dutch(figures.received_cents)}, "
            f"balance {format_dutch(figures.balance_cents)} → reports/verantwoording-{reference}.pdf|xlsx|json"
        )
    with app.session() as session:
        current, previous = income_statement(session, 2025)
        funds = funds_report(session, 2025)
    for fmt in ("pdf", "xlsx", "json"):
        write_statement(folder / f"staat-van-baten-2025.{fmt}", fmt, 2025, current, previous,
                        organisation=organisation, issued_on=issued_on)
    lines.append(f"income statement 2025: total {format_dutch(current.total)} (2024: {format_dutch(previous.total)}) "
                 "→ reports/staat-van-baten-2025.pdf|xlsx|json")
    for balance in funds.funds:
        lines.append(f"fund {balance.code}: opening {format_dutch(balance.opening)}, closing {format_dutch(balance.closing)}")
    for grant in funds.grants:
        side = "to receive" if grant.closing > 0 else "to repay" if grant.closing < 0 else "nothing due"
        lines.append(f"grant {grant.reference}: opening {format_dutch(grant.opening)}, closing {format_dutch(grant.closing)} ({side})")
    return lines
