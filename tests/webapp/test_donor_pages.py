"""Donor pages: search, the donor page, edit with the import's validation,
duplicates with compare and merge, and erasure with its confirmation."""
from __future__ import annotations

from sqlalchemy import func, select

from anbi.core.audit import AuditEntry
from donors.models import ConsentEvent, Donor, DonorMerge
from fundraising.models import Donation
from tests.factories import make_agreement, make_campaign, make_donation, make_donor
from tests.webapp.ui_support import page_text


def _donors(session):
    anna = make_donor(session, ref="D-ANNA", first_name="Anna", prefix="van der", last_name="Berg",
                      street="Kerkstraat", house_number="12", postcode="1017 GC", city="Amsterdam",
                      email="anna@example.nl", iban="NL91ABNA0417164300")
    make_donor(session, ref="D-PIET", first_name="Piet", last_name="Bakker", house_number="14", postcode="1017 GC",
               email="piet@example.nl")
    make_donor(session, ref="D-ORG", kind="organisation", organisation_name="Bakkerij De Berg B.V.", postcode="3511 AB",
               house_number="1", city="Utrecht")
    session.commit()
    return anna


def _refs(html: str) -> list[str]:
    import re

    # One row links the number and the name: count each donor once.
    return list(dict.fromkeys(re.findall(r'<td><a href="/donors/([^"]+)">', html)))


def test_search_by_each_kind_of_text(session, sign_in):
    _donors(session)
    browser = sign_in("fundraiser")
    cases = {
        "berg": ["D-ANNA", "D-ORG"],          # last name and organisation name
        "anna berg": ["D-ANNA"],              # every word must match
        "1017GC 12": ["D-ANNA"],              # postcode + house number
        "1017 gc": ["D-ANNA", "D-PIET"],      # postcode alone
        "PIET@example.NL": ["D-PIET"],        # e-mail, any case
        "NL91 ABNA 0417 1643 00": ["D-ANNA"],  # IBAN with spaces
        "D-ORG": ["D-ORG"],                   # donor number
        "nobody": [],
    }
    for text, refs in cases.items():
        response = browser.get("/donors", params={"q": text})
        assert response.status_code == 200
        assert sorted(_refs(response.text)) == sorted(refs), text


def test_viewer_never_sees_an_iban_nor_finds_by_one(session, sign_in):
    _donors(session)
    viewer = sign_in("viewer")
    page = viewer.get("/donors/D-ANNA").text
    assert "NL91ABNA0417164300" not in page and "Anna" in page
    search = viewer.get("/donors", params={"q": "NL91ABNA0417164300"})
    assert _refs(search.text) == []
    assert "Uw rol (viewer) mag niet zoeken op IBAN." in page_text(search.text)
    fundraiser = sign_in("fundraiser")
    assert "NL91ABNA0417164300" in fundraiser.get("/donors/D-ANNA").text


def test_merged_and_restricted_donors_are_not_found(session, sign_in):
    anna = _donors(session)
    piet = session.scalar(select(Donor).where(Donor.ref == "D-PIET"))
    piet.merged_into_id = anna.id
    session.commit()
    browser = sign_in("fundraiser")
    assert _refs(browser.get("/donors", params={"q": "piet"}).text) == []
    # The merged number still leads to the donor it was merged into.
    assert _refs(browser.get("/donors", params={"q": "D-PIET"}).text) == ["D-ANNA"]
    response = browser.get("/donors/D-PIET")
    assert response.status_code == 303 and response.headers["location"] == "/donors/D-ANNA"


def test_donor_page_shows_gifts_agreements_consent_and_history(session, sign_in):
    anna = _donors(session)
    campaign = make_campaign(session, code="KERST", name="Kerst")
    make_donation(session, donor=anna, amount="25.00", date="2025-03-01", campaign=campaign, reference="GIFT-1")
    make_agreement(session, donor=anna, number="PG-2024-0007", annual_amount="600.00")
    session.add(ConsentEvent(donor_id=anna.id, channel="email", granted=True, source="import:donors.csv",
                             wording="import: consent_email"))
    session.commit()
    text = page_text(sign_in("viewer").get("/donors/D-ANNA").text)
    assert "A. van der Berg" in text or "Anna van der Berg" in text
    assert "GIFT-1" in text and "€ 25,00" in text and "KERST" in text
    assert "PG-2024-0007" in text and "€ 600,00" in text
    assert "gegeven" in text and "import:donors.csv" in text


