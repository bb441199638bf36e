"""The demo's donors: a few thousand realistic Dutch donors, some of them planted
duplicates, written as a CSV and imported through the real importer.

`generate_donors` is also what bench/donor_import.py imports, so the benchmark
measures the same kind of file a charity would bring. Everything is derived from
the random generator handed in, so the same seed gives the same file and a second
`anbi demo` finds every donor unchanged."""
from __future__ import annotations

import csv
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from anbi.context import AppContext
from donors.importer import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, import_donors

COLUMNS = REQUIRED_COLUMNS + [c for c in OPTIONAL_COLUMNS if c != "deceased_on"]
DEMO_DONORS = 3000
DUPLICATE_RATE = 0.01

FIRST_NAMES_F = [
    "Anna", "Emma", "Sophie", "Julia", "Lotte", "Eva", "Sanne", "Fleur", "Lisa", "Maud", "Iris", "Noor",
    "Anouk", "Femke", "Marieke", "Ingrid", "Wilma", "Johanna", "Maria", "Els", "Karin", "Monique",
    "Petra", "Yvonne", "Annemiek", "Hanneke", "Sara", "Fatima", "Aisha", "Mila", "Tess", "Roos",
    "Margriet", "Geertje", "Dirkje", "Ans", "Truus", "Ria", "Corrie", "Ilse",
]
FIRST_NAMES_M = [
    "Jan", "Pieter", "Kees", "Henk", "Willem", "Bram", "Daan", "Sem", "Lucas", "Thijs", "Ruben", "Jeroen",
    "Martijn", "Bas", "Sander", "Joost", "Gerrit", "Dirk", "Hendrik", "Cornelis", "Johannes", "Arjen",
    "Wouter", "Niels", "Stefan", "Mohamed", "Ahmed", "Youssef", "Mehmet", "Ties", "Job", "Luuk",
    "Jan-Willem", "Gert-Jan", "Klaas", "Sjoerd", "Wim", "Rob", "Frank", "Erik",
]
# (tussenvoegsel, last name): a few common combinations, weighted by how often they occur.
PREFIXED = [
    ("de", "Vries"), ("van den", "Berg"), ("van der", "Berg"), ("van", "Dijk"), ("de", "Boer"),
    ("de", "Jong"), ("van der", "Meer"), ("van", "Leeuwen"), ("de", "Groot"), ("van der", "Linden"),
    ("van", "Beek"), ("de", "Wit"), ("van", "Vliet"), ("van der", "Heijden"), ("de", "Graaf"),
    ("van 't", "Hof"), ("'t", "Hart"), ("in 't", "Veld"), ("van de", "Ven"), ("ter", "Horst"),
    ("van", "Wijk"), ("de", "Bruijn"), ("van der", "Veen"), ("van den", "Broek"), ("de", "Haan"),
]
PLAIN_LAST = [
    "Jansen", "Janssen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos", "Vos", "Peters",
    "Hendriks", "Dekker", "Brouwer", "Dijkstra", "Smits", "Kok", "Jacobs", "Vermeulen", "Willems",
    "Schouten", "Hoekstra", "Koster", "Prins", "Kuipers", "Postma", "Huisman", "Kramer", "Maas",
    "Pieterse", "Pietersen", "Verhoeven", "Kaya", "Yilmaz", "El Amrani", "Bouzid", "Nguyen", "Öztürk",
    "Sanders", "Veenstra", "Wiersma", "Timmermans", "Gerritsen", "Molenaar", "Boersma", "Evers",
]
ENGLISH_FIRST = ["James", "Emily", "Oliver", "Charlotte", "Thomas", "Hannah", "George", "Sarah", "David", "Rachel"]
ENGLISH_LAST = ["Smith", "Brown", "Taylor", "Wilson", "Evans", "Walker", "Wright", "Robinson", "Clarke", "Hughes"]
STREETS = [
    "Kerkstraat", "Dorpsstraat", "Schoolstraat", "Molenweg", "Stationsweg", "Julianalaan", "Beatrixstraat",
    "Wilhelminastraat", "Oranjestraat", "Nieuwstraat", "Hoofdstraat", "Marktplein", "Parallelweg",
    "Emmastraat", "Prins Bernhardlaan", "Eikenlaan", "Berkenlaan", "Lindelaan", "Sportlaan", "Tuinstraat",
    "Prinsengracht", "Keizersgracht", "Vondelstraat", "Burgemeester de Withstraat", "Lange Nieuwstraat",
]
# City and a range of its real four-digit postcode areas.
CITIES = [
    ("Amsterdam", 1011, 1109), ("Rotterdam", 3011, 3089), ("Den Haag", 2491, 2597), ("Utrecht", 3511, 3585),
    ("Eindhoven", 5611, 5658), ("Groningen", 9711, 9747), ("Tilburg", 5011, 5049), ("Almere", 1311, 1365),
    ("Breda", 4811, 4839), ("Nijmegen", 6511, 6546), ("Zwolle", 8011, 8048), ("Haarlem", 2011, 2037),
    ("Arnhem", 6811, 6846), ("Leiden", 2311, 2334), ("Maastricht", 6211, 6229), ("Amersfoort", 3811, 3829),
    ("Apeldoorn", 7311, 7339), ("Enschede", 7511, 7548), ("Leeuwarden", 8911, 8939), ("Delft", 2611, 2629),
    ("Deventer", 7411, 7429), ("Gouda", 2801, 2809), ("Assen", 9401, 9409), ("Middelburg", 4331, 4339),
]
FOREIGN = [
    ("BE", "Antwerpen", lambda r: f"{r.randint(2000, 2660)}"),
    ("DE", "Kleve", lambda r: f"{r.randint(47533, 47559)}"),
    ("GB", "London", lambda r: f"SW{r.randint(1, 20)} {r.randint(1, 9)}{r.choice('ABDEFG')}{r.choice('HJLNPQ')}"),
]
BANKS = ["ABNA", "INGB", "RABO", "SNSB", "TRIO", "ASNB", "KNAB", "BUNQ", "RBRB"]
MAIL_DOMAINS = ["gmail.com", "hotmail.com", "ziggo.nl", "kpnmail.nl", "outlook.com", "xs4all.nl", "planet.nl", "home.nl"]
TAGS = ["major-donor", "monthly", "volunteer", "newsletter", "event-2024", "legacy-interest", "church", "school-action"]
LETTERS = "ABCDEFGHJKLMNPRTVWXZ"  # SA, SD and SS are never issued; avoiding S altogether is simplest

