"""Likely duplicate donors: who is probably the same person or organisation twice.

Four kinds of evidence (issue 2 item 7): the same IBAN; the same e-mail address; the
same normalised name at the same postcode and house number; a near-identical name at
one address. "Near-identical" covers what real Dutch files hold: a typing error
(Jansen / Jasnen / Janssen), another spelling (Pieterse / Pietersen, Meijer / Meyer),
diacritics lost or added (Öztürk / Ozturk), a tussenvoegsel dropped or moved ("Berg,
van den"), first name and surname in each other's fields, initials for a first name
("J." for "Jan"), another Latin spelling of an Arabic or Tigrinya name (Mohammed /
Muhammad, Tesfay / Tesfaye), and a married name beside a maiden name (Anna de Vries /
Anna Jansen-de Vries) where the first name and an account or address agree. A house
number's suffix is compared as written in any of the usual ways (12A, 12 a, 12-A;
12-II, 12-2; 12 hs, 12-H).

Donors are never compared all against all. Each donor is put in a few blocks (its
IBAN, its e-mail, its postcode + house number) and only donors that share a block
are compared; a block that is unusually large (a shared office address, a family
e-mail) is compared by sorted neighbourhood on a phonetic name key, so the work stays
roughly linear in the number of donors.

A pair scores as its strongest evidence (0..1) and lists all of it. What partners in
one household also share scores lower: an IBAN or e-mail under another first name (a
joint account, a family address: below `MIN_SCORE`, so left out unless asked for),
initials that fit a first name or a surname alone at one address; and an e-mail or
IBAN that both records have, with different values, takes 0.1 off an address match.
Pairs below `MIN_SCORE` are left out.

The scoring (`score_pair`) is a plain function over `DonorRecord` values; only
`find_duplicates` touches the database, and it only reads. Merging is
`donors.merge`'s job.
"""
from __future__ import annotations

import gc
import itertools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from donors.models import Donor

# Pairs scoring below this are not worth a person's time.
MIN_SCORE = 0.7
# Blocks up to this size are compared pair by pair; larger ones by sorted neighbourhood.
MAX_BLOCK = 40
# In a large block, each donor is compared with this many neighbours in name order.
WINDOW = 8

# Scores per kind of evidence. A shared IBAN or e-mail under another first name is
# a household (a joint account, a family address): below MIN_SCORE. Under the same
# first name and another surname it may be one woman's maiden and married names,
# the more likely at one address.
SCORE_IBAN = 0.95
SCORE_IBAN_OTHER_NAME = 0.6
SCORE_EMAIL = 0.9
SCORE_EMAIL_OTHER_NAME = 0.6
SCORE_OTHER_SURNAME = {("iban", True): 0.85, ("iban", False): 0.75, ("email", True): 0.8, ("email", False): 0.7}
# At one address, by how alike the names are (see `name_similarity`). A surname
# alone is what partners in one household share too, so it scores lower. Initials
# that fit a first name under the very same surname at one address are as often a
# partner with that initial as the same person twice (Jan and Joke Jansen; measured
# on the households of bench/duplicates.py): alone they stay below MIN_SCORE, and so
# does an account both have there (couples share one); an e-mail both have lifts
# them above it. Under a surname spelled another way (J. Janssen beside Jan Jansen)
# they are no partner's: a partner's surname is spelled the same, or is another.
SCORE_ADDRESS = {"same": 0.9, "similar": 0.85, "initials": 0.65, "initials, respelled": 0.75, "surname": 0.7,
                 "married": 0.75}
SCORE_INITIALS_AT_ONE_ADDRESS = {"iban": 0.65, "email": 0.75}
# Both records have an e-mail (or an IBAN) and they differ: a sign of two people.
# Taken off an address match for each such detail.
CONTRADICTION_PENALTY = 0.1

# Jaro-Winkler similarity from which two spellings count as near-identical.
SURNAME_SIMILARITY = 0.9
GIVEN_NAME_SIMILARITY = 0.88
ORGANISATION_SIMILARITY = 0.92

