"""`anbi users ...` and `anbi tokens ...`: the people who sign in to the web
application, and the API tokens programs use.

A password is read from a prompt (asked twice) or, for scripts, from standard input
with --password-stdin; it is never an option, so it does not end up in the shell's
history or the process list."""
from __future__ import annotations

import sys

import click

from anbi.core.errors import AnbiError
from anbi.core.roles import ROLES
from anbi.core.cli_options import print_json


@click.group()
def users() -> None:
    """People who sign in to the web application, and their roles."""


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise AnbiError("no password on standard input")
        return password
    return click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="admin: everything; fundraiser: donors, gifts, campaigns, statements; finance: grants, costs, "
                   "finance reports, statements, ledger; viewer: read only, no IBANs, no exports.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--json", "as_json", is_flag=True, help="Print the new user as JSON.")
@click.pass_obj
def create(app, email: str, role: str, password_stdin: bool, as_json: bool) -> None:
    """Create a user who signs in with EMAIL. The password (at least 12 characters)
    is asked twice, or read with --password-stdin."""
    from anbi.web.identity.users import create_user

    password = _read_password(password_stdin)
    with app.session() as session:
        user = create_user(session, email, role, password, actor=app.actor)
        document = {"email": user.email, "role": user.role, "active": user.active}
    if as_json:
        print_json(document)
    else:
        click.echo(f"User {document['email']} created with role {document['role']}.")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the users as a JSON list.")
@click.pass_obj
def list_command(app, as_json: bool) -> None:
    """Every user with role, whether active, and when they last signed in."""
    from anbi.web.identity.users import list_users

    with app.session() as session:
        rows = [{"email": u.email, "role": u.role, "active": u.active,
                 "last_login": u.last_login_at.isoformat() if u.last_login_at else None} for u in list_users(session)]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("No users. Make one with `anbi users create EMAIL --role ROLE`.")
    for row in rows:
        state = "active" if row["active"] else "inactive"
        click.echo(f"{row['email']}\t{row['role']}\t{state}\t{row['last_login'] or 'never signed in'}")


@users.command("password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the new password from the first line of standard input.")
@click.pass_obj
def password(app, email: str, password_stdin: bool) -> None:
    """Set a new password for EMAIL; the user's open sessions end."""
    from anbi.web.identity.users import set_password

    new = _read_password(password_stdin)
    with app.session() as session:
        user = set_password(session, email, new, actor=app.actor)
        address = user.email
    click.echo(f"Password of {address} changed; open sessions ended.")


@users.command("deactivate")
@click.argument("email")
@click.pass_obj
def deactivate(app, email: str) -> None:
    """Stop EMAIL from signing in; their open sessions end at once."""
    from anbi.web.identity.users import set_active

    with app.session() as session:
        user = set_active(session, email, False, actor=app.actor)
        address = user.email
    click.echo(f"User {address} can no longer sign in.")


@users.command("activate")
@click.argument("email")
@click.pass_obj
def activate(app, email: str) -> None:
    """Let a deactivated user sign in again."""
    from anbi.web.identity.users import set_active

    with app.session() as session:
        user = set_active(session, email, True, actor=app.actor)
        address = user.email
    click.echo(f"User {address} can sign in again.")


@click.group()
def tokens() -> None:
    """API tokens: programs authenticate to the REST API with one (Authorization: Bearer)."""


@tokens.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the token may do (the roles table in DESIGN.md).")
@click.option("--name", default=None, help="What it is for, e.g. 'website donation form'.")
@click.option("--json", "as_json", is_flag=True, help="Print the token and its details as JSON.")
@click.pass_obj
def tokens_create(app, role: str, name: str | None, as_json: bool) -> None:
    """Make a token. It is printed once: only its SHA-256 digest is stored."""
    from anbi.web.identity.tokens import create_token, token_json

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
def tokens_list(app, include_revoked: bool, as_json: bool) -> None:
    """The tokens by id, with their prefix (never the token), role and last use."""
    from anbi.web.identity.tokens import list_tokens, token_json

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
def tokens_revoke(app, token: str) -> None:
    """Revoke TOKEN (its id or the prefix shown by `anbi tokens list`): it stops working at once."""
    from anbi.web.identity.tokens import revoke_token

    with app.session() as session:
        revoked = revoke_token(session, token, actor=app.actor)
        click.echo(f"Token {revoked.id} ({revoked.name}) revoked.")
