"""Benchmark: annual gift statements for a large donor base (issue 4).

    .venv/bin/python bench/receipts.py                  # 100,000 donors, SQLite and PostgreSQL
    .venv/bin/python bench/receipts.py --quick          # 2,000 donors
    .venv/bin/python bench/receipts.py --donors 5000 --backend postgresql

Builds a throwaway database with N donors and on average 6 gifts each in 2025 (some
under periodic gift agreements, paid monthly by direct debit; some refunded or
reversed; some cash, lottery or with a consideration), bulk-inserted. Then runs
`issue_statements` for 2025 with --jobs 1 and with --jobs 2, each on its own copy of
the database and in a fresh process (so that its peak memory is its own), and
prints statements per second and peak memory (the parent's and the largest
rendering child's maximum resident set size).

The baseline is a bare reportlab canvas doing one real statement's own work: the
statement of the --jobs 1 run with the median number of text pieces, read back from
its PDF (so that the baseline follows the renderer whatever its layout), drawn again
with the same fonts, the same pieces of text at the same places, the same lines,
page size, compression and document information, each copy written to a file of its
own and hashed with SHA-256 — on one core, the median of three runs.

Targets: --jobs 1 at least 0.6 of the baseline's rate (`receipts`); --jobs 2 at
least 1.6x --jobs 1 (`receipts-jobs2`; two cores give about 1.75 at most); peak
memory under 1 GiB (`receipts-memory`).
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from bench.common import DEFAULT_POSTGRES, Result, finish, median_time  # noqa: E402

YEAR = 2025
POSTGRES_ADMIN = DEFAULT_POSTGRES
TARGET_RATIO = 0.6
TARGET_JOBS = 1.6
MEMORY_LIMIT_MIB = 1024


# --- the data ------------------------------------------------------------------------------


def build(url: str, donors: int, seed: int = 2025) -> dict:
    """Migrate and fill the database; returns counts."""
    from anbi.core.db import make_engine
    from anbi.core.migrate import upgrade
    from donors.models import Donor
    from fundraising.models import Campaign, Donation, DonationAdjustment, Mandate, PeriodicAgreement

    rng = random.Random(seed)
    engine = make_engine(url)
    upgrade(engine)
    now = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    counts = {"donors": donors, "donations": 0, "adjustments": 0, "agreements": 0}
    with engine.begin() as connection:
        connection.execute(insert(Campaign), [
            {"id": i, "code": f"C{i}", "name": name, "cost_cents": 0, "currency": "EUR", "created_at": now, "updated_at": now}
            for i, name in enumerate(["Voorjaarsmailing", "Online doneren", "Straatwerving", "Belactie zomer",
                                      "Benefietdiner", "Kerstactie", "Maandgevers", "Noodhulp"], start=1)
        ])
    streets = ["Kerkstraat", "Dorpsstraat", "Molenweg", "Stationsweg", "Hoofdstraat", "Schoolstraat"]
    cities = [("1017 GC", "Amsterdam"), ("3511 AB", "Utrecht"), ("9711 AA", "Groningen"), ("2511 BT", "Den Haag"),
              ("5611 AB", "Eindhoven"), ("7511 JE", "Enschede")]
    prefixes = [None, None, None, "van", "de", "van der", "van den"]
    donor_rows: list[dict]
    gift_rows: list[dict]
    adjustment_rows: list[dict]
    agreement_rows: list[dict]
    mandate_rows: list[dict]
    donor_rows, gift_rows, adjustment_rows, agreement_rows, mandate_rows = [], [], [], [], []
    gift_id = 0

    def flush(final: bool = False) -> None:
        nonlocal donor_rows, gift_rows, adjustment_rows, agreement_rows, mandate_rows
        if len(gift_rows) < 50_000 and not final:
            return
        with engine.begin() as connection:
            for model, rows in ((Donor, donor_rows), (PeriodicAgreement, agreement_rows), (Mandate, mandate_rows),
                                (Donation, gift_rows), (DonationAdjustment, adjustment_rows)):
                if rows:
                    connection.execute(insert(model), rows)
        donor_rows, gift_rows, adjustment_rows, agreement_rows, mandate_rows = [], [], [], [], []

    for donor_id in range(1, donors + 1):
        postcode, city = rng.choice(cities)
        last = f"Jansen{donor_id}"
        donor_rows.append({
            "id": donor_id, "ref": f"D{donor_id:07d}", "kind": "person", "initials": "A.", "first_name": "Anna",
            "prefix": rng.choice(prefixes), "last_name": last, "sort_name": last.lower(), "street": rng.choice(streets),
            "house_number": str(rng.randint(1, 200)), "postcode": postcode, "city": city, "country": "NL",
            "language": "en" if rng.random() < 0.05 else "nl", "email": f"d{donor_id}@example.org" if rng.random() < 0.7 else None,
            "created_at": now, "updated_at": now,
        })
        periodic = rng.random() < 0.08
        if periodic:
            monthly = rng.choice([1000, 1500, 2500, 5000])
            agreement_rows.append({
                "id": donor_id, "number": f"PG-{donor_id:07d}", "donor_id": donor_id, "annual_amount_cents": 12 * monthly,
                "currency": "EUR", "start_date": dt.date(rng.choice([2022, 2023, 2024]), 1, 1), "years": 5,
                "signed_on": dt.date(2021, 12, 1), "status": "active", "created_at": now, "updated_at": now,
            })
            mandate_rows.append({
                "id": donor_id, "mandate_id": f"MDT-{donor_id:07d}", "donor_id": donor_id, "iban": "NL91ABNA0417164300",
                "signed_on": dt.date(2021, 12, 1), "status": "active", "created_at": now, "updated_at": now,
            })
            counts["agreements"] += 1
            # (received on, cents, method, kind, consideration, agreement id: the donor's, as above)
            gifts: list[tuple[dt.date, int, str, str, int, int | None]] = [
                (dt.date(YEAR, m, 5), monthly, "sepa_debit", "gift", 0, donor_id) for m in range(1, 13)]
        else:
            gifts = []
            for _ in range(rng.randint(1, 10)):
                roll = rng.random()
                method = "ideal" if roll < 0.4 else "bank_transfer" if roll < 0.7 else "card" if roll < 0.8 else \
                    "sepa_debit" if roll < 0.95 else "cash"
                kind = "lottery" if rng.random() < 0.02 else "purchase" if rng.random() < 0.02 else "gift"
                amount = rng.choice([500, 1000, 1500, 2500, 5000, 10000])
                consideration = amount // 2 if kind == "purchase" else 0
                gifts.append((dt.date(YEAR, 1, 1) + dt.timedelta(days=rng.randint(0, 364)), amount, method, kind,
                              consideration, None))
        for received_on, amount, method, kind, consideration, agreement in gifts:
            gift_id += 1
            gift_rows.append({
                "id": gift_id, "source": "bench", "reference": f"G{gift_id}", "donor_id": donor_id,
                "received_on": received_on, "amount_cents": amount, "currency": "EUR", "method": method, "kind": kind,
                "consideration_cents": consideration, "status": "paid", "campaign_id": rng.randint(1, 8),
                "agreement_id": agreement, "mandate_id": donor_id if agreement else None,
                "created_at": now, "updated_at": now,
            })
            if rng.random() < 0.03:
                back = amount if rng.random() < 0.6 else amount // 2
                adjustment_kind = "reversal" if method == "sepa_debit" else "refund"
                adjustment_rows.append({
                    "donation_id": gift_id, "kind": adjustment_kind, "amount_cents": back, "taken_back_cents": back,
                    "occurred_on": received_on + dt.timedelta(days=20), "source": "bench", "reference": f"A{gift_id}",
                    "created_at": now,
                })
                gift_rows[-1]["status"] = "refunded" if back == amount else "partially_refunded"
                counts["adjustments"] += 1
        flush()
    flush(final=True)
    counts["donations"] = gift_id
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            for table in ("donors", "donations", "donation_adjustments", "periodic_agreements", "mandates", "campaigns"):
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
                connection.execute(text(f"ANALYZE {table}"))
    engine.dispose()
    return counts


# --- databases -----------------------------------------------------------------------------


class Databases:
    """Throwaway databases: a SQLite file per copy, or PostgreSQL databases made from a template."""

    def __init__(self, backend: str, workdir: Path):
        self.backend = backend
        self.workdir = workdir
        self.created: list[str] = []
        self.token = uuid.uuid4().hex[:8]

    def url(self, name: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.workdir / (name + '.db')}"
        return POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/anbi_bench_{self.token}_{name}"

    def create(self, name: str) -> str:
        if self.backend == "postgresql":
            admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "anbi_bench_{self.token}_{name}"'))
            admin.dispose()
            self.created.append(name)
        return self.url(name)

    def copy(self, source: str, name: str) -> str:
        if self.backend == "sqlite":
            from anbi.core.db import make_engine

            engine = make_engine(self.url(source))
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
            shutil.copyfile(self.workdir / f"{source}.db", self.workdir / f"{name}.db")
            return self.url(name)
        admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "anbi_bench_{self.token}_{name}" TEMPLATE "anbi_bench_{self.token}_{source}"'))
        admin.dispose()
        self.created.append(name)
        return self.url(name)

    def drop_all(self) -> None:
        if self.backend != "postgresql" or not self.created:
            return
        admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for name in self.created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "anbi_bench_{self.token}_{name}" WITH (FORCE)'))
        admin.dispose()


# --- one measured run (in its own process) --------------------------------------------------


def child(url: str, out: str, jobs: int) -> None:
    from anbi.core.db import make_engine, session_scope
    from anbi.core.settings import Organisation
    from exports.statements.issue import issue_statements

    engine = make_engine(url)
    organisation = Organisation("Stichting Benchmark", "824150004", "Postbus 1, 1000 AA Amsterdam")
    started = time.perf_counter()
    report = issue_statements(lambda: session_scope(engine), year=YEAR, out_dir=Path(out), organisation=organisation,
                              actor="bench", jobs=jobs)
    seconds = time.perf_counter() - started
    engine.dispose()
    print(json.dumps({
        "seconds": seconds,
        "statements": len(report.issued) + len(report.corrections),
        "current": report.current,
        "files": report.files_written,
        "maxrss_self_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "maxrss_children_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        "cpu_self": _cpu(resource.RUSAGE_SELF),
        "cpu_children": _cpu(resource.RUSAGE_CHILDREN),
    }))


def _cpu(who) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def measure(url: str, out: Path, jobs: int) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", url, "--out", str(out), "--jobs", str(jobs)],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"--jobs {jobs} run failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- the baseline ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PageWork:
    """What one page of a statement draws, read back from its PDF."""

    width: float
    height: float
    pieces: tuple[tuple[str, float, float, float, str], ...]  # (font, size, x, y, text), in drawing order
    strokes: tuple[tuple[float, float, float, float, float], ...]  # (line width, x1, y1, x2, y2)


@dataclass(frozen=True)
class StatementWork:
    """A statement's drawing work: its pages, whether its streams are compressed,
    its document information."""

    pages: tuple[PageWork, ...]
    compressed: bool
    info: dict[str, str]

    @property
    def pieces(self) -> int:
        return sum(len(page.pieces) for page in self.pages)


def statement_work(pdf: bytes) -> StatementWork | None:
    """The pieces of text (font, size, position, text), the lines and the settings of
    an issued statement, read from the PDF itself — not from the renderer's code,
    which may change. None when it uses a font beyond the standard fourteen (a
    Unicode name): its text cannot be read back as text."""
    from pypdf import PdfReader
    from pypdf.generic import ContentStream
    from reportlab.pdfbase.pdfmetrics import standardFonts

    reader = PdfReader(io.BytesIO(pdf))
    pages, compressed = [], False
    for page in reader.pages:
        resources: Any = page["/Resources"]  # a PDF dictionary, read as the file has it
        fonts = {name: str(font.get_object()["/BaseFont"])[1:] for name, font in resources["/Font"].items()}
        if not set(fonts.values()) <= set(standardFonts):
            return None
        contents_ref: Any = page.get("/Contents")
        contents = contents_ref.get_object()
        compressed |= contents.get("/Filter") == "/FlateDecode"
        pieces: list[Any] = []  # (font, size, x, y, text): the font is set by a Tf before any Tj
        strokes: list[tuple[float, float, float, float, float]] = []
        font, size, x, y, width, start = None, 0.0, 0.0, 0.0, 1.0, (0.0, 0.0)
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator == b"Tf":
                font, size = fonts[operands[0]], float(operands[1])
            elif operator == b"Tm":
                x, y = float(operands[4]), float(operands[5])
            elif operator == b"Td":
                x, y = x + float(operands[0]), y + float(operands[1])
            elif operator == b"Tj":
                pieces.append((font, size, x, y, operands[0].original_bytes.decode("cp1252")))
            elif operator == b"w":
                width = float(operands[0])
            elif operator == b"m":
                start = (float(operands[0]), float(operands[1]))
            elif operator == b"l":
                strokes.append((width, *start, float(operands[0]), float(operands[1])))
        pages.append(PageWork(float(page.mediabox.width), float(page.mediabox.height), tuple(pieces), tuple(strokes)))
    meta: Mapping[str, Any] = reader.metadata or {}
    info = {key: str(meta.get(f"/{key.title()}", "")) for key in ("title", "author", "subject", "creator")}
    return StatementWork(tuple(pages), compressed, info)


def one_real_statement(folder: Path, sample: int = 400) -> tuple[str, StatementWork]:
    """An issued statement of the run, the one with the median number of text pieces
    among a sample of them: (file name, its work)."""
    read = []
    for path in sorted(folder.glob("*.pdf"))[:sample]:
        work = statement_work(path.read_bytes())
        if work is not None:
            read.append((work.pieces, path.name, work))
    if not read:
        raise SystemExit(f"no statement in {folder} could be read back")
    read.sort(key=lambda item: item[:2])
    _, name, work = read[len(read) // 2]
    return name, work


def _escape_table() -> dict[int, str]:
    """A PDF string literal's escapes for text in WinAnsi: octal for bytes outside
    printable ASCII, a backslash before `\\`, `(` and `)`."""
    table = {}
    for byte in range(256):
        character = bytes([byte]).decode("cp1252", errors="ignore")
        if not character:
            continue  # a byte WinAnsi leaves unassigned
        if byte < 32 or byte >= 127:
            table[ord(character)] = f"\\{byte:03o}"
        elif character in "\\()":
            table[ord(character)] = "\\" + character
    return table


ESCAPE = _escape_table()


def canvas_statement(work: StatementWork) -> bytes:
    """The statement's own work on a bare reportlab canvas: the same page size,
    compression and document information, the same pieces of text in the same fonts
    at the same places, the same lines. The text goes in as one block of text
    operators per page (the canvas's cheapest way; drawString or a text object costs
    about twice as much per piece)."""
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    first = work.pages[0]
    pdf = canvas.Canvas(buffer, pagesize=(first.width, first.height), invariant=1, pageCompression=int(work.compressed))
    pdf.setTitle(work.info["title"])
    pdf.setAuthor(work.info["author"])
    pdf.setSubject(work.info["subject"])
    pdf.setCreator(work.info["creator"])
    for page in work.pages:
        pdf.setPageSize((page.width, page.height))
        for width, x1, y1, x2, y2 in page.strokes:
            pdf.setLineWidth(width)
            pdf.line(x1, y1, x2, y2)
        ops, current = ["BT"], None
        for font, size, x, y, piece in page.pieces:
            if (font, size) != current:
                # As the renderer does (exports/statements/pdf.py): the stubs leave the canvas's `_doc` out.
                ops.append(f"{pdf._doc.getInternalFontName(font)} {size:g} Tf")  # type: ignore[attr-defined]
                current = (font, size)
            ops.append(f"1 0 0 1 {x:.2f} {y:.2f} Tm ({piece.translate(ESCAPE)}) Tj")
        ops.append("ET")
        pdf.addLiteral("\n".join(ops))
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def baseline_rate(work: StatementWork, count: int, folder: Path) -> float:
    """Statements per second of the bare canvas on one core, each written to a file of
    its own and hashed (SHA-256) as a statement run does; the median of three runs."""
    folder.mkdir(parents=True, exist_ok=True)

    def run() -> None:
        for n in range(count):
            data = canvas_statement(work)
            with open(folder / f"baseline-{n:06d}.pdf", "wb") as handle:
                handle.write(data)
            hashlib.sha256(data).hexdigest()

    seconds, _ = median_time(run)
    return count / seconds


# --- main ---------------------------------------------------------------------------------


def run(backend: str, donors: int) -> list[Result]:
    workdir = Path(tempfile.mkdtemp(prefix="anbi_bench_receipts_"))
    databases = Databases(backend, workdir)
    try:
        print(f"receipts benchmark: {donors:,} donors, {backend}, {os.cpu_count()} CPUs; work folder {workdir}", flush=True)
        started = time.perf_counter()
        base = databases.create("base")
        counts = build(base, donors)
        print(f"  data: {counts['donations']:,} donations ({counts['donations'] / donors:.2f} per donor), "
              f"{counts['adjustments']:,} refunds/reversals, {counts['agreements']:,} periodic agreements "
              f"— built in {time.perf_counter() - started:.1f} s", flush=True)
        one = databases.copy("base", "jobs1")
        two = databases.copy("base", "jobs2")

        run1 = measure(one, workdir / "out1", 1)
        rate1 = run1["statements"] / run1["seconds"]
        print(f"  --jobs 1: {run1['statements']:,} statements in {run1['seconds']:.1f} s = {rate1:,.0f} statements/s; "
              f"peak memory {run1['maxrss_self_kib'] / 1024:.0f} MiB; CPU {run1['cpu_self']:.1f} s", flush=True)
        run2 = measure(two, workdir / "out2", 2)
        rate2 = run2["statements"] / run2["seconds"]
        peak2 = run2["maxrss_self_kib"] + 2 * run2["maxrss_children_kib"]
        print(f"  --jobs 2: {run2['statements']:,} statements in {run2['seconds']:.1f} s = {rate2:,.0f} statements/s; "
              f"peak memory parent {run2['maxrss_self_kib'] / 1024:.0f} MiB + 2 x child {run2['maxrss_children_kib'] / 1024:.0f} MiB "
              f"= {peak2 / 1024:.0f} MiB; CPU parent {run2['cpu_self']:.1f} s, children {run2['cpu_children']:.1f} s", flush=True)
        first = sorted(p.name for p in (workdir / "out1").glob("*.pdf"))
        if first != sorted(p.name for p in (workdir / "out2").glob("*.pdf")):
            raise SystemExit("--jobs 1 and --jobs 2 wrote different files")

        name, work = one_real_statement(workdir / "out1")
        baseline = baseline_rate(work, min(3000, max(500, run1["statements"])), workdir / "baseline")
        same = canvas_statement(work) == (workdir / "out1" / name).read_bytes()
        print(f"  baseline: bare reportlab canvas doing the work of {name} ({work.pieces} pieces of text on "
              f"{len(work.pages)} page{'s' if len(work.pages) > 1 else ''}, "
              f"{'compressed' if work.compressed else 'uncompressed'}; {'the same bytes' if same else 'other bytes'} "
              f"as the statement), one core: {baseline:,.0f} statements/s", flush=True)
        peak = max(run1["maxrss_self_kib"], peak2) / 1024
        return [Result("receipts", backend, rate1, baseline, "statements/s", ">=", TARGET_RATIO),
                Result("receipts-jobs2", backend, rate2, rate1, "statements/s", ">=", TARGET_JOBS),
                Result("receipts-memory", backend, peak, MEMORY_LIMIT_MIB, "MiB", "<", 1)]
    finally:
        databases.drop_all()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--donors", type=int, default=100_000, help="Number of donors (default 100,000).")
    parser.add_argument("--quick", action="store_true", help="A quick run: 2,000 donors.")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.out, args.jobs)
        return 0
    donors = 2_000 if args.quick else args.donors
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    return finish([result for backend in backends for result in run(backend, donors)])


if __name__ == "__main__":
    sys.exit(main())
