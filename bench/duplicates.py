"""Benchmark: `find_duplicates` on 100,000 and 200,000 donors with 1% planted
duplicates of the kinds real Dutch donor files hold.

The population is what a Dutch charity's file looks like: persons with and without
initials and tussenvoegsels, names from the Netherlands, Turkey, Morocco, Syria,
Eritrea, Poland and French-speaking families (with their diacritics), organisations,
e-mail for most, an IBAN for many, at addresses drawn from a fixed pool of
postcodes, so that unrelated people share addresses as they do in real data. The
hard negatives are there too: households (a partner with the same surname, or with
her own; a joint account for many; a family e-mail for some), adult children at
their parents' address, Eritrean siblings sharing their father's name as surname,
and neighbours in a block of flats (one house number, suffixes 1, 2, 3 or hs, I, II).

Then 1% planted duplicates, the same share of each KIND below. Each kind is written
from what a clerk, a form or a second registration does to a name, with its examples,
and knows nothing of how `donors.duplicates` matches: the table of transliterations,
for one, lists the Latin spellings in use, not what a rule folds together. Every
duplicate shares something with its original, as a second record of a person does:
mostly the address; after a move, the IBAN or the e-mail instead.

`find_duplicates` is timed (reading from the database included), the two sizes in
alternation, the best of --repeat runs each. It prints recall per kind, recall and
precision over all planted pairs, the false pairs it found by what they are, and the
time of both sizes. Targets: recall >= 0.9, precision >= 0.95, t(200,000) <= 2.5 x
t(100,000) (on this process's CPU time, which other work on a shared machine
disturbs least).

    .venv/bin/python bench/duplicates.py                    # 100k and 200k, SQLite
    .venv/bin/python bench/duplicates.py --backend both     # also PostgreSQL (throwaway database)
    .venv/bin/python bench/duplicates.py --quick            # 10k and 20k
    .venv/bin/python bench/duplicates.py --show 5           # five planted pairs of each kind, then stop
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert
from sqlalchemy.orm import Session

from anbi.core.db import utcnow
from bench.common import DEFAULT_POSTGRES, Result, finish, fresh_database
from donors.duplicates import find_duplicates
from donors.models import Donor
from donors.names import Name, sort_key

TARGET_RECALL = 0.9
TARGET_PRECISION = 0.95
TARGET_RATIO = 2.5

# --- names as they are found in a Dutch file ---------------------------------------

DUTCH_FIRST = [
    "Anna", "Emma", "Sophie", "Julia", "Lotte", "Sanne", "Fleur", "Lisa", "Eva", "Noor", "Tess", "Sara", "Femke",
    "Ilse", "Marieke", "Annelies", "Ingrid", "Wilma", "Joke", "Marja", "Henny", "Truus", "Els", "Corrie", "Hanneke",
    "Yvonne", "Petra", "Monique", "Miriam", "Esther", "Jan", "Piet", "Kees", "Henk", "Willem", "Gerrit", "Dirk",
    "Hendrik", "Cornelis", "Johannes", "Pieter", "Daan", "Sem", "Lucas", "Levi", "Bram", "Thijs", "Ruben", "Jesse",
    "Niels", "Sander", "Bas", "Wouter", "Maarten", "Rutger", "Joost", "Erik", "Frank", "Ronald", "Marco", "Vincent",
    "Martijn", "Gijs", "Stijn", "Floris", "Victor", "Rob", "Teun", "Koen", "Mees", "Guus", "Hugo", "Otto", "Fenna",
    "Roos", "Isa", "Mila", "Yara", "Liv", "Nina", "Jeroen", "Arjen", "Marloes", "Wendy", "Astrid", "Bart", "Tim",
]
DUTCH_SURNAMES = [
    ("", "Jansen"), ("de", "Jong"), ("de", "Vries"), ("van den", "Berg"), ("van", "Dijk"), ("", "Bakker"),
    ("", "Janssen"), ("", "Visser"), ("", "Smit"), ("", "Meijer"), ("de", "Boer"), ("", "Mulder"), ("de", "Groot"),
    ("", "Bos"), ("", "Vos"), ("", "Peters"), ("", "Hendriks"), ("van", "Leeuwen"), ("", "Dekker"), ("", "Brouwer"),
    ("de", "Wit"), ("", "Dijkstra"), ("", "Smits"), ("de", "Graaf"), ("van der", "Meer"), ("van der", "Linden"),
    ("", "Kok"), ("", "Jacobs"), ("de", "Haan"), ("", "Vermeulen"), ("van den", "Heuvel"), ("van der", "Veen"),
    ("van den", "Broek"), ("de", "Bruijn"), ("de", "Bruin"), ("van der", "Heijden"), ("", "Schouten"),
    ("van", "Beek"), ("", "Willems"), ("van", "Vliet"), ("van de", "Ven"), ("", "Hoekstra"), ("", "Maas"),
    ("", "Verhoeven"), ("", "Koster"), ("van", "Dam"), ("van der", "Wal"), ("", "Prins"), ("", "Blom"),
    ("", "Huisman"), ("", "Peeters"), ("de", "Jonge"), ("", "Kuipers"), ("van", "Veen"), ("", "Post"),
    ("", "Kuiper"), ("", "Veenstra"), ("", "Kramer"), ("van den", "Brink"), ("", "Scholten"), ("van", "Wijk"),
    ("", "Postma"), ("", "Martens"), ("", "Vink"), ("de", "Ruiter"), ("", "Timmermans"), ("", "Groen"),
    ("", "Gerritsen"), ("", "Jonker"), ("van", "Loon"), ("", "Boer"), ("van der", "Velde"), ("", "Willemsen"),
    ("", "Smeets"), ("de", "Lange"), ("de", "Vos"), ("", "Bosch"), ("van", "Dongen"), ("", "Schipper"),
    ("de", "Koning"), ("van der", "Laan"), ("", "Koning"), ("van der", "Veer"), ("", "Driessen"), ("van", "Doorn"),
    ("", "Hermans"), ("", "Evers"), ("van den", "Bosch"), ("van der", "Meulen"), ("", "Hofman"), ("", "Bosman"),
    ("", "Wolters"), ("", "Sanders"), ("van der", "Horst"), ("", "Mertens"), ("", "Pieterse"), ("", "Pietersen"),
    ("ter", "Horst"), ("ten", "Brink"), ("in 't", "Veld"), ("van 't", "Hof"), ("op de", "Beek"),
]
# Names written with letters outside plain ASCII, as the families write them.
DIACRITIC_FIRST = ["Hélène", "Chloë", "Anaïs", "Noël", "Renée", "José", "Zoë", "Daniëlle", "Ömer", "Gülşen", "Şükrü",
                   "Çağla", "Ayşe", "Hüseyin", "Łukasz", "Małgorzata", "Paweł", "Zoé", "Bartłomiej", "Jérôme", "Agnès"]
DIACRITIC_SURNAMES = ["Öztürk", "Yılmaz", "Şahin", "Çelik", "Güneş", "Doğan", "Aydın", "Özdemir", "Kılıç", "Ünal",
                      "Wiśniewski", "Wójcik", "Kamiński", "Lefèvre", "Gonçalves", "Müller", "Brüggemann", "Hoëvenaars"]
# Arabic and Tigrinya names with the Latin spellings in use for each (passports,
# earlier registrations, a clerk writing what they heard). The first is the one
# the population is drawn with; a planted duplicate takes another.
TRANSLITERATIONS = {
    # Arabic given names
    "Mohammed": ["Muhammad", "Mohamed", "Mohammad", "Muhammed", "Mohamad"],
    "Ahmed": ["Ahmad", "Ahmet"],
    "Youssef": ["Yusuf", "Yousef", "Yussuf", "Yousif"],
    "Hussein": ["Husein", "Hussain", "Husain", "Hossein"],
    "Abdelrahman": ["Abdulrahman", "Abd al-Rahman", "Abdul Rahman", "Abderrahmane", "Abdurrahman"],
    "Khaled": ["Khalid", "Khalied"],
    "Fatima": ["Fatimah", "Fatma", "Fatema"],
    "Aisha": ["Aicha", "Aysha", "Ayesha", "Aischa"],
    "Mustafa": ["Mustapha", "Moustafa", "Mostafa"],
    "Omar": ["Umar", "Omer"],
    "Layla": ["Leila", "Laila", "Leyla"],
    "Ibrahim": ["Ebrahim", "Brahim"],
    "Abdullah": ["Abdallah", "Abdulla"],
    "Rashid": ["Rachid", "Rasheed"],
    "Yasmin": ["Yasmine", "Jasmin", "Yasmeen"],
    "Nour": ["Noor", "Nur"],
    "Samir": ["Sameer", "Semir"],
    # Arabic surnames
    "El Amrani": ["Elamrani", "El-Amrani", "Al Amrani"],
    "Al-Khatib": ["Alkhatib", "El Khatib", "Al Khatib"],
    "Haddad": ["Hadad", "Haddade"],
    "Mansour": ["Mansur", "Mansoer"],
    "Al-Sayed": ["Alsayed", "El Sayed", "Elsayed", "Al Saied"],
    "Khoury": ["Khouri", "Khuri", "El Khoury"],
    "Nasser": ["Nasir", "Naser"],
    "Abdelkader": ["Abdulkader", "Abdel Kader", "Abdelqader"],
    "Benali": ["Ben Ali", "Ben-Ali"],
    "Shaikh": ["Sheikh", "Cheikh", "Shaykh"],
    # Tigrinya names (an Eritrean's surname is the father's given name)
    "Tesfay": ["Tesfaye", "Tesfai"],
    "Yohannes": ["Yohanes", "Yohannis", "Johannes"],
    "Gebremedhin": ["Ghebremedhin", "Gebremedin", "Ghebremeden"],
    "Haile": ["Hayle", "Hailé"],
    "Tsegay": ["Tsegaye", "Tsegai"],
    "Berhane": ["Birhane", "Brhane"],
    "Weldemariam": ["Woldemariam", "Wolde Mariam", "Weldemaryam"],
    "Ghebreyesus": ["Gebreyesus", "Gebre-Yesus", "Ghebrejesus"],
    "Medhanie": ["Medhane", "Medhani"],
    "Yemane": ["Yemani", "Yemaneh"],
    "Tewelde": ["Tewolde", "Teweldi"],
    "Girmay": ["Girmai", "Ghirmay", "Germay"],
    "Senait": ["Senayt", "Senaite"],
    "Abrehet": ["Abrehat", "Abriehet"],
    "Freweini": ["Frewoini", "Fraweini"],
    "Mebrahtu": ["Mibrahtu", "Mebrahtom"],
    "Zerai": ["Zeray", "Zeraye"],
    "Kidane": ["Kidanè", "Kidanie"],
}
WOMEN = {"Anna", "Emma", "Sophie", "Julia", "Lotte", "Sanne", "Fleur", "Lisa", "Eva", "Noor", "Tess", "Sara", "Femke",
         "Ilse", "Marieke", "Annelies", "Ingrid", "Wilma", "Joke", "Marja", "Henny", "Truus", "Els", "Corrie",
         "Hanneke", "Yvonne", "Petra", "Monique", "Miriam", "Esther", "Fenna", "Roos", "Isa", "Mila", "Yara", "Liv",
         "Nina", "Marloes", "Wendy", "Astrid", "Hélène", "Chloë", "Anaïs", "Renée", "Zoë", "Daniëlle", "Gülşen",
         "Çağla", "Ayşe", "Małgorzata", "Zoé", "Agnès", "Fatima", "Aisha", "Layla", "Yasmin", "Nour", "Amal"}
ARABIC_FIRST = ["Mohammed", "Ahmed", "Youssef", "Hussein", "Abdelrahman", "Khaled", "Fatima", "Aisha", "Mustafa", "Omar",
                "Layla", "Ibrahim", "Abdullah", "Rashid", "Yasmin", "Nour", "Samir", "Hassan", "Karim", "Amal", "Said"]
ARABIC_SURNAMES = ["El Amrani", "Al-Khatib", "Haddad", "Mansour", "Al-Sayed", "Khoury", "Nasser", "Abdelkader", "Benali",
                   "Shaikh", "Hassan", "Saleh", "Darwish", "Bouzid", "Ouali"]
TIGRINYA_NAMES = ["Tesfay", "Yohannes", "Gebremedhin", "Haile", "Tsegay", "Berhane", "Weldemariam", "Ghebreyesus",
                  "Medhanie", "Yemane", "Tewelde", "Girmay", "Senait", "Abrehet", "Freweini", "Mebrahtu", "Zerai", "Kidane",
                  "Selam", "Saba", "Filmon", "Daniel", "Semhar", "Aron"]
STREETS = ["Kerkstraat", "Dorpsstraat", "Schoolstraat", "Molenweg", "Stationsweg", "Hoofdstraat", "Julianastraat",
           "Beatrixlaan", "Wilhelminastraat", "Parallelweg", "Industrieweg", "Prinsengracht", "Herengracht",
           "Kastanjelaan", "Eikenlaan", "Berkenlaan", "Lindenlaan", "Nieuwstraat", "Marktstraat", "Spoorstraat"]
CITIES = ["Amsterdam", "Rotterdam", "Den Haag", "Utrecht", "Eindhoven", "Groningen", "Tilburg", "Almere", "Breda",
          "Nijmegen", "Apeldoorn", "Haarlem", "Arnhem", "Enschede", "Amersfoort", "Zaandam", "Zwolle", "Leiden"]
BANKS = ["ABNA", "INGB", "RABO", "SNSB", "TRIO", "ASNB", "KNAB", "BUNQ", "RBRB"]
DOMAINS = ["gmail.com", "hotmail.com", "ziggo.nl", "kpnmail.nl", "outlook.com", "xs4all.nl", "planet.nl"]
LETTERS = "ABCDEFGHJKLMNPRTVWXZ"
# A fixed pool of postcodes, as in one country: more donors means fuller streets.
POSTCODES = 30_000
HOUSE_NUMBERS = 120
# House-number suffixes as addresses have them: a letter, a flat's number or floor,
# "bis", "hs" (the ground floor, huis).
SUFFIXES = ["A", "A", "B", "B", "C", "1", "2", "3", "bis", "hs", "I", "II", "III"]


def nl_iban(number: int) -> str:
    """A valid Dutch IBAN, unique per `number`."""
    bban = BANKS[number % len(BANKS)] + f"{number:010d}"
    digits = "".join(str(int(ch, 36)) for ch in bban + "NL00")
    return f"NL{98 - int(digits) % 97:02d}{bban}"


# --- the population --------------------------------------------------------------


class Population:
    """Donors as a file holds them, each a dict of Donor columns."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.postcodes = [f"{self.rng.randint(1000, 9999)} {self.rng.choice(LETTERS)}{self.rng.choice(LETTERS)}"
                          for _ in range(POSTCODES)]
        self.count = 0
        self.ibans = 0
        self.mails = 0

    def ref(self) -> str:
        self.count += 1
        return f"B{self.count:07d}"

    def iban(self) -> str:
        self.ibans += 1
        return nl_iban(7_000_000 + self.ibans * 7919)

    def email(self, first: str, last: str) -> str:
        self.mails += 1
        local = "".join(ch for ch in f"{first}.{last}".lower() if ch.isascii() and (ch.isalnum() or ch == "."))
        return f"{local}{self.mails}@{self.rng.choice(DOMAINS)}"

    def address(self) -> dict:
        rng = self.rng
        return {"street": rng.choice(STREETS), "house_number": str(rng.randint(1, HOUSE_NUMBERS)),
                "house_number_suffix": rng.choice(SUFFIXES) if rng.random() < 0.06 else None,
                "postcode": rng.choice(self.postcodes), "city": rng.choice(CITIES)}

    def name(self) -> tuple[str, str, str]:
        """(first name, tussenvoegsel, surname) from the mix of a Dutch file."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.70:
            prefix, last = rng.choice(DUTCH_SURNAMES)
            return rng.choice(DUTCH_FIRST), prefix, last
        if roll < 0.80:
            return rng.choice(DIACRITIC_FIRST + DUTCH_FIRST), "", rng.choice(DIACRITIC_SURNAMES)
        if roll < 0.85:
            prefix, last = rng.choice(DUTCH_SURNAMES)
            return rng.choice(DIACRITIC_FIRST), prefix, last
        if roll < 0.93:
            return rng.choice(ARABIC_FIRST), "", rng.choice(ARABIC_SURNAMES)
        return rng.choice(TIGRINYA_NAMES), "", rng.choice(TIGRINYA_NAMES)

    def person(self, name: tuple[str, str, str] | None = None, address: dict | None = None) -> dict:
        rng = self.rng
        first, prefix, last = name or self.name()
        donor = {"ref": self.ref(), "kind": "person", "prefix": prefix or None, "last_name": last,
                 "organisation_name": None}
        if rng.random() < 0.12:  # written with initials only, as older files often are
            donor.update(first_name=None, initials=first[0] + "." + (rng.choice(LETTERS) + "." if rng.random() < 0.4 else ""))
        else:
            donor.update(first_name=first, initials=None)
        donor.update(address or self.address())
        donor["email"] = self.email(first, last) if rng.random() < 0.65 else None
        donor["iban"] = self.iban() if rng.random() < 0.5 else None
        return donor

    def organisation(self) -> dict:
        rng = self.rng
        _, last = rng.choice(DUTCH_SURNAMES)
        name = rng.choice(["Bakkerij {n}", "{n} Installatietechniek B.V.", "Stichting {n} Fonds", "Autobedrijf {n}",
                           "{n} Advocaten", "Rotary Club {c}", "Protestantse Gemeente {c}"])
        donor = {"ref": self.ref(), "kind": "organisation", "first_name": None, "initials": None, "prefix": None,
                 "last_name": None, "organisation_name": name.format(n=last, c=rng.choice(CITIES)) + f" {self.count}"}
        donor.update(self.address())
        donor["email"] = f"info{self.count}@{last.lower().replace(' ', '')}.example" if rng.random() < 0.8 else None
        donor["iban"] = self.iban() if rng.random() < 0.7 else None
        return donor

    def other_first_name(self, first: str | None, pool: list[str]) -> str:
        """Someone else's first name: drawn on its own (Jan and Joke, Tim and Tom
        happen), only not the same name."""
        other = self.rng.choice(pool)
        while other == first:
            other = self.rng.choice(pool)
        return other

    def household(self, donor: dict) -> list[dict]:
        """Who else lives at `donor`'s address, written as records of their own."""
        rng = self.rng
        home = {k: donor[k] for k in ("street", "house_number", "house_number_suffix", "postcode", "city")}
        first = donor["first_name"] or donor["initials"]
        tigrinya = donor["last_name"] in TIGRINYA_NAMES
        pool = TIGRINYA_NAMES if tigrinya else DUTCH_FIRST
        roll = rng.random()
        if roll < 0.5:
            # A partner with the same surname; a joint account and a family e-mail for some.
            partner = self.person((self.other_first_name(first, pool), donor["prefix"] or "", donor["last_name"]), home)
        elif roll < 0.8:
            # A partner who kept her own surname.
            partner = self.person((self.other_first_name(first, pool), *self.name()[1:]), home)
        else:
            # A grown-up child, or (Eritrean) a sibling: the same surname, own e-mail.
            child = self.person((self.other_first_name(first, pool), donor["prefix"] or "", donor["last_name"]), home)
            return [child]
        if rng.random() < 0.4:
            partner["iban"] = donor["iban"] = donor["iban"] or self.iban()
        if rng.random() < 0.15:
            partner["email"] = donor["email"] = f"fam.{donor['last_name'].lower().replace(' ', '')}{self.count}@{rng.choice(DOMAINS)}"
        return [partner]

    def flats(self) -> list[dict]:
        """Neighbours in a block of flats: one house number, a suffix each."""
        rng = self.rng
        building = self.address()
        suffixes = rng.choice([("1", "2", "3"), ("hs", "I", "II"), ("A", "B"), ("H", "1", "2")])
        return [self.person(address={**building, "house_number_suffix": suffix}) for suffix in suffixes]

    def generate(self, count: int) -> list[dict]:
        donors: list[dict] = []
        while len(donors) < count:
            roll = self.rng.random()
            if roll < 0.05:
                donors.append(self.organisation())
            elif roll < 0.07:
                donors.extend(self.flats())
            else:
                donor = self.person()
                donors.append(donor)
                if roll < 0.17:
                    donors.extend(self.household(donor))
        return donors[:count]


