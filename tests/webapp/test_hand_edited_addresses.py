"""Addresses and form fields a person can edit by hand: never a server error.

Found by running schemathesis and a sweep of odd query values over every page: a
year or page number too large for the database's integers, and a NUL character,
which PostgreSQL cannot store or compare."""
from __future__ import annotations

import pytest

from anbi.core.clock import today
from tests.webapp.ui_support import page_text
HUGE = "12816764405452301286768640"


@pytest.mark.parametrize("year", ["99999999", "-5", "0", HUGE, "twee"])
@pytest.mark.parametrize("path", ["/donations/lapsed", "/donations/lapsed.csv", "/reports", "/funds", "/"])
def test_a_year_out_of_range_shows_the_current_year(sign_in, path, year):
    response = sign_in("admin").get(path, params={"list": "lybunt", "year": year})
    assert response.status_code == 200, (path, year)
    if path == "/donations/lapsed":
        assert f'value="{today().year}"' in response.text


def test_a_page_number_too_large_for_the_database_shows_an_empty_page(sign_in):
    response = sign_in("viewer").get("/donors", params={"q": "", "page": HUGE})
    assert response.status_code == 200


@pytest.mark.parametrize("path, params", [("/donors", {"q": "jan\x00sen"}), ("/donations", {"campaign": "\x00"})])
def test_a_control_character_in_the_address_is_refused_in_plain_words(sign_in, path, params):
    response = sign_in("admin").get(path, params=params)
    assert response.status_code == 400
    assert "Verzoek geweigerd" in page_text(response.text)
    assert "contains a control character (U+0000)" in page_text(response.text)


def test_a_control_character_in_a_form_is_refused_before_it_reaches_the_database(browser):
    response = browser.post("/login", {"email": "anna\x00@example.nl", "password": "whatever it is"}, csrf_from="/login")
    assert response.status_code == 400
    assert "Het verzoek is geweigerd: email: contains a control character (U+0000); remove it" in page_text(response.text)


def test_an_unknown_address_is_a_page_for_a_person_and_json_for_a_program(sign_in):
    browser = sign_in("viewer")
    page = browser.get("/donros")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Pagina niet gevonden" in page_text(page.text)
    assert browser.get("/api/v1/donros").json() == {"detail": "Not Found"}


def test_a_parameter_of_the_wrong_type_is_a_page_naming_it(sign_in):
    page = sign_in("viewer").get("/donors", params={"page": "twee"})
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert "Het verzoek is geweigerd: page:" in page_text(page.text)
