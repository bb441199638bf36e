"""`anbi serve` and `anbi tokens ...`: the command-line edge of the HTTP service."""
from __future__ import annotations

import os
import sys

import click

from anbi.core.errors import ConfigurationError
from anbi.core.roles import ROLES

# Set for the worker processes `anbi serve --workers N` starts: they build the app
# from the environment, as the command line cannot hand them an object.
HOST_ENV = "ANBI_SERVE_HOST"
PORT_ENV = "ANBI_SERVE_PORT"


def _check_schema(app) -> None:
    from anbi.core.migrate import current_heads, script_heads

    if current_heads(app.engine) != script_heads():
        raise ConfigurationError(
            f"the database {app.engine.url.render_as_string(hide_password=True)} is not up to date: run `anbi init` first"
        )


def app_from_environment():
    """The ASGI app of one worker of `anbi serve --workers N`."""
    from anbi.core.settings import load_settings
    from anbi.web.app import create_app

    port = os.environ.get(PORT_ENV)
    return create_app(load_settings(), host=os.environ.get(HOST_ENV), port=int(port) if port else None)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for every interface).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]), help="How much uvicorn logs.")
@click.option("--no-access-log", is_flag=True, help="Do not log every request.")
@click.pass_obj
def serve(app, host: str, port: int, workers: int, log_level: str, no_access_log: bool) -> None:
    """Run the HTTP service: the REST API (/api/v1, schema at /api/openapi.json),
    the Stripe webhook (POST /webhooks/stripe) and the web application.

    On an address other than loopback (127.0.0.1, localhost, ::1) it needs [web]
    secret_key (ANBI_WEB_SECRET_KEY, at least 32 characters) and [web] base_url
    (ANBI_WEB_BASE_URL, e.g. https://crm.voorbeeld.example): links in e-mail are made
    from base_url only, and requests for another host are refused (400), except
    GET /healthz. More than one worker needs the secret key too. The webhook needs
    [stripe] webhook_secret (ANBI_STRIPE_WEBHOOK_SECRET); the API needs a token from
    `anbi tokens create`. Stop with Ctrl-C."""
    import uvicorn

    from anbi.web.app import create_app
    from anbi.web.security import web_config
    from fundraising.stripe.client import webhook_secret

    # Checked here, before any worker starts: a worker's refusal would be a traceback.
    web_config(app.settings.web, host, port=port, workers=workers)
    _check_schema(app)
    try:
        webhook_secret(app.settings)
    except ConfigurationError as exc:
        click.echo(f"warning: Stripe webhooks are refused (503) until configured: {exc}", err=True)
    options = dict(host=host, port=port, log_level=log_level, access_log=not no_access_log)
    if workers == 1:
        uvicorn.run(create_app(app.settings, host=host, port=port), **options)
        return
    # Several processes: each builds its app from the same settings, passed on
    # through the environment.
    os.environ["ANBI_DATABASE_URL"] = app.settings.database_url
    os.environ[HOST_ENV] = host
    os.environ[PORT_ENV] = str(port)
    config_path = click.get_current_context().find_root().params.get("config_path")
    if config_path:
        os.environ["ANBI_CONFIG"] = str(config_path)
    uvicorn.run("anbi.web.commands:app_from_environment", factory=True, workers=workers, **options)


@click.group()
def tokens() -> None:
    """API tokens: programs authenticate to the REST API with one (Authorization: Bearer)."""


@tokens.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the token may do (the roles table in DESIGN.md).")
@click.option("--name", default=None, help="What it is for, e.g. 'website donation form'.")
@click.option("--json", "as_json", is_flag=True, help="Print the token and its details as JSON.")
@click.pass_obj
def create_command(app, role: str, name: str | None, as_json: bool) -> None:
    """Make a token. It is printed once: only its SHA-256 digest is stored."""
    from anbi.cli import print_json
    from anbi.web.tokens import create_token, token_json

    with app.session() as session:
        made = create_token(session, role=role, name=name, actor=app.actor)
        details = token_json(made.token)
    if as_json:
        print_json({**details, "token": made.secret})
        return
    click.echo(made.secret)
    click.echo(
        f"Token {details['id']} ({details['name']}, role {role}) made. Store it now: it cannot be shown again.",
        err=sys.stdout.isatty(),
    )


@tokens.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked tokens.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_obj
def list_command(app, include_revoked: bool, as_json: bool) -> None:
    """The tokens by id, with their prefix (never the token), role and last use."""
    from anbi.cli import print_json
    from anbi.web.tokens import list_tokens, token_json

    with app.session() as session:
        rows = [token_json(t) for t in list_tokens(session, include_revoked=include_revoked)]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("No tokens. Make one with `anbi tokens create --role ROLE`.")
    for row in rows:
        used = row["last_used_at"][:19] if row["last_used_at"] else "never used"
        revoked = f"  revoked {row['revoked_at'][:19]}" if row["revoked_at"] else ""
        click.echo(f"{row['id']:>4}  {row['prefix']}…  {row['role']:<10} {row['name']}  ({used}){revoked}")


@tokens.command("revoke")
@click.argument("token")
@click.pass_obj
def revoke_command(app, token: str) -> None:
    """Revoke TOKEN (its id or the prefix shown by `anbi tokens list`): it stops working at once."""
    from anbi.web.tokens import revoke_token

    with app.session() as session:
        revoked = revoke_token(session, token, actor=app.actor)
        click.echo(f"Token {revoked.id} ({revoked.name}) revoked.")
