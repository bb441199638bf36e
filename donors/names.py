"""How a donor's name is written: in a list, on an address label, in a letter's
salutation, the key it sorts under and the words it is found by.

Dutch names have a tussenvoegsel (`prefix`: "van der", "de", "'t") that is written
in lower case after initials or a first name (`A.B. van der Berg`) and capitalised
when nothing precedes it (`Geachte heer/mevrouw Van der Berg`), and that is ignored
when sorting: "Van der Berg" sorts under B, as "berg, van der".

Pure functions over anything with the name attributes of a Donor (a Donor itself
or the `Name` value below); no database, no I/O.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Protocol


class HasName(Protocol):
    # Read-only members: a donor row and the frozen `Name` below both have them.
    @property
    def kind(self) -> str: ...
    @property
    def initials(self) -> str | None: ...
    @property
    def first_name(self) -> str | None: ...
    @property
    def prefix(self) -> str | None: ...
    @property
    def last_name(self) -> str | None: ...
    @property
    def organisation_name(self) -> str | None: ...
    @property
    def language(self) -> str: ...


@dataclass(frozen=True)
class Name:
    """The name parts of a donor, as a plain value."""

    kind: str = "person"
    initials: str | None = None
    first_name: str | None = None
    prefix: str | None = None
    last_name: str | None = None
    organisation_name: str | None = None
    language: str = "nl"


_INITIAL_PIECES = re.compile(r"[.\s]+")


def normalise_initials(text: str | None) -> str | None:
    """`ab`, `A B`, `a.b.` -> `A.B.`; multi-letter initials keep their form: `th.j.` -> `Th.J.`.

    Without dots every letter is one initial; with dots each dotted piece is one
    (Dutch writes `Th.` for Theodorus, `Chr.` for Christiaan)."""
    if not text or not text.strip():
        return None
    s = text.strip()
    if "." in s:
        pieces = [p for p in _INITIAL_PIECES.split(s) if p]
    else:
        pieces = [c for c in s if not c.isspace() and c != "-"]
    return "".join(p[0].upper() + p[1:].lower() + "." for p in pieces)


def initials_from_first_name(first_name: str | None) -> str | None:
    """`Anna Maria` -> `A.M.`, `Jan-Willem` -> `J.W.`: for a label when no initials were given."""
    if not first_name or not first_name.strip():
        return None
    words = [w for w in re.split(r"[\s-]+", first_name.strip()) if w]
    return "".join(w[0].upper() + "." for w in words)


def normalise_prefix(prefix: str | None) -> str | None:
    """A tussenvoegsel is stored in lower case (`Van der` -> `van der`); where it
    stands decides whether it is written with a capital."""
    if not prefix or not prefix.strip():
        return None
    return " ".join(prefix.split()).lower()


def _capitalise_prefix(prefix: str) -> str:
    """`van der` -> `Van der`; `'t` stays `'t` (an elided article takes no capital)."""
    if prefix.startswith(("'", "\u2019")):
        return prefix
    return prefix[0].upper() + prefix[1:]


def surname(name: HasName, *, leading: bool) -> str:
    """The last name with its tussenvoegsel: `van der Berg`, or `Van der Berg` when
    nothing precedes it."""
    last = (name.last_name or "").strip()
    prefix = normalise_prefix(name.prefix)
    if not prefix:
        return last
    if leading:
        prefix = _capitalise_prefix(prefix)
    return f"{prefix} {last}".strip()


def _is_organisation(name: HasName) -> bool:
    return name.kind == "organisation"


def display_name(name: HasName) -> str:
    """The name shown in lists: `Anna van der Berg`, `A.B. van der Berg`,
    `Van der Berg`, or an organisation's name."""
    if _is_organisation(name):
        return (name.organisation_name or "").strip() or surname(name, leading=True)
    given = (name.first_name or "").strip() or normalise_initials(name.initials)
    if given:
        return f"{given} {surname(name, leading=False)}".strip()
    return surname(name, leading=True)


def label_name(name: HasName) -> str:
    """The name on an address label (tenaamstelling): `A.B. van der Berg`;
    initials are derived from the first name when none were given."""
    if _is_organisation(name):
        return (name.organisation_name or "").strip() or surname(name, leading=True)
    initials = normalise_initials(name.initials) or initials_from_first_name(name.first_name)
    if initials:
        return f"{initials} {surname(name, leading=False)}".strip()
    return surname(name, leading=True)


