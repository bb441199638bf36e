"""Dutch and SEPA identifiers, checked and normalised: RSIN, IBAN, BIC, postcode,
SEPA creditor id, e-mail. Each function returns the normalised value or raises
ValueError with a message a person understands."""
from __future__ import annotations

import functools
import re

from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.eu import at_02
from stdnum.exceptions import ValidationError
from stdnum.nl import bsn


def rsin(value: str) -> str:
    """RSIN (fiscaal nummer): 9 digits passing the 11-proof, as the BSN (DOMAIN.md 1.7)."""
    digits = re.sub(r"[\s.]", "", str(value or ""))
    if not digits.isdigit() or len(digits) > 9:
        raise ValueError(f"RSIN {value!r} must be 9 digits")
    digits = digits.zfill(9)
    if digits == "000000000" or not bsn.is_valid(digits):
        raise ValueError(f"RSIN {value!r} fails the 11-proof (elfproef); check the number")
    return digits


def iban(value: str) -> str:
    """An IBAN in its compact form (`NL91ABNA0417164300`), checksum and the country's
    length and format verified. National bank-code registries are not consulted:
    they lag behind the banks (python-stdnum refuses valid Belgian IBANs).

    An IBAN written in ASCII (nearly all) is checked here with python-stdnum's own
    rules and registry of countries, in a few C-speed string operations: a donor
    import checks one per row, and stdnum's `validate` spends most of its time
    looking the bank up in its registry, which we ignore anyway. Anything else goes
    through stdnum's `validate` (it maps Unicode dashes and spaces first)."""
    text = value or ""
    if text.isascii() and _IBAN_STRUCTURE is not None:
        number = text.translate(_IBAN_SEPARATORS).strip().upper()
        if _iban_checks_out(number):
            return number
    else:
        try:
            return stdnum_iban.validate(text, check_country=False)
        except ValidationError:
            pass
    raise ValueError(f"IBAN {value!r} is not valid (check the digits)")


# What python-stdnum's iban.compact removes, and its registry of each country's
# account format (private names: without them, stdnum's validate does all the work).
_IBAN_SEPARATORS = str.maketrans("", "", " -.")
_IBAN_STRUCTURE = getattr(stdnum_iban, "_struct_to_re", None) if hasattr(stdnum_iban, "_ibandb") else None
# ISO 7064 mod 97-10 reads letters as two digits: A = 10 ... Z = 35.
_BASE_10 = str.maketrans({chr(ord("A") + n): str(10 + n) for n in range(26)})


def _iban_checks_out(number: str) -> bool:
    """stdnum's checks of a compact, upper-case ASCII IBAN: mod 97-10 of the number
    with its first four characters moved to the end, then the account part against
    the country's format."""
    if not number.isalnum():
        return False
    if int((number[4:] + number[:4]).translate(_BASE_10)) % 97 != 1:
        return False
    pattern = _bban_pattern(number[:2])
    return pattern is not None and pattern.match(number[4:]) is not None


@functools.cache
def _bban_pattern(country: str) -> re.Pattern | None:
    """The account format of `country`'s IBANs as stdnum's registry has it; None for a
    code that is not an IBAN country."""
    found = stdnum_iban._ibandb.info(country)[0][1]
    # Called only when _IBAN_STRUCTURE is there (see `iban`).
    return _IBAN_STRUCTURE(found.get("bban", "")) if found and _IBAN_STRUCTURE is not None else None


def format_iban(value: str) -> str:
    """`NL91ABNA0417164300` -> `NL91 ABNA 0417 1643 00` for print."""
    return stdnum_iban.format(value)


def bic(value: str) -> str:
    try:
        return stdnum_bic.validate(value or "")
    except ValidationError:
        raise ValueError(f"BIC {value!r} is not valid") from None


def creditor_id(value: str) -> str:
    """SEPA creditor identifier (incassant-ID), checked with ISO 7064 Mod 97 (DOMAIN.md 7.1)."""
    try:
        return at_02.validate(value or "")
    except ValidationError:
        raise ValueError(f"creditor id {value!r} fails the Mod 97 check") from None


_POSTCODE_NL = re.compile(r"^([1-9]\d{3})\s?([A-Z]{2})$")


def dutch_postcode(value: str) -> str:
    """`1234ab` -> `1234 AB`. SA, SD and SS are never issued."""
    m = _POSTCODE_NL.match((value or "").strip().upper())
    if not m or m.group(2) in {"SA", "SD", "SS"}:
        raise ValueError(f"postcode {value!r} is not a Dutch postcode (1234 AB)")
    return f"{m.group(1)} {m.group(2)}"


_EMAIL = re.compile(r"^[^@\s,;<>()\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


def email(value: str) -> str:
    """An e-mail address with its domain lower-cased. Deliberately simple: one @, a dotted domain."""
    s = (value or "").strip()
    if len(s) > 254 or not _EMAIL.match(s):
        raise ValueError(f"e-mail {value!r} is not a valid address")
    local, _, domain = s.rpartition("@")
    return f"{local}@{domain.lower()}"


_PHONE_CHARS = re.compile(r"^\+?[\d\s()./-]{6,20}$")


def phone(value: str) -> str:
    """A phone number in a compact form: `+31 6 1234 5678` -> `+31612345678`, `06-12345678` -> `0612345678`."""
    s = (value or "").strip()
    if not _PHONE_CHARS.match(s):
        raise ValueError(f"phone {value!r} is not a phone number")
    # "+31 (0)6 ..." : the trunk prefix 0 in brackets is not dialled after a country code.
    s = re.sub(r"^(\+\d{1,3})\s*\(0\)", r"\1", s)
    compact = re.sub(r"[\s()./-]", "", s)
    if not 8 <= len(compact.lstrip("+")) <= 15:
        raise ValueError(f"phone {value!r} has too few or too many digits")
    return compact