# Words that may lead a surname (tussenvoegsels), also when typed into last_name.
_PREFIX_WORDS = {
    "van", "der", "den", "de", "het", "ten", "ter", "te", "t", "in", "op", "aan", "onder",
    "uit", "over", "bij", "d", "la", "le", "du", "von", "zu", "di", "da", "del", "dos", "des",
    "v", "vd", "vdr",
}
# Legal forms and articles that do not tell two organisations apart.
_ORGANISATION_NOISE = {
    "stichting", "vereniging", "bv", "nv", "vof", "cv", "coop", "cooperatie", "ua", "ba",
    "holding", "de", "het", "the", "st", "ver",
}
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_NON_ALPHA = re.compile(r"[^a-z]+")
_HOUSE_NUMBER = re.compile(r"^\s*(\d+)\s*[-/ ]?\s*(.*)$")
_LEADING_NUMBER = re.compile(r"\s*0*(\d+)")


@dataclass(frozen=True, slots=True)
class DonorRecord:
    """The few donor fields duplicate detection looks at."""

    id: int
    ref: str
    kind: str = "person"
    initials: str | None = None
    first_name: str | None = None
    prefix: str | None = None
    last_name: str | None = None
    organisation_name: str | None = None
    postcode: str | None = None
    house_number: str | None = None
    house_number_suffix: str | None = None
    email: str | None = None
    iban: str | None = None


@dataclass(frozen=True)
class DuplicatePair:
    """Two donors that are probably one. `ref_a` is the older record (the usual one to keep)."""

    ref_a: str
    ref_b: str
    score: float
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    def as_dict(self) -> dict:
        return {"ref_a": self.ref_a, "ref_b": self.ref_b, "score": round(self.score, 2), "reason": self.reason,
                "reasons": list(self.reasons)}


# --- normalisation -----------------------------------------------------------------

def fold(text: str | None) -> str:
    """Lower case, accents removed, punctuation to single spaces: `Müller-Lüdenscheidt` -> `muller ludenscheidt`,
    `Yılmaz` -> `yilmaz`, `Łukasz` -> `lukasz`."""
    if not text:
        return ""
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSABLE))
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_ALNUM.sub(" ", text.lower().replace("'", "")).strip()


# Letters that Unicode does not decompose into a base letter and an accent.
_UNDECOMPOSABLE = str.maketrans({"ı": "i", "İ": "I", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D",
                                 "ß": "ss", "æ": "ae", "Æ": "Ae", "œ": "oe", "Œ": "Oe", "þ": "th"})


def phonetic(text: str | None) -> str:
    """A Dutch sound-alike key: spellings that sound the same get the same key.

    Jansen/Janssen -> `janse`, Pieterse/Pietersen -> `pieterse`, Meijer/Meyer/Meier ->
    `myer`, Smit/Smid/Smidt -> `smit`, Hendriks/Hendrikx -> `hendriks`."""
    s = _NON_ALPHA.sub("", fold(text))
    for old, new in (("ij", "y"), ("ei", "y"), ("ey", "y"), ("ph", "f"), ("ch", "g"), ("ck", "k"),
                     ("x", "ks"), ("c", "k"), ("z", "s"), ("dt", "t"), ("th", "t"), ("ou", "au"), ("ae", "a")):
        s = s.replace(old, new)
    s = "".join(ch for ch, _ in itertools.groupby(s))  # doubled letters sound single
    if s.endswith("d"):
        s = s[:-1] + "t"  # final d is spoken as t
    if len(s) > 3 and s.endswith("en"):
        s = s[:-1]  # the final n of -en is mostly silent
    return s


