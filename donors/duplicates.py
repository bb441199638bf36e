"""Likely duplicate donors: who is probably the same person or organisation twice.

Four kinds of evidence (issue 2 item 7): the same IBAN; the same e-mail address; the
same normalised name at the same postcode and house number; a near-identical name at
one address (Jansen / Janssen, Pieterse / Pietersen, "J." for "Jan").

Donors are never compared all against all. Each donor is put in a few blocks (its
IBAN, its e-mail, its postcode + house number) and only donors that share a block
are compared; a block that is unusually large (a shared office address, a family
e-mail) is compared by sorted neighbourhood on a phonetic name key, so the work stays
roughly linear in the number of donors.

A pair scores as its strongest evidence (0..1) and lists all of it. What partners in
one household also share scores lower: an IBAN or e-mail under another name, initials
that fit a first name or a surname alone at one address; and an e-mail or IBAN that
both records have, with different values, takes 0.1 off an address match. Pairs
below `MIN_SCORE` are left out.

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

# Scores per kind of evidence. A shared IBAN or e-mail with a different name is
# often a household (a joint account, a family address), so it scores lower.
SCORE_IBAN = 0.95
SCORE_IBAN_OTHER_NAME = 0.7
SCORE_EMAIL = 0.9
SCORE_EMAIL_OTHER_NAME = 0.7
# At one address, by how alike the names are (see `name_similarity`). Initials that
# fit a first name, or a surname alone, are what partners in one household share
# too, so they score lower.
SCORE_ADDRESS = {"same": 0.9, "similar": 0.85, "initials": 0.75, "surname": 0.7}
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
    """Lower case, accents removed, punctuation to single spaces: `Müller-Lüdenscheidt` -> `muller ludenscheidt`."""
    if not text:
        return ""
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_ALNUM.sub(" ", text.lower().replace("'", "")).strip()


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


def _person_name(record: DonorRecord) -> _PersonName:
    words = fold(record.last_name).split()
    prefix_words = fold(record.prefix).split()
    # A tussenvoegsel typed into last_name ("van der Berg") is split off again.
    while len(words) > 1 and words[0] in _PREFIX_WORDS:
        prefix_words.append(words.pop(0))
    first_names = fold(record.first_name).split()
    initials = _NON_ALPHA.sub("", fold(record.initials)) or "".join(w[0] for w in first_names)
    if all(len(w) == 1 for w in first_names):
        first_names = []  # "J." typed as a first name is an initial
    return _PersonName(
        core="".join(words),  # "El Amrani" and "Elamrani" are one name
        prefix=" ".join(prefix_words),
        prefix_key="".join(_prefix_key(w) for w in prefix_words),
        first=first_names[0] if first_names else "",
        initials=initials,
    )


def _prefix_key(word: str) -> str:
    # "vd" and "vdr" already abbreviate two words ("van der").
    return "vd" if word in ("vd", "vdr") else word[0]


def _organisation_core(record: DonorRecord) -> str:
    return " ".join(w for w in fold(record.organisation_name).split() if w not in _ORGANISATION_NOISE)


def _close(a: str, b: str, threshold: float) -> bool:
    """A slip of the keyboard: alike by Jaro-Winkler and starting with the same letter
    (Isa and Lisa, or Hansen and Jansen, are other people)."""
    return a[:1] == b[:1] and jaro_winkler(a, b) >= threshold


def _given_names(a: _PersonName, b: _PersonName) -> str:
    """`same`, `compatible` (another spelling of one name), `initials` (initials that
    fit the other's first name or initials), `missing` (one side has none) or
    `conflict` (Jan and Marie: two people)."""
    if a.first and b.first:
        if a.first == b.first:
            return "same"
        if phonetic(a.first) == phonetic(b.first) or _close(a.first, b.first, GIVEN_NAME_SIMILARITY):
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

    `same` (equal after normalisation), `similar` (a near-identical spelling: Jansen /
    Janssen, "v.d." for "van der"), `initials` (a near-identical surname, initials
    fitting a first name: "J." for "Jan"), `surname` (a near-identical surname, one
    side without any given name) or `different`."""
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
    if name_a.prefix_key and name_b.prefix_key and name_a.prefix_key != name_b.prefix_key:
        return "different", ""  # "van Dijk" and "ten Dijk" are other families
    surname_same = name_a.core == name_b.core
    if not surname_same and phonetic(name_a.core) != phonetic(name_b.core) \
            and not _close(name_a.core, name_b.core, SURNAME_SIMILARITY):
        return "different", ""
    given = _given_names(name_a, name_b)
    if given == "conflict":
        return "different", ""
    if surname_same and given == "same" and name_a.prefix == name_b.prefix:
        return "same", ""
    detail = f"{_display(a)} / {_display(b)}"
    return {"missing": "surname", "initials": "initials"}.get(given, "similar"), detail


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
    """("12", "a") from house_number "12a" or "12-A", or from "12" with suffix "A"."""
    text = (record.house_number or "").strip()
    match = _HOUSE_NUMBER.match(text)
    if match:
        number, rest = match.group(1), match.group(2)
    else:
        number, rest = text, ""
    suffix = fold(f"{rest} {record.house_number_suffix or ''}").replace(" ", "")
    return number.lstrip("0") or number, suffix


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
    names_agree = names != "different"
    iban = _iban_key(a.iban)
    if iban and iban == _iban_key(b.iban):
        evidence.append((SCORE_IBAN, "same IBAN") if names_agree
                        else (SCORE_IBAN_OTHER_NAME, "same IBAN, different name (a shared account?)"))
    email = _email_key(a.email)
    if email and email == _email_key(b.email):
        evidence.append((SCORE_EMAIL, "same e-mail") if names_agree
                        else (SCORE_EMAIL_OTHER_NAME, "same e-mail, different name (a shared address?)"))
    if names_agree and same_address(a, b):
        score = round(SCORE_ADDRESS[names] - CONTRADICTION_PENALTY * _contradictions(a, b), 2)
        if names == "same":
            evidence.append((score, "same name, postcode and house number"))
        else:
            evidence.append((score, f"near-identical name at the same address ({detail})"))
    if not evidence:
        return None
    return max(score for score, _ in evidence), tuple(reason for _, reason in evidence)


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
        if len(members) <= MAX_BLOCK:
            pairs = itertools.combinations(members, 2)
        else:
            pairs = _sorted_neighbourhood(members)
        for a, b in pairs:
            if a.id == b.id:
                continue
            if a.id > b.id:
                a, b = b, a
            key = (a.id, b.id)
            if key not in seen:
                seen.add(key)
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