def test_edit_with_a_validation_error_then_a_fix(session, sign_in):
    _donors(session)
    browser = sign_in("fundraiser")
    form = {"first_name": "Anna", "prefix": "van der", "last_name": "Berg", "street": "Dorpsstraat",
            "house_number": "3", "postcode": "12345", "city": "Utrecht", "country": "NL", "email": "anna@example.nl",
            "iban": "NL91ABNA0417164300", "language": "nl", "consent_email": "yes", "consent_post": "no",
            "consent_phone": "no"}
    audit_before = session.scalar(select(func.count()).select_from(AuditEntry))
    response = browser.post("/donors/D-ANNA/edit", form, csrf_from="/donors/D-ANNA/edit")
    assert response.status_code == 400
    text = page_text(response.text)
    # The importer's own message, on the postcode field.
    assert "postcode '12345' is not a Dutch postcode (1234 AB)" in text
    assert 'id="f-postcode"' in response.text and 'aria-invalid="true" aria-describedby="e-postcode"' in response.text
    # The other values are kept in the form, and nothing was written.
    assert 'value="Dorpsstraat"' in response.text
    session.expire_all()
    anna = session.scalar(select(Donor).where(Donor.ref == "D-ANNA"))
    assert (anna.street, anna.postcode) == ("Kerkstraat", "1017 GC")
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before
    assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 0

    response = browser.post("/donors/D-ANNA/edit", {**form, "postcode": "3511ab"}, csrf_from="/donors/D-ANNA/edit")
    assert response.status_code == 303 and response.headers["location"] == "/donors/D-ANNA?msg=saved"
    session.expire_all()
    anna = session.scalar(select(Donor).where(Donor.ref == "D-ANNA"))
    assert (anna.street, anna.house_number, anna.postcode, anna.city) == ("Dorpsstraat", "3", "3511 AB", "Utrecht")
    entry = session.scalars(select(AuditEntry).where(AuditEntry.entity_ref == "D-ANNA")).all()[-1]
    assert entry.actor == "fundraiser@example.org" and entry.action == "donor_updated"
    assert {"street", "postcode", "city", "house_number", "consent_email"} <= set(entry.details["changed"])
    events = session.scalars(select(ConsentEvent).where(ConsentEvent.donor_id == anna.id)).all()
    assert [(e.channel, e.granted, e.source) for e in events] == [("email", True, "web:fundraiser@example.org")]
    assert "Opgeslagen." in page_text(browser.get("/donors/D-ANNA?msg=saved").text)


def test_edit_can_clear_an_optional_field(session, sign_in):
    _donors(session)
    browser = sign_in("admin")
    response = browser.post("/donors/D-PIET/edit", {"first_name": "Piet", "last_name": "Bakker", "email": "",
                                                    "postcode": "1017 GC", "house_number": "14"},
                            csrf_from="/donors/D-PIET/edit")
    assert response.status_code == 303
    session.expire_all()
    assert session.scalar(select(Donor.email).where(Donor.ref == "D-PIET")) is None
    cleared = session.scalars(select(AuditEntry).where(AuditEntry.entity_ref == "D-PIET")).all()[-1]
    assert cleared.details == {"source": "web:admin@example.org", "cleared": ["email"]}


