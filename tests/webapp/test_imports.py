"""Imports through the browser: every problem with line and field before anything
is written, a preview, then the import with a visible result."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from anbi.core.runs import ImportRun
from donors.models import Donor
from fundraising.models import Donation
from tests.factories import make_donor, make_grant, search
from tests.webapp.ui_support import Browser, page_text

GOOD_DONORS = (
    b"ref;first_name;last_name;postcode;house_number;city;email\n"
    b"IMP-1;Anna;Jansen;1017GC;12;Amsterdam;anna@example.nl\n"
    b"IMP-2;Piet;de Vries;3511 AB;3;Utrecht;\n"
)
BAD_DONORS = (
    b"ref,first_name,last_name,postcode,email\n"
    b"IMP-1,Anna,Jansen,1017 GC,anna@example.nl\n"
    b"IMP-2,Piet,de Vries,12345,piet@\n"
    b"IMP-3,Kees,,1017 GC,\n"
)


def _upload(browser: Browser, kind: str, name: str, data: bytes):
    return browser.post("/imports", {"kind": kind}, files={"file": (name, data, "text/csv")}, csrf_from="/imports")


def _problems(html: str) -> list[tuple[str, str, str]]:
    table = html.split('id="problems"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table)
    return [(line, field, page_text(reason)) for line, field, reason in rows]


def _count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def test_a_file_with_errors_lists_every_problem_and_writes_nothing(session, sign_in):
    browser = sign_in("fundraiser")
    response = _upload(browser, "donors", "donors.csv", BAD_DONORS)
    assert response.status_code == 400
    assert "Het bestand heeft 3 problemen; er is niets opgeslagen." in page_text(response.text)
    problems = _problems(response.text)
    assert ("3", "postcode", "postcode '12345' is not a Dutch postcode (1234 AB) (the country is NL; give country for a foreign address)") in problems
    assert ("3", "email", "e-mail 'piet@' is not a valid address") in problems
    assert any(line == "4" and field == "last_name" for line, field, _ in problems)
    # The preview shows the first rows as they are in the file.
    assert "IMP-3" in response.text.split('id="preview"', 1)[1]
    assert "Nu importeren" not in response.text
    assert _count(session, Donor) == 0
    run = session.scalar(select(ImportRun))
    assert (run.kind, run.status, run.file_name, run.actor) == ("donors", "refused", "donors.csv", "fundraiser@example.org")
    assert {"line": 3, "field": "email", "reason": "e-mail 'piet@' is not a valid address"} in run.problems
    # The dashboard shows the refused import with its first problems.
    dashboard = page_text(browser.get("/").text)
    assert "donateurs: donors.csv" in dashboard and "geweigerd" in dashboard and "Regel 3" in dashboard


def test_a_good_file_is_previewed_then_imported(session, sign_in):
    browser = sign_in("fundraiser")
    check = _upload(browser, "donors", "donors.csv", GOOD_DONORS)
    assert check.status_code == 200
    text = page_text(check.text)
    assert "Er is nog niets opgeslagen." in text and "created 2" in text
    assert _count(session, Donor) == 0  # a check writes nothing
    token = search(r'name="token" value="([^"]+)"', check.text).group(1)
    done = browser.post("/imports/confirm", {"token": token}, csrf_from="/imports")
    assert done.status_code == 200
    result = page_text(done.text)
    assert "Geïmporteerd. donateurs: donors.csv" in result and "created 2" in result
    assert sorted(session.scalars(select(Donor.ref))) == ["IMP-1", "IMP-2"]
    assert session.scalar(select(Donor.postcode).where(Donor.ref == "IMP-1")) == "1017 GC"
    run = session.scalar(select(ImportRun).where(ImportRun.status == "imported"))
    assert (run.rows, run.summary["created"]) == (2, 2)
    # The stored upload is gone: the same token imports nothing twice.
    again = browser.post("/imports/confirm", {"token": token}, csrf_from="/imports")
    assert again.status_code == 400 and "De upload is verlopen" in page_text(again.text)
    assert _count(session, Donor) == 2


def test_an_upload_belongs_to_the_person_who_made_it(web_app, session, sign_in):
    first = sign_in("fundraiser")
    token = search(r'name="token" value="([^"]+)"', _upload(first, "donors", "d.csv", GOOD_DONORS).text).group(1)
    second = sign_in("admin")
    response = second.post("/imports/confirm", {"token": token}, csrf_from="/imports")
    assert response.status_code == 400
    assert _count(session, Donor) == 0
    for forged in ("../../etc/passwd", ""):
        assert second.post("/imports/confirm", {"token": forged}, csrf_from="/imports").status_code == 400


def test_each_role_imports_only_its_own_kinds(session, sign_in):
    fundraiser = sign_in("fundraiser")
    page = fundraiser.get("/imports").text
    assert 'value="donors"' in page and 'value="expenses"' not in page
    assert _upload(fundraiser, "expenses", "e.csv", b"reference,date,amount\nE1,2025-01-01,10.00\n").status_code == 403
    finance = sign_in("finance")
    page = finance.get("/imports").text
    assert 'value="expenses"' in page and 'value="timesheets"' in page and 'value="donors"' not in page
    assert _upload(finance, "donors", "d.csv", GOOD_DONORS).status_code == 403
    assert _count(session, Donor) == 0


def test_a_file_that_is_not_utf8_is_refused_with_the_reason(session, sign_in):
    browser = sign_in("fundraiser")
    data = "ref,last_name\nIMP-1,Hélène\n".encode("cp1252")
    response = _upload(browser, "donors", "latin.csv", data)
    assert response.status_code == 400
    [(line, _, reason)] = _problems(response.text)
    # The kernel's reader says which line and how to save the file.
    assert line == "2" and "not UTF-8" in reason and "save it as 'CSV UTF-8'" in reason
    assert _count(session, Donor) == 0


def test_no_file_chosen(session, sign_in):
    browser = sign_in("fundraiser")
    response = browser.post("/imports", {"kind": "donors"}, csrf_from="/imports")
    assert response.status_code == 400 and "Kies een bestand." in page_text(response.text)


def test_donations_import_checks_donor_refs(session, sign_in):
    make_donor(session, ref="KNOWN")
    session.commit()
    browser = sign_in("admin")
    data = b"donor_ref,date,amount,method,reference\nKNOWN,2025-03-01,25.00,ideal,W-1\nNOBODY,2025-03-02,10.00,ideal,W-2\n"
    response = _upload(browser, "donations", "gifts.csv", data)
    assert response.status_code == 400
    assert any(line == "3" and field == "donor_ref" for line, field, _ in _problems(response.text))
    assert _count(session, Donation) == 0
    good = data.replace(b"NOBODY", b"KNOWN")
    check = _upload(browser, "donations", "gifts.csv", good)
    assert check.status_code == 200 and _count(session, Donation) == 0
    token = search(r'name="token" value="([^"]+)"', check.text).group(1)
    done = browser.post("/imports/confirm", {"token": token}, csrf_from="/imports")
    assert done.status_code == 200 and "€ 35,00" in page_text(done.text)
    assert _count(session, Donation) == 2


def test_expenses_are_checked_in_a_rolled_back_transaction_then_imported(session, sign_in):
    from subsidies.models import Expense

    make_grant(session, reference="G-IMP", budget=[("STAFF", "Personeel", "5000.00")])
    session.commit()
    browser = sign_in("finance")
    data = b"reference,date,amount,grant,budget_line\nX-1,2025-02-01,120.50,G-IMP,STAFF\nX-2,2025-02-03,10.00,G-IMP,NOPE\n"
    bad = _upload(browser, "expenses", "costs.csv", data)
    assert bad.status_code == 400
    assert any(line == "3" and field == "budget_line" for line, field, _ in _problems(bad.text))
    check = _upload(browser, "expenses", "costs.csv", data.replace(b"NOPE", b"STAFF"))
    assert check.status_code == 200 and "created 2" in page_text(check.text)
    assert _count(session, Expense) == 0  # the check's writes were rolled back
    token = search(r'name="token" value="([^"]+)"', check.text).group(1)
    assert browser.post("/imports/confirm", {"token": token}, csrf_from="/imports").status_code == 200
    assert _count(session, Expense) == 2
    assert sorted(session.scalars(select(Expense.amount_cents))) == [1000, 12050]


def test_agreements_import(session, sign_in):
    from fundraising.models import PeriodicAgreement

    make_donor(session, ref="AGR-DONOR")
    session.commit()
    browser = sign_in("fundraiser")
    bad = (b"number,donor_ref,annual_amount,start_date,years,signed_on\n"
           b"PG-2025-0001,AGR-DONOR,600.00,2025-01-01,3,2024-12-20\n")
    response = _upload(browser, "agreements", "agreements.csv", bad)
    assert response.status_code == 400
    assert [(line, field) for line, field, _ in _problems(response.text)] == [("2", "years")]
    check = _upload(browser, "agreements", "agreements.csv", bad.replace(b",3,", b",5,"))
    token = search(r'name="token" value="([^"]+)"', check.text).group(1)
    assert browser.post("/imports/confirm", {"token": token}, csrf_from="/imports").status_code == 200
    agreement = session.scalar(select(PeriodicAgreement))
    assert (agreement.number, agreement.annual_amount_cents, agreement.years) == ("PG-2025-0001", 60000, 5)


def test_timesheets_import(session, sign_in):
    from subsidies.costs import import_staff
    from subsidies.models import Timesheet

    make_grant(session, reference="G-HOURS", hours_per_year=1720, budget=[("STAFF", "Personeel", "5000.00")])
    make_grant(session, reference="G-NOHOURS", budget=[("STAFF", "Personeel", "5000.00")])
    import_staff(session, b"employee,year,annual_cost,fte\nE-001,2025,68800.00,1\n")
    session.commit()
    browser = sign_in("finance")
    data = (b"reference,employee,date,grant,budget_line,hours\n"
            b"T-1,E-001,2025-03-03,G-HOURS,STAFF,7.5\n"
            b"T-2,E-001,2025-03-04,G-NOHOURS,STAFF,4\n")
    response = _upload(browser, "timesheets", "hours.csv", data)
    assert response.status_code == 400
    [(line, field, reason)] = _problems(response.text)
    assert (line, field) == ("3", "grant") and "no hours basis" in reason
    check = _upload(browser, "timesheets", "hours.csv", data.replace(b"G-NOHOURS", b"G-HOURS"))
    assert check.status_code == 200 and _count(session, Timesheet) == 0
    token = search(r'name="token" value="([^"]+)"', check.text).group(1)
    assert browser.post("/imports/confirm", {"token": token}, csrf_from="/imports").status_code == 200
    assert sorted(session.scalars(select(Timesheet.hours_hundredths))) == [400, 750]


def test_the_timesheet_import_explains_period_sheets_and_shows_their_warning(session, sign_in):
    from subsidies.costs import import_staff

    make_grant(session, reference="AMIF-W", start="2025-01-01", end="2025-12-31", hours_per_year=1720)
    staff = "employee,year,annual_cost,fte\nE1,2025,48160.00,1\n"
    import_staff(session, staff.encode())
    session.commit()
    finance = sign_in("finance")
    hint = page_text(finance.get("/imports").text)
    assert "period_start, period_end" in hint
    assert "Een periode (zoals een getekende maandstaat): period_start en period_end, date leeg" in hint
    sheet = "reference,employee,period_start,period_end,grant,budget_line,hours\nM03,E1,2025-03-01,2025-03-31,AMIF-W,,180\n"
    check = _upload(finance, "timesheets", "uren.csv", sheet.encode())
    assert check.status_code == 200
    # 40 h a week (the default at 1 FTE) × 21 weekdays in March 2025 / 5 = 168.00 contract hours.
    assert "warning: M03: 180.00 hours in 2025-03-01 – 2025-03-31 is more than E1's contract hours in it (168.00" in page_text(check.text)
def test_an_xlsx_file_uploaded_is_previewed_and_imported_and_an_ods_file_named(session, sign_in):
    """Issue 13, item 10: the importer's _csv.Error was a 500. Issue 16, item 4: an
    XLSX file is read as a CSV file is; an ODS file is named in one line."""
    from tests.core.test_errors_without_data import _ods, _xlsx

    browser = sign_in("fundraiser")
    response = browser.post("/imports", {"kind": "donors"},
                            files={"file": ("donors.xlsx", _xlsx(), "application/octet-stream")}, csrf_from="/imports")
    assert response.status_code == 200
    assert "created 1" in page_text(response.text)
    preview = page_text(response.text.split('id="preview"', 1)[1])
    assert "ref" in preview and "X1" in preview and "Jansen" in preview
    token = re.search(r'name="token" value="([^"]+)"', response.text).group(1)
    assert browser.post("/imports/confirm", {"token": token}, csrf_from="/imports").status_code == 200
    assert session.scalar(select(Donor.last_name).where(Donor.ref == "X1")) == "Jansen\r\nde Vries"

    refused = browser.post("/imports", {"kind": "donors"},
                           files={"file": ("donors.ods", _ods(), "application/octet-stream")}, csrf_from="/imports")
    assert refused.status_code == 400
    assert "this is an ODS file, not CSV or XLSX" in refused.text
