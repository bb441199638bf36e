"""Finance pages: grants, a grant's figures with the report as PDF and XLSX, the
funds report, the RJ 650 income statement, and the receipt run with its manifest.

The grant G-WEB (funding rate 100 %, no indirect costs, 10,000.00 awarded):
    STAFF budget 5,000.00, costs 6,000.00 → 20 % over, past the 10 % allowed shift
    MAT   budget 1,000.00, costs   500.00; plus 100.00 marked not eligible
    direct eligible 6,500.00 = total eligible = funder share (below the award)
    advance received 3,000.00 → balance 6,500.00 − 3,000.00 = 3,500.00
"""
from __future__ import annotations

import dataclasses
import io

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from anbi.core.runs import ReceiptRun
from tests.factories import make_donation, make_donor, make_expense, make_grant, make_grant_payment
from tests.webapp.ui_support import page_text


@pytest.fixture
def grant(session):
    grant = make_grant(session, reference="G-WEB", title="Taalcafé", budget=[("STAFF", "Personeel", "5000.00"),
                                                                          ("MAT", "Materieel", "1000.00")])
    make_expense(session, grant="G-WEB", budget_line="STAFF", amount="6000.00", date="2025-03-01")
    make_expense(session, grant="G-WEB", budget_line="MAT", amount="500.00", date="2025-04-01")
    make_expense(session, grant="G-WEB", budget_line="MAT", amount="100.00", date="2025-04-02", eligible=False,
                 reason="alcohol is not eligible")
    make_grant_payment(session, grant, amount="3000.00", date="2025-02-01", kind="advance")
    session.commit()
    return grant


def test_grants_list_and_grant_page(session, grant, sign_in):
    browser = sign_in("finance")
    listing = page_text(browser.get("/grants").text)
    assert "G-WEB" in listing and "Taalcafé" in listing and "€ 10.000,00" in listing
    assert "01-01-2025 31-12-2025" in listing  # dates as in every other table, not ISO
    page = browser.get("/grants/G-WEB")
    assert page.status_code == 200
    text = page_text(page.text)
    assert "STAFF Personeel € 5.000,00 € 6.000,00 € 1.000,00 Boven begroting 20,00%" in text
    assert "MAT Materieel € 1.000,00 € 500,00" in text
    assert 'id="funder-share">€ 6.500,00<' in page.text and 'id="balance">€ 3.500,00<' in page.text
    assert "Niet-subsidiabele kosten € 100,00" in text and "alcohol is not eligible" in text
    # A bar per budget line, the over-budget one marked, each with its budget marker.
    svg = page.text.split('<svg class="chart hbars budget"', 1)[1].split("</svg>", 1)[0]
    assert svg.count('class="bar warn"') == 1 and svg.count('class="bar"') == 1 and svg.count('class="marker"') == 2
    assert browser.get("/grants/NOPE").status_code == 404