COMPANIES = ["Bakkerij {n}", "{n} Installatietechniek B.V.", "Autobedrijf {n}", "{n} Advocaten", "Drukkerij {n} B.V.",
             "Hoveniersbedrijf {n}", "{n} Accountants", "Bouwbedrijf {n} B.V.", "Tandartspraktijk {n}"]
FOUNDATIONS = ["Stichting {n} Fonds", "Fonds {n}", "Stichting Familie {n}", "{n} Stichting voor Welzijn"]
RELATED = ["Stichting Vrienden van VluchtelingenWerk {c}", "Steunfonds Vluchtelingen {c}"]
OTHER_NONPROFITS = ["Protestantse Gemeente {c}", "Rotary Club {c}", "Parochie H. {n} {c}", "Lions Club {c}",
                    "Vereniging Dorpsbelang {c}", "Diaconie {c}"]


def nl_iban(rng: random.Random) -> str:
    """A Dutch IBAN with correct check digits (ISO 13616 mod 97)."""
    bank = rng.choice(BANKS)
    account = f"{rng.randrange(10**10):010d}"
    numeric = "".join(str(int(c, 36)) for c in f"{bank}{account}NL00")
    return f"NL{98 - int(numeric) % 97:02d}{bank}{account}"


def _postcode(rng: random.Random, low: int, high: int) -> str:
    return f"{rng.randint(low, high)} {rng.choice(LETTERS)}{rng.choice(LETTERS)}"


