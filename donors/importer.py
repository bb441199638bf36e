"""Donor import: a CSV of persons and organisations, created or updated by `ref`.

The file's columns are those of DESIGN.md ("donors:"), plus `deceased_on`. The work
happens in three steps, so that nothing is written unless every row is right:

1. `parse_rows` reads and validates each row on its own (identifiers normalised,
   booleans, dates, choices), collecting every problem with its line and column;
2. `plan_import`, a plain function over the parsed rows and the existing donors
   with those refs (loaded in bulk), decides per row: create, update (which fields,
   which consent events, which tags) or unchanged, and finds what can only be
   judged against the stored record (a new person without a last name, a Dutch
   postcode when the stored country is NL);
3. `apply_plan` writes the plan with bulk statements: donors, consent events, tags
   and one audit row per created or changed donor.

An empty cell or a missing column leaves the stored field as it is; on create it
means the default (`person`, `NL`, `nl`, `company` for organisations). Consent
columns record a ConsentEvent only when the value differs from the current one (no
event recorded means no consent); a `yes` never overrides an objection (recht van
verzet). Rows whose e-mail, phone or IBAN is on the suppression list (an erased
donor, DOMAIN.md 6.3) are imported but flagged, so that someone checks before
contacting them. This module never commits: the command owns the transaction.
"""
from __future__ import annotations

import csv
import gc
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from anbi.core import identifiers
from anbi.core.audit import AuditEntry
from anbi.core.clock import parse_date, today
from anbi.core.csvfile import FALSE_WORDS, TRUE_WORDS, CsvRow, check_unique, read_csv
from anbi.core.db import insert_rows, utcnow
from anbi.core.errors import InvalidInput, Problem
from anbi.core.progress import progress
from donors import names
from donors.models import CHANNELS, DONOR_KINDS, LANGUAGES, ORGANISATION_TYPES, ConsentEvent, Donor, DonorTag
from donors.suppression import hash_contact, suppressed_hashes

REQUIRED_COLUMNS = ["ref"]
OPTIONAL_COLUMNS = [
    "kind", "initials", "first_name", "prefix", "last_name", "organisation",
    "street", "house_number", "house_number_suffix", "postcode", "city", "country",
    "email", "phone", "iban", "consent_email", "consent_post", "consent_phone",
    "tags", "language", "organisation_type", "deceased_on",
]

# The donor fields an import can set, in the order of the donors table.
FIELDS = (
    "kind", "initials", "first_name", "prefix", "last_name", "organisation_name", "organisation_type",
    "street", "house_number", "house_number_suffix", "postcode", "city", "country",
    "email", "phone", "iban", "language", "deceased_on",
)
# Which column fills which field where the names differ.
COLUMN_OF = {"organisation_name": "organisation"}

# Plain text columns and their database lengths; the rest have their own readers.
_TEXT = (
    ("first_name", "first_name", 100),
    ("last_name", "last_name", 150),
    ("organisation", "organisation_name", 200),
    ("street", "street", 200),
    ("house_number", "house_number", 20),
    ("house_number_suffix", "house_number_suffix", 20),
    ("city", "city", 100),
)
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_TAG_MAX = 100
# Rows per IN (...) query and per bulk statement: far below SQLite's limit on bound
# variables, large enough that a 100,000-row file needs few round trips.
CHUNK = 1000

# From this many new donors on, PostgreSQL's planner statistics are refreshed.
ANALYZE_AFTER = 10_000
# Up to this many new donors are written with INSERT ... RETURNING (see apply_plan).
FEW = 100
# New donors per bulk write: the progress bar moves, and a COPY's rows are bound a
# chunk at a time.
WRITE_CHUNK = 20_000

FLAG_SUPPRESSED = "previously erased — check before contacting"


@dataclass(slots=True)
class ParsedRow:
    """One valid-looking row: the fields it gives (normalised), nothing else."""

    line: int
    ref: str
    values: dict[str, Any]
    consent: dict[str, bool]
    tags: list[str] | None  # None: the column is absent or the cell empty
    raw_postcode: str | None = None
    country_invalid: bool = False


