"""Settings from `anbi.toml` (or the file in `$ANBI_CONFIG`) and the environment,
typed and checked when they are read.

Every section the code reads is a frozen dataclass below (`settings.smtp.port`,
`settings.sepa.lead_days`, ...). `load_settings` reads the file and the environment
and checks every section at once, when a command or the web service starts: an
unknown section or key (a typo) and a value of the wrong kind stop it with one line
naming the file or variable, the section and the key:

    anbi.toml [smtp] prot: unknown setting (did you mean port?)
    $ANBI_SEPA_LEAD_DAYS [sepa] lead_days must be a whole number, not 'twee'

A value a command needs and nobody gave (the SMTP host to send mail, the creditor's
IBAN for a SEPA batch) is still said by that command: settings for what a charity
does not use may be left out.

Environment variables override single values: `ANBI_DATABASE_URL`, and for a value in
a section `ANBI_<SECTION>_<KEY>` (`ANBI_STRIPE_API_KEY`, `ANBI_ORGANISATION_RSIN`,
`ANBI_SMTP_PASSWORD`, ...), checked as the file is. An empty value counts as not
set. Secrets never have defaults in code.
"""
from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Self

from anbi.core import identifiers
from anbi.core.db import DEFAULT_DATABASE_URL
from anbi.core.errors import ConfigurationError

# The defaults and limits of the settings, which the code reading them shares.
STRIPE_RETRIES = 2
DEFAULT_LEAD_DAYS = 1
DEFAULT_EXPIRY_MONTHS = 36               # SEPA rulebook: a mandate unused this long has expired
DEFAULT_MAX_FAILURES = 3
MIN_SECRET_KEY_LENGTH = 32               # the message has always asked for 32
TLS_MODES = ("false", "starttls", "ssl")
ODOO_PROTOCOLS = ("json2", "jsonrpc")
ODOO_TIMEOUT = 60.0
ODOO_RETRIES = 3
ON_LOCK_DATE = ("stop", "report")
DEFAULT_BATCH_SIZE = 100
DEFAULT_PARTNER_BATCH_SIZE = 1000
MAX_BATCH_SIZE = 5000
DEFAULT_RETENTION_YEARS = 7              # art. 52 AWR
# RJ 650's income lines (fundraising.income.INCOME_LINES, which a test holds this to):
# each may have its own account in [odoo.accounts] as `income.<line>`.
INCOME_LINES = ("private_individuals", "companies", "lotteries", "government_grants", "related_nonprofits",
                "other_nonprofits", "goods_and_services")
ODOO_ACCOUNT_KEYS = ("bank", "stripe_clearing", "stripe_fees", *(f"income.{line}" for line in INCOME_LINES))

TRUE_WORDS = {"1", "true", "yes", "on", "ja"}
FALSE_WORDS = {"0", "false", "no", "off", "nee"}

# A reader turns one raw value (a TOML value, or an environment variable's text) into
# the typed value, or raises ValueError with what is wrong, in words that follow
# "[section] " (they name the key).
Reader = Callable[[str, Any], Any]


class SubTableProblem(ValueError):
    """What is wrong in a table under a section (`[odoo.accounts]`), in words that
    name that table themselves."""


def _text(key: str, raw: Any, *, strip: bool = True) -> str:
    if isinstance(raw, (bool, dict, list)):
        raise ValueError(f"{key} must be text, not {raw!r}")
    text = str(raw)
    return text.strip() if strip else text


def text(key: str, raw: Any) -> str:
    return _text(key, raw)


def secret(key: str, raw: Any) -> str:
    """A password: taken as it is written, spaces and all."""
    return _text(key, raw, strip=False)


def whole(minimum: int, maximum: int | None = None, *, wrong: str, below: str | None = None) -> Reader:
    """A whole number from `minimum` (to `maximum`); `wrong` and `below` are the
    messages (with {key} and {raw}) for what is no such number and for one too small."""
    def read(key: str, raw: Any) -> int:
        if isinstance(raw, bool):
            number = None
        elif isinstance(raw, int):
            number = raw
        else:
            try:
                number = int(str(raw).strip())
            except ValueError:
                number = None
        if number is None or (maximum is not None and number > maximum) or (number < minimum and below is None):
            raise ValueError(wrong.format(key=key, raw=raw))
        if number < minimum:
            raise ValueError(below.format(key=key, raw=raw))
        return number
    return read


