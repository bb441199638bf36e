"""`anbi users ...` and the sign-in service on both databases."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from anbi.core.audit import AuditEntry
from anbi.web.identity.models import User, WebSession
from anbi.web.identity.users import (
    SignInRefused,
    authenticate,
    create_user,
    find_session,
    open_session,
    set_password,
)

PASSWORD = "a long enough password"


def test_users_create_from_stdin(cli, session):
    result = cli("users", "create", "Fundraiser@Example.ORG", "--role", "fundraiser", "--password-stdin",
                 input=PASSWORD + "\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "User fundraiser@example.org created with role fundraiser.\n"
    user = session.scalar(select(User))
    assert (user.email, user.role, user.active) == ("fundraiser@example.org", "fundraiser", True)
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "user_created"))
    assert (entry.actor, entry.entity_ref, entry.details) == ("tester", "fundraiser@example.org", {"role": "fundraiser"})


def test_users_create_asks_twice(cli, session):
    result = cli("users", "create", "a@example.org", "--role", "viewer", "--json",
                 input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout[result.stdout.index("{"):]) == {"email": "a@example.org", "role": "viewer",
                                                                    "active": True}
    mismatch = cli("users", "create", "b@example.org", "--role", "viewer", input=f"{PASSWORD}\nanother password!\n"
                   f"{PASSWORD}\n{PASSWORD}\n")
    assert mismatch.exit_code == 0 and "do not match" in mismatch.output


@pytest.mark.parametrize("args, stdin, message", [
    (["x@example.org", "--role", "viewer"], "short\n", "error: the password must have at least 12 characters\n"),
    (["not-an-address", "--role", "viewer"], PASSWORD + "\n", "error: e-mail 'not-an-address' is not a valid address\n"),
    (["x@example.org", "--role", "viewer"], "\n", "error: no password on standard input\n"),
])
def test_users_create_refuses_bad_input_in_one_line(cli, session, args, stdin, message):
    result = cli("users", "create", *args, "--password-stdin", input=stdin)
    assert result.exit_code == 1 and result.stderr == message
    assert session.scalar(select(func.count()).select_from(User)) == 0


def test_users_create_refuses_an_existing_address_and_an_unknown_role(cli, session):
    assert cli("users", "create", "x@example.org", "--role", "viewer", "--password-stdin", input=PASSWORD).exit_code == 0
    again = cli("users", "create", "X@example.org", "--role", "admin", "--password-stdin", input=PASSWORD)
    assert again.exit_code == 1 and again.stderr == "error: a user with e-mail 'x@example.org' already exists\n"
    role = cli("users", "create", "y@example.org", "--role", "boss", "--password-stdin", input=PASSWORD)
    assert role.exit_code == 2 and "'boss' is not one of" in role.stderr
    assert session.scalar(select(func.count()).select_from(User)) == 1


def test_users_list_deactivate_and_password(cli, session):
    cli("users", "create", "x@example.org", "--role", "finance", "--password-stdin", input=PASSWORD)
    listed = cli("users", "list", "--json")
    assert json.loads(listed.stdout) == [{"email": "x@example.org", "role": "finance", "active": True, "last_login": None}]
    assert cli("users", "deactivate", "x@example.org").exit_code == 0
    with pytest.raises(SignInRefused):
        authenticate(session, "x@example.org", PASSWORD, client="192.0.2.1")
    session.commit()  # as the web edge does: the failed attempt is kept
    assert cli("users", "activate", "x@example.org").exit_code == 0
    changed = cli("users", "password", "x@example.org", "--password-stdin", input="a different passphrase\n")
    assert changed.exit_code == 0
    session.expire_all()
    assert authenticate(session, "x@example.org", "a different passphrase", client="192.0.2.1").email == "x@example.org"
    unknown = cli("users", "deactivate", "nobody@example.org")
    assert unknown.exit_code == 1 and unknown.stderr == "error: no user with e-mail 'nobody@example.org'\n"
    assert "users" in cli("--help").stdout


def test_sessions_expire_when_idle_and_end_with_a_new_password(session):
    user = create_user(session, "x@example.org", "viewer", PASSWORD, actor="test")
    now = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
    opened = open_session(session, user=user, now=now)
    assert find_session(session, opened.key, now=now + dt.timedelta(minutes=90)) is not None
    assert find_session(session, opened.key, now=now + dt.timedelta(hours=4)) is None  # idle over 2 hours
    assert find_session(session, "made-up", now=now) is None
    fresh = open_session(session, user=user)
    set_password(session, "x@example.org", "another long password", actor="test")
    assert find_session(session, fresh.key) is None
    assert session.scalar(select(func.count()).select_from(WebSession)) == 0


def test_demo_step_makes_one_user_per_role_once(db_url, session, tmp_path):
    import random

    from anbi.context import AppContext
    from anbi.core.settings import Settings
    from anbi.demo.web_users import seed_users

    app = AppContext(settings=Settings(database_url=db_url), actor="demo")
    first = seed_users(app, tmp_path, random.Random(2025))
    written = (tmp_path / "web-users.txt").read_text(encoding="utf-8").splitlines()
    assert [line.split("\t")[0] for line in written] == [f"{role}@demo.example" for role in
                                                          ("admin", "fundraiser", "finance", "viewer")]
    password = written[0].split("\t")[1]
    assert password in first[0]
    assert authenticate(session, "viewer@demo.example", password, client="192.0.2.1").role == "viewer"
    session.commit()
    again = seed_users(app, tmp_path, random.Random(2025))
    assert "exist already" in again[0]
    assert session.scalar(select(func.count()).select_from(User)) == 4
    app.close()


def test_serve_refuses_to_start_on_a_public_address_without_a_secret_key(cli):
    result = cli("serve", "--host", "0.0.0.0", "--port", "8999", env={"ANBI_WEB_SECRET_KEY": ""})
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith(
        "error: the web application needs a secret key to sign session cookies: set ANBI_WEB_SECRET_KEY")
