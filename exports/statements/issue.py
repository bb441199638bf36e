"""Issuing the annual gift statements: `anbi receipts issue --year Y --out DIR`.

For every donor with gifts in the year this gathers the inputs with set-based
queries, a chunk of donors at a time (memory stays bounded however many donors
there are), lets `fundraising.statements.rules.compute_statement` decide what the
statement says, and compares the result with the statement already issued:

- nothing issued yet and something deductible: a new statement;
- issued, and the amounts, the gift list, or the donor's name or address changed —
  or a donor merged into this one had a statement of its own: a correction with a
  new number that names the statement it replaces (which becomes `replaced`);
- issued and unchanged: nothing new. Its PDF is rendered again from the snapshot,
  byte for byte, when the output folder does not hold it yet.

A change of language alone, of the organisation's identity, or of a campaign's name
issues nothing new: those are not what a donor's tax return depends on.

Each chunk is one transaction (commit per chunk), so an interrupted run that is run
again continues without duplicate numbers: numbers come from a per-year sequence
guarded by a unique constraint, and a donor whose statement was committed is
"unchanged" the second time. PDFs are written only after their chunk committed;
rendering may run in `jobs` processes while the database work stays here.

Restricted and purged donors (AVG art. 18 / after retention) get no statement and
are reported; anonymous gifts are on no statement; gifts in another currency than
the euro are left off and reported.
"""
from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import multiprocessing
import os
import re
import sys
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Date, Select, bindparam, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anbi.core import formatting, identifiers
from anbi.core.audit import AuditEntry
from anbi.core.clock import amsterdam_date, utcnow
from anbi.core.db import insert_rows, one_of, plan_for_the_values
from anbi.core.errors import AnbiError, ConfigurationError, Conflict, InvalidInput, Problem
from anbi.core.money import cents_to_str
from anbi.core.progress import progress
from anbi.core.settings import Organisation
from anbi.core.spreadsheet import csv_text
from donors import names
from donors.models import Donor
from exports.statements.pdf import (
    TEXTS,
    OrganisationView,
    PeriodicView,
    StatementLineView,
    StatementView,
    render_statement_to_file,
)
from fundraising.models import Campaign, Donation, DonationAdjustment, Mandate, PeriodicAgreement
from fundraising.statements.models import Statement, StatementImmutable, StatementLine, statement_number
from fundraising.statements.rules import (
    NOTHING, UNCHANGED, Adjustment, Agreement, Gift, Issued, compute_statement, content_hash, decide,
)

UnitOfWork = Callable[[], AbstractContextManager[Session]]

CHUNK_SIZE = 500
LANGUAGES = tuple(TEXTS)
MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("number", "donor_ref", "year", "regular", "periodic", "non_deductible", "total_paid", "file", "sha256")

COUNTRY_NAMES = {
    "BE": "BELGIË", "DE": "DUITSLAND", "FR": "FRANKRIJK", "GB": "VERENIGD KONINKRIJK", "LU": "LUXEMBURG",
    "ES": "SPANJE", "IT": "ITALIË", "AT": "OOSTENRIJK", "CH": "ZWITSERLAND", "US": "VERENIGDE STATEN",
}


# What a statement needs of a donor: the name parts (donors.names), the address, the
# language preference and whether the record may be used.
DONOR_COLUMNS = (
    "id", "ref", "kind", "initials", "first_name", "prefix", "last_name", "organisation_name", "street",
    "house_number", "house_number_suffix", "postcode", "city", "country", "language", "restricted_at", "purged_at",
    "deceased_on",
)


class OutputFolderError(AnbiError):
    """The folder for the statements (or the print file) cannot be written."""

    def __init__(self, path: Path, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"cannot write to {path}: {reason}; nothing was written")


class StatementRunConflict(Conflict):
    """Another run issued statements for the same year at the same time."""

    def __init__(self, year: int):
        self.year = year
        super().__init__(
            f"statement numbers for {year} were taken by another run at the same time; nothing of this chunk "
            "was kept — run the command again"
        )


# --- the donor as printed ------------------------------------------------------------