# --- the planted duplicates: one function per kind --------------------------------
#
# Each takes the original (a dict of Donor columns) and returns the duplicate's
# name and address as a second record would have them, or None when the original
# has nothing for this kind to change (another original is then drawn).


def _typo(rng: random.Random, word: str) -> str:
    """One slip of the keyboard: two neighbouring letters transposed, a letter
    dropped, or a letter doubled — anywhere in the word."""
    letters = [i for i, ch in enumerate(word) if ch.isalpha()]
    slip = rng.choice(["transposed", "dropped", "doubled"])
    if slip == "transposed":
        pairs = [i for i in letters if i + 1 < len(word) and word[i + 1].isalpha() and word[i] != word[i + 1]]
        if pairs:
            i = rng.choice(pairs)
            return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if slip == "dropped" and len(letters) > 3:
        i = rng.choice(letters)
        return word[:i] + word[i + 1:]
    i = rng.choice(letters)
    return word[:i] + word[i] + word[i:]


def typing_error(rng, original):
    """A typing error in the surname or the first name: Jansen -> Jasnen (transposed),
    Jnsen (dropped), Janssen or Jannsen (doubled); Pieter -> Peiter."""
    duplicate = dict(original)
    if original["first_name"] and rng.random() < 0.4:
        duplicate["first_name"] = _typo(rng, original["first_name"])
    else:
        duplicate["last_name"] = _typo(rng, original["last_name"])
    return duplicate


