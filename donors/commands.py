"""`anbi donors ...` and `anbi privacy ...`: the command-line edge of the donors package.

Commands parse options, open one session, call the services and print. They hold
no rules of their own."""
from __future__ import annotations

import click


@click.group()
def donors() -> None:
    """Persons and organisations who give: import, list, duplicates, privacy."""


@click.group()
def privacy() -> None:
    """AVG/GDPR housekeeping: pseudonymise what has passed its retention period."""