@dataclass(slots=True)
class ExistingDonor:
    """What the plan needs to know about a stored donor."""

    id: int
    ref: str
    values: dict[str, Any]
    # channel -> (granted, kind) of the latest event
    consent: dict[str, tuple[bool, str]] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    # Why rows for this ref are not applied: merged, restricted or purged; None if active.
    inactive: str | None = None


@dataclass(slots=True)
class DonorWrite:
    """A create or an update decided by the plan."""

    line: int
    ref: str
    donor_id: int | None
    values: dict[str, Any]  # create: every field; update: changed fields only
    consent: list[tuple[str, bool]]
    tags: list[str] | None  # replace the donor's tags with these
    changed: list[str]


@dataclass(frozen=True)
class Note:
    line: int
    ref: str
    message: str

    def as_json(self) -> dict:
        return {"line": self.line, "ref": self.ref, "message": self.message}

    def __str__(self) -> str:
        return f"line {self.line} ({self.ref}): {self.message}"


@dataclass
class ImportPlan:
    creates: list[DonorWrite] = field(default_factory=list)
    updates: list[DonorWrite] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[Note] = field(default_factory=list)
    warnings: list[Note] = field(default_factory=list)


@dataclass
class DonorImportSummary:
    source: str
    dry_run: bool
    rows: int
    created: int
    updated: int
    unchanged: int
    skipped: list[Note]
    warnings: list[Note]
    flagged: list[Note]

    def as_json(self) -> dict:
        return {
            "file": self.source,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": [n.as_json() for n in self.skipped],
            "warnings": [n.as_json() for n in self.warnings],
            "flagged": [n.as_json() for n in self.flagged],
        }

    def lines(self) -> list[str]:
        head = "Dry run, nothing written: would create" if self.dry_run else "Created"
        verb = ("would update", "would leave unchanged") if self.dry_run else ("updated", "unchanged")
        out = [f"{self.source}: {self.rows} rows. {head} {self.created}, {verb[0]} {self.updated}, {self.unchanged} {verb[1]}."]
        for title, notes in (("Skipped", self.skipped), ("Warnings", self.warnings), ("Flagged", self.flagged)):
            if notes:
                out.append(f"{title} ({len(notes)}):")
                out.extend(f"  {note}" for note in notes)
        return out


# --- step 1: each row on its own --------------------------------------------------

def _split_tags(raw: str) -> list[str]:
    seen: dict[str, None] = {}
    for tag in raw.split("|"):
        tag = " ".join(tag.split())
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