_PLAIN = str.maketrans("éèêëïîíöôóüûúàáâäçşğıłńśźżñøåãõœæ", "eeeeiiiooouuuaaaacsgilnszznoaaooa")


def diacritics(rng, original):
    """Diacritics lost (Öztürk -> Ozturk, Hélène -> Helene, Łukasz -> Lukasz), as
    a keyboard or a form without them writes the name; or added where the family
    writes them (Helene -> Hélène, Noel -> Noël)."""
    duplicate = dict(original)
    changed = False
    for field in ("first_name", "last_name"):
        value = original[field]
        if value and not value.isascii():
            duplicate[field] = "".join(ch.lower().translate(_PLAIN).upper() if ch.isupper() else ch.translate(_PLAIN)
                                       for ch in value)
            changed = True
    if changed:
        return duplicate
    added = {"Helene": "Hélène", "Noel": "Noël", "Chloe": "Chloë", "Renee": "Renée", "Jose": "José", "Zoe": "Zoë",
             "Danielle": "Daniëlle", "Ozturk": "Öztürk", "Celik": "Çelik", "Muller": "Müller", "Sahin": "Şahin"}
    for field in ("first_name", "last_name"):
        if original[field] in added:
            duplicate[field] = added[original[field]]
            return duplicate
    return None