def jaro_winkler(a: str, b: str) -> float:
    """Jaro-Winkler similarity of two strings, 0 (nothing alike) to 1 (equal)."""
    if a == b:
        return 1.0
    len_a, len_b = len(a), len(b)
    if not len_a or not len_b:
        return 0.0
    reach = max(max(len_a, len_b) // 2 - 1, 0)
    matched_a = [False] * len_a
    matched_b = [False] * len_b
    matches = 0
    for i, ch in enumerate(a):
        for j in range(max(0, i - reach), min(i + reach + 1, len_b)):
            if not matched_b[j] and b[j] == ch:
                matched_a[i] = matched_b[j] = True
                matches += 1
                break
    if not matches:
        return 0.0
    transpositions = 0
    j = 0
    for i in range(len_a):
        if matched_a[i]:
            while not matched_b[j]:
                j += 1
            if a[i] != b[j]:
                transpositions += 1
            j += 1
    m = float(matches)
    jaro = (m / len_a + m / len_b + (m - transpositions / 2) / m) / 3
    prefix = 0
    for ca, cb in zip(a[:4], b[:4]):
        if ca != cb:
            break
        prefix += 1
    return jaro + prefix * 0.1 * (1 - jaro)


@dataclass(frozen=True, slots=True)
class _PersonName:
    core: str  # surname without tussenvoegsel, folded: "berg"
    prefix: str  # tussenvoegsel, folded: "van der"
    prefix_key: str  # first letters of the tussenvoegsel words: "vd" (so "v.d." matches "van der")
    first: str  # first given name, folded
    initials: str  # letters of the initials, or of the given names
    given: str  # all given names, folded and joined: "Wolde Mariam" -> "woldemariam"
    given_core: str  # the first-name field read as a surname: "van Dijk" typed there -> "dijk"
    parts: tuple[str, ...]  # a double surname's parts, each as a core: "Jansen-de Vries" -> ("jansen", "vries")


def _person_name(record: DonorRecord) -> _PersonName:
    core, prefix_words = _surname(record.last_name)
    prefix_words = fold(record.prefix).split() + prefix_words
    first_names = fold(record.first_name).split()
    initials = _NON_ALPHA.sub("", fold(record.initials)) or "".join(w[0] for w in first_names)
    given_core = _surname(record.first_name)[0]
    if all(len(w) == 1 for w in first_names):
        first_names = []  # "J." typed as a first name is an initial
    last = record.last_name or ""
    parts = tuple(part for part in (_surname(piece)[0] for piece in last.split("-")) if part) if "-" in last else ()
    return _PersonName(
        core=core,
        prefix=" ".join(prefix_words),
        prefix_key="".join(_prefix_key(w) for w in prefix_words),
        first=first_names[0] if first_names else "",
        initials=initials,
        given="".join(first_names),
        given_core=given_core,
        parts=parts,
    )


def _surname(text: str | None) -> tuple[str, list[str]]:
    """(core, tussenvoegsel words) of a surname as typed: a tussenvoegsel typed in
    front ("van der Berg") or behind it, as sorted lists write it ("Berg, van der"),
    is split off. The core keeps every other word, joined: "El Amrani" and
    "Elamrani" are one name."""
    words = fold(text).split()
    prefix: list[str] = []
    while len(words) > 1 and words[0] in _PREFIX_WORDS:
        prefix.append(words.pop(0))
    trailing = len(words)
    while trailing > 1 and words[trailing - 1] in _PREFIX_WORDS:
        trailing -= 1
    if trailing < len(words) and not prefix:
        prefix, words = words[trailing:], words[:trailing]
    return "".join(words), prefix


def _prefix_key(word: str) -> str:
    # "vd" and "vdr" already abbreviate two words ("van der").
    return "vd" if word in ("vd", "vdr") else word[0]


def _organisation_core(record: DonorRecord) -> str:
    return " ".join(w for w in fold(record.organisation_name).split() if w not in _ORGANISATION_NOISE)


def _close(a: str, b: str, threshold: float) -> bool:
    """A slip of the keyboard: alike by Jaro-Winkler and starting with the same letter
    (Isa and Lisa, or Hansen and Jansen, are other people)."""
    return a[:1] == b[:1] and jaro_winkler(a, b) >= threshold


def one_slip(a: str, b: str) -> bool:
    """The two differ by one typing error: two neighbouring letters transposed
    (Jansen / Jasnen, Bakker / aBkker), or one letter dropped or typed twice
    (Jansen / Jnsen, Jan / Jann). A letter dropped from the front of a short name
    makes another name (Lisa / Isa, Hanna / Anna), so there the shorter must keep
    five letters."""
    if len(a) == len(b):
        if len(a) < 3:
            return False
        differ = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        return len(differ) == 2 and differ[1] == differ[0] + 1 and a[differ[0]] == b[differ[1]] \
            and a[differ[1]] == b[differ[0]]
    shorter, longer = sorted((a, b), key=len)
    if len(longer) - len(shorter) != 1 or len(shorter) < 2:
        return False
    at = next((i for i, (x, y) in enumerate(zip(shorter, longer)) if x != y), len(shorter))
    if longer[:at] + longer[at + 1:] != shorter:
        return False
    doubled = (at > 0 and longer[at - 1] == longer[at]) or (at + 1 < len(longer) and longer[at + 1] == longer[at])
    return doubled or len(shorter) >= (5 if at == 0 else 4)


def transliterated(a: str, b: str) -> bool:
    """Two Latin spellings of one Arabic or Tigrinya name (Mohammed / Muhammad,
    Hussein / Hussain, Khaled / Khalid, Omar / Omer; Tesfay / Tesfaye, Gebremedhin /
    Ghebremedhin, Yohannes / Yohanes): the same `spoken_shape`. A short name must be
    close by Jaro-Winkler as well, for there the vowels that shape passes over tell
    Dutch names apart (Sem and Sam, Bart and Bert)."""
    shape = spoken_shape(a)
    if len(shape) < 3 or shape != spoken_shape(b):
        return False
    return len(shape) >= 5 or jaro_winkler(a, b) >= 0.85


# Letters that write one sound in the spellings in use: kh, gh, dh, th (Arabic and
# Tigrinya), sh and ch (English and French transliteration), oe (Dutch); j as y
# (Johannes / Yohannes). The Dutch ij first, as a vowel of its own (Martijn is not
# Maarten).
_ONE_SOUND = (("ij", "Y"), ("kh", "k"), ("gh", "g"), ("dh", "d"), ("th", "t"), ("ph", "f"), ("sh", "s"), ("ch", "s"),
              ("ck", "k"), ("oe", "u"), ("q", "k"), ("c", "k"), ("x", "ks"), ("z", "s"), ("j", "y"))
# Vowels by what transliteration swaps: a, e, i and y are written for one another
# (Mohammed / Mohammad, Khaled / Khalid, Tesfay / Tesfai), and so are o and u.
_VOWEL_KIND = str.maketrans({"a": "A", "e": "A", "i": "A", "y": "A", "o": "O", "u": "O"})


def spoken_shape(word: str) -> str:
    """A folded name as its consonants and kinds of vowel, doubled letters and a
    final h left out: Mohammed, Muhammad, Mohamed -> `mOhAmAd`; Tesfay, Tesfaye,
    Tesfai -> `tAsfA`."""
    for old, new in _ONE_SOUND:
        word = word.replace(old, new)
    if len(word) > 2 and word.endswith("h"):
        word = word[:-1]  # Fatimah, Yemaneh
    head = word[:1] if word[:1] == "y" else word[:1].translate(_VOWEL_KIND)  # a leading y is a consonant
    return "".join(ch for ch, _ in itertools.groupby(head + word[1:].translate(_VOWEL_KIND)))


def _alike(a: str, b: str, threshold: float) -> bool:
    """One name, spelled twice: equal, sounding alike, one typing error apart,
    near-identical, or transliterated alike."""
    return (a == b or phonetic(a) == phonetic(b) or one_slip(a, b) or _close(a, b, threshold)
            or transliterated(a, b))


def _given_names(a: _PersonName, b: _PersonName) -> str:
    """`same`, `compatible` (another spelling of one name), `initials` (initials that
    fit the other's first name or initials), `missing` (one side has none) or
    `conflict` (Jan and Marie: two people)."""
    if a.first and b.first:
        if a.first == b.first:
            return "same"
        # A name of two words is one name too ("Wolde Mariam", "Abd al-Rahman").
        if _alike(a.first, b.first, GIVEN_NAME_SIMILARITY) or _alike(a.given, b.given, GIVEN_NAME_SIMILARITY):
            return "compatible"
        return "conflict"
    if not (a.first or a.initials) or not (b.first or b.initials):
        return "missing"
    if a.initials == b.initials and not a.first and not b.first:
        return "same"
    # Initials on one side: they must agree with the other's first letters.
    shorter, longer = sorted((a.initials, b.initials), key=len)
    return "initials" if longer.startswith(shorter) else "conflict"


def name_similarity(a: DonorRecord, b: DonorRecord) -> tuple[str, str]:
    """How alike two donors' names are, strongest first, with the two names for a person to read:

    `same` (equal after normalisation), `similar` (another spelling: Jansen / Janssen,
    a typing error, diacritics, "v.d." for "van der", a transliteration, first name and
    surname swapped), `initials` (the same surname, initials fitting a first name: "J."
    for "Jan"), `initials, respelled` (the same, under a surname spelled another way:
    J. Janssen / Jan Jansen), `surname` (a near-identical surname, one side without
    any given name), `married` (one first name, another surname: a maiden and a
    married name, which only an account, an e-mail or a double surname at one address
    makes likely) or `different`."""
    if a.kind != b.kind:
        return "different", ""
    if a.kind == "organisation":
        core_a, core_b = _organisation_core(a), _organisation_core(b)
        if not core_a or not core_b:
            return "different", ""
        if core_a == core_b:
            return "same", ""
        if phonetic(core_a) == phonetic(core_b) or _close(core_a, core_b, ORGANISATION_SIMILARITY):
            return "similar", f"{a.organisation_name} / {b.organisation_name}"
        return "different", ""
    name_a, name_b = _person_name(a), _person_name(b)
    if not name_a.core or not name_b.core:
        return "different", ""
    detail = f"{_display(a)} / {_display(b)}"
    given = _given_names(name_a, name_b)
    surname_same = name_a.core == name_b.core
    if not surname_same and not _alike(name_a.core, name_b.core, SURNAME_SIMILARITY):
        if _swapped(name_a, name_b) or _swapped(name_b, name_a):
            return "similar", detail
        if given in ("same", "compatible"):
            return "married", detail
        return "different", ""
    if name_a.prefix_key and name_b.prefix_key and name_a.prefix_key != name_b.prefix_key:
        return "different", ""  # "van Dijk" and "ten Dijk" are other families
    if given == "conflict":
        # Rutger de Ruiter beside "de Ruiter" Rutger: surnames alike, given names not.
        return ("similar", detail) if _swapped(name_a, name_b) or _swapped(name_b, name_a) else ("different", "")
    spelled_alike = surname_same and name_a.prefix == name_b.prefix
    if spelled_alike and given == "same":
        return "same", ""
    if given == "initials":
        return ("initials" if spelled_alike else "initials, respelled"), detail
    return ("surname" if given == "missing" else "similar"), detail


def _swapped(a: _PersonName, b: _PersonName) -> bool:
    """`b` has `a`'s first name and surname in each other's fields."""
    return bool(a.first and b.given_core) and _alike(a.core, b.given_core, SURNAME_SIMILARITY) \
        and _alike(a.first, b.core, GIVEN_NAME_SIMILARITY)


def _double_surname(a: _PersonName, b: _PersonName) -> bool:
    """One surname is a double name holding the other: Jansen-de Vries and de Vries."""
    return b.core in a.parts or a.core in b.parts


def _display(record: DonorRecord) -> str:
    given = record.first_name or record.initials or ""
    return " ".join(part for part in (given, record.prefix or "", record.last_name or "") if part)


def address_key(record: DonorRecord) -> str | None:
    """Postcode + house number (without suffix): `1017GC|12`, or None when either is missing."""
    if not record.postcode or not record.house_number:
        return None
    match = _LEADING_NUMBER.match(record.house_number)
    number = match.group(1) if match else record.house_number.strip()
    postcode = record.postcode.replace(" ", "").upper()
    if not postcode or not number:
        return None
    return f"{postcode}|{number}"


def _split_house_number(record: DonorRecord) -> tuple[str, str]:
    """("12", "a") from house_number "12a" or "12-A", or from "12" with suffix "A";
    a floor in Roman numerals as a number (12-II and 12-2 are one flat), the ground
    floor as "h" (12 hs, 12-H, 12 huis)."""
    text = (record.house_number or "").strip()
    match = _HOUSE_NUMBER.match(text)
    if match:
        number, rest = match.group(1), match.group(2)
    else:
        number, rest = text, ""
    suffix = fold(f"{rest} {record.house_number_suffix or ''}").replace(" ", "")
    return number.lstrip("0") or number, _SUFFIX_FORMS.get(suffix, suffix)


# Suffixes written in more than one way.
_SUFFIX_FORMS = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "hs": "h", "huis": "h", "bs": "bis"}


