"""The "Done when" scenario of issue 5, as files: an AMIF-style co-financed project
grant (75%, 7% flat rate on direct costs, staff at the 1,720-hour rule), a small
municipal grant, and a Postcode Loterij regular contribution, with their staff
costs, timesheets, expenses, payments and outputs.

The expected figures are computed by hand in `EXPECTED` (see the comments there);
the tests compare the application's output with them.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

AMIF_TOML = """\
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
code = "material"
name = "Materiële kosten"
amount = "60000.00"

[[budget]]
code = "travel"
name = "Reis- en verblijfkosten"
amount = "5000.00"

[[indicators]]
code = "clients"
name = "Asielzoekers juridisch begeleid"
target = 1200

[odoo.budget_lines]
"611000" = "staff"
"620000" = "material"
"""

MUNICIPAL_TOML = """\
reference = "GEM-UTR-2025-MB"
title = "Maatschappelijke begeleiding statushouders"
funder = "Gemeente Utrecht"
funder_type = "municipality"
kind = "project"
start = 2025-01-01
end = 2025-12-31
awarded = "24000.00"
report_due = 2026-03-01

[[budget]]
code = "guidance"
name = "Begeleiding"
amount = "20000.00"

[[budget]]
code = "material"
name = "Materieel"
amount = "4000.00"