def tussenvoegsel(rng, original):
    """The tussenvoegsel dropped (van den Berg -> Berg), moved behind the surname as
    a sorted list writes it ("Berg, van den", "Berg van den"), or typed into the
    surname field ("van den Berg" as last name, no prefix)."""
    if not original["prefix"]:
        return None
    duplicate = dict(original)
    way = rng.choice(["dropped", "moved", "moved", "typed into the surname"])
    duplicate["prefix"] = None
    if way == "moved":
        duplicate["last_name"] = f"{original['last_name']}{rng.choice([', ', ' '])}{original['prefix']}"
    elif way == "typed into the surname":
        duplicate["last_name"] = f"{original['prefix']} {original['last_name']}"
    return duplicate


def swapped(rng, original):
    """First name and surname in each other's fields: Pieter Jansen as first name
    "Jansen", surname "Pieter"; Jan van Dijk as first name "van Dijk"."""
    if not original["first_name"]:
        return None
    duplicate = dict(original)
    surname = " ".join(part for part in (original["prefix"], original["last_name"]) if part)
    duplicate.update(first_name=surname, last_name=original["first_name"], prefix=None)
    return duplicate


def initials(rng, original):
    """Initials where the other record has the first name: Jan -> J., or the full
    first name where the other has initials (J. -> Jan)."""
    duplicate = dict(original)
    if original["first_name"]:
        letters = original["first_name"][0].upper() + "."
        duplicate.update(first_name=None, initials=letters + (rng.choice(LETTERS) + "." if rng.random() < 0.3 else ""))
        return duplicate
    if original["initials"]:
        start = original["initials"][0]
        names = [n for n in DUTCH_FIRST + DIACRITIC_FIRST if n[0] == start]
        if names:
            duplicate.update(first_name=rng.choice(names), initials=None)
            return duplicate
    return None


