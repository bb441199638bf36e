"""End to end in a real headless Chromium (Debian's `chromium`, driven by Playwright
through executable_path; `playwright install` is never needed).

The app runs in uvicorn in a thread on a free 127.0.0.1 port against the test
database of each backend. The flows: sign in (by keyboard), find a donor, edit an
address with a validation error then a fix, import a CSV with an error then a good
one, open a grant report, and download a statement through the donor portal.
Screenshots of the main pages go to test-output/screenshots/ for a person to look
at.

Without /usr/bin/chromium these tests are skipped with a message; in CI (CI=true or
ANBI_REQUIRE_POSTGRES=1) they fail instead."""
from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest

from anbi.core.db import session_scope
from tests.factories import make_campaign, make_donation, make_donor, make_expense, make_grant, make_grant_payment, search
from tests.webapp.ui_support import PASSWORD, make_app, make_user, web_settings

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes") or os.environ.get("ANBI_REQUIRE_POSTGRES") == "1"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _need_chromium() -> None:
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "playwright is not installed (pip install -e '.[dev]')"
    if problem:
        if IN_CI:
            pytest.fail(f"end-to-end browser tests cannot run: {problem}")
        pytest.skip(f"end-to-end browser tests skipped: {problem}")


@pytest.fixture(scope="module")
def chromium():
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Server:
    """uvicorn serving the app in a thread on a free loopback port."""

    def __init__(self, app, port: int):
        import uvicorn

        self.port = port
        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, name="e2e-uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def _seed(engine, tmp_path, organisation) -> None:
    """A small organisation: donors, a campaign with gifts, a grant with costs, and
    issued 2025 statements."""
    from exports.statements.issue import issue_statements

    with session_scope(engine) as session:
        spring = make_campaign(session, code="VOORJAAR", name="Voorjaarsmailing", channel="mail", goal="500.00",
                               start_on="2025-03-01")
        anna = make_donor(session, ref="E2E-ANNA", first_name="Anna", prefix="van der", last_name="Berg",
                          street="Kerkstraat", house_number="12", postcode="1017 GC", city="Amsterdam",
                          email="anna@example.nl", iban="NL91ABNA0417164300")
        piet = make_donor(session, ref="E2E-PIET", first_name="Piet", last_name="Bakker", street="Dorpsstraat",
                          house_number="3", postcode="3511 AB", city="Utrecht", email="piet@example.nl")
        make_donor(session, ref="E2E-PIET2", first_name="P.", last_name="Bakker", street="Dorpsstraat",
                   house_number="3", postcode="3511 AB", city="Utrecht", email="piet@example.nl")
        for month, amount in ((3, "50.00"), (4, "25.00"), (9, "120.00")):
            make_donation(session, donor=anna, amount=amount, date=f"2025-{month:02d}-10", campaign=spring,
                          method="ideal")
        make_donation(session, donor=piet, amount="35.00", date="2025-05-02", campaign=spring, method="bank_transfer")
        make_donation(session, donor=piet, amount="20.00", date="2024-05-02", method="bank_transfer")
        grant = make_grant(session, reference="AMIF-E2E", title="Juridische begeleiding",
                           budget=[("STAFF", "Personeel", "8000.00"), ("MAT", "Materieel", "2000.00")],
                           indicators=[("CLIENTS", "Cliënten begeleid", 40)])
        make_expense(session, grant="AMIF-E2E", budget_line="STAFF", amount="6500.00", date="2025-04-01")
        make_expense(session, grant="AMIF-E2E", budget_line="MAT", amount="2450.00", date="2025-05-01")
        make_grant_payment(session, grant, amount="5000.00", date="2025-02-01")
        make_user(session, "admin", "admin@example.org")
        make_user(session, "finance", "finance@example.org")
    issue_statements(lambda: session_scope(engine), year=2025, out_dir=tmp_path / "receipts",
                     organisation=organisation, actor="e2e")