[[indicators]]
code = "status_holders"
name = "Statushouders begeleid"
target = 40
"""

NPL_TOML = """\
reference = "NPL-2024-2025"
title = "Bijdrage Nationale Postcode Loterij 2024/2025"
funder = "Nationale Postcode Loterij"
funder_type = "lottery"
kind = "regular_contribution"
start = 2024-07-01
end = 2025-06-30
awarded = "1000000.00"
accountability = "activities"
"""

STAFF_CSV = """\
employee,year,annual_cost,fte
E001,2024,48160.00,1
E002,2024,41280.00,0.8
E001,2025,49880.00,1
E003,2025,45000.00,1
"""


def weekdays(start: dt.date, count: int) -> list[dt.date]:
    days: list[dt.date] = []
    day = start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def timesheets_csv() -> str:
    lines = ["reference,employee,date,grant,budget_line,hours"]
    n = 0

    def add(employee: str, day: dt.date, hours: str) -> None:
        nonlocal n
        n += 1
        lines.append(f"TS{n:04d},{employee},{day.isoformat()},AMIF-2024-017,staff,{hours}")

    for day in weekdays(dt.date(2024, 1, 2), 100):     # E001 2024: 100 × 8 h = 800 h at € 28,00
        add("E001", day, "8")
    for day in weekdays(dt.date(2024, 1, 2), 180):     # E002 2024: 180 × 8 h = 1440 h; ceiling 0.8 × 1720 = 1376 h
        add("E002", day, "8")
    for day in weekdays(dt.date(2025, 1, 2), 50):      # E001 2025: 50 × 7.5 h = 375 h at € 29,00
        add("E001", day, "\"7,5\"")
    for day in weekdays(dt.date(2025, 3, 3), 10):      # E002 2025: 10 × 8 h = 80 h at the 2024 rate € 30,00
        add("E002", day, "8")
    for day in weekdays(dt.date(2025, 5, 5), 3):       # E003 2025: 3 × 7.33 h = 21.99 h at € 26,16
        add("E003", day, "7.33")
    add("E001", dt.date(2026, 1, 5), "4")              # after the grant period: not eligible
    return "\n".join(lines) + "\n"


EXPENSES_CSV = """\
reference,date,amount,grant,budget_line,fund,description,eligible,reason
X1,2024-03-15,12345.67,AMIF-2024-017,material,,Laptops en software,,
X2,2024-09-01,8000.00,AMIF-2024-017,material,,Tolkdiensten,,
X3,2025-02-10,"4500,50",AMIF-2024-017,material,,Vertalingen,,
X4,2025-06-30,1000.00,AMIF-2024-017,material,,Catering,nee,Geen factuur
X5,2023-12-20,750.00,AMIF-2024-017,material,,Voorbereiding,,
T1,2024-05-05,3210.00,AMIF-2024-017,travel,,Reizen naar aanmeldcentra,,
T2,2025-04-04,2500.00,AMIF-2024-017,travel,,Reizen naar aanmeldcentra,,
M1,2025-03-31,6000.00,GEM-UTR-2025-MB,guidance,,Begeleiding Q1,,
M2,2025-06-30,6000.00,GEM-UTR-2025-MB,guidance,,Begeleiding Q2,,
M3,2025-09-30,6000.00,GEM-UTR-2025-MB,guidance,,Begeleiding Q3,,
M4,2025-12-15,3500.00,GEM-UTR-2025-MB,guidance,,Begeleiding Q4,,
M5,2025-05-01,1234.56,GEM-UTR-2025-MB,material,,Lesmateriaal,,
N1,2024-12-31,600000.00,NPL-2024-2025,,,Loonkosten regio's 2e helft 2024,,
N2,2025-06-30,450000.00,NPL-2024-2025,,,Loonkosten regio's 1e helft 2025,,
NH1,2024-12-15,300.00,,,NOODHULP,Noodpakketten,,
NH2,2025-05-01,700.00,,,NOODHULP,Noodpakketten,,
G1,2025-01-31,99.99,,,,Bankkosten,,
"""

PAYMENTS_CSV = """\
grant,date,amount,kind,reference
AMIF-2024-017,2024-02-01,40000.00,advance,UVB-ADV-1
AMIF-2024-017,2025-02-01,20000.00,advance,UVB-ADV-2
GEM-UTR-2025-MB,2025-01-15,19200.00,advance,UTR-2025-001
NPL-2024-2025,2024-07-15,500000.00,advance,NPL-2024-07
NPL-2024-2025,2025-01-15,500000.00,advance,NPL-2025-01
"""

OUTPUTS_CSV = """\
reference,grant,indicator,date,value
O1,AMIF-2024-017,clients,2024-06-30,300
O2,AMIF-2024-017,clients,2024-12-31,450
O3,AMIF-2024-017,clients,2025-06-30,200
O4,GEM-UTR-2025-MB,status_holders,2025-12-31,42
"""


def write_files(folder: Path) -> dict[str, Path]:
    files = {
        "amif": ("amif.toml", AMIF_TOML),
        "municipal": ("gemeente.toml", MUNICIPAL_TOML),
        "npl": ("npl.toml", NPL_TOML),
        "staff": ("staff.csv", STAFF_CSV),
        "timesheets": ("timesheets.csv", timesheets_csv()),
        "expenses": ("expenses.csv", EXPENSES_CSV),
        "payments": ("payments.csv", PAYMENTS_CSV),
        "outputs": ("outputs.csv", OUTPUTS_CSV),
    }
    paths = {}
    for key, (name, text) in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths[key] = path
    return paths


# Hand computation (euros).
#
# AMIF staff (all on the staff line):
#   E001 2024   800 h × 28,00 (48.160 / 1.720)           = 22.400,00
#   E002 2024  1376 h × 30,00 (41.280 / (1.720 × 0,8))   = 41.280,00   (64 h past the 1.376 h ceiling: 1.920,00 not eligible)
#   E001 2025   375 h × 29,00 (49.880 / 1.720)           = 10.875,00
#   E002 2025    80 h × 30,00 (2024 is the latest documented year) = 2.400,00
#   E003 2025 21,99 h × 26,16 (45.000 / 1.720 = 26,1627… → 26,16) = 575,2584
#   staff line: 77.530,2584 → 77.530,26
# material: 12.345,67 + 8.000,00 + 4.500,50 = 24.846,17 (X4 marked not eligible, X5 before the start)
# travel:    3.210,00 + 2.500,00 = 5.710,00: 14,2% over a 5.000,00 budget (flagged: more than 10%)
# direct 108.086,43; indirect 7% = 7.566,0501 → 7.566,05; total 115.652,48;
# share 75% = 86.739,36 (below the 400.000,00 awarded); received 40.000 + 20.000; balance 26.739,36.
# not eligible: 1.000,00 (X4) + 750,00 (X5) + 1.920,00 (E002 ceiling) + 116,00 (E001 4 h × 29 in 2026) = 3.786,00
#
# Municipal: guidance 21.500,00 (7,5% over: within 10%), material 1.234,56; direct = total 22.734,56;
# rate 1: share 22.734,56 (below 24.000,00); received 19.200,00; balance 3.534,56; level none (≤ 25.000).
#
# NPL: no budget; 1.050.000,00 of costs without a budget line; share capped at 1.000.000,00;
# received 1.000.000,00; balance 0,00; accountability set to activities.
EXPECTED: dict[str, dict[str, Any]] = {
    "AMIF-2024-017": {
        "budget_lines": [
            {"code": "staff", "name": "Personeel", "budget": "300000.00", "actual": "77530.26",
             "variance": "-222469.74", "variance_pct": -74.16, "over_budget": False},
            {"code": "material", "name": "Materiële kosten", "budget": "60000.00", "actual": "24846.17",
             "variance": "-35153.83", "variance_pct": -58.59, "over_budget": False},
            {"code": "travel", "name": "Reis- en verblijfkosten", "budget": "5000.00", "actual": "5710.00",
             "variance": "710.00", "variance_pct": 14.2, "over_budget": True},
        ],
        "direct_eligible": "108086.43",
        "ineligible": "3786.00",
        "indirect": "7566.05",
        "total_eligible": "115652.48",
        "funder_share": "86739.36",
        "received": "60000.00",
        "balance": "26739.36",
        "accountability_level": "full",
        "indicators": [{"code": "clients", "name": "Asielzoekers juridisch begeleid", "target": 1200, "actual": 950}],
    },
    "GEM-UTR-2025-MB": {
        "budget_lines": [
            {"code": "guidance", "name": "Begeleiding", "budget": "20000.00", "actual": "21500.00",
             "variance": "1500.00", "variance_pct": 7.5, "over_budget": False},
            {"code": "material", "name": "Materieel", "budget": "4000.00", "actual": "1234.56",
             "variance": "-2765.44", "variance_pct": -69.14, "over_budget": False},
        ],
        "direct_eligible": "22734.56",
        "ineligible": "0.00",
        "indirect": "0.00",
        "total_eligible": "22734.56",
        "funder_share": "22734.56",
        "received": "19200.00",
        "balance": "3534.56",
        "accountability_level": "none",
        "indicators": [{"code": "status_holders", "name": "Statushouders begeleid", "target": 40, "actual": 42}],
    },
    "NPL-2024-2025": {
        "budget_lines": [
            {"code": "unbudgeted", "name": "Kosten zonder begrotingspost", "budget": "0.00", "actual": "1050000.00",
             "variance": "1050000.00", "variance_pct": None, "over_budget": False},
        ],
        "direct_eligible": "1050000.00",
        "ineligible": "0.00",
        "indirect": "0.00",
        "total_eligible": "1050000.00",
        "funder_share": "1000000.00",
        "received": "1000000.00",
        "balance": "0.00",
        "accountability_level": "activities",
        "indicators": [],
    },
}


def load(session, folder: Path) -> dict[str, Path]:
    """Put the scenario in the database through the services the commands use."""
    from subsidies.costs import import_expenses, import_staff, import_timesheets
    from subsidies.funds import add_fund
    from subsidies.grants import add_grant, parse_grant_file
    from subsidies.payments import import_outputs, import_payments

    paths = write_files(folder)
    for key in ("amif", "municipal", "npl"):
        add_grant(session, parse_grant_file(paths[key].read_text(encoding="utf-8")), actor="test")
    add_fund(session, "NOODHULP", "Noodhulp", actor="test")
    import_staff(session, paths["staff"])
    import_timesheets(session, paths["timesheets"])
    import_expenses(session, paths["expenses"])
    import_payments(session, paths["payments"])
    import_outputs(session, paths["outputs"])
    return paths


def add_donations(session) -> None:
    """Gifts for the income statement and the NOODHULP fund (see INCOME_EXPECTED)."""
    from fundraising.models import Fund
    from sqlalchemy import select

    from tests.factories import make_adjustment, make_donation, make_donor

    noodhulp = session.scalar(select(Fund).where(Fund.code == "NOODHULP"))
    person = make_donor(session)
    company = make_donor(session, kind="organisation", organisation_type="company")
    foundation = make_donor(session, kind="organisation", organisation_type="foundation")
    related = make_donor(session, kind="organisation", organisation_type="related_nonprofit")
    untyped = make_donor(session, kind="organisation", organisation_type=None)

    make_donation(session, donor=person, date="2025-02-01", amount="100.00")
    make_donation(session, donor=None, date="2025-03-01", amount="50.00")                   # anonymous
    make_donation(session, donor=person, date="2025-04-01", amount="600.00", method="sepa_debit")
    make_donation(session, donor=company, date="2025-05-01", amount="5000.00")
    make_donation(session, donor=foundation, date="2025-06-01", amount="10000.00")
    make_donation(session, donor=related, date="2025-07-01", amount="2500.00")
    make_donation(session, donor=untyped, date="2025-07-15", amount="300.00")               # company by default
    make_donation(session, donor=person, date="2025-08-01", amount="25.00", kind="lottery")
    purchase = make_donation(session, donor=person, date="2025-09-01", amount="150.00", kind="purchase", consideration="60.00")
    make_adjustment(session, purchase, date="2025-09-15", amount="50.00")                   # 20,00 of it consideration
    make_donation(session, donor=person, date="2025-10-01", amount="40.00", status="pending")
    make_donation(session, donor=person, date="2025-10-02", amount="30.00", status="failed")
    make_donation(session, donor=person, date="2025-10-03", amount="100.00", currency="USD")
    gift_2024 = make_donation(session, donor=person, date="2024-12-01", amount="200.00")
    make_adjustment(session, gift_2024, date="2025-01-10", amount="80.00")                  # refund on its own date
    make_donation(session, donor=company, date="2024-06-01", amount="1000.00")
    make_donation(session, donor=person, date="2024-11-01", amount="1000.00", fund=noodhulp)
    earmarked = make_donation(session, donor=person, date="2025-03-01", amount="500.00", fund=noodhulp)
    make_adjustment(session, earmarked, date="2025-04-01", amount="100.00")


# Income statement 2025 (euros), by hand:
#   private: 100 + 50 + 600 + 90 (purchase 150 − 60) − 80 (refund of a 2024 gift) − 30 (gift part of the
#            50 refund on the purchase) + 500 − 100 (NOODHULP gift and its refund) = 1.130,00
#   companies: 5.000 + 300 = 5.300,00; related 2.500,00; other non-profits (foundation) 10.000,00
#   lotteries: NPL 1.000.000 − 504.109,59 (184/365 in 2024) = 495.890,41
#   government: AMIF 86.739,36 − 70.006,63 (its 2024 share) = 16.732,73; municipality 22.734,56 → 39.467,29
#   raised 554.287,70; goods and services: 25 (lottery ticket) + 60 − 20 = 65,00; total 554.352,70
# 2024: private 200 + 1.000 (NOODHULP) = 1.200,00; companies 1.000,00; lotteries 504.109,59;
#   government: AMIF to 2024: staff 63.680,00 + material 20.345,67 + travel 3.210,00 = 87.235,67;
#   + 7% 6.106,4969 → 6.106,50 = 93.342,17; × 75% = 70.006,6275 → 70.006,63
#   raised 576.316,22; total 576.316,22
INCOME_EXPECTED = {
    "year": 2025,
    "current": {
        "private_individuals": "1130.00", "companies": "5300.00", "lotteries": "495890.41",
        "government_grants": "39467.29", "related_nonprofits": "2500.00", "other_nonprofits": "10000.00",
        "raised_income_total": "554287.70", "income_for_goods_and_services": "65.00", "other_income": "0.00",
        "total_income": "554352.70",
    },
    "previous": {
        "private_individuals": "1200.00", "companies": "1000.00", "lotteries": "504109.59",
        "government_grants": "70006.63", "related_nonprofits": "0.00", "other_nonprofits": "0.00",
        "raised_income_total": "576316.22", "income_for_goods_and_services": "0.00", "other_income": "0.00",
        "total_income": "576316.22",
    },
}

# Funds 2025. A grant's income follows its costs, so what it brings into its fund is spent
# the same year: AMIF recognised 70.006,63 (2024) + 16.732,73 (2025), the municipality
# 22.734,56; NOODHULP: 1.000 in 2024 less 300 spent, 500 − 100 in 2025 less 700 spent.
# Apart from the funds, each grant's balance with its funder (+ to receive): AMIF received
# 40.000 (2024) + 20.000 (2025): 70.006,63 − 40.000 = 30.006,63 at the start, + 16.732,73
# − 20.000 = 26.739,36 at the end; the municipality 22.734,56 − 19.200 = 3.534,56; the
# Postcode Loterij (unrestricted: no fund) 504.109,59 − 500.000 = 4.109,59, then
# 1.000.000 − 1.000.000 = 0.
FUNDS_EXPECTED = {
    "year": 2025,
    "funds": [
        {"code": "AMIF-2024-017", "name": "Juridische begeleiding asielzoekers", "opening": "0.00",
         "income": "16732.73", "spending": "16732.73", "closing": "0.00"},
        {"code": "GEM-UTR-2025-MB", "name": "Maatschappelijke begeleiding statushouders", "opening": "0.00",
         "income": "22734.56", "spending": "22734.56", "closing": "0.00"},
        {"code": "NOODHULP", "name": "Noodhulp", "opening": "700.00", "income": "400.00", "spending": "700.00",
         "closing": "400.00"},
    ],
    "grants": [
        {"reference": "AMIF-2024-017", "title": "Juridische begeleiding asielzoekers", "fund": "AMIF-2024-017",
         "opening": "30006.63", "recognised": "16732.73", "received": "20000.00", "closing": "26739.36"},
        {"reference": "GEM-UTR-2025-MB", "title": "Maatschappelijke begeleiding statushouders", "fund": "GEM-UTR-2025-MB",
         "opening": "0.00", "recognised": "22734.56", "received": "19200.00", "closing": "3534.56"},
        {"reference": "NPL-2024-2025", "title": "Bijdrage Nationale Postcode Loterij 2024/2025", "fund": None,
         "opening": "4109.59", "recognised": "495890.41", "received": "500000.00", "closing": "0.00"},
    ],
}
