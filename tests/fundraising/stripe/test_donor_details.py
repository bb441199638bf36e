"""Billing details -> the donor import's cells: pure table tests."""
import pytest

from fundraising.stripe.donors import donor_cells, split_name, split_street
from fundraising.stripe.events import Address, Billing


@pytest.mark.parametrize("full, parts", [
    ("Jenny Rosen", {"first_name": "Jenny", "last_name": "Rosen"}),
    ("Jan van der Berg", {"first_name": "Jan", "prefix": "van der", "last_name": "Berg"}),
    ("Anna Maria de Vries", {"first_name": "Anna Maria", "prefix": "de", "last_name": "Vries"}),
    ("J.P. de Vries", {"initials": "J.P.", "prefix": "de", "last_name": "Vries"}),
    ("J. P. van 't Hof", {"initials": "J.P.", "prefix": "van 't", "last_name": "Hof"}),
    ("Rosen", {"last_name": "Rosen"}),
    ("Kees de Jong-van Dijk", {"first_name": "Kees", "prefix": "de", "last_name": "Jong-van Dijk"}),
    ("  ", {}),
    (None, {}),
])
def test_split_name(full, parts):
    assert split_name(full) == parts


@pytest.mark.parametrize("line, parts", [
    ("Kerkstraat 12", {"street": "Kerkstraat", "house_number": "12"}),
    ("Kerkstraat 12a", {"street": "Kerkstraat", "house_number": "12", "house_number_suffix": "a"}),
    ("Kerkstraat 12 A", {"street": "Kerkstraat", "house_number": "12", "house_number_suffix": "A"}),
    ("Kerkstraat 12-2", {"street": "Kerkstraat", "house_number": "12", "house_number_suffix": "2"}),
    ("Plein 1944 7", {"street": "Plein 1944", "house_number": "7"}),
    ("Postbus", {"street": "Postbus"}),
])
def test_split_street(line, parts):
    assert split_street(line) == parts


def test_donor_cells():
    billing = Billing(name="Piet Klaassen", email=" piet@example.nl ", phone="06-12345678",
                      address=Address(line1="Dorpsstraat 3", postal_code="1234 AB", city="Ergens", country="NL"))
    assert donor_cells(billing, "STRIPE-cus_1") == {
        "ref": "STRIPE-cus_1", "first_name": "Piet", "last_name": "Klaassen", "email": "piet@example.nl",
        "phone": "06-12345678", "street": "Dorpsstraat", "house_number": "3", "postcode": "1234 AB", "city": "Ergens",
        "country": "NL",
    }