def boolean(key: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{key} must be true or false, not {raw!r}")


def choice(options: tuple[str, ...], wrong: str) -> Reader:
    def read(key: str, raw: Any) -> str:
        # TOML's `tls = false` is the word "false".
        word = ("true" if raw else "false") if isinstance(raw, bool) else str(raw).strip().lower()
        if word not in options:
            raise ValueError(wrong.format(key=key, raw=word))
        return word
    return read


def checked(check: Callable[[str], str]) -> Reader:
    """An identifier checked by anbi.core.identifiers (its message names it)."""
    def read(key: str, raw: Any) -> str:
        return check(_text(key, raw))
    return read


def address(example: str, *, root: bool = False) -> Reader:
    """An http(s) address, without a trailing slash; `root`: without a path too."""
    def read(key: str, raw: Any) -> str:
        value = _text(key, raw).rstrip("/")
        parts = urllib.parse.urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{key} {value!r} must look like {example}")
        if root and parts.path.strip("/"):
            raise ValueError(f"{key} {value!r} must be the server's root, without a path")
        return value
    return read


def base_url(key: str, raw: Any) -> str:
    value = _text(key, raw).rstrip("/")
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"{key} {value!r} is not an address like https://crm.voorbeeld.example")
    return value


def secret_key(key: str, raw: Any) -> str:
    value = _text(key, raw)
    if len(value) < MIN_SECRET_KEY_LENGTH:
        raise ValueError(f"{key} is too short ({len(value)} characters): "
                         f"use at least {MIN_SECRET_KEY_LENGTH} random characters")
    return value


def seconds(key: str, raw: Any) -> float:
    try:
        number = None if isinstance(raw, bool) else float(str(raw).strip())
    except ValueError:
        number = None
    if number is None or not number > 0 or number == float("inf"):
        raise ValueError(f"{key} must be a number of seconds above 0, not {raw!r}")
    return number


def account_codes(key: str, raw: Any) -> Mapping[str, str]:
    """`[odoo.accounts]` flattened: {"bank": "101401", "income.private_individuals": "400100", ...}.
    The income lines may be written as a table (`income.companies = ...` in TOML) or as
    quoted keys with a dot; an unknown kind of booking is refused."""
    if not isinstance(raw, dict):
        raise ValueError("accounts must be a table of account codes: [odoo.accounts]")
    flat: dict[str, str] = {}
    for name, value in raw.items():
        pairs = [(f"{name}.{sub}", code) for sub, code in value.items()] if isinstance(value, dict) else [(name, value)]
        for account, code in pairs:
            if account not in ODOO_ACCOUNT_KEYS:
                raise SubTableProblem(f"[odoo.accounts] {_unknown('odoo.accounts', account, ODOO_ACCOUNT_KEYS)}")
            if isinstance(code, (bool, dict, list)) or not str(code).strip():
                raise SubTableProblem(f"[odoo.accounts] {account} must be an account code, not {code!r}")
            flat[account] = str(code).strip()
    return MappingProxyType(flat)


def setting(default: Any, reader: Reader, *, hidden: bool = False) -> Any:
    """A key of a section; `hidden`: a secret, left out of the section's repr (a log
    line or a traceback showing the settings must not show it)."""
    return field(default=default, metadata={"read": reader}, repr=not hidden)


# --------------------------------------------------------------------------- sections


