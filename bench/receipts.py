"""Benchmark: annual gift statements for a large donor base (issue 4).

    .venv/bin/python bench/receipts.py                  # 100,000 donors, SQLite
    .venv/bin/python bench/receipts.py --donors 5000    # a quicker run
    .venv/bin/python bench/receipts.py --backend postgresql

Builds a throwaway database with N donors and on average 6 gifts each in 2025 (some
under periodic gift agreements, paid monthly by direct debit; some refunded or
reversed; some cash, lottery or with a consideration), bulk-inserted. Then runs
`issue_statements` for 2025 with --jobs 1 and with --jobs 2, each on its own copy of
the database and in a fresh process (so that its peak memory is its own), and
prints statements per second, peak memory (the parent's and the largest rendering
child's maximum resident set size) and the ratio against the baseline: a bare
reportlab canvas drawing pages with the same number of text lines as an average
statement, measured in the same run on one core.

Targets: --jobs 1 at least 0.5 of the bare canvas rate; --jobs 2 at least 1.6x
--jobs 1; peak memory under 1 GiB.
"""
from __future__ import annotations

import argparse
import datetime as dt
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, select, text  # noqa: E402

YEAR = 2025
POSTGRES_ADMIN = os.environ.get("ANBI_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


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
    now = dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)
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
            gifts = [(dt.date(YEAR, m, 5), monthly, "sepa_debit", "gift", 0, donor_id) for m in range(1, 13)]
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
    from exports.receipts import issue_statements

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


def average_text_lines(url: str, sample: int = 300) -> float:
    """How many text lines an issued statement draws, on average over a sample."""
    from anbi.core.db import make_engine, session_scope
    from exports.receipt_pdf import ReceiptRenderer
    from exports.receipts import snapshot_from_row
    from fundraising.models_statements import Statement, StatementLine

    engine = make_engine(url)
    renderer = ReceiptRenderer()
    counts = []
    with session_scope(engine) as session:
        for statement in session.scalars(select(Statement).order_by(Statement.id).limit(sample)):
            lines = list(session.scalars(select(StatementLine).where(StatementLine.statement_id == statement.id).order_by(StatementLine.position)))
            renderer.render(snapshot_from_row(statement, lines).view())
            counts.append(renderer.last_text_lines)
    engine.dispose()
    return sum(counts) / len(counts)


def bare_canvas_rate(text_lines: int, pages: int) -> float:
    """Pages per second of a bare reportlab canvas: one drawString per text line,
    the same document settings as the statements (A4, invariant, no compression)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    line = "05-03-2025  € 50,00  SEPA-incasso  Periodiek schenken 2025  MDT-000123"
    started = time.perf_counter()
    for page in range(pages):
        buffer = io.BytesIO()
        pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1, pageCompression=0)
        pdf.setFont("Helvetica", 9)
        for n in range(text_lines):
            pdf.drawString(60, 800 - (n % 70) * 11, line)
        pdf.showPage()
        pdf.save()
        buffer.getvalue()
    return pages / (time.perf_counter() - started)


# --- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--donors", type=int, default=100_000, help="Number of donors (default 100,000).")
    parser.add_argument("--quick", action="store_true", help="A quick run: 3,000 donors.")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.out, args.jobs)
        return
    donors = 3_000 if args.quick else args.donors

    workdir = Path(tempfile.mkdtemp(prefix="anbi_bench_receipts_"))
    databases = Databases(args.backend, workdir)
    try:
        print(f"receipts benchmark: {donors:,} donors, {args.backend}, {os.cpu_count()} CPUs; work folder {workdir}")
        started = time.perf_counter()
        base = databases.create("base")
        counts = build(base, donors)
        print(f"  data: {counts['donations']:,} donations ({counts['donations'] / donors:.2f} per donor), "
              f"{counts['adjustments']:,} refunds/reversals, {counts['agreements']:,} periodic agreements "
              f"— built in {time.perf_counter() - started:.1f} s")
        one = databases.copy("base", "jobs1")
        two = databases.copy("base", "jobs2")

        run1 = measure(one, workdir / "out1", 1)
        rate1 = run1["statements"] / run1["seconds"]
        print(f"  --jobs 1: {run1['statements']:,} statements in {run1['seconds']:.1f} s = {rate1:,.0f} statements/s; "
              f"peak memory {run1['maxrss_self_kib'] / 1024:.0f} MiB; CPU {run1['cpu_self']:.1f} s")
        run2 = measure(two, workdir / "out2", 2)
        rate2 = run2["statements"] / run2["seconds"]
        peak2 = run2["maxrss_self_kib"] + 2 * run2["maxrss_children_kib"]
        print(f"  --jobs 2: {run2['statements']:,} statements in {run2['seconds']:.1f} s = {rate2:,.0f} statements/s; "
              f"peak memory parent {run2['maxrss_self_kib'] / 1024:.0f} MiB + 2 x child {run2['maxrss_children_kib'] / 1024:.0f} MiB "
              f"= {peak2 / 1024:.0f} MiB; CPU parent {run2['cpu_self']:.1f} s, children {run2['cpu_children']:.1f} s")

        lines = average_text_lines(one)
        baseline = bare_canvas_rate(round(lines), pages=min(3000, max(500, run1["statements"])))
        print(f"  baseline: bare reportlab canvas, {round(lines)} text lines a page (the statements' average), one core: "
              f"{baseline:,.0f} pages/s")
        peak = max(run1["maxrss_self_kib"], peak2) / 1024
        print(f"  ratio --jobs 1 / bare canvas: {rate1 / baseline:.2f} (target >= 0.5)")
        print(f"  ratio --jobs 2 / --jobs 1:    {rate2 / rate1:.2f} (target >= 1.6)")
        print(f"  peak memory: {peak:.0f} MiB (target < 1024 MiB)")
        same = sorted(p.name for p in (workdir / "out1").glob("*.pdf")) == sorted(p.name for p in (workdir / "out2").glob("*.pdf"))
        print(f"  same files from --jobs 1 and --jobs 2: {'yes' if same else 'NO'}")
    finally:
        databases.drop_all()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
