"""Benchmark: signed `payment_intent.succeeded` events posted to a running `anbi serve`.

For each database (SQLite, then PostgreSQL in a throwaway database) it:

1. makes a fresh database (`anbi init`);
2. starts `anbi serve` (one worker, no access log) as a subprocess;
3. posts the events over HTTP from a few client threads (`http.client`, keep-alive,
   bounded concurrency), each signed exactly as Stripe signs;
4. starts, with the same uvicorn setup, a bare FastAPI app whose endpoint does the
   least any webhook receiver must: it checks the signature with the official
   client's `stripe.WebhookSignature.verify_header` (the HMAC, with the same
   tolerance anbi uses) and parses the JSON once with `json.loads` — no StripeObject
   tree, no database — and posts the same events to it;
5. prints events/s for both and each server's CPU time per event (read from /proc:
   what the shared machine's other work does not inflate as much as wall time), and
   checks that every event was booked exactly once (a miss ends the benchmark).

The events are made from Stripe's own PaymentIntent and Charge fixture objects
(tests/fixtures/stripe/): 5,000 payments by 1,000 customers (the first payment of a
customer makes a donor from the billing details, later ones find it by customer id),
a third with a campaign in the metadata. Targets, on both databases: events per
CPU-second of the server at least 0.4 of the bare endpoint's (`webhooks`), and
events/s at least 0.4 of the bare endpoint's (`webhooks-rate`).

    .venv/bin/python bench/webhooks.py             # 5,000 events, SQLite and PostgreSQL
    .venv/bin/python bench/webhooks.py --quick     # 500 events
    .venv/bin/python bench/webhooks.py --backend sqlite --events 2000 --clients 6
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import queue
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import DEFAULT_POSTGRES, Result, finish, process_cpu  # noqa: E402

TARGET_RATIO = 0.4
SECRET = "whsec_bench_secret"
TOLERANCE = 300  # seconds: the signature age anbi accepts (fundraising.stripe.webhook.TOLERANCE_SECONDS)
FIXTURES = ROOT / "tests" / "fixtures" / "stripe" / "stripe_openapi_fixtures3_examples.json"

FIRST = ["Anna", "Jan", "Sophie", "Pieter", "Fatima", "Kees", "Lotte", "Daan", "Els", "Mohamed", "Ingrid", "Willem"]
PREFIX = ["", "", "", "van", "de", "van der", "van den", "ter"]
LAST = ["Jansen", "Berg", "Bakker", "Visser", "Smit", "Meijer", "Vries", "Dijk", "Mulder", "Bos", "Vos", "Peters"]
CITIES = [("1017 GC", "Amsterdam"), ("3511 AB", "Utrecht"), ("2511 CV", "Den Haag"), ("3011 AD", "Rotterdam")]


# --- the bare baseline: the signature checked, the JSON parsed once -------------------


def bare_app():
    """A FastAPI app whose endpoint checks the signature with the official client's
    `stripe.WebhookSignature.verify_header` and parses the body once with `json.loads`:
    what any receiver must do, on the same HTTP stack as anbi."""
    # The names in the endpoint's annotations are module globals (imported above):
    # FastAPI reads the postponed annotations to know `request` is the Request.
    import stripe

    app = FastAPI()

    @app.post("/webhooks/stripe")
    async def webhook(request: Request) -> JSONResponse:
        # The same shape as anbi's endpoint: read the body, verify it on the loop.
        body = await request.body()
        try:
            stripe.WebhookSignature.verify_header(body, request.headers.get("stripe-signature"), SECRET, TOLERANCE)
            event = json.loads(body)
        except (stripe.SignatureVerificationError, ValueError):
            return JSONResponse({"detail": "refused"}, status_code=400)
        return JSONResponse({"event": event["id"], "status": "verified"})

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    return app


# --- events ----------------------------------------------------------------------


def make_events(count: int, seed: int = 2025) -> list[bytes]:
    objects = json.loads(FIXTURES.read_text(encoding="utf-8"))
    rng = random.Random(seed)
    customers = []
    for n in range(max(1, count // 5)):
        postcode, city = rng.choice(CITIES)
        prefix = rng.choice(PREFIX)
        name = " ".join(part for part in (rng.choice(FIRST), prefix, rng.choice(LAST)) if part)
        customers.append({"id": f"cus_bench{n:06d}", "name": name, "email": f"donor{n}@example.nl",
                          "address": {"line1": f"Kerkstraat {rng.randint(1, 300)}", "postal_code": postcode,
                                      "city": city, "country": "NL"}})
    now = int(time.time())
    events = []
    for n in range(count):
        customer = customers[n % len(customers)]
        pi_id = f"pi_bench{n:07d}_{uuid.uuid4().hex[:6]}"
        charge = copy.deepcopy(objects["charge"])
        charge.update(id=f"ch_bench{n:07d}", payment_intent=pi_id, amount=2500, currency="eur", customer=customer["id"],
                      status="succeeded", paid=True, captured=True, created=now)
        charge["billing_details"].update(name=customer["name"], email=customer["email"])
        charge["billing_details"]["address"].update(customer["address"])
        intent = copy.deepcopy(objects["payment_intent"])
        amount = rng.choice([500, 1000, 2500, 5000, 10000])
        charge["amount"] = amount
        intent.update(id=pi_id, amount=amount, amount_received=amount, currency="eur", customer=customer["id"],
                      status="succeeded", latest_charge=charge, created=now, last_payment_error=None,
                      metadata={"campaign": "BENCH"} if n % 3 == 0 else {})
        event = copy.deepcopy(objects["event"])
        event.update(id=f"evt_bench{n:07d}_{uuid.uuid4().hex[:6]}", type="payment_intent.succeeded", created=now,
                     api_version="2026-10-28.endive", data={"object": intent})
        events.append(json.dumps(event).encode("utf-8"))
    return events


def signature(body: bytes) -> str:
    import hashlib
    import hmac

    timestamp = int(time.time())
    mac = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


# --- servers ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped: exit code {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not start")


def start_anbi(database_url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "ANBI_STRIPE_WEBHOOK_SECRET": SECRET, "ANBI_CONFIG": ""}
    command = [sys.executable, "-c", "from anbi.cli import main; main()", "--database-url", database_url,
               "serve", "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning"]
    return subprocess.Popen(command, cwd=ROOT, env=env)


def start_bare(port: int) -> subprocess.Popen:
    command = [sys.executable, str(Path(__file__).resolve()), "--serve-bare", str(port)]
    return subprocess.Popen(command, cwd=ROOT)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


# --- load -------------------------------------------------------------------------


def post_all(port: int, bodies: list[bytes], clients: int) -> tuple[float, dict[int, int]]:
    """Post every body (signed as it is sent) from `clients` threads; (seconds, statuses).

    The client is the standard library's `http.client` on keep-alive connections: it
    shares the machine with the server it measures, and a heavier client (httpx costs
    several times more per request) would take CPU from both servers alike and
    measure itself."""
    import http.client

    work: queue.Queue = queue.Queue()
    for body in bodies:
        work.put(body)
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def run() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while True:
                try:
                    body = work.get_nowait()
                except queue.Empty:
                    return
                connection.request("POST", "/webhooks/stripe", body=body,
                                   headers={"Stripe-Signature": signature(body), "Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                with lock:
                    statuses[response.status] = statuses.get(response.status, 0) + 1
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, statuses


def timed_posts(port: int, server: subprocess.Popen, bodies: list[bytes], clients: int) -> tuple[float, float, dict[int, int]]:
    """(seconds, server CPU ms per event, statuses) of posting every body."""
    warm_up(port, clients)
    cpu_before = process_cpu(server.pid)
    seconds, statuses = post_all(port, bodies, clients)
    return seconds, (process_cpu(server.pid) - cpu_before) * 1000 / len(bodies), statuses


def warm_up(port: int, clients: int) -> None:
    """A few events first, so neither server is timed while importing or connecting."""
    post_all(port, make_events(clients * 4, seed=1), clients)


# --- databases --------------------------------------------------------------------


def init_database(url: str) -> None:
    from anbi.core.db import make_engine
    from anbi.core.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as connection:
        from fundraising.models import Campaign

        connection.execute(Campaign.__table__.insert().values(code="BENCH", name="Benchmark", cost_cents=0, currency="EUR",
                                                              created_at=_now(), updated_at=_now()))
    engine.dispose()


def _now():
    from anbi.core.db import utcnow

    return utcnow()


def booked(url: str) -> tuple[int, int, int]:
    from sqlalchemy import func, select

    from anbi.core.db import make_engine
    from fundraising.models import Donation
    from fundraising.stripe.models import StripeEvent

    engine = make_engine(url)
    with engine.connect() as connection:
        donations = connection.execute(select(func.count()).select_from(Donation.__table__)).scalar_one()
        events = connection.execute(select(func.count()).select_from(StripeEvent.__table__)).scalar_one()
        applied = connection.execute(select(func.count()).select_from(StripeEvent.__table__)
                                     .where(StripeEvent.status == "applied")).scalar_one()
    engine.dispose()
    return donations, events, applied


def run_backend(db: str, url: str, bodies: list[bytes], clients: int) -> list[Result]:
    init_database(url)
    port = free_port()
    server = start_anbi(url, port)
    try:
        wait_until_up(port, server)
        seconds, cpu_ms, statuses = timed_posts(port, server, bodies, clients)
    finally:
        stop(server)
    rate = len(bodies) / seconds
    donations, events, applied = booked(url)
    expected = len(bodies) + clients * 4
    print(f"  anbi serve           {len(bodies)} events in {seconds:6.2f} s = {rate:7.1f} events/s   "
          f"server CPU {cpu_ms:.3f} ms/event (HTTP {statuses}; donations {donations}, inbox {events}, applied {applied})",
          flush=True)
    if statuses != {200: len(bodies)} or not donations == events == applied == expected:
        raise SystemExit(f"{db}: not every event booked exactly once: HTTP {statuses}; {donations} donations, "
                         f"{events} in the inbox, {applied} applied, {expected} expected")
    bare_rate, bare_cpu_ms = run_bare(bodies, clients)
    # Events per CPU-second of each server: 1000 / (CPU ms per event).
    return [Result("webhooks", db, 1000 / cpu_ms, 1000 / bare_cpu_ms, "events/cpu-s", ">=", TARGET_RATIO),
            Result("webhooks-rate", db, rate, bare_rate, "events/s", ">=", TARGET_RATIO)]


def run_bare(bodies: list[bytes], clients: int) -> tuple[float, float]:
    """(events/s, server CPU ms per event) of the bare endpoint."""
    port = free_port()
    bare = start_bare(port)
    try:
        wait_until_up(port, bare)
        seconds, cpu_ms, statuses = timed_posts(port, bare, bodies, clients)
    finally:
        stop(bare)
    if statuses != {200: len(bodies)}:
        raise SystemExit(f"the bare endpoint refused events: {statuses}")
    rate = len(bodies) / seconds
    print(f"  bare endpoint        {len(bodies)} events in {seconds:6.2f} s = {rate:7.1f} events/s   "
          f"server CPU {cpu_ms:.3f} ms/event", flush=True)
    return rate, cpu_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--quick", action="store_true", help="500 events")
    parser.add_argument("--clients", type=int, default=16,
                        help="concurrent deliveries (default 16: Stripe sends a burst over many connections)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES,
                        help="a server where a throwaway database may be created")
    parser.add_argument("--serve-bare", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve_bare is not None:
        import uvicorn

        uvicorn.run(bare_app(), host="127.0.0.1", port=args.serve_bare, workers=1, access_log=False, log_level="warning")
        return 0

    count = 500 if args.quick else args.events
    bodies = make_events(count)
    print(f"{count} signed payment_intent.succeeded events, {max(1, count // 5)} customers, {args.clients} client threads",
          flush=True)
    results: list[Result] = []

    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            print("SQLite")
            results += run_backend("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}", bodies, args.clients)
    if args.backend in ("postgresql", "both"):
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        database = f"anbi_bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{database}"'))
        try:
            print(f"PostgreSQL (throwaway database {database})")
            url = make_url(args.postgres_url).set(database=database).render_as_string(hide_password=False)
            results += run_backend("postgresql", url, bodies, args.clients)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            admin.dispose()
    return finish(results)


if __name__ == "__main__":
    sys.exit(main())
