"""`anbi serve`: the command-line edge of the HTTP service. (`anbi users` and
`anbi tokens` are `anbi.web.identity.commands`.)"""
from __future__ import annotations

import os
from typing import Any

import click

from anbi.core.errors import ConfigurationError

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
    from anbi.web.identity.security import web_config
    from fundraising.stripe.client import webhook_secret

    # Checked here, before any worker starts: a worker's refusal would be a traceback.
    web_config(app.settings.web, host, port=port, workers=workers)
    _check_schema(app)
    try:
        webhook_secret(app.settings)
    except ConfigurationError as exc:
        click.echo(f"warning: Stripe webhooks are refused (503) until configured: {exc}", err=True)
    options: dict[str, Any] = dict(host=host, port=port, log_level=log_level, access_log=not no_access_log)
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