def address_lines(donor) -> tuple[str, ...]:
    """The postal address in Dutch order (PostNL): street and number, then postcode
    and city in capitals with two spaces between, then the country when abroad."""
    street = formatting.street_line(donor.street, donor.house_number, donor.house_number_suffix)
    country = (donor.country or "NL").upper()
    city = (donor.city or "").strip()
    if country == "NL":
        place = f"{donor.postcode or ''}  {city.upper()}".strip()
    else:
        place = " ".join(p for p in (donor.postcode, city) if p)
    lines = [line for line in (street, place) if line]
    if country != "NL":
        lines.append(COUNTRY_NAMES.get(country, country))
    return tuple(lines)


def addressee(donor) -> str:
    """person, organisation, or heirs (a donor whose death is recorded)."""
    if donor.deceased_on is not None:
        return "heirs"
    return "organisation" if donor.kind == "organisation" else "person"


def statement_language(requested: str | None, preference: str | None) -> str:
    """`--language` for the run, else the donor's preference, else Dutch."""
    for language in (requested, preference):
        if language in LANGUAGES:
            return language
    return "nl"


# --- snapshots: the plain values of an issued statement --------------------------------


@dataclass(frozen=True)
class Snapshot:
    """What one statement prints, as stored in `statements` and `statement_lines`."""

    number: str
    sequence: int
    year: int
    issued_on: dt.date
    language: str
    organisation: OrganisationView
    donor_id: int
    donor_ref: str
    donor_name: str
    salutation: str
    address_lines: tuple[str, ...]
    postcode: str | None
    regular_cents: int
    periodic_cents: int
    non_deductible_cents: int
    total_paid_cents: int
    periodic: tuple[PeriodicView, ...]
    lines: tuple[StatementLineView, ...]
    donation_ids: tuple[int, ...]
    content_hash: str
    replaces_number: str | None = None
    addressee: str = "person"

    @property
    def file_name(self) -> str:
        return statement_file_name(self.number, self.donor_ref)

    def view(self) -> StatementView:
        return StatementView(
            number=self.number, year=self.year, issued_on=self.issued_on, language=self.language,
            organisation=self.organisation, donor_ref=self.donor_ref, donor_name=self.donor_name,
            salutation=self.salutation, address_lines=self.address_lines, regular_cents=self.regular_cents,
            periodic_cents=self.periodic_cents, non_deductible_cents=self.non_deductible_cents,
            total_paid_cents=self.total_paid_cents, periodic=self.periodic, lines=self.lines,
            replaces_number=self.replaces_number, addressee=self.addressee,
        )


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def statement_file_name(number: str, donor_ref: str) -> str:
    """`2025-000001_D000123.pdf`: the number first, so the folder lists in order."""
    safe = donor_ref if donor_ref.isalnum() else (_UNSAFE.sub("-", donor_ref).strip("-") or "donor")
    return f"{number}_{safe}.pdf"


def snapshot_from_row(statement: Statement, lines: list[StatementLine]) -> Snapshot:
    """The snapshot of an issued statement, read back: renders to the same bytes."""
    return Snapshot(
        number=statement.number, sequence=statement.sequence, year=statement.year, issued_on=statement.issued_on,
        language=statement.language,
        organisation=OrganisationView(
            statement.organisation_name, statement.organisation_rsin, statement.organisation_address,
            statement.organisation_website,
        ),
        donor_id=statement.donor_id, donor_ref=statement.donor_ref, donor_name=statement.donor_name,
        salutation=statement.salutation, address_lines=tuple(statement.address_lines or ()),
        postcode=statement.postcode, regular_cents=statement.regular_cents, periodic_cents=statement.periodic_cents,
        non_deductible_cents=statement.non_deductible_cents, total_paid_cents=statement.total_paid_cents,
        periodic=tuple(
            PeriodicView(p["number"], p["start_year"], p["annual_amount_cents"], p["amount_cents"])
            for p in statement.periodic
        ),
        lines=tuple(
            StatementLineView(
                received_on=line.received_on, amount_cents=line.amount_cents, method=line.method, campaign=line.campaign,
                mandate_ref=line.mandate_ref, regular_cents=line.regular_cents, periodic_cents=line.periodic_cents,
                non_deductible_cents=line.non_deductible_cents, agreement_number=line.agreement_number,
                non_deductible_reason=line.non_deductible_reason,
            )
            for line in lines
        ),
        donation_ids=tuple(line.donation_id for line in lines),
        content_hash=statement.content_hash,
        replaces_number=statement.replaces_number,
        addressee=statement.addressee,
    )


# --- the run ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ExcludedGiftReport:
    donor_ref: str
    reference: str
    received_on: dt.date
    amount_cents: int
    currency: str
    reason: str