class Section:
    """A `[section]` of the settings: a frozen dataclass whose fields are its keys,
    each read by the reader in its metadata."""

    section: ClassVar[str]

    @classmethod
    def read(cls, values: Mapping[str, Any], sources: Mapping[str, str] | None = None) -> tuple[Self, list[str]]:
        """The section from raw values, and every problem with them (a wrong value
        leaves its default). `sources` names where each key came from (the file or
        the environment variable), for the messages."""
        readers = {f.name: f.metadata["read"] for f in dataclasses.fields(cls) if "read" in f.metadata}
        kwargs: dict[str, Any] = {}
        problems: list[str] = []
        for key, raw in values.items():
            where = f"{sources[key]} " if sources and key in sources else ""
            if key not in readers:
                problems.append(f"{where}[{cls.section}] {_unknown(cls.section, key, tuple(readers))}")
                continue
            if isinstance(raw, str) and not raw.strip() and readers[key] is not secret:
                continue   # empty: not set
            try:
                kwargs[key] = readers[key](key, raw)
            except SubTableProblem as exc:
                problems.append(f"{where}{exc}")
            except ValueError as exc:
                problems.append(f"{where}[{cls.section}] {exc}")
        return cls(**kwargs), problems

    @classmethod
    def of(cls, values: Self | Mapping[str, Any]) -> Self:
        """The section itself, or read from raw values (a test's, a benchmark's) and
        checked as `load_settings` checks them."""
        if isinstance(values, cls):
            return values
        section, problems = cls.read(values)
        if problems:
            raise ConfigurationError("; ".join(problems))
        return section

    @classmethod
    def needing(cls, values: Self | Mapping[str, Any], *keys: str) -> tuple[Self, list[str], list[str]]:
        """For the code that needs some keys (a SEPA batch, sending mail): the
        section, the problems of raw values (none for a section read already) and
        which of `keys` nobody gave, so that it can name them all at once."""
        if isinstance(values, cls):
            section, problems, raw = values, [], {}
        else:
            (section, problems), raw = cls.read(values), values
        missing = [key for key in keys if not getattr(section, key) and not str(raw.get(key) or "").strip()]
        return section, problems, missing


def _unknown(section: str, key: str, known: tuple[str, ...]) -> str:
    nearest = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if nearest:
        return f"{key}: unknown setting (did you mean {nearest[0]}?)"
    return f"{key}: unknown setting (the settings of [{section}] are {', '.join(known)})"


@dataclass(frozen=True)
class Organisation(Section):
    """The charity's identity as printed on every receipt: `[organisation]`, whose
    name and RSIN are required when it is there."""

    section: ClassVar[str] = "organisation"
    name: str = setting("", text)
    rsin: str = setting("", checked(identifiers.rsin))
    address: str = setting("", text)
    website: str = setting("", text)


@dataclass(frozen=True)
class StripeSection(Section):
    """`[stripe]`: online gifts (fundraising.stripe)."""

    section: ClassVar[str] = "stripe"
    api_key: str = setting("", text, hidden=True)
    webhook_secret: str = setting("", text, hidden=True)
    api_base: str = setting("", address("https://api.stripe.com"))
    max_network_retries: int = setting(STRIPE_RETRIES, whole(0, wrong="{key} must be a whole number, not {raw!r}"))


@dataclass(frozen=True)
class SepaSection(Section):
    """`[sepa]`: the charity as creditor of direct debits (exports.sepa); the four
    identity values are required by `anbi sepa batch`, checked when given."""

    section: ClassVar[str] = "sepa"
    creditor_id: str = setting("", checked(identifiers.creditor_id))
    name: str = setting("", text)
    iban: str = setting("", checked(identifiers.iban))
    bic: str = setting("", checked(identifiers.bic))
    lead_days: int = setting(DEFAULT_LEAD_DAYS, whole(0, wrong="{key} must be a whole number, not {raw!r}",
                                                      below="{key} must not be negative"))
    mandate_expiry_months: int = setting(DEFAULT_EXPIRY_MONTHS, whole(
        0, wrong="{key} must be a whole number, not {raw!r}", below="{key} must not be negative"))
    first_as_frst: bool = setting(False, boolean)
    max_failures: int = setting(DEFAULT_MAX_FAILURES, whole(
        1, wrong="{key} must be a whole number of at least 1, not {raw!r}"))