def _mail_name(*parts: str) -> str:
    text = ".".join(p for p in parts if p).lower()
    for a, b in (("ö", "o"), ("ü", "u"), ("é", "e"), ("'", ""), (" ", "")):
        text = text.replace(a, b)
    return text


@dataclass
class DemoDonors:
    """Generated import rows, and the duplicate pairs planted among them."""

    rows: list[dict[str, str]] = field(default_factory=list)
    planted: list[tuple[str, str, str]] = field(default_factory=list)  # (ref, duplicate ref, kind)


def _person(rng: random.Random, ref: str, number: int) -> dict[str, str]:
    english = rng.random() < 0.03
    if english:
        first, prefix, last = rng.choice(ENGLISH_FIRST), "", rng.choice(ENGLISH_LAST)
    else:
        first = rng.choice(FIRST_NAMES_F if rng.random() < 0.55 else FIRST_NAMES_M)
        prefix, last = rng.choice(PREFIXED) if rng.random() < 0.35 else ("", rng.choice(PLAIN_LAST))
    abroad = rng.random() < 0.02
    if abroad:
        country, city, make_postcode = rng.choice(FOREIGN)
        postcode = make_postcode(rng)
    else:
        city, low, high = rng.choice(CITIES)
        country, postcode = "", _postcode(rng, low, high)
    initials = first[0] + ("." + rng.choice(LETTERS) if rng.random() < 0.3 else "")
    email = f"{_mail_name(first, prefix, last)}{number}@{rng.choice(MAIL_DOMAINS)}" if rng.random() < 0.8 else ""
    phone = f"06-{rng.randrange(10**8):08d}" if rng.random() < 0.5 else ""
    consent_email = ("ja" if rng.random() < 0.6 else "nee") if email else ""
    return {
        "ref": ref, "kind": "", "initials": initials, "first_name": first if rng.random() < 0.85 else "",
        "prefix": prefix, "last_name": last, "organisation": "",
        "street": rng.choice(STREETS), "house_number": str(rng.randint(1, 250)),
        "house_number_suffix": rng.choice(["", "", "", "", "A", "B", "bis", "2 hoog"]),
        "postcode": postcode, "city": city, "country": country,
        "email": email, "phone": phone, "iban": nl_iban(rng) if rng.random() < 0.7 else "",
        "consent_email": consent_email, "consent_post": "ja" if rng.random() < 0.85 else "nee",
        "consent_phone": ("ja" if rng.random() < 0.3 else "nee") if phone else "",
        "tags": "|".join(sorted(rng.sample(TAGS, rng.choice([0, 0, 0, 1, 1, 2])))),
        "language": "en" if english else "", "organisation_type": "",
    }


def _organisation(rng: random.Random, ref: str, number: int) -> dict[str, str]:
    kind_of = rng.choices(["company", "foundation", "related_nonprofit", "other_nonprofit"], [55, 15, 5, 25])[0]
    city, low, high = rng.choice(CITIES)
    name_word = rng.choice(PLAIN_LAST)
    pattern = {"company": COMPANIES, "foundation": FOUNDATIONS, "related_nonprofit": RELATED,
               "other_nonprofit": OTHER_NONPROFITS}[kind_of]
    name = rng.choice(pattern).format(n=name_word, c=city)
    return {
        "ref": ref, "kind": "organisation", "initials": "", "first_name": "", "prefix": "", "last_name": "",
        "organisation": name, "street": rng.choice(STREETS), "house_number": str(rng.randint(1, 400)),
        "house_number_suffix": "", "postcode": _postcode(rng, low, high), "city": city, "country": "",
        "email": f"info{number}@{_mail_name(name_word)}.nl", "phone": "",
        "iban": nl_iban(rng), "consent_email": "ja" if rng.random() < 0.5 else "", "consent_post": "ja",
        "consent_phone": "", "tags": "", "language": "",
        "organisation_type": "" if kind_of == "company" and rng.random() < 0.5 else kind_of,
    }


_SPELLING = [("ss", "s"), ("ij", "y"), ("en", "e"), ("dt", "d"), ("ck", "k")]