def parse_row(row: CsvRow, problems: list[Problem]) -> ParsedRow:
    """Validate one row. Reads cells directly rather than through RowParser: this
    runs for every row of files with hundreds of thousands of lines."""
    cells = row.values
    line = row.line

    def fail(column: str, reason: str) -> None:
        problems.append(Problem(line, column, reason))

    values: dict[str, Any] = {}
    ref = cells.get("ref", "")
    if not ref:
        fail("ref", "is required")
    elif len(ref) > 64:
        fail("ref", "is longer than 64 characters")

    kind = cells.get("kind", "").lower()
    if kind:
        if kind in DONOR_KINDS:
            values["kind"] = kind
        else:
            fail("kind", f"{cells['kind']!r} is not one of {', '.join(DONOR_KINDS)}")

    for column, name, max_length in _TEXT:
        value = cells.get(column, "")
        if value:
            if len(value) > max_length:
                fail(column, f"is longer than {max_length} characters")
            else:
                values[name] = value

    initials = cells.get("initials", "")
    if initials:
        normalised = names.normalise_initials(initials)
        if len(normalised) > 20:
            fail("initials", "are longer than 20 characters")
        else:
            values["initials"] = normalised
    prefix = cells.get("prefix", "")
    if prefix:
        normalised = names.normalise_prefix(prefix)
        if len(normalised) > 30:
            fail("prefix", "is longer than 30 characters")
        else:
            values["prefix"] = normalised

    country_invalid = False
    country = cells.get("country", "")
    if country:
        if _COUNTRY.match(country):
            values["country"] = country.upper()
        else:
            country_invalid = True
            fail("country", f"{country!r} is not a two-letter country code (NL, BE, DE, ...)")

    for column, check in (("email", identifiers.email), ("phone", identifiers.phone), ("iban", identifiers.iban)):
        value = cells.get(column, "")
        if value:
            try:
                values[column] = check(value)
            except ValueError as exc:
                fail(column, str(exc))

    consent: dict[str, bool] = {}
    for channel in CHANNELS:
        column = f"consent_{channel}"
        value = cells.get(column, "")
        if value:
            word = value.lower()
            if word in TRUE_WORDS:
                consent[channel] = True
            elif word in FALSE_WORDS:
                consent[channel] = False
            else:
                fail(column, f"{value!r} is not yes/no (ja/nee, true/false, 1/0)")

    tags = None
    raw_tags = cells.get("tags", "")
    if raw_tags:
        tags = _split_tags(raw_tags)
        too_long = [t for t in tags if len(t) > _TAG_MAX]
        if too_long:
            fail("tags", f"tag {too_long[0][:20]!r}... is longer than {_TAG_MAX} characters")

    language = cells.get("language", "").lower()
    if language:
        if language in LANGUAGES:
            values["language"] = language
        else:
            fail("language", f"{cells['language']!r} is not one of {', '.join(LANGUAGES)}")
    organisation_type = cells.get("organisation_type", "").lower()
    if organisation_type:
        if organisation_type in ORGANISATION_TYPES:
            values["organisation_type"] = organisation_type
        else:
            fail("organisation_type", f"{cells['organisation_type']!r} is not one of {', '.join(ORGANISATION_TYPES)}")

    deceased = cells.get("deceased_on", "")
    if deceased:
        try:
            date = parse_date(deceased)
        except ValueError as exc:
            fail("deceased_on", str(exc))
        else:
            if date > today():
                fail("deceased_on", f"{deceased!r} is in the future")
            else:
                values["deceased_on"] = date

    postcode = cells.get("postcode", "") or None
    if postcode and len(postcode) > 20:
        fail("postcode", "is longer than 20 characters")
        postcode = None
    return ParsedRow(line, ref, values, consent, tags, postcode, country_invalid)


def parse_rows(rows: Sequence[CsvRow], problems: list[Problem]) -> list[ParsedRow]:
    return [parse_row(row, problems) for row in progress(rows, length=len(rows), label="Checking rows")]


# --- step 2: the plan, a plain function -----------------------------------------

def _blank() -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(FIELDS)
    values.update(kind="person", country="NL", language="nl")
    return values


# Kept with the name, never given in a file: written whenever the name is.
DERIVED_FIELDS = ("sort_name", "search_name")


def _name_keys(values: dict[str, Any]) -> dict[str, str]:
    return names.name_keys(
        names.Name(
            kind=values["kind"], initials=values["initials"], first_name=values["first_name"],
            prefix=values["prefix"], last_name=values["last_name"],
            organisation_name=values["organisation_name"], language=values["language"],
        )
    )