def test_grant_report_downloads(session, grant, sign_in):
    browser = sign_in("viewer")
    pdf = browser.get("/grants/G-WEB/report.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert 'filename="G-WEB.pdf"' in pdf.headers["content-disposition"]
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "G-WEB" in text and "6.500,00" in text
    xlsx = browser.get("/grants/G-WEB/report.xlsx")
    assert xlsx.status_code == 200
    workbook = load_workbook(io.BytesIO(xlsx.content))
    assert len(workbook.sheetnames) >= 2
    assert browser.get("/grants/G-WEB/report.doc").status_code == 404


def test_funds_report_and_income_statement(session, grant, sign_in):
    person = make_donor(session, ref="GIVER")
    company = make_donor(session, ref="BV", kind="organisation", organisation_type="company")
    make_donation(session, donor=person, amount="80.00", date="2025-05-01")
    make_donation(session, donor=company, amount="250.00", date="2025-06-01")
    make_donation(session, donor=person, amount="15.00", date="2024-06-01")
    session.commit()
    browser = sign_in("viewer")
    income = page_text(browser.get("/reports", params={"year": "2025"}).text)
    assert "Baten van particulieren € 80,00 € 15,00" in income
    assert "Baten van bedrijven € 250,00 € 0,00" in income
    pdf = browser.get("/reports/income-2025.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    funds = browser.get("/funds", params={"year": "2025"})
    assert funds.status_code == 200 and "Fondsenoverzicht 2025" in page_text(funds.text)
    # The grant's fund spends what the grant brings in; the 3.500,00 still to receive is shown apart.
    shown = page_text(funds.text)
    assert "G-WEB Taalcafé € 0,00 € 6.500,00 € 6.500,00 € 0,00" in shown
    assert "Subsidies: te ontvangen (+) of terug te betalen (−)" in shown
    assert "G-WEB Taalcafé G-WEB € 0,00 € 6.500,00 € 3.000,00 € 3.500,00" in shown


def test_receipt_run_and_manifest(web_app, session, sign_in):
    donor = make_donor(session, ref="R-1", first_name="Rosa", last_name="Rijn", postcode="1017 GC", city="Amsterdam")
    make_donation(session, donor=donor, amount="60.00", date="2025-05-01")
    session.commit()
    browser = sign_in("fundraiser")
    response = browser.post("/receipts", {"year": "2025"}, csrf_from="/receipts")
    assert response.status_code == 303 and response.headers["location"] == "/receipts"
    for thread in web_app.state.receipt_threads:
        thread.join(60)
    session.expire_all()
    run = session.scalar(select(ReceiptRun))
    assert (run.status, run.year, run.actor, run.error) == ("finished", 2025, "fundraiser@example.org", None)
    assert run.summary["issued"] == 1 and run.summary["current"] == 1
    page = page_text(browser.get("/receipts").text)
    assert "klaar" in page
    manifest = browser.get(f"/receipts/{run.id}/manifest.csv")
    assert manifest.status_code == 200
    lines = manifest.content.decode("utf-8").splitlines()
    assert lines[0] == "number,donor_ref,year,regular,periodic,non_deductible,total_paid,file,sha256"
    assert lines[1].startswith("2025-000001,R-1,2025,60.00,0.00,0.00,60.00,")
    # The statement is on the donor page to download, identical to the file written.
    statement = browser.get("/donors/R-1/statements/2025-000001.pdf")
    assert statement.status_code == 200
    from pathlib import Path

    assert statement.content == (Path(run.out_dir) / lines[1].split(",")[7]).read_bytes()


def test_receipt_run_refusals_are_named(db_url, engine, tmp_path, session):
    from tests.webapp.ui_support import make_app, signed_in, web_settings

    settings = web_settings(db_url, tmp_path)
    no_organisation = make_app(dataclasses.replace(settings, organisation=None), engine)
    browser = signed_in(no_organisation, session, "admin")
    response = browser.post("/receipts", {"year": "2025"}, csrf_from="/receipts")
    assert response.status_code == 400 and "[organisation]" in page_text(response.text)
    future = browser.post("/receipts", {"year": "2999"}, csrf_from="/receipts")
    assert future.status_code == 400 and "year 2999 is not a past or current year" in page_text(future.text)
    assert session.scalar(select(ReceiptRun.id)) is None


def test_a_running_receipt_run_blocks_a_second_one_until_it_is_stale(web_app, session, sign_in):
    import datetime as dt

    from anbi.core.clock import utcnow

    session.add(ReceiptRun(year=2025, out_dir="/nowhere", actor="someone", status="running",
                           started_at=utcnow() - dt.timedelta(minutes=5)))
    session.commit()
    browser = sign_in("admin")
    busy = browser.post("/receipts", {"year": "2025"}, csrf_from="/receipts")
    assert busy.status_code == 400 and "a run for 2025 is still going" in page_text(busy.text)
    session.execute(ReceiptRun.__table__.update().values(started_at=utcnow() - dt.timedelta(hours=7)))
    session.commit()
    started = browser.post("/receipts", {"year": "2025"}, csrf_from="/receipts")
    assert started.status_code == 303
    for thread in web_app.state.receipt_threads:
        thread.join(60)
