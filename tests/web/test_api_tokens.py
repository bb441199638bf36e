"""`anbi tokens create|list|revoke` and `anbi serve`, through the CLI on both databases."""
import hashlib
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from anbi.core.audit import AuditEntry
from anbi.web.identity.auth import Principal
from anbi.web.identity.models import ApiToken


def test_create_prints_the_token_once_and_stores_only_its_digest(cli, engine):
    result = cli("tokens", "create", "--role", "fundraiser", "--name", "website form")
    assert result.exit_code == 0, result.stderr
    secret = result.stdout.strip().splitlines()[0]
    assert secret.startswith("anbi_") and len(secret) == 5 + 43
    with Session(engine) as s:
        token = s.execute(select(ApiToken)).scalar_one()
        assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert (token.name, token.role, token.prefix, token.created_by) == ("website form", "fundraiser", secret[:12], "tester")
        stored = [getattr(token, c.key) for c in ApiToken.__table__.columns]
        assert secret not in [str(v) for v in stored]
        audit = s.execute(select(AuditEntry).where(AuditEntry.action == "token.create")).scalar_one()
        assert (audit.details or {})["role"] == "fundraiser" and secret not in json.dumps(audit.details)


def test_list_shows_prefix_never_the_token_and_revoke(cli):
    secret = cli("tokens", "create", "--role", "viewer").stdout.strip().splitlines()[0]
    listed = cli("tokens", "list")
    assert secret[:12] in listed.stdout and secret not in listed.stdout
    rows = json.loads(cli("tokens", "list", "--json").stdout)
    assert [(r["role"], r["name"], r["prefix"], r["revoked_at"]) for r in rows] == [("viewer", "viewer token", secret[:12], None)]

    revoked = cli("tokens", "revoke", secret[:12])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert json.loads(cli("tokens", "list", "--json").stdout) == []
    assert json.loads(cli("tokens", "list", "--all", "--json").stdout)[0]["revoked_at"] is not None

    again = cli("tokens", "revoke", str(rows[0]["id"]))
    assert again.exit_code == 1
    assert "already revoked" in again.stderr


def test_create_json_and_errors(cli):
    made = json.loads(cli("tokens", "create", "--role", "admin", "--json").stdout)
    assert made["token"].startswith(made["prefix"]) and made["role"] == "admin"
    unknown = cli("tokens", "revoke", "anbi_nothere")
    assert unknown.exit_code == 1 and "no API token 'anbi_nothere'" in unknown.stderr
    bad_role = cli("tokens", "create", "--role", "superuser")
    assert bad_role.exit_code != 0 and "superuser" in bad_role.stderr


def test_serve_refuses_a_database_that_is_not_up_to_date(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from anbi.cli import cli as anbi

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(anbi, ["--database-url", f"sqlite:///{tmp_path / 'empty.db'}", "serve", "--port", "9"],
                                env={"ANBI_CONFIG": "", "ANBI_DATABASE_URL": ""})
    assert result.exit_code == 1
    assert "run `anbi init` first" in result.stderr


def test_principal_asks_the_roles_table():
    viewer = Principal(kind="token", name="t", role="viewer")
    assert viewer.may("donors:read") and not viewer.may("donors:iban") and not viewer.may("donors:write")
    assert Principal(kind="user", name="u", role="finance").actor == "user:u"


def test_anbi_serve_runs_the_service(db_url, engine, tmp_path):
    """`anbi serve` as a person starts it: a process on a free port, the webhook and the API answering."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    from fundraising.models import Donation
    from tests.conftest import STRIPE_WEBHOOK_SECRET, free_port
    from tests.fundraising.stripe import payloads as p

    port = free_port()
    env = {**os.environ, "ANBI_STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET, "ANBI_CONFIG": "", "ANBI_DATABASE_URL": ""}
    server = subprocess.Popen(
        [sys.executable, "-c", "from anbi.cli import main; main()", "--database-url", db_url, "serve", "--port", str(port),
         "--no-access-log", "--log-level", "warning"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.stderr is not None
            assert server.poll() is None, server.stderr.read().decode()
            assert time.monotonic() < deadline, "anbi serve did not start"
            time.sleep(0.2)
        body, headers = p.signed(p.payment_succeeded(pi_id="pi_served", amount=1234))
        response = httpx.post(f"{base}/webhooks/stripe", content=body, headers=headers)
        assert response.status_code == 200 and response.json()["status"] == "applied"
        assert httpx.get(f"{base}/api/v1/donations").status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=15)
    with Session(engine) as s:
        assert s.scalar(select(Donation.amount_cents).where(Donation.reference == "pi_served")) == 1234