@pytest.fixture
def site(chromium, db_url, engine, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The address the site is served at is its base_url, as for `anbi serve` (portal links use it).
    settings = web_settings(db_url, tmp_path, base_url=f"http://127.0.0.1:{port}")
    _seed(engine, tmp_path, settings.organisation)
    app = make_app(settings, engine)
    with Server(app, port) as server:
        yield server


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _new_page(chromium, **options):
    context = chromium.new_context(accept_downloads=True, **options)
    page = context.new_page()
    errors: list[str] = []

    def console(message) -> None:
        # A page answered with 400 (a form with errors) is reported by the browser
        # too; that is the page working. Failed stylesheets and images are caught below.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    def response(answer) -> None:
        if answer.request.resource_type != "document" and answer.status >= 400:
            errors.append(f"{answer.status} {answer.url}")

    page.on("console", console)
    page.on("response", response)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, errors


def _sign_in_by_keyboard(page, base: str, email: str) -> None:
    page.goto(base + "/")
    assert page.url.startswith(base + "/login")
    # The e-mail field has the focus; Tab to the password; Enter submits.
    page.wait_for_function("document.activeElement && document.activeElement.id === 'email'")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/")


def test_fundraiser_finds_a_donor_fixes_an_address_and_imports(chromium, site, tmp_path):
    base = site.url
    context, page, errors = _new_page(chromium, viewport={"width": 1280, "height": 900})
    page.goto(base + "/login")
    _shot(page, "01-login")
    _sign_in_by_keyboard(page, base, "admin@example.org")
    page.goto(base + "/?year=2025")
    assert page.locator("h1").inner_text() == "Overzicht 2025"
    assert page.locator("svg.chart.months rect.bar.current").count() == 12
    _shot(page, "02-dashboard")

    # Find a donor by postcode and house number, then open the page.
    page.click("header nav >> text=Donateurs")
    page.wait_for_url(base + "/donors")
    page.fill("#q", "1017 GC 12")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/donors\?q=1017.*"))
    results = page.locator("#donor-results tbody tr")
    assert results.count() == 1
    _shot(page, "03-donor-search")
    results.first.locator("a").first.click()
    page.wait_for_url(base + "/donors/E2E-ANNA")
    assert page.locator("#donor-gifts tbody tr").count() == 3
    _shot(page, "04-donor")

    # Edit the address: a wrong postcode first, then the fix.
    page.click("text=Wijzigen")
    page.fill("#f-street", "Prinsengracht")
    page.fill("#f-house_number", "263")
    page.fill("#f-postcode", "10166")
    page.click("button:has-text('Opslaan')")
    error = page.locator("#e-postcode")
    assert "is not a Dutch postcode" in error.inner_text()
    assert page.locator("#f-postcode").get_attribute("aria-invalid") == "true"
    _shot(page, "05-donor-edit-error")
    page.fill("#f-postcode", "1016gv")
    page.click("button:has-text('Opslaan')")
    page.wait_for_url(re.compile(r".*/donors/E2E-ANNA\?msg=saved$"))
    assert "Prinsengracht 263" in page.locator("#donor-address").inner_text()
    assert "1016 GV" in page.locator("#donor-address").inner_text()

    # Import a donors CSV with an error, then a good one.
    bad = tmp_path / "donors-bad.csv"
    bad.write_text("ref;last_name;postcode;email\nNEW-1;Smits;1234AB;smits@example.nl\nNEW-2;;9999;x@\n",
                   encoding="utf-8")
    page.goto(base + "/imports")
    page.select_option("#kind", "donors")
    page.set_input_files("#file", str(bad))
    page.click("button:has-text('Bestand controleren')")
    assert "3 problemen" in page.locator("#problem-count").inner_text()
    problems = page.locator("#problems tbody tr")
    assert problems.count() == 3 and "3" in problems.first.inner_text()
    _shot(page, "06-import-errors")
    good = tmp_path / "donors-good.csv"
    good.write_text("ref;last_name;postcode;email\nNEW-1;Smits;1234AB;smits@example.nl\nNEW-2;Jong;9999 ZZ;jong@example.nl\n",
                    encoding="utf-8")
    page.set_input_files("#file", str(good))
    page.click("button:has-text('Bestand controleren')")
    assert "created" in page.locator("#check-outcome").inner_text()
    _shot(page, "07-import-preview")
    page.click("#import-now")
    assert "Geïmporteerd" in page.locator("#import-result").inner_text()
    _shot(page, "08-import-result")
    page.goto(base + "/donors?q=Smits")
    assert page.locator("#donor-results tbody tr").count() == 1

    # The other main pages, for a person to look at.
    for path, name in (("/campaigns", "09-campaigns"), ("/campaigns/VOORJAAR", "10-campaign-report"),
                       ("/donations?campaign=VOORJAAR", "11-donations"),
                       ("/donations/lapsed?list=lybunt&year=2025", "12-lybunt"),
                       ("/donors/duplicates", "13-duplicates"),
                       ("/donors/compare?a=E2E-PIET&b=E2E-PIET2", "14-compare"),
                       ("/donors/E2E-PIET/erase", "15-erase-confirmation"),
                       ("/receipts", "16-receipts")):
        page.goto(base + path)
        assert page.locator("h1").count() == 1, path
        _shot(page, name)
    # Switch to English and back, as a person would.
    page.click("button:has-text('English')")
    assert page.locator("h1").inner_text() == "Annual gift statements"
    page.click("button:has-text('Nederlands')")
    assert errors == []
    context.close()


def test_finance_opens_a_grant_report(chromium, site, tmp_path):
    base = site.url
    context, page, errors = _new_page(chromium, viewport={"width": 1280, "height": 900})
    _sign_in_by_keyboard(page, base, "finance@example.org")
    page.goto(base + "/grants")
    _shot(page, "17-grants")
    page.click("text=AMIF-E2E")
    page.wait_for_url(base + "/grants/AMIF-E2E")
    assert page.locator("svg.chart.budget rect.bar").count() == 2
    # 6,500.00 + 2,450.00 eligible; at 100 % below the award: the funder's share.
    assert page.locator("#funder-share").inner_text() == "€ 8.950,00"
    assert page.locator("#balance").inner_text() == "€ 3.950,00"
    _shot(page, "18-grant")
    with page.expect_download() as pdf:
        page.click("#report-pdf")
    path = tmp_path / "report.pdf"
    pdf.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF") and pdf.value.suggested_filename == "AMIF-E2E.pdf"
    with page.expect_download() as xlsx:
        page.click("#report-xlsx")
    assert xlsx.value.suggested_filename == "AMIF-E2E.xlsx"
    for path_, name in (("/funds?year=2025", "19-funds"), ("/reports?year=2025", "20-income-statement")):
        page.goto(base + path_)
        _shot(page, name)
    assert errors == []
    context.close()


def test_donor_downloads_a_statement_through_the_portal(chromium, site, tmp_path):
    base = site.url
    context, page, errors = _new_page(chromium, viewport={"width": 390, "height": 844}, is_mobile=True)
    page.goto(base + "/portal")
    _shot(page, "21-portal-ask-phone")
    page.fill("#email", "anna@example.nl")
    page.click("button:has-text('Stuur mij een link')")
    assert "Als dit adres bij ons bekend is" in page.locator("#portal-sent").inner_text()
    message = site.app.state.mailer.sent[-1]
    link = search(r"(http://127\.0\.0\.1:\d+/portal/login/[A-Za-z0-9_-]+)", message.get_content()).group(1)
    page.goto(link)
    page.click("#open-portal")
    page.wait_for_url(base + "/portal")
    statements = page.locator("#portal-statements a")
    assert statements.count() == 1 and "2025" in statements.first.inner_text()
    _shot(page, "22-portal-home-phone")
    with page.expect_download() as download:
        statements.first.click()
    saved = tmp_path / "statement.pdf"
    download.value.save_as(saved)
    issued = sorted((tmp_path / "receipts").glob("2025-*E2E-ANNA*.pdf"))
    assert saved.read_bytes() == issued[0].read_bytes()
    # The link worked once: opening it again is refused.
    page.goto(link)
    assert "al gebruikt" in page.locator("#link-problem").inner_text()
    assert errors == []
    context.close()


def test_pages_are_readable_on_a_phone(chromium, site):
    base = site.url
    context, page, errors = _new_page(chromium, viewport={"width": 375, "height": 812}, is_mobile=True)
    _sign_in_by_keyboard(page, base, "admin@example.org")
    for path, name in (("/?year=2025", "23-dashboard-phone"), ("/donors/E2E-ANNA", "24-donor-phone")):
        page.goto(base + path)
        # Nothing wider than the screen: the page does not scroll sideways.
        wide = page.evaluate("""Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > 376 && !e.closest('.table-wrap') && !(e.closest('table') && e.tagName != 'TABLE')).slice(0,8).map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))""")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1, (path, wide)
        _shot(page, name)
    # The skip link is the first thing the keyboard reaches.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    assert errors == []
    context.close()