def married_name(rng, original):
    """A woman registered once with her maiden name and once with her married name,
    at one address and paying from one account: Anna de Vries beside Anna Jansen or
    Anna Jansen-de Vries (her husband's name first, as Dutch custom writes it)."""
    if original["first_name"] not in WOMEN:
        return None
    duplicate = dict(original)
    prefix, husband = rng.choice(DUTCH_SURNAMES)
    own = " ".join(part for part in (original["prefix"], original["last_name"]) if part)
    if husband == original["last_name"]:
        return None
    if rng.random() < 0.5:
        duplicate.update(prefix=prefix or None, last_name=husband)
    else:
        duplicate.update(prefix=prefix or None, last_name=f"{husband}-{own}")
    return duplicate


def house_number(rng, original):
    """The same person at the same address with the house number's suffix written
    differently: 12A, 12 a, 12-A, or 12 with suffix A; 12-1, 12 1, 12/1; 12 bis,
    12bis; 12-II, 12 2; 12 hs, 12-H, 12 huis."""
    number = original["house_number"]
    forms = {
        "A": [f"{number}A", f"{number} a", f"{number}-A", (number, "a")],
        "B": [f"{number}B", f"{number} b", f"{number}-b", (number, "B")],
        "C": [f"{number}c", f"{number}-C", (number, "c")],
        "1": [f"{number}-1", f"{number} 1", f"{number}/1", (number, "-1")],
        "2": [f"{number}-2", f"{number} 2", f"{number}/2", (number, "-2")],
        "3": [f"{number}-3", f"{number}/3", (number, "3")],
        "bis": [f"{number}bis", f"{number} bis", (number, "Bis")],
        "hs": [f"{number}-H", f"{number} huis", f"{number}hs", (number, "H")],
        "H": [f"{number} hs", f"{number}-h", f"{number} huis", (number, "hs")],
        "I": [f"{number}-1", f"{number} I", (number, "1")],
        "II": [f"{number}-2", f"{number} II", (number, "2")],
        "III": [f"{number}-3", f"{number} III", (number, "3")],
    }
    suffix = original["house_number_suffix"]
    if suffix is None:
        suffix = original["house_number_suffix"] = rng.choice(list(forms))
    duplicate = dict(original)
    form = rng.choice([form for form in forms[suffix] if form != (number, suffix)])
    if isinstance(form, tuple):
        duplicate["house_number"], duplicate["house_number_suffix"] = form
    else:
        duplicate["house_number"], duplicate["house_number_suffix"] = form, None
    return duplicate


