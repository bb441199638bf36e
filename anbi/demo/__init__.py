"""`anbi demo`: a realistic demo organisation, as a list of steps.

Each step takes the app and the output folder, does its part in its own
transaction, and returns lines to print. Later parts of the product add steps."""
from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import click

from anbi.context import AppContext
from anbi.core.migrate import upgrade

Step = Callable[[AppContext, Path, random.Random], list[str]]


def steps() -> list[tuple[str, Step]]:
    from anbi.demo.donors import seed_donors, show_duplicates
    from anbi.demo.fundraising import seed_fundraising, show_campaigns
    from anbi.demo.stripe_webhooks import stripe_webhooks
    from anbi.demo.statements import issue_demo_statements
    from anbi.demo.subsidies import seed_subsidies
    from anbi.demo.subsidies import write_reports as write_subsidy_reports
    from anbi.demo.web_users import seed_users
    from anbi.demo.ledger import bank_statement, odoo_sync, sepa_batch

    return [
        ("donors", seed_donors),
        ("duplicates", show_duplicates),
        ("fundraising", seed_fundraising),
        ("stripe webhooks", stripe_webhooks),
        ("campaigns", show_campaigns),
        ("statements", issue_demo_statements),
        ("subsidies", seed_subsidies),
        ("subsidy reports", write_subsidy_reports),
        ("web users", seed_users),
        ("sepa batch", sepa_batch),
        ("bank statement", bank_statement),
        ("odoo", odoo_sync),
    ]


def demo_already_there(app: AppContext) -> int:
    """How many demo donors the database holds (refs DEMO-…): 0 before the first run."""
    from sqlalchemy import func, select

    from donors.models import Donor

    with app.session() as session:
        return session.scalar(select(func.count()).select_from(Donor).where(Donor.ref.like("DEMO-%"))) or 0


def run_demo(app: AppContext, out_dir: str) -> None:
    """Seed the demo and run its jobs — once. A second run in the same database
    changes nothing and says so: its steps import files and book money as a first
    run does, and run again on the data the first run left (collections settled,
    a donor reported deceased) they would set it back."""
    out = Path(out_dir)
    upgrade(app.engine)
    url = app.engine.url.render_as_string(hide_password=True)
    present = demo_already_there(app)
    if present:
        click.echo(f"The demo is already in {url} ({present} demo donors): nothing was changed.")
        click.echo("Its files are where the first run wrote them (demo-output/ unless --out said otherwise); "
                   "the web users' password is in web-users.txt there.")
        click.echo("To start again: remove the database file (or name another with --database-url) and the "
                   "output folder, then run `anbi demo`.")
        return
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(2025)
    for name, step in steps():
        click.echo(f"== {name}")
        for line in step(app, out, rng):
            click.echo(f"   {line}")
    click.echo(f"Demo ready. Database: {url}; files in {out}/")
