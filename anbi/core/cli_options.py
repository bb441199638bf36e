"""What every package's commands share: printing `--json`, reading an option's
value so that a bad one becomes one clear line naming the option (exit 1), and
asking before what cannot be undone (`--yes`)."""
from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar, overload

import click

from anbi.core.clock import FIRST_YEAR, LAST_YEAR, parse_date
from anbi.core.errors import AnbiError, InvalidInput, Problem
from anbi.core.money import MoneyError, parse_money

T = TypeVar("T")

# The calendar years a command may be asked about (`--year`): those a date may fall in.
YEAR = click.IntRange(FIRST_YEAR, LAST_YEAR)


def print_json(document: Any) -> None:
    click.echo(json.dumps(document, ensure_ascii=False, indent=2))


def cut(text: str | None, width: int) -> str:
    """`text` in at most `width` characters for a column of a listing, ending in an
    ellipsis where it was cut, so that a reader sees that there is more."""
    text = text or ""
    return text if len(text) <= width else text[:width - 1] + "…"


@overload
def option_value(value: str, option: str, convert: Callable[[str], T]) -> T: ...
@overload
def option_value(value: str | None, option: str, convert: Callable[[str], T]) -> T | None: ...
def option_value(value: str | None, option: str, convert: Callable[[str], T]) -> T | None:
    """Read an option's value, or raise InvalidInput naming the option (one line, exit 1)."""
    if value is None:
        return None
    try:
        return convert(value)
    except (ValueError, MoneyError) as exc:
        raise InvalidInput([Problem(None, option, str(exc))]) from None


def date_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    """A date option's value (`callback=date_callback`: 2025-03-01 or 01-03-2025); a bad
    one is click's usage error naming the option (exit 2)."""
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def euro_cents(text: str, what: str) -> int:
    """An amount in euro as cents; `what` names the records for the message ("grants")."""
    money = parse_money(text)
    if money.currency != "EUR":
        raise ValueError(f"{text!r}: {what} are in euro")
    return money.cents


# `--yes` on every command that cannot be undone.
YES = click.option("--yes", "-y", "yes", is_flag=True, help="Do it without asking (needed where no terminal can answer).")


class NotConfirmed(AnbiError):
    """A command that cannot be undone was not confirmed; nothing was changed."""


def on_a_terminal() -> bool:
    """Whether a person can answer a question: standard input is a terminal."""
    return sys.stdin.isatty()


def confirm_irreversible(question: str, *, yes: bool, what: str) -> None:
    """Ask `question` on a terminal before doing something that cannot be undone;
    `yes` (the `--yes` option) answers for the person. Without a terminal and without
    `--yes`, refuse: a script must say so. Raises NotConfirmed (one line, exit 1)."""
    if yes:
        return
    if not on_a_terminal():
        raise NotConfirmed(f"{what} cannot be undone: run it on a terminal to be asked, or add --yes; nothing was changed")
    if not click.confirm(f"{question} This cannot be undone.", default=False, err=True):
        raise NotConfirmed("not confirmed: nothing was changed")