def transliteration(rng, original):
    """An Arabic or Tigrinya name in another of its Latin spellings: Mohammed /
    Muhammad / Mohamed, Hussein / Hussain, Al-Khatib / El Khatib; Tesfay / Tesfaye,
    Gebremedhin / Ghebremedhin, Yohannes / Yohanes."""
    duplicate = dict(original)
    fields = [f for f in ("first_name", "last_name") if original[f] in TRANSLITERATIONS]
    if not fields:
        return None
    for field in fields if rng.random() < 0.3 else [rng.choice(fields)]:
        duplicate[field] = rng.choice(TRANSLITERATIONS[original[field]])
    return duplicate


KINDS = {
    "typing error": typing_error,
    "diacritics": diacritics,
    "tussenvoegsel": tussenvoegsel,
    "first/last swapped": swapped,
    "initials": initials,
    "married name": married_name,
    "house-number suffix": house_number,
    "transliteration": transliteration,
}


def share_evidence(population: Population, original: dict, duplicate: dict, kind: str) -> str:
    """What the second record shares with the first, as a second registration of one
    person does: the address (mostly), or after a move the IBAN or the e-mail. Its own
    contact details may be missing or other ones. Returns what is shared."""
    rng = population.rng
    roll = rng.random()
    if kind == "married name":
        duplicate["iban"] = original["iban"] = original["iban"] or population.iban()
        duplicate["email"] = None if rng.random() < 0.5 else population.email(duplicate["first_name"], duplicate["last_name"])
        return "address and IBAN"
    if kind == "house-number suffix" or roll < 0.6:
        duplicate["email"] = rng.choice([None, None, original["email"], original["email"] or None])
        duplicate["iban"] = rng.choice([None, None, original["iban"]])
        if rng.random() < 0.1:  # a new e-mail address since
            duplicate["email"] = population.email("nieuw", original["last_name"] or "x")
        return "address"
    duplicate.update(population.address())  # moved house since
    if roll < 0.8:
        duplicate["iban"] = original["iban"] = original["iban"] or population.iban()
        duplicate["email"] = None
        return "IBAN"
    email = original["email"] = original["email"] or population.email(original["first_name"] or "x", original["last_name"])
    duplicate["email"] = email.capitalize() if rng.random() < 0.3 else email
    duplicate["iban"] = None
    return "e-mail"