def same_address(a: DonorRecord, b: DonorRecord) -> bool:
    key = address_key(a)
    if key is None or key != address_key(b):
        return False
    suffix_a, suffix_b = _split_house_number(a)[1], _split_house_number(b)[1]
    # 12-1 and 12-2 are different flats; a suffix left out on one side may be a slip.
    return not (suffix_a and suffix_b and suffix_a != suffix_b)


def _email_key(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value or None


def _iban_key(value: str | None) -> str | None:
    value = (value or "").replace(" ", "").upper()
    return value or None


# --- scoring ---------------------------------------------------------------------

def score_pair(a: DonorRecord, b: DonorRecord) -> tuple[float, tuple[str, ...]] | None:
    """The score (0..1) and every reason two donors may be one, or None when nothing points that way.

    The score is that of the strongest piece of evidence; the reasons name all of it."""
    evidence: list[tuple[float, str]] = []
    names, detail = name_similarity(a, b)
    at_one_address = same_address(a, b)
    iban = _iban_key(a.iban)
    if iban and iban == _iban_key(b.iban):
        evidence.append(_shared("iban", names, detail, at_one_address))
    email = _email_key(a.email)
    if email and email == _email_key(b.email):
        evidence.append(_shared("email", names, detail, at_one_address))
    if at_one_address and names != "different" and (names != "married" or _double_surname(_person_name(a),
                                                                                           _person_name(b))):
        score = round(SCORE_ADDRESS[names] - CONTRADICTION_PENALTY * _contradictions(a, b), 2)
        if names == "same":
            evidence.append((score, "same name, postcode and house number"))
        elif names == "married":
            evidence.append((score, f"a double surname holding the other at the same address ({detail})"))
        else:
            evidence.append((score, f"near-identical name at the same address ({detail})"))
    if not evidence:
        return None
    return max(score for score, _ in evidence), tuple(reason for _, reason in evidence)


def _shared(what: str, names: str, detail: str, at_one_address: bool) -> tuple[float, str]:
    """The score and reason of an IBAN or e-mail both records have."""
    label = "IBAN" if what == "iban" else "e-mail"
    if names == "married":
        place = " at the same address" if at_one_address else ""
        return (SCORE_OTHER_SURNAME[what, at_one_address],
                f"same {label}{place}, same first name, another surname (a maiden and a married name?) ({detail})")
    if names == "different":
        score = SCORE_IBAN_OTHER_NAME if what == "iban" else SCORE_EMAIL_OTHER_NAME
        return score, f"same {label}, different name (a shared {'account' if what == 'iban' else 'address'}?)"
    if names == "initials" and at_one_address:
        return SCORE_INITIALS_AT_ONE_ADDRESS[what], f"same {label} at the same address ({detail})"
    return (SCORE_IBAN if what == "iban" else SCORE_EMAIL), f"same {label}"


def _contradictions(a: DonorRecord, b: DonorRecord) -> int:
    """How many of e-mail and IBAN both records have, with different values."""
    count = 0
    for key in (_email_key(a.email), _email_key(b.email)), (_iban_key(a.iban), _iban_key(b.iban)):
        if key[0] and key[1] and key[0] != key[1]:
            count += 1
    return count


# --- blocking --------------------------------------------------------------------

def blocking_keys(record: DonorRecord) -> Iterator[str]:
    """The blocks a donor falls in; only donors sharing a block are compared."""
    iban = _iban_key(record.iban)
    if iban:
        yield f"iban:{iban}"
    email = _email_key(record.email)
    if email:
        yield f"email:{email}"
    address = address_key(record)
    if address:
        yield f"address:{address}"


def _name_order_key(record: DonorRecord) -> tuple[str, str]:
    if record.kind == "organisation":
        return phonetic(_organisation_core(record)), ""
    name = _person_name(record)
    return phonetic(name.core), name.first or name.initials


def candidate_pairs(records: Iterable[DonorRecord]) -> Iterator[tuple[DonorRecord, DonorRecord]]:
    """Each pair of donors sharing a block, once (lower id first)."""
    blocks: dict[str, list[DonorRecord]] = defaultdict(list)
    for record in records:
        for key in blocking_keys(record):
            blocks[key].append(record)
    seen: set[tuple[int, int]] = set()
    for members in blocks.values():
        if len(members) < 2:
            continue
        pairs: Iterable[tuple[DonorRecord, DonorRecord]]
        if len(members) <= MAX_BLOCK:
            pairs = itertools.combinations(members, 2)
        else:
            pairs = _sorted_neighbourhood(members)
        for a, b in pairs:
            if a.id == b.id:
                continue
            if a.id > b.id:
                a, b = b, a
            pair = (a.id, b.id)
            if pair not in seen:
                seen.add(pair)
                yield a, b


def _sorted_neighbourhood(members: list[DonorRecord]) -> Iterator[tuple[DonorRecord, DonorRecord]]:
    ordered = sorted(members, key=_name_order_key)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:i + WINDOW]:
            yield a, b


