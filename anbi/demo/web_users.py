"""The demo's web step: one user per role, so that a person can sign in to the web
application on the demo data right after `anbi demo` (`anbi serve`, then
http://127.0.0.1:8000). Users that exist are left as they are."""
from __future__ import annotations

import random
import secrets
from pathlib import Path

from sqlalchemy import select

from anbi.context import AppContext
from anbi.core.roles import ROLES
from anbi.web.identity.models import User
from anbi.web.identity.users import create_user

DEMO_DOMAIN = "demo.example"


def seed_users(app: AppContext, out_dir: Path, rng: random.Random) -> list[str]:
    # A fresh password each time users are made (not from the demo's seeded random:
    # a demo database reachable from a network should not have a guessable password).
    password = "demo-" + secrets.token_urlsafe(12)
    made = []
    with app.session() as session:
        for role in ROLES:
            email = f"{role}@{DEMO_DOMAIN}"
            if session.scalar(select(User.id).where(User.email == email)) is None:
                create_user(session, email, role, password, actor=app.actor)
                made.append(email)
    lines = []
    if made:
        (out_dir / "web-users.txt").write_text(
            "".join(f"{email}\t{password}\n" for email in made), encoding="utf-8")
        lines.append(f"web users {', '.join(made)} with password {password} (also in {out_dir / 'web-users.txt'})")
    else:
        lines.append(f"web users for every role exist already (@{DEMO_DOMAIN}); passwords in {out_dir / 'web-users.txt'}")
    lines.append("run `anbi serve` and open http://127.0.0.1:8000 to sign in; donors use http://127.0.0.1:8000/portal")
    return lines