def generate(size: int, seed: int) -> tuple[list[dict], dict[tuple[str, str], str]]:
    """`size` donors, 1% of them planted duplicates; the planted pairs with their kind."""
    population = Population(seed)
    rng = population.rng
    planted_count = size // 100
    donors = population.generate(size - planted_count)
    persons = [d for d in donors if d["kind"] == "person"]
    taken: set[str] = set()
    pairs: dict[tuple[str, str], str] = {}
    kinds = list(KINDS)
    for index in range(planted_count):
        kind = kinds[index % len(kinds)]
        while True:
            original = rng.choice(persons)
            if original["ref"] in taken:
                continue
            duplicate = KINDS[kind](rng, original)
            if duplicate is not None:
                break
        taken.add(original["ref"])
        share_evidence(population, original, duplicate, kind)
        duplicate["ref"] = population.ref()
        donors.append(duplicate)
        pairs[tuple(sorted((original["ref"], duplicate["ref"])))] = kind
    rng.shuffle(donors)
    return donors, pairs


# --- databases -----------------------------------------------------------------------------

def insert_generated(engine, donors: list[dict]) -> None:
    now = utcnow()
    rows = []
    for donor in donors:
        row = dict(donor, country="NL", language="nl", created_at=now, updated_at=now)
        row["sort_name"] = sort_key(Name(kind=row["kind"], initials=row["initials"], first_name=row["first_name"],
                                         prefix=row["prefix"], last_name=row["last_name"],
                                         organisation_name=row["organisation_name"]))[:300]
        rows.append(row)
    with engine.begin() as connection:
        for start in range(0, len(rows), 10_000):
            connection.execute(insert(Donor.__table__), rows[start:start + 10_000])


def measure_once(engine):
    """(wall seconds, CPU seconds of this process, pairs) for one `find_duplicates`."""
    with Session(engine) as session:
        wall, cpu = time.perf_counter(), time.process_time()
        pairs = find_duplicates(session)
        return time.perf_counter() - wall, time.process_time() - cpu, pairs


def describe(pair: tuple[str, str], by_ref: dict[str, dict]) -> str:
    def name(ref: str) -> str:
        d = by_ref[ref]
        if d["kind"] == "organisation":
            return d["organisation_name"]
        return " ".join(p for p in (d["first_name"] or d["initials"], d["prefix"], d["last_name"]) if p)

    a, b = by_ref[pair[0]], by_ref[pair[1]]
    place = lambda d: f"{d['postcode']} {d['house_number']}{'/' + d['house_number_suffix'] if d['house_number_suffix'] else ''}"  # noqa: E731
    return f"{name(pair[0])!r} / {name(pair[1])!r} at {place(a)} / {place(b)}"