def test_an_invalid_email_and_iban_are_refused_like_the_import(session, sign_in):
    _donors(session)
    browser = sign_in("fundraiser")
    response = browser.post("/donors/D-PIET/edit", {"last_name": "Bakker", "email": "piet@", "iban": "NL00BANK0123456789"},
                            csrf_from="/donors/D-PIET/edit")
    assert response.status_code == 400
    text = page_text(response.text)
    assert "e-mail 'piet@' is not a valid address" in text
    assert "IBAN 'NL00BANK0123456789' is not valid" in text
    session.expire_all()
    assert session.scalar(select(Donor.email).where(Donor.ref == "D-PIET")) == "piet@example.nl"


def test_duplicates_compare_and_merge(session, sign_in):
    anna = _donors(session)
    twin = make_donor(session, ref="D-ANNA2", first_name="A.", prefix="van der", last_name="Berg", street="Kerkstraat",
                      house_number="12", postcode="1017 GC", email="anna@example.nl", phone="0612345678")
    make_donation(session, donor=twin, amount="40.00", reference="TWIN-GIFT")
    session.commit()
    browser = sign_in("fundraiser")
    listing = browser.get("/donors/duplicates")
    assert listing.status_code == 200
    assert "/donors/compare?a=D-ANNA&amp;b=D-ANNA2" in listing.text
    compare = browser.get("/donors/compare", params={"a": "D-ANNA", "b": "D-ANNA2"})
    assert compare.status_code == 200 and "0612345678" in compare.text
    # The compare page's button asks first (issue 13, item 14): what the merge will do, and nothing merged yet.
    asked = browser.post("/donors/merge", {"keep": "D-ANNA", "duplicate": "D-ANNA2"},
                         csrf_from="/donors/compare?a=D-ANNA&b=D-ANNA2")
    assert asked.status_code == 200
    preview = page_text(asked.text.split('id="merge-preview"', 1)[1].split("</ul>", 1)[0])
    assert "Naar de behouden donateur: donations 1" in preview and "phone" in preview
    assert "Samenvoegen kan niet ongedaan worden gemaakt." in page_text(asked.text)
    assert session.scalar(select(DonorMerge.merged_ref)) is None
    assert session.scalar(select(Donation.donor_id).where(Donation.reference == "TWIN-GIFT")) == twin.id
    response = browser.post("/donors/merge", {"keep": "D-ANNA", "duplicate": "D-ANNA2", "confirmed": "yes"},
                            csrf_from="/donors/compare?a=D-ANNA&b=D-ANNA2")
    assert response.status_code == 303
    assert response.headers["location"] == "/donors/D-ANNA?msg=merged&duplicate=D-ANNA2&kept=D-ANNA"
    session.expire_all()
    assert session.scalar(select(Donation.donor_id).where(Donation.reference == "TWIN-GIFT")) == anna.id
    assert session.scalar(select(Donor.phone).where(Donor.ref == "D-ANNA")) == "0612345678"  # filled from the twin
    assert session.scalar(select(DonorMerge.merged_ref)) == "D-ANNA2"
    page = page_text(browser.get(response.headers["location"]).text)
    assert "D-ANNA2 is samengevoegd in D-ANNA." in page and "TWIN-GIFT" in page


def test_merging_a_donor_into_itself_is_refused_with_the_reason(session, sign_in):
    _donors(session)
    browser = sign_in("admin")
    response = browser.post("/donors/merge", {"keep": "D-ANNA", "duplicate": "D-ANNA"}, csrf_from="/donors")
    assert response.status_code == 409
    assert "cannot merge D-ANNA into D-ANNA" in page_text(response.text)