def _near_spelling(rng: random.Random, last: str) -> str:
    """Jansen -> Janssen, Pietersen -> Pieterse: a likely typing variant."""
    for a, b in rng.sample(_SPELLING, len(_SPELLING)):
        if a in last:
            return last.replace(a, b, 1)
        if b in last and len(b) > 1:
            return last.replace(b, a, 1)
    return last[:-1] + last[-1] * 2 if last[-1] in "nsk" else last + "s"


def _duplicate_of(rng: random.Random, original: dict[str, str], ref: str) -> tuple[dict[str, str], str]:
    """A second record for the same person, as another import or a form would make it."""
    row = dict(original, ref=ref, tags="", consent_email="", consent_phone="")
    kind = rng.choice(["iban", "email", "name_address", "similar_name"])
    if kind == "iban" and original["iban"]:
        # Same bank account, entered later with a new e-mail and without first name.
        row.update(email="", phone="", first_name="", street=original["street"])
    elif kind == "email" and original["email"]:
        row.update(iban="", phone="", house_number_suffix="")
    elif kind == "name_address":
        row.update(email="", iban="", phone="")
    else:
        kind = "similar_name"
        if row["kind"] == "organisation":
            name = original["organisation"]
            if " B.V." in name:
                row["organisation"] = name.replace(" B.V.", "")
            elif name.startswith("Stichting "):
                row["organisation"] = "St. " + name[len("Stichting "):]
            else:
                row["organisation"] = _near_spelling(rng, name)
        else:
            row["last_name"] = _near_spelling(rng, original["last_name"])
        row.update(email="", iban="", phone="")
    return row, kind


def generate_donors(rng: random.Random, count: int, *, duplicate_rate: float = DUPLICATE_RATE,
                    prefix: str = "DEMO-") -> DemoDonors:
    """`count` import rows (dicts by column), of which about `duplicate_rate` are
    second records of an earlier donor; the planted pairs are returned with them."""
    result = DemoDonors()
    duplicates = int(count * duplicate_rate)
    originals = count - duplicates
    width = max(6, len(str(count)))
    for number in range(1, originals + 1):
        ref = f"{prefix}{number:0{width}d}"
        make = _organisation if rng.random() < 0.06 else _person
        result.rows.append(make(rng, ref, number))
    for number in range(originals + 1, count + 1):
        original = result.rows[rng.randrange(originals)]
        ref = f"{prefix}{number:0{width}d}"
        row, kind = _duplicate_of(rng, original, ref)
        result.rows.append(row)
        result.planted.append((original["ref"], ref, kind))
    return result


def write_csv(rows: Iterable[dict[str, str]], path: Path, *, delimiter: str = ",") -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def seed_donors(app: AppContext, out_dir: Path, rng: random.Random) -> list[str]:
    """Write the demo donors to out_dir/donors.csv and import them (a second run
    finds them unchanged)."""
    local = random.Random(rng.getrandbits(64))
    generated = generate_donors(local, DEMO_DONORS)
    path = write_csv(generated.rows, Path(out_dir) / "donors.csv")
    with app.session() as session:
        summary = import_donors(session, path, actor=app.actor)
    kinds: dict[str, int] = {}
    for _, _, kind in generated.planted:
        kinds[kind] = kinds.get(kind, 0) + 1
    planted = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(kinds.items()))
    lines = summary.lines()[:1]
    lines.append(f"{len(generated.planted)} planted duplicates ({planted}); file: {path}")
    return lines


def show_duplicates(app: AppContext, out_dir: Path, rng: random.Random) -> list[str]:
    """Run the duplicate finder over the demo donors and show the best few pairs."""
    from donors.duplicates import find_duplicates

    with app.session() as session:
        pairs = list(find_duplicates(session))
    pairs.sort(key=lambda p: (-p.score, p.ref_a, p.ref_b))
    lines = [f"{len(pairs)} likely duplicate pairs (anbi donors duplicates lists them; anbi donors merge joins two)"]
    for pair in pairs[:5]:
        lines.append(f"{pair.ref_a} ~ {pair.ref_b}  score {pair.score:.2f}  {pair.reason}")
    return lines