@dataclass(frozen=True)
class WebSection(Section):
    """`[web]`: `anbi serve` (anbi.web.security decides what serving needs)."""

    section: ClassVar[str] = "web"
    secret_key: str = setting("", secret_key, hidden=True)
    base_url: str = setting("", base_url)
    secure_cookies: bool | None = setting(None, boolean)   # None: decided by the address served
    receipts_dir: str = setting("receipts", text)
    upload_dir: str = setting("", text)


@dataclass(frozen=True)
class SmtpSection(Section):
    """`[smtp]`: e-mail (exports.receipt_delivery); host and sender are required to send."""

    section: ClassVar[str] = "smtp"
    host: str = setting("", text)
    port: int | None = setting(None, whole(1, 65535, wrong="{key} {raw!r} is not a number from 1 to 65535"))
    tls: str = setting("false", choice(TLS_MODES, "{key} must be one of " + ", ".join(TLS_MODES) + ", not {raw!r}"))
    user: str = setting("", text)
    password: str = setting("", secret, hidden=True)
    sender: str = setting("", text)

    @property
    def port_or_default(self) -> int:
        """The port given, else SMTP's usual one for the TLS mode."""
        return self.port or (465 if self.tls == "ssl" else 25)


@dataclass(frozen=True)
class OdooSection(Section):
    """`[odoo]` and `[odoo.accounts]`: the ledger in Odoo (exports.odoo); without a
    url nothing is synced."""

    section: ClassVar[str] = "odoo"
    url: str = setting("", address("https://odoo.example", root=True))
    database: str = setting("", text)
    protocol: str = setting("json2", choice(
        ODOO_PROTOCOLS, "{key} must be json2 (Odoo 19+) or jsonrpc (Odoo 17-18), not {raw!r}"))
    login: str = setting("", text)
    api_key: str = setting("", text, hidden=True)
    timeout: float = setting(ODOO_TIMEOUT, seconds)
    retries: int = setting(ODOO_RETRIES, whole(0, wrong="{key} must be a whole number, not {raw!r}"))
    journal: str = setting("", text)
    ref_prefix: str = setting("anbi", text)
    batch_size: int = setting(DEFAULT_BATCH_SIZE, whole(
        1, MAX_BATCH_SIZE, wrong="{key} must be a whole number from 1 to " + str(MAX_BATCH_SIZE) + ", not {raw!r}"))
    partner_batch_size: int = setting(DEFAULT_PARTNER_BATCH_SIZE, whole(
        1, MAX_BATCH_SIZE, wrong="{key} must be a whole number from 1 to " + str(MAX_BATCH_SIZE) + ", not {raw!r}"))
    on_lock_date: str = setting("stop", choice(ON_LOCK_DATE, '{key} must be "stop" or "report", not {raw!r}'))
    accounts: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), metadata={"read": account_codes})


@dataclass(frozen=True)
class PrivacySection(Section):
    """`[privacy]`: how long financial records are kept after an erasure (donors.privacy)."""

    section: ClassVar[str] = "privacy"
    retention_years: int = setting(DEFAULT_RETENTION_YEARS, whole(
        1, wrong="{key} must be a whole number of years, at least 1, not {raw!r}"))


SECTIONS: dict[str, type[Section]] = {cls.section: cls for cls in (
    Organisation, StripeSection, SepaSection, WebSection, SmtpSection, OdooSection, PrivacySection)}
TOP_LEVEL_KEYS = ("database_url",)


def _organisation(section: Organisation, problems: list[str], where: str = "") -> Organisation | None:
    """[organisation] when it is there, which then needs a name and an RSIN."""
    if section == Organisation():
        return None
    if not section.name:
        problems.append(f"{where}[organisation] name is required")
    if not section.rsin:
        try:
            identifiers.rsin("")
        except ValueError as exc:
            problems.append(f"{where}[organisation] {exc}")
    return section


