"""`anbi users ...`: the people who sign in to the web application.

A password is read from a prompt (asked twice) or, for scripts, from standard input
with --password-stdin; it is never an option, so it does not end up in the shell's
history or the process list."""
from __future__ import annotations

import sys

import click

from anbi.core.errors import AnbiError
from anbi.core.roles import ROLES


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
    from anbi.web.users import create_user

    password = _read_password(password_stdin)
    with app.session() as session:
        user = create_user(session, email, role, password, actor=app.actor)
        document = {"email": user.email, "role": user.role, "active": user.active}
    if as_json:
        from anbi.cli import print_json

        print_json(document)
    else:
        click.echo(f"User {document['email']} created with role {document['role']}.")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the users as a JSON list.")
@click.pass_obj
def list_command(app, as_json: bool) -> None:
    """Every user with role, whether active, and when they last signed in."""
    from anbi.web.users import list_users

    with app.session() as session:
        rows = [{"email": u.email, "role": u.role, "active": u.active,
                 "last_login": u.last_login_at.isoformat() if u.last_login_at else None} for u in list_users(session)]
    if as_json:
        from anbi.cli import print_json

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
    from anbi.web.users import set_password

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
    from anbi.web.users import set_active

    with app.session() as session:
        user = set_active(session, email, False, actor=app.actor)
        address = user.email
    click.echo(f"User {address} can no longer sign in.")


@users.command("activate")
@click.argument("email")
@click.pass_obj
def activate(app, email: str) -> None:
    """Let a deactivated user sign in again."""
    from anbi.web.users import set_active

    with app.session() as session:
        user = set_active(session, email, True, actor=app.actor)
        address = user.email
    click.echo(f"User {address} can sign in again.")
