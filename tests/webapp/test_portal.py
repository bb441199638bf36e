"""The donor portal: asking for a link (same answer whether the address is known or
not), the link's single use and expiry, what a donor sees and may change, and that
a portal session opens nothing else."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import socket

import pytest
from sqlalchemy import func, select

from anbi.core.audit import AuditEntry
from anbi.core.clock import utcnow
from anbi.core.db import session_scope
from anbi.web.identity import portal
from anbi.web.identity.models import PortalLink, WebSession
from donors.models import ConsentEvent, Donor
from tests.factories import make_donation, make_donor, search
from tests.webapp.ui_support import Browser, page_text

SENT = ("Als dit adres bij ons bekend is, hebben we er een link naartoe gestuurd. Die werkt één keer en 30 minuten "
        "lang.")


@pytest.fixture
def donors(session):
    anna = make_donor(session, ref="P-ANNA", first_name="Anna", last_name="Visser", email="anna@example.nl",
                      street="Kerkstraat", house_number="1", postcode="1017 GC", city="Amsterdam")
    bram = make_donor(session, ref="P-BRAM", first_name="Bram", last_name="Smit", email="bram@example.nl")
    make_donation(session, donor=anna, amount="40.00", date="2025-03-01", reference="ANNA-GIFT", method="ideal")
    make_donation(session, donor=bram, amount="75.00", date="2025-04-01", reference="BRAM-GIFT")
    session.commit()
    return anna, bram


def _ask(web_app, email: str):
    browser = Browser(web_app)
    response = browser.post("/portal", {"email": email}, csrf_from="/portal")
    return browser, response


def _link(message) -> str:
    return search(r"http://testserver(/portal/login/[A-Za-z0-9_-]+)", message.get_content()).group(1)


def _open(web_app, donors_email: str = "anna@example.nl") -> Browser:
    browser, _ = _ask(web_app, donors_email)
    path = _link(web_app.state.mailer.sent[-1])
    token = path.rsplit("/", 1)[1]
    assert browser.get(path).status_code == 200
    response = browser.post("/portal/login", {"token": token}, csrf_from=path)
    assert response.status_code == 303 and response.headers["location"] == "/portal"
    return browser


def test_the_same_answer_whether_or_not_the_address_is_known(web_app, donors):
    _known_browser, known = _ask(web_app, "Anna@Example.nl")
    _unknown_browser, unknown = _ask(web_app, "stranger@example.nl")
    _malformed_browser, malformed = _ask(web_app, "not an address")
    assert known.status_code == unknown.status_code == malformed.status_code == 200
    assert SENT in page_text(known.text)
    assert page_text(known.text) == page_text(unknown.text) == page_text(malformed.text)
    # Only the known address got mail: one message, to the donor, with the link.
    sent = web_app.state.mailer.sent
    assert len(sent) == 1
    assert sent[0]["To"] == "anna@example.nl"
    assert "Beste Anna Visser" in sent[0].get_content() and "30 minuten" in sent[0].get_content()
    assert "Stichting Vluchtelingenhulp Test" in sent[0]["Subject"]


def test_the_link_is_stored_hashed_and_works_once(web_app, session, donors):
    browser, _ = _ask(web_app, "anna@example.nl")
    path = _link(web_app.state.mailer.sent[-1])
    token = path.rsplit("/", 1)[1]
    stored = session.scalar(select(PortalLink.token_hash))
    assert token not in stored and len(stored) == 64
    # Opening the link (as a mail scanner would) does not use it up.
    assert browser.get(path).status_code == 200
    assert browser.get(path).status_code == 200
    assert browser.post("/portal/login", {"token": token}, csrf_from=path).status_code == 303
    home = browser.get("/portal")
    assert "ANNA-GIFT" not in home.text  # the reference is ours, not the donor's business
    assert "€ 40,00" in page_text(home.text)
    # A second use, from the same or any browser, is refused and says why.
    again = Browser(web_app)
    assert again.get(path).status_code == 410
    refused = again.post("/portal/login", {"token": token}, csrf_from="/portal")
    assert refused.status_code == 410
    assert "Deze link is al gebruikt. Vraag een nieuwe aan." in page_text(refused.text)


def test_an_expired_link_is_refused(web_app, session, donors):
    with session_scope(web_app.state.engine) as db:
        links = portal.request_links(db, "anna@example.nl", client="198.51.100.7",
                                     now=utcnow() - portal.LINK_LIFETIME - dt.timedelta(seconds=1))
    browser = Browser(web_app)
    path = f"/portal/login/{links[0].token}"
    page = browser.get(path)
    assert page.status_code == 410 and "Deze link is verlopen. Vraag een nieuwe aan." in page_text(page.text)
    response = browser.post("/portal/login", {"token": links[0].token}, csrf_from="/portal")
    assert response.status_code == 410
    assert browser.get("/portal").text.count("Stuur mij een link") == 1  # still signed out
    assert session.scalar(select(func.count()).select_from(WebSession)) == 0


def test_a_made_up_link_is_refused(web_app, donors):
    browser = Browser(web_app)
    assert browser.get("/portal/login/not-a-real-token").status_code == 410
    response = browser.post("/portal/login", {"token": "not-a-real-token"}, csrf_from="/portal")
    assert response.status_code == 410 and "Deze link is niet geldig." in page_text(response.text)


def test_asking_too_often_sends_nothing_more_but_answers_the_same(web_app, donors):
    for _ in range(portal.REQUESTS_PER_EMAIL):
        _ask(web_app, "anna@example.nl")
    assert len(web_app.state.mailer.sent) == portal.REQUESTS_PER_EMAIL
    _, response = _ask(web_app, "anna@example.nl")
    assert response.status_code == 200 and SENT in page_text(response.text)
    assert len(web_app.state.mailer.sent) == portal.REQUESTS_PER_EMAIL


def test_a_restricted_donor_gets_no_link(web_app, session, donors):
    anna, _ = donors
    anna.restricted_at = utcnow()
    session.commit()
    _, response = _ask(web_app, "anna@example.nl")
    assert SENT in page_text(response.text)
    assert web_app.state.mailer.sent == []


def test_the_donor_sees_only_their_own_gifts_and_statements(web_app, session, donors, tmp_path):
    from exports.statements.issue import issue_statements
    from fundraising.statements.models import Statement

    issue_statements(lambda: session_scope(web_app.state.engine), year=2025, out_dir=tmp_path / "receipts",
                     organisation=web_app.state.settings.organisation, actor="test")
    numbers = dict(session.execute(select(Donor.ref, Statement.number).join(Donor, Donor.id == Statement.donor_id)).all())
    browser = _open(web_app)
    home = page_text(browser.get("/portal").text)
    assert "Anna Visser" in home and "Jaaroverzicht 2025" in home and "€ 40,00" in home
    assert "€ 75,00" not in home and "Bram" not in home
    own = browser.get(f"/portal/statements/{numbers['P-ANNA']}.pdf")
    assert own.status_code == 200 and own.headers["content-type"] == "application/pdf"
    assert own.content == (tmp_path / "receipts" / session.scalar(
        select(Statement.file_name).where(Statement.number == numbers["P-ANNA"]))).read_bytes()
    assert browser.get(f"/portal/statements/{numbers['P-BRAM']}.pdf").status_code == 404


def test_a_portal_session_opens_no_staff_page_and_a_staff_session_no_portal(web_app, donors, sign_in):
    browser = _open(web_app)
    for path in ("/", "/donors", "/donors/P-BRAM", "/grants", "/imports", "/receipts"):
        response = browser.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), path
    staff = sign_in("admin")
    page = staff.get("/portal")
    assert "Stuur mij een link" in page.text and "Anna" not in page.text
    assert staff.get("/portal/statements/2025-000001.pdf").status_code == 303


def test_updating_details_is_validated_like_the_import_and_audited(web_app, session, donors):
    browser = _open(web_app)
    form = {"street": "Nieuwe Gracht", "house_number": "9", "house_number_suffix": "", "postcode": "99999",
            "city": "Utrecht", "country": "NL", "email": "anna@example.nl",
            "consent_email": "yes", "consent_post": "no", "consent_phone": "no"}
    bad = browser.post("/portal/details", form, csrf_from="/portal")
    assert bad.status_code == 400
    assert "postcode '99999' is not a Dutch postcode (1234 AB)" in page_text(bad.text)
    session.expire_all()
    assert session.scalar(select(Donor.street).where(Donor.ref == "P-ANNA")) == "Kerkstraat"

    good = browser.post("/portal/details", {**form, "postcode": "3512jk"}, csrf_from="/portal")
    assert good.status_code == 303 and good.headers["location"] == "/portal?msg=portal_updated"
    session.expire_all()
    anna = session.scalar(select(Donor).where(Donor.ref == "P-ANNA"))
    assert (anna.street, anna.house_number, anna.postcode, anna.city) == ("Nieuwe Gracht", "9", "3512 JK", "Utrecht")
    consent = session.scalars(select(ConsentEvent).where(ConsentEvent.donor_id == anna.id)).all()
    assert [(c.channel, c.granted, c.source) for c in consent] == [("email", True, "portal")]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.entity_ref == "P-ANNA")).all()[-1]
    assert entry.actor == "portal:P-ANNA" and "street" in entry.details["changed"]
    assert "Uw gegevens zijn bijgewerkt." in page_text(browser.get(good.headers["location"]).text)


def test_signing_out_of_the_portal(web_app, session, donors):
    browser = _open(web_app)
    assert browser.post("/portal/logout", {}, csrf_from="/portal").status_code == 303
    assert "Stuur mij een link" in browser.get("/portal").text
    assert session.scalar(select(func.count()).select_from(WebSession)) == 0


def test_the_link_goes_out_over_smtp(db_url, engine, tmp_path, donors):
    """The real mailer, against a local SMTP server."""
    import datetime as dt
    import email
    import email.policy
    import email.utils

    from aiosmtpd.controller import Controller

    from tests.webapp.ui_support import web_settings

    received = []

    class Inbox:
        async def handle_DATA(self, server, session, envelope):
            received.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=email.policy.default)))
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = web_settings(db_url, tmp_path, base_url="https://giften.example.org")
        settings = dataclasses.replace(settings, smtp=dataclasses.replace(settings.smtp, port=port, tls="false"))
        from anbi.web.app import create_app

        app = create_app(settings, engine=engine)
        Browser(app, "https://giften.example.org").post("/portal", {"email": "bram@example.nl"}, csrf_from="/portal")
    finally:
        controller.stop()
    assert len(received) == 1
    recipients, message = received[0]
    assert recipients == ["bram@example.nl"]
    # From the charity, by name; dated; with an id in the sender's domain.
    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Stichting Vluchtelingenhulp Test", "giften@example.org")
    sent_at = email.utils.parsedate_to_datetime(message["Date"])
    assert sent_at.tzinfo is not None and abs((sent_at - dt.datetime.now(dt.UTC)).total_seconds()) < 300
    assert re.fullmatch(r"<[^@<>]+@example\.org>", message["Message-ID"])
    assert re.search(r"https://giften\.example\.org/portal/login/[A-Za-z0-9_-]{40,}", message.get_content())


def test_the_portal_is_headed_with_the_charitys_name(browser, donors):
    page = browser.get("/portal")
    assert page.status_code == 200
    brand = page.text.split('class="brand"', 1)[1].split("</a>", 1)[0]
    assert "Stichting Vluchtelingenhulp Test" in brand and "anbi-crm" not in brand
    assert "<title>Donateursportaal — Stichting Vluchtelingenhulp Test</title>" in page.text


def test_a_message_gets_the_headers_it_lacks_and_keeps_those_it_has():
    from email.message import EmailMessage

    from anbi.web.mail import complete_headers

    message = complete_headers(EmailMessage(), sender="giften@example.org", sender_name="Stichting Één")
    assert message["From"].addresses[0].display_name == "Stichting Één"
    assert message["Date"] and message["Message-ID"].endswith("@example.org>")
    given = EmailMessage()
    given["From"], given["Message-ID"] = "other@example.org", "<1@example.org>"
    complete_headers(given, sender="giften@example.org", sender_name=None)
    assert (given["From"], given["Message-ID"]) == ("other@example.org", "<1@example.org>")