def false_kind(pair: tuple[str, str], by_ref: dict[str, dict]) -> str:
    """What a found pair that was not planted is: two people sharing what."""
    a, b = by_ref[pair[0]], by_ref[pair[1]]
    shared = [what for what, same in (("address", a["postcode"] == b["postcode"] and a["house_number"] == b["house_number"]),
                                      ("IBAN", a["iban"] and a["iban"] == b["iban"]),
                                      ("e-mail", a["email"] and (a["email"] or "").lower() == (b["email"] or "").lower()))
              if same]
    family = "same surname" if (a["last_name"] or "") == (b["last_name"] or "") else "other surnames"
    return f"{family}, sharing {' + '.join(shared) or 'nothing'}"


def run(backend: str, sizes: list[int], seed: int, repeat: int, postgres_url: str) -> list[Result]:
    """Both sizes side by side, timed in alternation, so that other work on the machine
    weighs on both alike; the best of `repeat` runs counts."""
    print(f"== {backend}", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as workdir, ExitStack() as stack:
        engines, truth, people = {}, {}, {}
        for size in sizes:
            donors, truth[size] = generate(size, seed)
            people[size] = {d["ref"]: d for d in donors}
            engines[size] = stack.enter_context(fresh_database(backend, Path(workdir), postgres_url))
            insert_generated(engines[size], donors)
        wall = {size: float("inf") for size in sizes}
        cpu = {size: float("inf") for size in sizes}
        found = {}
        for _ in range(repeat):
            for size in sizes:
                elapsed, used, pairs = measure_once(engines[size])
                wall[size], cpu[size] = min(wall[size], elapsed), min(cpu[size], used)
                found[size] = {tuple(sorted((p.ref_a, p.ref_b))) for p in pairs}
        for size in sizes:
            planted = truth[size]
            hits = found[size] & planted.keys()
            print(f"{size:>9,} donors  {len(planted):>6,} planted  {len(found[size]):>6,} found  "
                  f"recall {len(hits) / len(planted):.3f}  precision {len(hits) / max(1, len(found[size])):.3f}  "
                  f"time {wall[size]:.2f} s (CPU {cpu[size]:.2f} s, {size / wall[size]:,.0f} donors/s)", flush=True)
            by_kind = Counter(planted.values())
            hit_kind = Counter(planted[pair] for pair in hits)
            print("          recall by kind: " + ", ".join(f"{kind} {hit_kind[kind] / by_kind[kind]:.2f}"
                                                            for kind in KINDS), flush=True)
            missed = sorted(planted.keys() - hits)
            for pair in missed[:3]:
                print(f"          missed ({planted[pair]}): {describe(pair, people[size])}")
            false = sorted(found[size] - planted.keys())
            for what, n in Counter(false_kind(pair, people[size]) for pair in false).most_common(4):
                print(f"          false pairs: {n} with {what}")
            for pair in false[:3]:
                print(f"          false: {describe(pair, people[size])}")
            label = f"{size // 1000}k" if size % 1000 == 0 else str(size)
            results.append(Result(f"duplicates-recall-{label}", backend, len(hits), len(planted), "pairs", ">=",
                                  TARGET_RECALL))
            results.append(Result(f"duplicates-precision-{label}", backend, len(hits), len(found[size]), "pairs", ">=",
                                  TARGET_PRECISION))
    small, large = sizes
    print(f"t({large:,}) / t({small:,}) = {wall[large] / wall[small]:.2f} wall, {cpu[large] / cpu[small]:.2f} CPU "
          f"(linear would be {large / small:.1f})", flush=True)
    # The CPU time of this process is the steadier figure on a shared machine; the
    # target is checked on it. (On PostgreSQL it leaves out the server's share.)
    results.append(Result("duplicates-scaling", backend, cpu[large], cpu[small], "s", "<=", TARGET_RATIO))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="the smaller size; the larger is twice this")
    parser.add_argument("--quick", action="store_true", help="10,000 and 20,000 donors")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=2, help="time the best of this many runs")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--show", type=int, default=0, help="print this many planted pairs of each kind and stop")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help="a server where a throwaway database may be made")
    args = parser.parse_args()
    size = 10_000 if args.quick else args.size
    if args.show:
        donors, planted = generate(size, args.seed)
        by_ref = {d["ref"]: d for d in donors}
        for kind in KINDS:
            print(kind)
            for pair in [p for p, k in planted.items() if k == kind][:args.show]:
                print(f"    {describe(pair, by_ref)}")
        return 0
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"targets: recall >= {TARGET_RECALL}, precision >= {TARGET_PRECISION}, "
          f"t({2 * size:,}) / t({size:,}) <= {TARGET_RATIO}", flush=True)
    results = [result for backend in backends for result in run(backend, [size, 2 * size], args.seed, args.repeat,
                                                                  args.postgres_url)]
    return finish(results)


if __name__ == "__main__":
    sys.exit(main())
