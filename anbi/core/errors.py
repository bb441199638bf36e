"""The error family every package extends.

Domain code raises these with the facts as attributes; the CLI turns them into one
line on stderr and a non-zero exit, the web app into an HTTP status. No HTTP codes
or exit codes live in domain code.
"""
from __future__ import annotations

from dataclasses import dataclass


class AnbiError(Exception):
    """Base of every error anbi-crm reports to a person."""


class NotFound(AnbiError):
    """A record named by the user does not exist."""


class Conflict(AnbiError):
    """The request is valid but the current state refuses it (a guarded transition)."""


class ConfigurationError(AnbiError):
    """Settings are missing or wrong."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with outside input: where, which field, and why."""

    line: int | None
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(f"column {self.field}" if self.line is not None else self.field)
        return f"{', '.join(where)}: {self.reason}" if where else self.reason

    def as_dict(self) -> dict:
        return {"line": self.line, "field": self.field, "reason": self.reason}


class InvalidInput(AnbiError):
    """Outside input failed validation; `problems` lists every problem at once."""

    def __init__(self, problems: list[Problem], source: str | None = None):
        self.problems = list(problems)
        self.source = source
        first = str(self.problems[0]) if self.problems else "invalid input"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{source + ': ' if source else ''}{first}{more}")
