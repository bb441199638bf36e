"""Settings from `anbi.toml` (or the file in `$ANBI_CONFIG`) and the environment.

Environment variables override single values: `ANBI_DATABASE_URL`, and for a value in
a section `ANBI_<SECTION>_<KEY>` (`ANBI_STRIPE_API_KEY`, `ANBI_ORGANISATION_RSIN`,
`ANBI_SMTP_PASSWORD`, ...). Secrets never have defaults in code.
"""
from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anbi.core import identifiers
from anbi.core.db import DEFAULT_DATABASE_URL
from anbi.core.errors import ConfigurationError

SECTIONS = ("organisation", "stripe", "sepa", "odoo", "smtp", "privacy", "web")


@dataclass(frozen=True)
class Organisation:
    """The charity's identity as printed on every receipt."""

    name: str
    rsin: str
    address: str = ""
    website: str = ""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    organisation: Organisation | None = None
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def section(self, name: str) -> Mapping[str, Any]:
        """The raw values of one `[section]`, environment overrides applied."""
        return self.sections.get(name, {})

    def require_organisation(self) -> Organisation:
        if self.organisation is None:
            raise ConfigurationError(
                "no [organisation] in anbi.toml: name and RSIN are required to issue statements"
            )
        return self.organisation

    @property
    def retention_years(self) -> int:
        return int(self.section("privacy").get("retention_years", 7))


def load_settings(
    config_path: str | os.PathLike | None = None,
    environ: Mapping[str, str] | None = None,
    database_url: str | None = None,
) -> Settings:
    """Read settings; `database_url` (the CLI's --database-url) beats everything."""
    env = os.environ if environ is None else environ
    path = Path(config_path or env.get("ANBI_CONFIG") or "anbi.toml")
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"{path}: not valid TOML ({exc})") from None
    elif config_path or env.get("ANBI_CONFIG"):
        raise ConfigurationError(f"config file {path} does not exist")

    sections: dict[str, dict[str, Any]] = {}
    for name in SECTIONS:
        value = raw.get(name, {})
        if not isinstance(value, dict):
            raise ConfigurationError(f"{path}: [{name}] must be a table")
        sections[name] = dict(value)
    prefix_map = {f"ANBI_{name.upper()}_": name for name in SECTIONS}
    for key, value in env.items():
        for prefix, name in prefix_map.items():
            if key.startswith(prefix):
                sections[name][key[len(prefix):].lower()] = value

    url = database_url or env.get("ANBI_DATABASE_URL") or raw.get("database_url") or DEFAULT_DATABASE_URL
    return Settings(database_url=url, organisation=_organisation(sections["organisation"]), sections=sections)


def _organisation(values: Mapping[str, Any]) -> Organisation | None:
    if not values:
        return None
    name = str(values.get("name", "")).strip()
    if not name:
        raise ConfigurationError("[organisation] name is required")
    try:
        rsin = identifiers.rsin(str(values.get("rsin", "")))
    except ValueError as exc:
        raise ConfigurationError(f"[organisation] {exc}") from None
    return Organisation(
        name=name,
        rsin=rsin,
        address=str(values.get("address", "")).strip(),
        website=str(values.get("website", "")).strip(),
    )