@dataclass
class IssueReport:
    year: int
    out_dir: Path
    issued: list[str] = field(default_factory=list)  # numbers of new statements (first for the donor)
    corrections: list[tuple[str, list[str]]] = field(default_factory=list)  # (new number, numbers replaced)
    unchanged: int = 0
    files_written: int = 0
    restricted: list[str] = field(default_factory=list)  # donor refs: restricted or purged, no statement
    excluded: list[ExcludedGiftReport] = field(default_factory=list)
    differs_from_issued: list[str] = field(default_factory=list)  # re-rendered PDFs whose hash changed
    current: int = 0  # statements in the manifest
    totals: dict[str, int] = field(default_factory=lambda: {"regular": 0, "periodic": 0, "non_deductible": 0, "total_paid": 0})
    had_gifts: bool = False

    @property
    def manifest(self) -> Path:
        return self.out_dir / MANIFEST

    def as_dict(self) -> dict:
        return {
            "year": self.year,
            "out": str(self.out_dir),
            "manifest": str(self.manifest),
            "issued": self.issued,
            "corrections": [{"number": new, "replaces": old} for new, old in self.corrections],
            "unchanged": self.unchanged,
            "files_written": self.files_written,
            "current": self.current,
            "totals": {key: cents_to_str(value) for key, value in self.totals.items()},
            "restricted_donors": self.restricted,
            "excluded_gifts": [
                {"donor_ref": e.donor_ref, "reference": e.reference, "date": e.received_on.isoformat(),
                 "amount": cents_to_str(e.amount_cents), "currency": e.currency, "reason": e.reason}
                for e in self.excluded
            ],
            "pdf_differs_from_issued": self.differs_from_issued,
        }


@dataclass
class _Planned:
    """One statement to issue in a chunk."""

    snapshot: Snapshot
    replaces: list[Issued]


@dataclass
class _ChunkPlan:
    new: list[_Planned] = field(default_factory=list)
    rerender: list[tuple[Snapshot, str]] = field(default_factory=list)  # (snapshot, issued sha256)


def check_organisation(organisation: Organisation) -> OrganisationView:
    """The identity printed on every statement; without a valid RSIN none can be issued."""
    if not organisation.name.strip():
        raise ConfigurationError("[organisation] name is required to issue statements")
    try:
        rsin = identifiers.rsin(organisation.rsin)
    except ValueError as exc:
        raise ConfigurationError(f"[organisation] {exc}: no statement can be issued") from None
    return OrganisationView(organisation.name.strip(), rsin, organisation.address.strip(), organisation.website.strip())


def prepare_output(path: Path) -> Path:
    """Create the folder and prove it can be written, before anything is issued."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputFolderError(path, exc.strerror or str(exc)) from None
    if not path.is_dir():
        raise OutputFolderError(path, "it is not a folder")
    probe = path / f".anbi-write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputFolderError(path, exc.strerror or str(exc)) from None
    return path


def write_atomically(path: Path, data: bytes) -> None:
    """Never leave half a file: write beside it, then rename."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