def plan_import(rows: Iterable[ParsedRow], existing: dict[str, ExistingDonor], problems: list[Problem]) -> ImportPlan:
    """Decide, per row, what to write. Adds to `problems` what can only be judged
    against the stored donor; writes nothing."""
    plan = ImportPlan()
    for row in rows:
        if not row.ref:
            continue
        current = existing.get(row.ref)
        if current is not None and current.inactive:
            plan.skipped.append(Note(row.line, row.ref, f"{current.inactive}; row not applied"))
            continue
        creating = current is None
        before = _blank() if creating else current.values
        after = dict(before)
        after.update(row.values)

        if creating and after["kind"] == "organisation" and not after["organisation_type"]:
            after["organisation_type"] = "company"
        elif not creating and after["kind"] != before["kind"]:
            # A record that changes kind takes that kind's default type.
            if after["kind"] == "organisation" and not after["organisation_type"]:
                after["organisation_type"] = "company"
            elif after["kind"] == "person" and "organisation_type" not in row.values:
                after["organisation_type"] = None
        if after["kind"] == "person" and "organisation_type" in row.values:
            problems.append(Problem(row.line, "organisation_type", "is only for organisations (kind is person)"))

        if row.raw_postcode is not None and not row.country_invalid:
            if after["country"] == "NL":
                try:
                    after["postcode"] = identifiers.dutch_postcode(row.raw_postcode)
                except ValueError as exc:
                    problems.append(Problem(row.line, "postcode", f"{exc} (the country is NL; give country for a foreign address)"))
            else:
                after["postcode"] = row.raw_postcode  # foreign postcodes are kept as given
        elif not creating and after["country"] == "NL" != before["country"] and after["postcode"]:
            # Moving a foreign address to NL without a new postcode would store a
            # postcode no Dutch address can have.
            try:
                identifiers.dutch_postcode(after["postcode"])
            except ValueError:
                problems.append(Problem(row.line, "postcode", f"the stored postcode {after['postcode']!r} is not Dutch; "
                                                              "give the Dutch postcode along with country NL"))

        new = "a new" if creating else "a"
        if after["kind"] == "person" and not after["last_name"]:
            problems.append(Problem(row.line, "last_name", f"{new} person needs last_name (for an organisation, set kind to organisation)"))
        if after["kind"] == "organisation" and not after["organisation_name"]:
            problems.append(Problem(row.line, "organisation", f"{new} organisation needs its name in organisation"))

        after.update(_name_keys(after))

        current_consent = {} if creating else current.consent
        consent_events = []
        for channel, granted in row.consent.items():
            was_granted, was_kind = current_consent.get(channel, (False, None))
            if granted == was_granted:
                continue
            if granted and was_kind == "objection":
                plan.warnings.append(Note(row.line, row.ref, f"consent_{channel}: the donor objected to this channel; 'yes' not recorded"))
                continue
            consent_events.append((channel, granted))

        if creating:
            plan.creates.append(
                DonorWrite(row.line, row.ref, None, after, consent_events, row.tags or [],
                           sorted(k for k, v in after.items() if v is not None))
            )
            continue
        changed = {k: after[k] for k in (*FIELDS, *DERIVED_FIELDS) if after[k] != before.get(k)}
        tags = row.tags if row.tags is not None and sorted(row.tags) != sorted(current.tags) else None
        if not changed and not consent_events and tags is None:
            plan.unchanged += 1
            continue
        names_changed = sorted(k for k in changed if k not in DERIVED_FIELDS)
        if consent_events:
            names_changed += [f"consent_{channel}" for channel, _ in consent_events]
        if tags is not None:
            names_changed.append("tags")
        plan.updates.append(DonorWrite(row.line, row.ref, current.id, changed, consent_events, tags, names_changed))
    return plan


# --- reading the stored donors in bulk --------------------------------------------