def detect(records: Iterable[DonorRecord], min_score: float = MIN_SCORE) -> list[DuplicatePair]:
    """Likely duplicates among `records`, strongest first."""
    found = []
    for a, b in candidate_pairs(records):
        scored = score_pair(a, b)
        if scored and scored[0] >= min_score:
            found.append(DuplicatePair(a.ref, b.ref, scored[0], scored[1]))
    found.sort(key=lambda pair: (-pair.score, pair.ref_a, pair.ref_b))
    return found


# --- the database edge -----------------------------------------------------------

_COLUMNS = (
    Donor.id, Donor.ref, Donor.kind, Donor.initials, Donor.first_name, Donor.prefix, Donor.last_name,
    Donor.organisation_name, Donor.postcode, Donor.house_number, Donor.house_number_suffix, Donor.email,
    Donor.iban,
)


def load_records(session: Session) -> Iterator[DonorRecord]:
    """Active donors (not merged, restricted or purged), only the columns detection needs."""
    statement = (
        select(*_COLUMNS)
        .where(Donor.merged_into_id.is_(None), Donor.restricted_at.is_(None), Donor.purged_at.is_(None))
        .execution_options(yield_per=5000)
    )
    for row in session.execute(statement):
        yield DonorRecord(*row)


def find_duplicates(session: Session, min_score: float = MIN_SCORE) -> list[DuplicatePair]:
    """Likely duplicate pairs among the active donors, strongest first."""
    # Hundreds of thousands of small objects that hold no cycles: the cyclic garbage
    # collector would rescan them over and over for nothing, and more often the more
    # donors there are (measured: 200,000 donors took 2.5x the time of 100,000 with it).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return detect(load_records(session), min_score=min_score)
    finally:
        if collecting:
            gc.enable()