@dataclass(frozen=True)
class Settings:
    """What anbi runs with. Made by `load_settings`; a test or a benchmark may make
    one from raw `sections` ({"smtp": {"host": ...}}), checked the same way."""

    database_url: str = DEFAULT_DATABASE_URL
    organisation: Organisation | None = None
    stripe: StripeSection = field(default_factory=StripeSection)
    sepa: SepaSection = field(default_factory=SepaSection)
    web: WebSection = field(default_factory=WebSection)
    smtp: SmtpSection = field(default_factory=SmtpSection)
    odoo: OdooSection = field(default_factory=OdooSection)
    privacy: PrivacySection = field(default_factory=PrivacySection)
    sections: InitVar[Mapping[str, Mapping[str, Any]] | None] = None

    def __post_init__(self, sections: Mapping[str, Mapping[str, Any]] | None) -> None:
        if not sections:
            return
        problems: list[str] = []
        for name, values in sections.items():
            if name not in SECTIONS:
                problems.append(_unknown_section(name))
                continue
            section, found = SECTIONS[name].read(values)
            problems += found
            if name == "organisation":
                if self.organisation is None:
                    object.__setattr__(self, "organisation", _organisation(section, problems))
            else:
                object.__setattr__(self, name, section)
        if problems:
            raise ConfigurationError("; ".join(problems))

    def require_organisation(self) -> Organisation:
        if self.organisation is None:
            raise ConfigurationError(
                "no [organisation] in anbi.toml: name and RSIN are required to issue statements"
            )
        return self.organisation

    @property
    def retention_years(self) -> int:
        return self.privacy.retention_years


def _unknown_section(name: str, where: str = "") -> str:
    nearest = difflib.get_close_matches(name, list(SECTIONS), n=1, cutoff=0.6)
    hint = f"did you mean [{nearest[0]}]?" if nearest else "the sections are " + ", ".join(f"[{n}]" for n in SECTIONS)
    return f"{where}[{name}]: unknown section ({hint})"


def _top_level_hint(key: str) -> str:
    owners = [name for name, cls in SECTIONS.items() if key in {f.name for f in dataclasses.fields(cls)}]
    if owners:
        return f"it is a setting of [{owners[0]}]: write it under that heading"
    nearest = difflib.get_close_matches(key, TOP_LEVEL_KEYS, n=1, cutoff=0.6)
    if nearest:
        return f"did you mean {nearest[0]}?"
    return "every setting but database_url belongs under a [section] heading"


def load_settings(
    config_path: str | os.PathLike | None = None,
    environ: Mapping[str, str] | None = None,
    database_url: str | None = None,
) -> Settings:
    """Read and check the settings; `database_url` (the CLI's --database-url) beats
    everything. Every problem is in the one ConfigurationError raised."""
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

    problems: list[str] = []
    values: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    sources: dict[str, dict[str, str]] = {name: {} for name in SECTIONS}
    for key, value in raw.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                problems.append(f"{path}: [{key}] must be a table")
                continue
            values[key] = dict(value)
            sources[key] = {name: str(path) for name in value}
        elif key not in TOP_LEVEL_KEYS:
            if isinstance(value, dict):
                problems.append(_unknown_section(key, f"{path} "))
            else:
                problems.append(f"{path} {key}: unknown setting ({_top_level_hint(key)})")
    for variable, value in env.items():
        for name in SECTIONS:
            prefix = f"ANBI_{name.upper()}_"
            if variable.startswith(prefix):
                key = variable[len(prefix):].lower()
                values[name][key] = value
                sources[name][key] = f"${variable}"

    url = database_url or env.get("ANBI_DATABASE_URL") or raw.get("database_url") or DEFAULT_DATABASE_URL
    if not isinstance(url, str):
        problems.append(f"{path} database_url must be text, like sqlite:///anbi.db")
        url = DEFAULT_DATABASE_URL
    sections: dict[str, Any] = {}
    for name, cls in SECTIONS.items():
        section, found = cls.read(values[name], sources[name])
        problems += found
        sections[name] = section
    organisation = _organisation(sections.pop("organisation"), problems, where=f"{path} ")
    if problems:
        raise ConfigurationError("; ".join(problems))
    return Settings(database_url=url, organisation=organisation, **sections)