class _Rendering:
    """Renders PDFs into temporary files here (jobs=1) or in a pool of processes;
    the database stays in this process."""

    def __init__(self, jobs: int):
        self.jobs = jobs
        self.pool = None
        if jobs > 1:
            # fork is the cheap start on Linux; the children only ever render and write.
            method = "fork" if sys.platform.startswith("linux") else "spawn"
            self.pool = multiprocessing.get_context(method).Pool(jobs, initializer=_yield_to_the_database_work)

    def submit(self, jobs: list[tuple[StatementView, str]]):
        if self.pool is None or not jobs:
            return _Later(jobs)
        return self.pool.map_async(render_statement_to_file, jobs, chunksize=max(1, len(jobs) // (self.jobs * 4)))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool.join()

    def terminate(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()


def _yield_to_the_database_work() -> None:
    """Workers run at a lower priority: the process holding the database paces the
    whole run (every chunk is planned and stored there), so on a busy machine it
    must not wait for the CPU behind its own renderers."""
    with suppress(OSError):  # not permitted here: run at the same priority
        os.nice(2)


class _Later:
    """A render done in this process when its result is asked for."""

    def __init__(self, jobs: list[tuple[StatementView, str]]):
        self.jobs = jobs

    def get(self) -> list[tuple[str, str]]:
        return [render_statement_to_file(job) for job in self.jobs]


TEMPORARY_SUFFIX = ".rendering"


def _temporary(out: Path, file_name: str) -> Path:
    return out / f".{file_name}.{os.getpid()}{TEMPORARY_SUFFIX}"


def _remove_leftovers(out: Path) -> None:
    """PDFs rendered by a run that was interrupted before their chunk committed."""
    for leftover in out.glob(f".*.pdf.*{TEMPORARY_SUFFIX}"):
        leftover.unlink(missing_ok=True)


def issue_statements(
    unit_of_work: UnitOfWork,
    *,
    year: int,
    out_dir: Path | str,
    organisation: Organisation,
    actor: str,
    language: str | None = None,
    jobs: int = 1,
    chunk_size: int = CHUNK_SIZE,
    now: dt.datetime | None = None,
    after_chunk: Callable[[int], None] | None = None,
) -> IssueReport:
    """Issue (or confirm) the statements for `year` and write them with a manifest.

    `unit_of_work()` opens one committed transaction (the CLI passes `app.session`);
    this calls it once per chunk — the edge still owns commit and rollback."""
    organisation_view = check_organisation(organisation)
    if language is not None and language not in LANGUAGES:
        raise InvalidInput([Problem(None, "language", f"{language!r} is not one of {', '.join(LANGUAGES)}")])
    if jobs < 1:
        raise InvalidInput([Problem(None, "jobs", "must be 1 or more")])
    out = prepare_output(Path(out_dir))
    now = now or utcnow()
    report = IssueReport(year=year, out_dir=out)
    run = _Run(year=year, out=out, organisation=organisation_view, actor=actor, language=language,
               now=now, report=report)

    with unit_of_work() as session:
        run.load_merges(session)
        run.next_sequence = (session.scalar(select(func.max(Statement.sequence)).where(Statement.year == year)) or 0) + 1
        candidate_count = session.scalar(select(func.count()).select_from(run.candidates_query().subquery())) or 0
    report.had_gifts = candidate_count + len(run.extra_survivors) > 0

    _remove_leftovers(out)
    rendering = _Rendering(jobs)
    try:
        chunks = run.chunks(unit_of_work, chunk_size)
        total_chunks = -(-(candidate_count + len(run.extra_survivors)) // chunk_size)
        # Chunks being rendered while later ones are planned: up to `jobs` of them, so
        # that neither the workers nor this process wait for the other.
        pending: deque[tuple[int, _ChunkPlan, object]] = deque()

        def finish_oldest() -> None:
            index, plan, handle = pending.popleft()
            run.finish_chunk(unit_of_work, plan, handle)
            if after_chunk is not None:
                after_chunk(index)

        for index, chunk in enumerate(progress(chunks, length=total_chunks, label=f"Statements {year}")):
            with unit_of_work() as session:
                plan = run.plan_chunk(session, chunk)
            handle = rendering.submit(
                [(p.snapshot.view(), str(_temporary(out, p.snapshot.file_name))) for p in plan.new]
                + [(snapshot.view(), str(_temporary(out, snapshot.file_name))) for snapshot, _ in plan.rerender]
            )
            pending.append((index, plan, handle))
            if len(pending) > jobs:
                finish_oldest()
        while pending:
            finish_oldest()
        rendering.close()
    except BaseException:
        rendering.terminate()
        _remove_leftovers(out)
        raise

    with unit_of_work() as session:
        run.write_manifest(session)
    return report


@dataclass(frozen=True)
class _ChunkQueries:
    """What a chunk's planning reads, with the chunk's ids as the parameter `ids`
    (and the year's `start` and `end`, or `year`)."""

    donors: Select
    gifts: Select
    adjustments: Select
    agreements: Select
    issued: Select


@functools.cache
def _chunk_queries(dialect: str) -> _ChunkQueries:
    donor_table = Donor.__table__
    # Core selects on the tables (not ORM attributes): plain rows, the cheapest path
    # for the hundreds of thousands of gifts of a run.
    g, c, m, a = (Donation.__table__.c, Campaign.__table__.c, Mandate.__table__.c, DonationAdjustment.__table__.c)
    p = PeriodicAgreement.__table__.c
    in_year = (one_of(g.donor_id, "ids", dialect), g.received_on >= bindparam("start", type_=Date()),
               g.received_on <= bindparam("end", type_=Date()))
    return _ChunkQueries(
        donors=select(*(donor_table.c[name] for name in DONOR_COLUMNS)).where(one_of(donor_table.c.id, "ids", dialect)),
        gifts=(
            select(g.id, g.donor_id, g.reference, g.received_on, g.amount_cents, g.currency, g.method, g.kind,
                   g.consideration_cents, g.status, g.agreement_id, c.name, m.mandate_id)
            .select_from(Donation.__table__.outerjoin(Campaign.__table__, c.id == g.campaign_id)
                         .outerjoin(Mandate.__table__, m.id == g.mandate_id))
            .where(*in_year)
        ),
        adjustments=(
            select(a.donation_id, a.kind, a.amount_cents, a.occurred_on, a.taken_back_cents)
            .select_from(DonationAdjustment.__table__.join(Donation.__table__, g.id == a.donation_id))
            .where(*in_year)
        ),
        agreements=select(p.id, p.donor_id, p.number, p.annual_amount_cents, p.start_date, p.signed_on, p.years,
                          p.end_date, p.currency).where(one_of(p.donor_id, "ids", dialect)),
        issued=(
            select(Statement)
            .where(one_of(Statement.donor_id, "ids", dialect), Statement.year == bindparam("year"),
                   Statement.status == "current")
            .order_by(Statement.sequence)
        ),
    )


class _Run:
    def __init__(self, *, year, out, organisation, actor, language, now, report):
        self.year = year
        self.start = dt.date(year, 1, 1)
        self.end = dt.date(year, 12, 31)
        self.out: Path = out
        self.organisation: OrganisationView = organisation
        self.actor = actor
        self.language = language
        self.now: dt.datetime = now
        self.issued_on = amsterdam_date(now)
        self.report: IssueReport = report
        self.next_sequence = 1
        self.survivor_of: dict[int, int] = {}  # merged-away donor id -> donor it lives on in
        self.merged_into: dict[int, list[int]] = defaultdict(list)  # survivor -> merged-away ids
        self.extra_survivors: list[int] = []  # survivors reached only through merged donors

    # -- which donors --

    def load_merges(self, session: Session) -> None:
        """Merged-away donors and where they live on now (following chains). Only the
        merged records are held in memory, never all donors."""
        parent: dict[int, int] = {}
        for donor_id, merged_into_id in session.execute(
                select(Donor.id, Donor.merged_into_id).where(Donor.merged_into_id.is_not(None))):
            assert merged_into_id is not None  # selected so
            parent[donor_id] = merged_into_id
        for donor_id in parent:
            seen = {donor_id}
            survivor = parent[donor_id]
            while survivor in parent:
                if survivor in seen:
                    raise Conflict(f"donor records {sorted(seen)} merge into each other in a cycle; check donor_merges")
                seen.add(survivor)
                survivor = parent[survivor]
            self.survivor_of[donor_id] = survivor
            self.merged_into[survivor].append(donor_id)
        if not self.survivor_of:
            return
        merged_ids = list(self.survivor_of)
        reached: set[int] = set()
        for start in range(0, len(merged_ids), 1000):
            part = merged_ids[start:start + 1000]
            reached.update(session.scalars(
                select(Donation.donor_id).where(Donation.donor_id.in_(part), Donation.received_on.between(self.start, self.end)).distinct()
            ))
            reached.update(session.scalars(
                select(Statement.donor_id).where(Statement.donor_id.in_(part), Statement.year == self.year, Statement.status == "current").distinct()
            ))
        self.extra_survivors = sorted({self.survivor_of[d] for d in reached})

    def candidates_query(self):
        """Donors (not merged away) with a gift dated in the year or a current
        statement for it: the ones whose statement may be due or need correcting."""
        has_gift = exists().where(
            Donation.donor_id == Donor.id, Donation.received_on >= self.start, Donation.received_on <= self.end
        )
        has_statement = exists().where(
            Statement.donor_id == Donor.id, Statement.year == self.year, Statement.status == "current"
        )
        return select(Donor.id).where(Donor.merged_into_id.is_(None), or_(has_gift, has_statement))

    def chunks(self, unit_of_work: UnitOfWork, size: int) -> Iterator[list[int]]:
        """Donor ids in ascending order, `size` at a time (keyset pagination), with the
        survivors reached only through merged donors slotted in by id."""
        last = 0
        extras = self.extra_survivors
        position = 0
        while True:
            with unit_of_work() as session:
                plan_for_the_values(session)
                ids = list(session.scalars(self.candidates_query().where(Donor.id > last).order_by(Donor.id).limit(size)))
            upper = ids[-1] if len(ids) == size else None
            chunk = set(ids)
            while position < len(extras) and (upper is None or extras[position] <= upper):
                chunk.add(extras[position])
                position += 1
            if not chunk:
                return
            yield sorted(chunk)
            if upper is None:
                return
            last = upper

    # -- planning a chunk: gather, compute, decide (no writes) --

    def plan_chunk(self, session: Session, survivors: list[int]) -> _ChunkPlan:
        group_of: dict[int, int] = {}
        for survivor in survivors:
            group_of[survivor] = survivor
            for merged_id in self.merged_into.get(survivor, ()):
                group_of[merged_id] = survivor
        group_ids = list(group_of)
        plan_for_the_values(session)  # the same queries for every chunk, each with other ids

        # Plain rows, not ORM objects: the names functions only read attributes. Each
        # query is built once, with the chunk's ids as one parameter (`one_of`): on
        # PostgreSQL the text is then the same for every chunk, where an IN list of
        # 500 values is expanded, and parsed by the driver, anew for each.
        queries = _chunk_queries(session.get_bind().dialect.name)
        donors = {d.id: d for d in session.execute(queries.donors, {"ids": survivors})}
        gifts, references = self._gifts(session, queries, group_ids, group_of)
        agreements: dict[int, list[Agreement]] = defaultdict(list)
        for a in session.execute(queries.agreements, {"ids": group_ids}):
            agreements[group_of[a.donor_id]].append(
                Agreement(a.id, a.number, a.annual_amount_cents, a.start_date, a.signed_on, a.years, a.end_date, a.currency)
            )
        issued: dict[int, list[Statement]] = defaultdict(list)
        for statement in session.scalars(queries.issued, {"ids": group_ids, "year": self.year}):
            issued[group_of[statement.donor_id]].append(statement)

        plan = _ChunkPlan()
        rerender_rows: list[Statement] = []
        for survivor in survivors:
            donor = donors[survivor]
            if donor.restricted_at is not None or donor.purged_at is not None:
                self.report.restricted.append(donor.ref)
                continue
            figures = compute_statement(self.year, gifts.get(survivor, ()), agreements.get(survivor, ()))
            for excluded in figures.excluded:
                self.report.excluded.append(ExcludedGiftReport(
                    donor.ref, references[excluded.gift_id], excluded.received_on, excluded.amount_cents,
                    excluded.currency, excluded.reason,
                ))
            name = names.label_name(donor)
            lines_of_address = address_lines(donor)
            new_hash = content_hash(self.year, name, lines_of_address, figures)
            own = [Issued(s.id, s.number, s.donor_id, s.content_hash) for s in issued[survivor] if s.donor_id == survivor]
            merged = [Issued(s.id, s.number, s.donor_id, s.content_hash) for s in issued[survivor] if s.donor_id != survivor]
            decision = decide(figures.has_deductible, new_hash, own, merged)
            if decision == NOTHING:
                continue
            if decision == UNCHANGED:
                self.report.unchanged += 1
                statement = issued[survivor][0]
                if not self._file_is_current(statement.file_name, statement.pdf_sha256):
                    rerender_rows.append(statement)
                continue
            language = statement_language(self.language, donor.language)
            to = addressee(donor)
            salutation = TEXTS[language]["heirs_salutation"] if to == "heirs" else names.salutation(donor, formal=True, language=language)
            replaces = own + merged
            sequence = self.next_sequence
            self.next_sequence += 1
            plan.new.append(_Planned(
                snapshot=Snapshot(
                    number=statement_number(self.year, sequence), sequence=sequence, year=self.year,
                    issued_on=self.issued_on, language=language, organisation=self.organisation,
                    donor_id=survivor, donor_ref=donor.ref, donor_name=name,
                    salutation=salutation, addressee=to,
                    address_lines=lines_of_address, postcode=donor.postcode,
                    regular_cents=figures.regular_cents, periodic_cents=figures.periodic_cents,
                    non_deductible_cents=figures.non_deductible_cents, total_paid_cents=figures.total_paid_cents,
                    periodic=tuple(PeriodicView(p.number, p.start_year, p.annual_amount_cents, p.amount_cents) for p in figures.periodic),
                    lines=tuple(
                        StatementLineView(
                            received_on=line.received_on, amount_cents=line.amount_cents, method=line.method, campaign=line.campaign,
                            mandate_ref=line.mandate_ref, regular_cents=line.regular_cents, periodic_cents=line.periodic_cents,
                            non_deductible_cents=line.non_deductible_cents, agreement_number=line.agreement_number,
                            non_deductible_reason=line.non_deductible_reason,
                        )
                        for line in figures.lines
                    ),
                    donation_ids=tuple(line.gift_id for line in figures.lines),
                    content_hash=new_hash,
                    replaces_number=replaces[0].number if replaces else None,
                ),
                replaces=replaces,
            ))
        if rerender_rows:
            lines_by_statement: dict[int, list[StatementLine]] = defaultdict(list)
            for line in session.scalars(
                select(StatementLine).where(StatementLine.statement_id.in_([s.id for s in rerender_rows])).order_by(StatementLine.statement_id, StatementLine.position)
            ):
                lines_by_statement[line.statement_id].append(line)
            for statement in rerender_rows:
                plan.rerender.append((snapshot_from_row(statement, lines_by_statement[statement.id]), statement.pdf_sha256))
        return plan

    def _gifts(self, session: Session, queries: _ChunkQueries, group_ids: list[int], group_of: dict[int, int]):
        """Every gift of the chunk's donors dated in the year, with its adjustments,
        in two set-based queries."""
        in_year = {"ids": group_ids, "start": self.start, "end": self.end}
        rows = session.execute(queries.gifts, in_year).all()
        adjustments: dict[int, list[Adjustment]] = defaultdict(list)
        for a in session.execute(queries.adjustments, in_year):
            adjustments[a.donation_id].append(Adjustment(a.kind, a.amount_cents, a.occurred_on, a.taken_back_cents))
        gifts: dict[int, list[Gift]] = defaultdict(list)
        references: dict[int, str] = {}
        for r in rows:
            references[r.id] = r.reference
            gifts[group_of[r.donor_id]].append(Gift(
                id=r.id, received_on=r.received_on, amount_cents=r.amount_cents, currency=r.currency, method=r.method,
                kind=r.kind, consideration_cents=r.consideration_cents, status=r.status, campaign=r.name,
                mandate_ref=r.mandate_id, agreement_id=r.agreement_id, adjustments=tuple(adjustments.get(r.id, ())),
            ))
        return gifts, references

    def _file_is_current(self, file_name: str, sha256: str) -> bool:
        path = self.out / file_name
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest() == sha256
        except OSError:
            return False

    # -- storing a chunk, then writing its files --

    def finish_chunk(self, unit_of_work: UnitOfWork, plan: _ChunkPlan, handle) -> None:
        """Store the chunk's statements with their PDFs' SHA-256, commit, and only then
        move the rendered files into place."""
        rendered = handle.get()  # (temporary path, sha256), in the order submitted
        new, again = rendered[:len(plan.new)], rendered[len(plan.new):]
        if plan.new:
            try:
                with unit_of_work() as session:
                    self._store(session, plan.new, [sha for _path, sha in new])
            except IntegrityError:
                raise StatementRunConflict(self.year) from None
        for planned, (temporary, _sha) in zip(plan.new, new):
            os.replace(temporary, self.out / planned.snapshot.file_name)
            self.report.files_written += 1
        for (snapshot, issued_sha), (temporary, sha) in zip(plan.rerender, again):
            if sha != issued_sha:
                self.report.differs_from_issued.append(snapshot.number)
            os.replace(temporary, self.out / snapshot.file_name)
            self.report.files_written += 1

    def _store(self, session: Session, planned: list[_Planned], hashes: list[str]) -> None:
        rows = []
        for item, pdf_sha256 in zip(planned, hashes):
            s = item.snapshot
            rows.append(dict(
                number=s.number, year=s.year, sequence=s.sequence, donor_id=s.donor_id, status="current",
                donor_ref=s.donor_ref, donor_name=s.donor_name, salutation=s.salutation,
                address_lines=list(s.address_lines), postcode=s.postcode, addressee=s.addressee,
                organisation_name=s.organisation.name, organisation_rsin=s.organisation.rsin,
                organisation_address=s.organisation.address, organisation_website=s.organisation.website,
                regular_cents=s.regular_cents, periodic_cents=s.periodic_cents,
                non_deductible_cents=s.non_deductible_cents, total_paid_cents=s.total_paid_cents, currency="EUR",
                periodic=[{"number": p.number, "start_year": p.start_year, "annual_amount_cents": p.annual_amount_cents,
                           "amount_cents": p.amount_cents} for p in s.periodic],
                language=s.language, content_hash=s.content_hash, pdf_sha256=pdf_sha256,
                file_name=s.file_name, issued_at=self.now, issued_on=s.issued_on,
                replaces_id=item.replaces[0].id if item.replaces else None, replaces_number=s.replaces_number,
            ))
        # The fastest plain write each database has (`insert_rows`: COPY on PostgreSQL):
        # a run inserts hundreds of thousands of rows. The ids are read back by number
        # rather than with INSERT ... RETURNING, whose one very long statement per batch
        # costs psycopg more than the rows.
        statements = Statement.__table__
        insert_rows(session, statements, rows)
        id_of = dict(session.execute(
            select(statements.c.number, statements.c.id).where(statements.c.number.in_([r["number"] for r in rows]))
        ).all())
        ids = [id_of[r["number"]] for r in rows]
        line_rows = [
            dict(statement_id=statement_id, position=position, donation_id=donation_id, received_on=line.received_on,
                 amount_cents=line.amount_cents, method=line.method, campaign=line.campaign, mandate_ref=line.mandate_ref,
                 regular_cents=line.regular_cents, periodic_cents=line.periodic_cents,
                 non_deductible_cents=line.non_deductible_cents, agreement_number=line.agreement_number,
                 non_deductible_reason=line.non_deductible_reason)
            for statement_id, item in zip(ids, planned)
            for position, (donation_id, line) in enumerate(zip(item.snapshot.donation_ids, item.snapshot.lines), start=1)
        ]
        insert_rows(session, StatementLine.__table__, line_rows)
        successor = {old.id: new_id for new_id, item in zip(ids, planned) for old in item.replaces}
        if successor:
            for old in session.scalars(select(Statement).where(Statement.id.in_(list(successor)))):
                try:
                    old.replace_by(successor[old.id], self.now)
                except StatementImmutable:
                    raise StatementRunConflict(self.year) from None
        # One audit row per issued statement (DESIGN.md, Audit), inserted in bulk.
        insert_rows(session, AuditEntry.__table__, [
            dict(at=self.now, actor=self.actor, action="statement.issued", entity="statement",
                 entity_ref=item.snapshot.number,
                 details={"donor_ref": item.snapshot.donor_ref, "year": self.year,
                          "total_paid": cents_to_str(item.snapshot.total_paid_cents),
                          "replaces": [old.number for old in item.replaces]})
            for item in planned
        ])
        session.flush()
        for item in planned:
            if item.replaces:
                self.report.corrections.append((item.snapshot.number, [old.number for old in item.replaces]))
            else:
                self.report.issued.append(item.snapshot.number)

    # -- the manifest: every current statement of the year whose PDF this run wrote --
    # (not those of restricted, purged or merged-away donors: they got none this run)

    def write_manifest(self, session: Session) -> None:
        temporary = self.out / f".{MANIFEST}.{os.getpid()}.tmp"
        query = (
            select(Statement.number, Statement.donor_ref, Statement.year, Statement.regular_cents, Statement.periodic_cents,
                   Statement.non_deductible_cents, Statement.total_paid_cents, Statement.file_name, Statement.pdf_sha256)
            .join(Donor, Donor.id == Statement.donor_id)
            .where(Statement.year == self.year, Statement.status == "current", Donor.merged_into_id.is_(None),
                   Donor.restricted_at.is_(None), Donor.purged_at.is_(None))
            .order_by(Statement.sequence)
        )
        totals = self.report.totals
        with temporary.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(MANIFEST_COLUMNS)
            for row in session.execute(query.execution_options(yield_per=1000)):
                writer.writerow([  # text cells never run as formulas (anbi.core.spreadsheet)
                    csv_text(row.number), csv_text(row.donor_ref), row.year, cents_to_str(row.regular_cents),
                    cents_to_str(row.periodic_cents), cents_to_str(row.non_deductible_cents),
                    cents_to_str(row.total_paid_cents), csv_text(row.file_name), row.pdf_sha256,
                ])
                self.report.current += 1
                totals["regular"] += row.regular_cents
                totals["periodic"] += row.periodic_cents
                totals["non_deductible"] += row.non_deductible_cents
                totals["total_paid"] += row.total_paid_cents
        os.replace(temporary, self.out / MANIFEST)