def salutation(name: HasName, *, formal: bool = True, language: str | None = None) -> str:
    """The opening of a letter or e-mail (aanhef), without the trailing comma.

    We do not record gender, so the Dutch formal form is the neutral
    `Geachte heer/mevrouw Van der Berg`; English uses the name with initials,
    `Dear A. van der Berg`, rather than guessing Mr or Ms. Informal: `Beste Anna`,
    `Dear Anna`. An organisation is addressed as such."""
    language = language or name.language or "nl"
    english = language == "en"
    if _is_organisation(name):
        return "Dear Sir or Madam" if english else "Geachte heer/mevrouw"
    first = (name.first_name or "").strip()
    if not formal and first:
        # Only the first of several first names: "Anna Maria" is called Anna.
        called = first.split()[0]
        return f"Dear {called}" if english else f"Beste {called}"
    last = surname(name, leading=True)
    if english:
        initials = normalise_initials(name.initials) or initials_from_first_name(first)
        if initials and last:
            return f"Dear {initials} {surname(name, leading=False)}"
        if last:
            return f"Dear Mr or Ms {last}"
        return "Dear Sir or Madam"
    if not last:
        return "Geachte heer/mevrouw"
    if not formal:
        initials = normalise_initials(name.initials)
        if initials:
            return f"Beste {initials} {surname(name, leading=False)}"
    return f"Geachte heer/mevrouw {last}"


def _fold(text: str) -> str:
    """Lower case without accents, so that `Özdemir` sorts with `Ozdemir` and both
    databases order the key alike."""
    if text.isascii():  # most names: nothing to decompose
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.lower().split())


def sort_key(name: HasName) -> str:
    """What a donor sorts under: `Van der Berg` -> `berg, van der`; with a first
    name or initials after it (`berg, van der, anna`) so that namesakes stay in order.
    An organisation sorts under its name as written."""
    if _is_organisation(name):
        return _fold(name.organisation_name or name.last_name or "")
    parts = [_fold(name.last_name or "")]
    prefix = normalise_prefix(name.prefix)
    if prefix:
        parts.append(_fold(prefix))
    given = (name.first_name or "").strip() or normalise_initials(name.initials)
    if given:
        parts.append(_fold(given))
    return ", ".join(p for p in parts if p)


# Letters that Unicode does not decompose into a base letter and an accent, written
# as people type them on a Dutch keyboard: Yıldız is searched as "yildiz", Øster as
# "oster", Łukasz as "lukasz".
_PLAIN_LETTERS = str.maketrans({
    "ı": "i", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ħ": "h", "ŧ": "t",
    "ŋ": "n", "ĸ": "k",
})
SEARCH_NAME_LENGTH = 300
# The ASCII characters that are neither letters nor digits: a space in search text.
_ASCII_MARKS = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})


def search_text(text: str | None) -> str:
    """Text as it is searched: lower case (case-folded: ß is ss), without accents or
    other marks (Arabic vowel signs included), letters without a decomposition
    written plainly, and every character that is not a letter or a digit a space
    (hyphens, apostrophes, dots): `Öztürk` -> `ozturk`, `El-Amrani` -> `el amrani`,
    `'t Hart` -> `t hart`. Scripts without case (Arabic, Ge'ez) keep their letters."""
    if not text:
        return ""
    if text.isascii():  # most names: nothing to decompose, fold or write plainly
        return " ".join(text.lower().translate(_ASCII_MARKS).split())
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_PLAIN_LETTERS)
    return " ".join("".join(c if c.isalnum() else " " for c in stripped).split())


def search_key(name: HasName) -> str:
    """The words a donor is found by, folded (`search_text`), the surname first so that
    the key starts with what people search for most: `Van der Berg, Anna (A.)` ->
    `berg van der anna a`; an organisation by its name. Kept in `Donor.search_name`
    beside the name (indexed: a search for the start of the key reads the index)."""
    if _is_organisation(name):
        parts = [name.organisation_name or name.last_name]
    else:
        parts = [name.last_name, name.prefix, name.first_name, name.initials]
    return " ".join(w for w in (search_text(p) for p in parts) if w)[:SEARCH_NAME_LENGTH].strip()


def name_keys(name: HasName) -> dict[str, str]:
    """The stored keys derived from a name, to be written whenever the name is:
    `sort_name` and `search_name`."""
    return {"sort_name": sort_key(name)[:300], "search_name": search_key(name)}