def _chunks(items: Sequence, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def load_existing(session: Session, refs: Sequence[str]) -> dict[str, ExistingDonor]:
    """The stored donors with these refs, their current consent and tags: in
    chunked IN queries, or, when the file names a large share of all donors, in
    one pass over each table (never one query per row)."""
    refs = list(refs)
    table = Donor.__table__
    total = session.scalar(select(func.count()).select_from(table)) if refs else 0
    if not total:
        return {}
    # Many IN lists cost more than one scan when the file covers much of the table,
    # and on PostgreSQL they turn into a scan each when the planner's statistics do
    # not know the rows yet (a re-import right after a first big import).
    whole_tables = len(refs) >= CHUNK and len(refs) * 4 >= total
    columns = [table.c.id, table.c.ref, table.c.sort_name, table.c.search_name, *(table.c[f] for f in FIELDS),
               table.c.merged_into_id, table.c.restricted_at, table.c.purged_at]
    field_end = 4 + len(FIELDS)
    wanted = set(refs)
    found: dict[str, ExistingDonor] = {}
    by_id: dict[int, ExistingDonor] = {}
    merged: list[ExistingDonor] = []
    queries = [select(*columns)] if whole_tables else [select(*columns).where(table.c.ref.in_(chunk)) for chunk in _chunks(refs)]
    for query in queries:
        for row in session.execute(query):
            if row.ref not in wanted:
                continue
            values = dict(zip(FIELDS, row[4:field_end]))  # by position: row._mapping per field is slow
            values["sort_name"], values["search_name"] = row.sort_name, row.search_name
            donor = ExistingDonor(row.id, row.ref, values)
            if row.merged_into_id is not None:
                donor.inactive = "merged into another donor"
                merged.append(donor)
            elif row.purged_at is not None:
                donor.inactive = "purged after an erasure request"
            elif row.restricted_at is not None:
                donor.inactive = "restricted after an erasure request"
            found[row.ref] = donor
            by_id[row.id] = donor
    if merged:
        from donors.service import resolve_ref

        for donor in merged:
            donor.inactive = f"merged into {resolve_ref(session, donor.ref).ref}"
    events = ConsentEvent.__table__
    tags = DonorTag.__table__
    consent_query = select(events.c.donor_id, events.c.channel, events.c.granted, events.c.kind).order_by(events.c.at, events.c.id)
    tag_query = select(tags.c.donor_id, tags.c.tag)
    if whole_tables:
        pairs = [(consent_query, tag_query)]
    else:
        pairs = [(consent_query.where(events.c.donor_id.in_(chunk)), tag_query.where(tags.c.donor_id.in_(chunk)))
                 for chunk in _chunks(sorted(by_id))]
    for consent_chunk, tag_chunk in pairs:
        for donor_id, channel, granted, kind in session.execute(consent_chunk):
            donor = by_id.get(donor_id)
            if donor is not None:  # the latest event per channel wins: ordered by time
                donor.consent[channel] = (granted, kind)
        for donor_id, tag in session.execute(tag_chunk):
            donor = by_id.get(donor_id)
            if donor is not None:
                donor.tags.append(tag)
    return found


def suppression_flags(session: Session, rows: Sequence[ParsedRow]) -> list[Note]:
    """Rows whose e-mail, phone or IBAN belongs to an erased donor."""
    from donors.models import Suppression

    if session.scalar(select(Suppression.id).limit(1)) is None:
        return []  # nothing was ever erased: skip hashing the whole file
    wanted: dict[int, list[tuple[str, str]]] = {}
    for row in rows:
        pairs = [(kind, hash_contact(kind, row.values[kind])) for kind in ("email", "phone", "iban") if row.values.get(kind)]
        if pairs:
            wanted[row.line] = pairs
    found = suppressed_hashes(session, {pair for pairs in wanted.values() for pair in pairs})
    notes = []
    for row in rows:
        kinds = [kind for kind, digest in wanted.get(row.line, []) if (kind, digest) in found]
        if kinds:
            notes.append(Note(row.line, row.ref, f"{', '.join(kinds)} {FLAG_SUPPRESSED}"))
    return notes


# --- step 3: writing the plan in bulk ---------------------------------------------

def apply_plan(session: Session, plan: ImportPlan, *, source: str, actor: str,
               sources: Mapping[str, str] | None = None) -> None:
    """Write the plan: bulk inserts and updates, one audit row per donor touched.
    `sources`: where a donor's details came from, by ref, where not from `source`
    (one plan made of several Stripe payments)."""
    sources = sources or {}
    now = utcnow()
    donors = Donor.__table__
    consent_rows: list[dict] = []
    tag_rows: list[dict] = []
    audit_rows: list[dict] = []
    wording = "import: consent_{}"

    def rows_of(writes: Sequence[DonorWrite]) -> list[dict]:
        rows = []
        for write in writes:
            row = {f: write.values[f] for f in FIELDS}
            row.update(ref=write.ref, sort_name=write.values["sort_name"], search_name=write.values["search_name"],
                       created_at=now, updated_at=now)
            rows.append(row)
        return rows

    if 0 < len(plan.creates) <= FEW:
        # A few donors (a Stripe payment's, a form's): INSERT ... RETURNING, one round trip.
        ids = dict(session.execute(insert(donors).returning(donors.c.ref, donors.c.id), rows_of(plan.creates)).all())
    elif plan.creates:
        # The fastest plain write each database has (COPY on PostgreSQL, the driver's
        # executemany on SQLite: `insert_rows`), then the new ids read back in one pass
        # over the ids above the previous maximum. INSERT ... RETURNING for many rows
        # makes psycopg re-parse a huge statement per page, and looking the ids up by
        # ref (IN lists on a table whose statistics do not yet know these rows) makes
        # PostgreSQL scan it per chunk. Ids only grow, so every row inserted here has an
        # id above that maximum.
        highest_before = session.scalar(select(func.max(donors.c.id))) or 0
        for chunk in progress(list(_chunks(plan.creates, WRITE_CHUNK)), label="Creating donors"):
            insert_rows(session, donors, rows_of(chunk))
        ids = {ref: donor_id for ref, donor_id in session.execute(
            select(donors.c.ref, donors.c.id).where(donors.c.id > highest_before))}
    if plan.creates:
        for write in plan.creates:
            write.donor_id = ids[write.ref]

    for write in plan.creates:
        for channel, granted in write.consent:
            consent_rows.append(dict(donor_id=write.donor_id, channel=channel, granted=granted, kind="consent",
                                     at=now, source=sources.get(write.ref, source), wording=wording.format(channel)))
        for tag in write.tags or ():
            tag_rows.append(dict(donor_id=write.donor_id, tag=tag))
        # What a creation changed is the whole record, which the record itself shows;
        # the audit row says who created it from which file and line.
        audit_rows.append(dict(at=now, actor=actor, action="donor_created", entity="donor", entity_ref=write.ref,
                               details={"source": sources.get(write.ref, source), "line": write.line}))

    # Updates grouped by the set of fields they change, so each group is one
    # executemany of the same statement.
    groups: dict[tuple[str, ...], list[DonorWrite]] = {}
    for write in plan.updates:
        if write.values:
            groups.setdefault(tuple(sorted(write.values)), []).append(write)
    for keys, writes in progress(list(groups.items()), label="Updating donors"):
        statement = (
            update(donors)
            .where(donors.c.id == bindparam("_id"))
            .values({**{key: bindparam(f"_{key}") for key in keys}, "updated_at": bindparam("_updated_at")})
        )
        for chunk in _chunks(writes):
            session.execute(
                statement,
                [{"_id": w.donor_id, "_updated_at": now, **{f"_{k}": w.values[k] for k in keys}} for w in chunk],
            )
    replaced = [w.donor_id for w in plan.updates if w.tags is not None]
    for chunk in _chunks(replaced):
        session.execute(delete(DonorTag.__table__).where(DonorTag.__table__.c.donor_id.in_(chunk)))
    touched_only_related = [w.donor_id for w in plan.updates if not w.values]
    for chunk in _chunks(touched_only_related):
        # Consent or tags changed: the donor record changed too, for whoever syncs by updated_at.
        session.execute(update(donors).where(donors.c.id.in_(chunk)).values(updated_at=now))
    for write in plan.updates:
        for channel, granted in write.consent:
            consent_rows.append(dict(donor_id=write.donor_id, channel=channel, granted=granted, kind="consent",
                                     at=now, source=source, wording=wording.format(channel)))
        for tag in write.tags or ():
            tag_rows.append(dict(donor_id=write.donor_id, tag=tag))
        # Field names only, not values: the audit trail must not keep personal
        # data that an erasure removes from the donor record.
        audit_rows.append(dict(at=now, actor=actor, action="donor_updated", entity="donor", entity_ref=write.ref,
                               details={"source": source, "line": write.line, "changed": write.changed}))

    for table, rows in ((ConsentEvent.__table__, consent_rows), (DonorTag.__table__, tag_rows), (AuditEntry.__table__, audit_rows)):
        insert_rows(session, table, rows)
    if len(plan.creates) >= ANALYZE_AFTER and session.get_bind().dialect.name == "postgresql":
        # "Run ANALYZE afterwards" (PostgreSQL manual, Populating a Database): without
        # it the planner believes the tables are empty and scans them for every lookup
        # until autovacuum catches up. ANALYZE counts this transaction's own rows.
        session.execute(text("ANALYZE donors, consent_events, donor_tags"))
    session.flush()


def _locate_encoding_problem(exc: InvalidInput, source: str | Path | bytes) -> InvalidInput:
    """Name the column of the first byte that is not UTF-8, so that a person can
    find the cell (usually an accent saved by Excel as Windows-1252)."""
    if len(exc.problems) != 1 or "not UTF-8" not in exc.problems[0].reason:
        return exc
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        data.decode("utf-8-sig")
        return exc
    except UnicodeDecodeError as error:
        offset = error.start
    except OSError:
        return exc
    first_line = data.split(b"\n", 1)[0].decode("latin-1")
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    line_start = data.rfind(b"\n", 0, offset) + 1
    before = data[line_start:offset].decode("latin-1")
    try:
        header = [h.strip().lower().lstrip("\ufeff") for h in next(csv.reader([first_line], delimiter=delimiter))]
        index = len(next(csv.reader([before + "x"], delimiter=delimiter))) - 1
    except csv.Error:  # not text at all (a stray carriage return): the line is all we can say
        return exc
    column = header[index] if 0 <= index < len(header) else None
    problem = exc.problems[0]
    reason = (f"byte 0x{data[offset]:02x} is not UTF-8 (the file seems saved as Windows-1252 or Latin-1); "
              "save it as 'CSV UTF-8' and import again")
    return InvalidInput([Problem(problem.line, column, reason)], exc.source)


# --- the whole import -------------------------------------------------------------

def import_donors(
    session: Session,
    path: str | Path,
    *,
    actor: str,
    dry_run: bool = False,
    data: bytes | None = None,
) -> DonorImportSummary:
    """Validate the whole file, then (unless a dry run) write it. Raises
    InvalidInput with every problem, and writes nothing, when any row is wrong."""
    # Hundreds of thousands of small objects (cells, parsed rows, writes) that hold
    # no cycles: the cyclic garbage collector would rescan them again and again for
    # nothing, as the bank import and donors.duplicates found for theirs.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _import_donors(session, path, actor=actor, dry_run=dry_run, data=data)
    finally:
        if collecting:
            gc.enable()


def _import_donors(session: Session, path: str | Path, *, actor: str, dry_run: bool, data: bytes | None) -> DonorImportSummary:
    name = Path(path).name
    try:
        csv_file = read_csv(data if data is not None else path, required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS, name=name)
    except InvalidInput as exc:
        raise _locate_encoding_problem(exc, data if data is not None else path) from None
    problems: list[Problem] = []
    check_unique(csv_file.rows, "ref", problems)
    rows = parse_rows(csv_file.rows, problems)
    existing = load_existing(session, [row.ref for row in rows if row.ref])
    plan = plan_import(rows, existing, problems)
    if problems:
        problems.sort(key=lambda p: (p.line or 0))
        raise InvalidInput(problems, name)
    flagged = suppression_flags(session, rows)
    if not dry_run:
        apply_plan(session, plan, source=f"import:{name}", actor=actor)
    return DonorImportSummary(
        source=name,
        dry_run=dry_run,
        rows=len(rows),
        created=len(plan.creates),
        updated=len(plan.updates),
        unchanged=plan.unchanged,
        skipped=plan.skipped,
        warnings=plan.warnings,
        flagged=flagged,
    )