def test_erase_states_what_is_kept_and_why_and_needs_the_number_typed(session, sign_in):
    anna = _donors(session)
    make_donation(session, donor=anna, amount="50.00", date="2025-02-01")
    session.commit()
    browser = sign_in("admin")
    page = browser.get("/donors/D-ANNA/erase")
    assert page.status_code == 200
    text = page_text(page.text)
    assert "e-mail" in text  # erased at once
    assert "1 donation" in text and "art. 52 AWR" in text  # kept, and why
    # The preview changed nothing.
    session.expire_all()
    assert session.scalar(select(Donor.email).where(Donor.ref == "D-ANNA")) == "anna@example.nl"

    wrong = browser.post("/donors/D-ANNA/erase", {"confirm_ref": "D-PIET"}, csrf_from="/donors/D-ANNA/erase")
    assert wrong.status_code == 400 and "Het getypte donateurnummer klopt niet." in page_text(wrong.text)
    session.expire_all()
    assert session.scalar(select(Donor.restricted_at).where(Donor.ref == "D-ANNA")) is None

    done = browser.post("/donors/D-ANNA/erase", {"confirm_ref": "D-ANNA"}, csrf_from="/donors/D-ANNA/erase")
    assert done.status_code == 200 and "art. 52 AWR" in page_text(done.text)
    session.expire_all()
    erased = session.scalar(select(Donor).where(Donor.ref == "D-ANNA"))
    assert erased.restricted_at is not None and erased.email is None and erased.iban == "NL91ABNA0417164300"
    # Restricted: no longer found, no longer editable.
    assert _refs(browser.get("/donors", params={"q": "berg"}).text) == ["D-ORG"]
    assert browser.get("/donors/D-ANNA/edit").status_code == 404


def test_erase_is_refused_while_an_agreement_runs(session, sign_in):
    anna = _donors(session)
    make_agreement(session, donor=anna, number="PG-2025-0001", start_date="2025-01-01", years=5)
    session.commit()
    browser = sign_in("admin")
    page = page_text(browser.get("/donors/D-ANNA/erase").text)
    assert "cannot forget donor D-ANNA" in page and "PG-2025-0001" in page
    assert "Deze donateur nu wissen" not in page


def test_statements_of_a_merged_record_stay_on_the_kept_donors_page(web_app, session, sign_in, tmp_path):
    from anbi.core.db import session_scope
    from donors.merge import merge_donors
    from exports.statements.issue import issue_statements

    anna = _donors(session)
    twin = make_donor(session, ref="D-ANNA2", first_name="A.", prefix="van der", last_name="Berg", postcode="1017 GC")
    make_donation(session, donor=twin, amount="40.00", date="2025-05-01")
    session.commit()
    issue_statements(lambda: session_scope(web_app.state.engine), year=2025, out_dir=tmp_path / "r",
                     organisation=web_app.state.settings.organisation, actor="test")
    merge_donors(session, "D-ANNA", "D-ANNA2", actor="test")
    session.commit()
    browser = sign_in("finance")
    page = browser.get("/donors/D-ANNA")
    assert "/donors/D-ANNA/statements/2025-000001.pdf" in page.text
    download = browser.get("/donors/D-ANNA/statements/2025-000001.pdf")
    assert download.status_code == 200 and download.content.startswith(b"%PDF")
    # Another donor's page does not hand it out.
    assert browser.get("/donors/D-PIET/statements/2025-000001.pdf").status_code == 404
    assert anna.id != twin.id


def test_addresses_and_figures_as_people_write_them(session, sign_in):
    """Issue 15 item 5: number and suffix apart, Dutch amounts and dates; the English forms in English."""
    donor = make_donor(session, ref="D-GRACHT", first_name="Sara", last_name="Bakker", street="Prinsengracht",
                       house_number="162", house_number_suffix="2 hoog", postcode="1016 HK", city="Amsterdam")
    make_donation(session, donor=donor, amount="1234.50", date="2026-12-03", reference="G-1")
    session.commit()
    browser = sign_in("fundraiser")
    page = page_text(browser.get("/donors/D-GRACHT").text)
    assert "Prinsengracht 162 2 hoog" in page and "1622 hoog" not in page
    assert "03-12-2026" in page and "€ 1.234,50" in page
    listing = page_text(browser.get("/donors", params={"q": "Bakker"}).text)
    assert "Prinsengracht 162 2 hoog" in listing
    browser.post("/language", {"language": "en", "next": "/donors/D-GRACHT"}, csrf_from="/donors")
    english = page_text(browser.get("/donors/D-GRACHT").text)
    assert "03/12/2026" in english and "€1,234.50" in english
