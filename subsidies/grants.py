"""Grants: reading a grant file, adding it once, listing grants, their deadlines and
their guarded lifecycle (applied → awarded → running → reported → settled → closed).

The grant file (TOML, the format in issue 5) is checked whole by `parse_grant_file`,
a plain function that reports every problem with the field it is about; `add_grant`
writes it. A grant decision is never edited by re-adding its file: the same content
again is a no-op, other content under the same reference is refused.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from anbi.core import audit, clock
from anbi.core.calendar import anniversary
from anbi.core.clock import parse_date
from anbi.core.importing import MAX_WHOLE
from anbi.core.errors import InvalidInput, Problem
from anbi.core.money import MoneyError, cents_to_str, parse_money
from fundraising.models import Fund
from subsidies.accountability import DEFAULT_ALLOWED_SHIFT, accountability_level
from anbi.core.spelling import other_case
from subsidies.errors import GrantBalanceOpen, GrantConflict, GrantNotFound, GrantTransitionRefused
from subsidies.models import (
    ACCOUNTABILITY_LEVELS,
    FUNDER_TYPES,
    GRANT_KINDS,
    BudgetLine,
    Funder,
    Grant,
    GrantPayment,
    Indicator,
)

REQUIRED_FIELDS = ("reference", "title", "funder", "funder_type", "kind", "start", "end", "awarded")
OPTIONAL_FIELDS = (
    "funding_rate", "indirect_rate", "indirect_base", "hours_per_year", "report_due", "settlement_due",
    "accountability", "allowed_shift", "fund", "restricted", "status", "budget", "indicators", "odoo",
)
# A grant file may describe a grant still being applied for; by default it is awarded.
INITIAL_STATUSES = ("applied", "awarded")
# Rates beyond four decimals (0.01%) are refused: no grant decision is that precise,
# and the XLSX formulas stay exact within a spreadsheet's 15 digits.
MAX_RATE_DECIMALS = 4
MAX_HOURS_PER_YEAR = 8784  # 366 days × 24 hours


@dataclass(frozen=True)
class BudgetLineSpec:
    code: str
    name: str
    amount_cents: int


@dataclass(frozen=True)
class IndicatorSpec:
    code: str
    name: str
    target: int


@dataclass(frozen=True)
class GrantSpec:
    """A grant as its file describes it, with the defaults applied."""

    reference: str
    title: str
    funder: str
    funder_type: str
    kind: str
    start: dt.date
    end: dt.date
    awarded_cents: int
    funding_rate: Decimal
    indirect_rate: Decimal | None
    indirect_base: str
    hours_per_year: int | None
    report_due: dt.date | None
    settlement_due: dt.date | None
    accountability: str | None
    allowed_shift: Decimal
    fund: str | None            # the earmarked fund's code; None for an unrestricted grant
    restricted: bool
    status: str
    budget: tuple[BudgetLineSpec, ...]
    indicators: tuple[IndicatorSpec, ...]
    odoo_budget_lines: tuple[tuple[str, str], ...]

    def canonical(self) -> dict[str, Any]:
        """The content as plain JSON values: what the content hash is taken over."""

        def day(value: dt.date | None) -> str | None:
            return value.isoformat() if value else None

        def rate(value: Decimal | None) -> str | None:
            return None if value is None else decimal_text(value)

        return {
            "reference": self.reference,
            "title": self.title,
            "funder": self.funder,
            "funder_type": self.funder_type,
            "kind": self.kind,
            "start": day(self.start),
            "end": day(self.end),
            "awarded": cents_to_str(self.awarded_cents),
            "funding_rate": rate(self.funding_rate),
            "indirect_rate": rate(self.indirect_rate),
            "indirect_base": self.indirect_base,
            "hours_per_year": self.hours_per_year,
            "report_due": day(self.report_due),
            "settlement_due": day(self.settlement_due),
            "accountability": self.accountability,
            "allowed_shift": rate(self.allowed_shift),
            "fund": self.fund,
            "restricted": self.restricted,
            "budget": [[b.code, b.name, cents_to_str(b.amount_cents)] for b in self.budget],
            "indicators": [[i.code, i.name, i.target] for i in self.indicators],
            "odoo_budget_lines": sorted([list(pair) for pair in self.odoo_budget_lines]),
        }

    def content_hash(self) -> str:
        text = json.dumps(self.canonical(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def decimal_text(value: Decimal) -> str:
    """0.750 -> "0.75", 1 -> "1": the plain text of an exact rate."""
    text = format(value.normalize(), "f")
    return text


# ---------------------------------------------------------------------------
# Reading a grant file (pure)
# ---------------------------------------------------------------------------


class _Reader:
    """Reads typed values from a TOML table, collecting problems by field path."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems

    def fail(self, field: str, reason: str) -> None:
        self.problems.append(Problem(None, field, reason))

    def text(self, table: dict, key: str, path: str, *, required: bool = False, max_length: int = 200) -> str | None:
        if key not in table:
            if required:
                self.fail(path, "is required")
            return None
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(path, "must be a non-empty text in quotes")
            return None
        value = value.strip()
        if len(value) > max_length:
            self.fail(path, f"is longer than {max_length} characters")
            return None
        return value

    def choice(self, table: dict, key: str, path: str, choices: Iterable[str], *, required: bool = False) -> str | None:
        value = self.text(table, key, path, required=required)
        choices = tuple(choices)
        if value is not None and value not in choices:
            self.fail(path, f"{value!r} is not one of {', '.join(choices)}")
            return None
        return value

    def date(self, table: dict, key: str, path: str, *, required: bool = False) -> dt.date | None:
        if key not in table:
            if required:
                self.fail(path, "is required")
            return None
        value = table[key]
        if isinstance(value, dt.datetime):
            self.fail(path, "must be a date without a time, e.g. 2025-03-01")
            return None
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return parse_date(value)
            except ValueError as exc:
                self.fail(path, str(exc))
                return None
        self.fail(path, "must be a date, e.g. 2025-03-01")
        return None

    def money(self, table: dict, key: str, path: str, *, required: bool = False) -> int | None:
        if key not in table:
            if required:
                self.fail(path, "is required")
            return None
        value = table[key]
        if isinstance(value, bool):
            self.fail(path, "must be an amount, e.g. \"400000.00\"")
            return None
        if isinstance(value, (int, Decimal)):
            number = Decimal(value)
            if number < 0:
                self.fail(path, f"{value} is negative; a positive amount is required")
                return None
            cents = number * 100
            if cents != cents.to_integral_value():
                self.fail(path, f"{value} has more than two decimals (less than a cent)")
                return None
            return int(cents)
        if isinstance(value, str):
            try:
                amount = parse_money(value)
            except MoneyError as exc:
                self.fail(path, str(exc))
                return None
            if amount.currency != "EUR":
                self.fail(path, f"only euro amounts are accepted, not {amount.currency}")
                return None
            return amount.cents
        self.fail(path, "must be an amount, e.g. \"400000.00\"")
        return None

    def rate(self, table: dict, key: str, path: str, *, allow_zero: bool) -> Decimal | None:
        if key not in table:
            return None
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            self.fail(path, "must be a rate, e.g. \"0.75\" for 75%")
            return None
        try:
            number = Decimal(str(value).strip().replace(",", "."))
        except ArithmeticError:
            self.fail(path, f"{value!r} is not a rate, e.g. \"0.75\" for 75%")
            return None
        if not number.is_finite():
            self.fail(path, f"{value!r} is not a rate")
            return None
        if number > 1 or number < 0 or (number == 0 and not allow_zero):
            low = "0" if allow_zero else "more than 0"
            self.fail(path, f"{value} is not a share between {low} and 1 (write 75% as \"0.75\")")
            return None
        if -int(number.as_tuple().exponent) > MAX_RATE_DECIMALS and number != number.quantize(Decimal(1).scaleb(-MAX_RATE_DECIMALS)):
            self.fail(path, f"{value} has more than {MAX_RATE_DECIMALS} decimals")
            return None
        return number

    def integer(self, table: dict, key: str, path: str, *, required: bool = False, minimum: int = 0, maximum: int | None = None) -> int | None:
        if key not in table:
            if required:
                self.fail(path, "is required")
            return None
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"{value!r} is not a whole number")
            return None
        if maximum is not None and not minimum <= value <= maximum:
            self.fail(path, f"must be at least {minimum} and at most {maximum}")
        elif value < minimum:
            self.fail(path, f"must be at least {minimum}")
        elif value > MAX_WHOLE:
            self.fail(path, f"{value} is too large")
        else:
            return value
        return None

    def boolean(self, table: dict, key: str, path: str) -> bool | None:
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, bool):
            self.fail(path, "must be true or false")
            return None
        return value

    def unknown(self, table: dict, known: Iterable[str], prefix: str = "") -> None:
        known = tuple(known)
        for key in table:
            if key not in known:
                self.fail(f"{prefix}{key}", f"unknown field; expected some of: {', '.join(known)}")


def parse_grant_file(text: str, source: str = "grant file") -> GrantSpec:
    """Check a grant file whole; raise InvalidInput naming every wrong field."""
    try:
        document = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput([Problem(None, None, f"not valid TOML: {exc}")], source) from None
    problems: list[Problem] = []
    read = _Reader(problems)
    read.unknown(document, REQUIRED_FIELDS + OPTIONAL_FIELDS)

    reference = read.text(document, "reference", "reference", required=True, max_length=50)
    title = read.text(document, "title", "title", required=True, max_length=300)
    funder = read.text(document, "funder", "funder", required=True)
    funder_type = read.choice(document, "funder_type", "funder_type", FUNDER_TYPES, required=True)
    kind = read.choice(document, "kind", "kind", GRANT_KINDS, required=True)
    start = read.date(document, "start", "start", required=True)
    end = read.date(document, "end", "end", required=True)
    awarded = read.money(document, "awarded", "awarded", required=True)
    if awarded == 0:
        read.fail("awarded", "must be more than zero")
    if start and end and end < start:
        read.fail("end", f"the grant ends ({end.isoformat()}) before it starts ({start.isoformat()})")

    funding_rate = read.rate(document, "funding_rate", "funding_rate", allow_zero=False)
    indirect_rate = read.rate(document, "indirect_rate", "indirect_rate", allow_zero=True)
    indirect_base = read.choice(document, "indirect_base", "indirect_base", ("direct", "staff", "none"))
    if "indirect_rate" in document and indirect_base == "none":
        read.fail("indirect_base", "is none, but an indirect_rate is given; say direct or staff, or leave the rate out")
    if "indirect_rate" not in document and indirect_base in ("direct", "staff"):
        read.fail("indirect_base", f"is {indirect_base}, but no indirect_rate is given")
    if indirect_rate is not None and indirect_base is None:
        indirect_base = "direct"
    hours_per_year = read.integer(document, "hours_per_year", "hours_per_year", minimum=1, maximum=MAX_HOURS_PER_YEAR)
    report_due = read.date(document, "report_due", "report_due")
    settlement_due = read.date(document, "settlement_due", "settlement_due")
    accountability = read.choice(document, "accountability", "accountability", ACCOUNTABILITY_LEVELS)
    allowed_shift = read.rate(document, "allowed_shift", "allowed_shift", allow_zero=True)
    fund = read.text(document, "fund", "fund", max_length=50)
    restricted = read.boolean(document, "restricted", "restricted")
    status = read.choice(document, "status", "status", INITIAL_STATUSES)
    if restricted is None:
        restricted = kind != "regular_contribution"
    if fund is not None and restricted is False:
        read.fail("fund", "an unrestricted grant feeds no earmarked fund; leave fund out or set restricted = true")

    budget = _parse_budget(document, read)
    indicators = _parse_indicators(document, read)
    odoo = _parse_odoo(document, read, {line.code for line in budget})

    if problems:
        raise InvalidInput(problems, source)
    # Read as required: a missing one is among the problems raised above.
    assert reference is not None and title is not None and funder is not None and funder_type is not None
    assert kind is not None and start is not None and end is not None and awarded is not None
    return GrantSpec(
        reference=reference,
        title=title,
        funder=funder,
        funder_type=funder_type,
        kind=kind,
        start=start,
        end=end,
        awarded_cents=awarded,
        funding_rate=funding_rate if funding_rate is not None else Decimal(1),
        indirect_rate=indirect_rate,
        indirect_base=indirect_base or "none",
        hours_per_year=hours_per_year,
        report_due=report_due,
        settlement_due=settlement_due,
        accountability=accountability,
        allowed_shift=allowed_shift if allowed_shift is not None else DEFAULT_ALLOWED_SHIFT,
        fund=(fund or reference) if restricted else None,
        restricted=restricted,
        status=status or "awarded",
        budget=tuple(budget),
        indicators=tuple(indicators),
        odoo_budget_lines=tuple(sorted(odoo.items())),
    )


def _tables(document: dict, key: str, read: _Reader) -> list[dict]:
    if key not in document:
        return []
    value = document[key]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        read.fail(key, f"must be a list of [[{key}]] tables")
        return []
    return value


def _parse_budget(document: dict, read: _Reader) -> list[BudgetLineSpec]:
    lines, seen = [], set()
    for number, table in enumerate(_tables(document, "budget", read), start=1):
        prefix = f"budget[{number}]."
        read.unknown(table, ("code", "name", "amount"), prefix)
        code = read.text(table, "code", prefix + "code", required=True, max_length=50)
        name = read.text(table, "name", prefix + "name", required=True)
        amount = read.money(table, "amount", prefix + "amount", required=True)
        if code is not None and code in seen:
            read.fail(prefix + "code", f"{code!r} appears twice")
            continue
        if code is not None:
            seen.add(code)
        if code and name and amount is not None:
            lines.append(BudgetLineSpec(code, name, amount))
    return lines


def _parse_indicators(document: dict, read: _Reader) -> list[IndicatorSpec]:
    indicators, seen = [], set()
    for number, table in enumerate(_tables(document, "indicators", read), start=1):
        prefix = f"indicators[{number}]."
        read.unknown(table, ("code", "name", "target"), prefix)
        code = read.text(table, "code", prefix + "code", required=True, max_length=50)
        name = read.text(table, "name", prefix + "name", required=True)
        target = read.integer(table, "target", prefix + "target", required=True, minimum=0)
        if code is not None and code in seen:
            read.fail(prefix + "code", f"{code!r} appears twice")
            continue
        if code is not None:
            seen.add(code)
        if code and name and target is not None:
            indicators.append(IndicatorSpec(code, name, target))
    return indicators


def _parse_odoo(document: dict, read: _Reader, budget_codes: set[str]) -> dict[str, str]:
    if "odoo" not in document:
        return {}
    odoo = document["odoo"]
    if not isinstance(odoo, dict):
        read.fail("odoo", "must be a table: [odoo.budget_lines]")
        return {}
    read.unknown(odoo, ("budget_lines",), "odoo.")
    lines = odoo.get("budget_lines", {})
    if not isinstance(lines, dict):
        read.fail("odoo.budget_lines", "must be a table of \"account code\" = \"budget line code\"")
        return {}
    mapping = {}
    for account, code in lines.items():
        path = f"odoo.budget_lines.{account}"
        if not isinstance(code, str) or code not in budget_codes:
            read.fail(path, f"{code!r} is not a budget line of this grant")
            continue
        mapping[str(account)] = code
    return mapping


# ---------------------------------------------------------------------------
# Writing and reading grants
# ---------------------------------------------------------------------------


def find_grant(session: Session, reference: str) -> Grant:
    grant = session.scalar(
        select(Grant)
        .where(Grant.reference == reference)
        .options(selectinload(Grant.budget_lines), selectinload(Grant.indicators), selectinload(Grant.funder), selectinload(Grant.fund))
    )
    if grant is None:
        raise GrantNotFound(reference, other_case(session, Grant.reference, reference))
    return grant


def spec_of(grant: Grant) -> GrantSpec:
    """The stored grant as a GrantSpec, to say which fields a new file would change."""
    return GrantSpec(
        reference=grant.reference,
        title=grant.title,
        funder=grant.funder.name,
        funder_type=grant.funder.type,
        kind=grant.kind,
        start=grant.start_on,
        end=grant.end_on,
        awarded_cents=grant.awarded_cents,
        funding_rate=grant.funding_rate,
        indirect_rate=grant.indirect_rate,
        indirect_base=grant.indirect_base,
        hours_per_year=grant.hours_per_year,
        report_due=grant.report_due,
        settlement_due=grant.settlement_due,
        accountability=grant.accountability,
        allowed_shift=grant.allowed_shift,
        fund=grant.fund.code if grant.fund else None,
        restricted=grant.restricted,
        status=grant.status,
        budget=tuple(BudgetLineSpec(b.code, b.name, b.amount_cents) for b in grant.budget_lines),
        indicators=tuple(IndicatorSpec(i.code, i.name, i.target) for i in grant.indicators),
        odoo_budget_lines=tuple(sorted((grant.odoo_budget_lines or {}).items())),
    )


def add_grant(session: Session, spec: GrantSpec, *, actor: str) -> tuple[Grant, bool]:
    """Add the grant a file describes; (grant, False) when the same content is there."""
    existing = session.scalar(select(Grant).where(Grant.reference == spec.reference))
    if existing is not None:
        if existing.content_hash == spec.content_hash():
            return existing, False
        stored = spec_of(find_grant(session, spec.reference)).canonical()
        given = spec.canonical()
        differing = [key for key in given if key != "status" and given[key] != stored.get(key)]
        raise GrantConflict(spec.reference, differing)

    funder = session.scalar(select(Funder).where(Funder.name == spec.funder))
    if funder is None:
        funder = Funder(name=spec.funder, type=spec.funder_type)
        session.add(funder)
    elif funder.type != spec.funder_type:
        raise InvalidInput(
            [Problem(None, "funder_type", f"funder {spec.funder!r} is recorded as {funder.type}, not {spec.funder_type}")],
            spec.reference,
        )
    fund = None
    if spec.fund is not None:
        fund = session.scalar(select(Fund).where(Fund.code == spec.fund))
        if fund is None:
            fund = Fund(code=spec.fund, name=spec.title[:200])
            session.add(fund)

    grant = Grant(
        reference=spec.reference,
        title=spec.title,
        funder=funder,
        kind=spec.kind,
        start_on=spec.start,
        end_on=spec.end,
        awarded_cents=spec.awarded_cents,
        currency="EUR",
        funding_rate=spec.funding_rate,
        indirect_rate=spec.indirect_rate,
        indirect_base=spec.indirect_base,
        hours_per_year=spec.hours_per_year,
        report_due=spec.report_due,
        settlement_due=spec.settlement_due,
        accountability=spec.accountability,
        allowed_shift=spec.allowed_shift,
        fund=fund,
        restricted=spec.restricted,
        status=spec.status,
        content_hash=spec.content_hash(),
        odoo_budget_lines=dict(spec.odoo_budget_lines),
        budget_lines=[BudgetLine(code=b.code, name=b.name, amount_cents=b.amount_cents) for b in spec.budget],
        indicators=[Indicator(code=i.code, name=i.name, target=i.target) for i in spec.indicators],
    )
    session.add(grant)
    session.flush()
    audit.record(session, actor=actor, action="grant.add", entity="grant", entity_ref=grant.reference,
                 details={"awarded": cents_to_str(grant.awarded_cents), "funder": spec.funder, "status": grant.status})
    return grant, True


def grant_rows(session: Session) -> list[dict[str, Any]]:
    """Every grant, as `anbi grants list` shows it."""
    grants = session.scalars(
        select(Grant).options(selectinload(Grant.funder), selectinload(Grant.fund)).order_by(Grant.start_on, Grant.reference)
    ).all()
    return [
        {
            "reference": g.reference,
            "title": g.title,
            "funder": g.funder.name,
            "funder_type": g.funder.type,
            "kind": g.kind,
            "start": g.start_on.isoformat(),
            "end": g.end_on.isoformat(),
            "awarded": cents_to_str(g.awarded_cents),
            "funding_rate": decimal_text(g.funding_rate),
            "status": g.status,
            "accountability_level": accountability_level(g.awarded_cents, g.accountability),
            "fund": g.fund.code if g.fund else None,
            "restricted": g.restricted,
            "settled_on": g.settled_on.isoformat() if g.settled_on else None,
            "settled_amount": cents_to_str(g.settled_cents) if g.settled_cents is not None else None,
        }
        for g in grants
    ]


# ---------------------------------------------------------------------------
# Deadlines (pure) and their query
# ---------------------------------------------------------------------------

RECLAIM_YEARS = 5          # Awb 4:49 and 4:57: no reclaim after 5 years from the vaststelling
EU_RETENTION_YEARS = 5     # CPR art. 82: 5 years from 31 December of the year of the last payment


@dataclass(frozen=True)
class DeadlineFacts:
    reference: str
    title: str
    status: str
    funder_type: str
    report_due: dt.date | None
    settlement_due: dt.date | None
    settled_on: dt.date | None
    last_payment_on: dt.date | None


@dataclass(frozen=True)
class Deadline:
    reference: str
    title: str
    kind: str          # report_due | settlement_due | reclaim_window_end | record_keeping_end
    due: dt.date
    days_left: int
    open: bool         # an action of ours is still due (a report, a settlement request)

    @property
    def overdue(self) -> bool:
        return self.open and self.days_left < 0


def grant_deadlines(facts: DeadlineFacts, today: dt.date) -> list[Deadline]:
    """A grant's deadlines: report and settlement request while they are still to do,
    the end of the funder's reclaim window (vaststelling + 5 years) and, for an EU
    grant, the end of record keeping (31 December of the last payment's year + 5)."""
    found: list[tuple[str, dt.date, bool]] = []
    if facts.report_due and facts.status in ("applied", "awarded", "running"):
        found.append(("report_due", facts.report_due, True))
    if facts.settlement_due and facts.status not in ("settled", "closed"):
        found.append(("settlement_due", facts.settlement_due, True))
    if facts.settled_on:
        found.append(("reclaim_window_end", anniversary(facts.settled_on, RECLAIM_YEARS), False))
    if facts.funder_type == "eu" and facts.last_payment_on:
        found.append(("record_keeping_end", dt.date(facts.last_payment_on.year + EU_RETENTION_YEARS, 12, 31), False))
    return [
        Deadline(facts.reference, facts.title, kind, due, (due - today).days, is_open)
        for kind, due, is_open in found
    ]


def select_deadlines(deadlines: Iterable[Deadline], within_days: int | None) -> list[Deadline]:
    """Without a window: every open deadline and every window that has not ended.
    With one: what falls due within it, plus open deadlines already missed."""
    chosen = []
    for deadline in deadlines:
        if deadline.overdue or (deadline.days_left >= 0 and (within_days is None or deadline.days_left <= within_days)):
            chosen.append(deadline)
    return sorted(chosen, key=lambda d: (d.due, d.reference, d.kind))


def deadlines(session: Session, today: dt.date, within_days: int | None = None) -> list[Deadline]:
    last_payment = (
        select(GrantPayment.grant_id, func.max(GrantPayment.paid_on).label("last_paid"))
        .where(GrantPayment.kind != "repayment")
        .group_by(GrantPayment.grant_id)
        .subquery()
    )
    rows = session.execute(
        select(Grant.reference, Grant.title, Grant.status, Funder.type, Grant.report_due, Grant.settlement_due,
               Grant.settled_on, last_payment.c.last_paid)
        .join(Funder, Funder.id == Grant.funder_id)
        .outerjoin(last_payment, last_payment.c.grant_id == Grant.id)
    ).all()
    found = []
    for row in rows:
        found.extend(grant_deadlines(DeadlineFacts(*row), today))
    return select_deadlines(found, within_days)


# ---------------------------------------------------------------------------
# Lifecycle (guarded transitions)
# ---------------------------------------------------------------------------

TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "award": (("applied",), "awarded"),
    "start": (("awarded",), "running"),
    "report-sent": (("running",), "reported"),
    "settle": (("reported",), "settled"),
    "close": (("settled",), "closed"),
}


def allowed_from(action: str, level: str) -> tuple[str, ...]:
    """Where a step may start. A grant without reporting duty (≤ € 25.000, DOMAIN.md
    3.2) is settled directly, without a report having been sent."""
    starts, _ = TRANSITIONS[action]
    if action == "settle" and level == "none":
        return ("awarded", "running", "reported")
    return starts


def next_status(reference: str, status: str, action: str, level: str) -> str:
    """The status after `action`, or GrantTransitionRefused naming where it may start."""
    if action not in TRANSITIONS:
        raise ValueError(f"unknown grant action {action!r}")
    starts = allowed_from(action, level)
    if status not in starts:
        raise GrantTransitionRefused(reference, action, status, starts)
    return TRANSITIONS[action][1]


def change_status(
    session: Session,
    reference: str,
    action: str,
    *,
    actor: str,
    settled_on: dt.date | None = None,
    settled_cents: int | None = None,
    today: dt.date | None = None,
) -> Grant:
    """Move a grant one step through its lifecycle. A settlement (vaststelling) is
    recorded once it is made, never ahead; a grant closes only once its money is
    settled up: the settled amount less what was received is zero (the grant report's
    balance)."""
    grant = find_grant(session, reference)
    new_status = next_status(reference, grant.status, action, accountability_level(grant.awarded_cents, grant.accountability))
    details: dict[str, Any] = {"from": grant.status, "to": new_status}
    if action == "settle":
        if settled_on is None or settled_cents is None:
            raise InvalidInput([Problem(None, "--date/--amount", "a settlement needs its date and amount")], reference)
        if settled_cents > grant.awarded_cents:
            raise InvalidInput([Problem(None, "--amount", (
                f"the settled amount {cents_to_str(settled_cents)} is more than the awarded {cents_to_str(grant.awarded_cents)}; "
                "a vaststelling follows the grant decision (Awb 4:46)"))], reference)
        if settled_on < grant.start_on:
            raise InvalidInput([Problem(None, "--date", f"{settled_on.isoformat()} is before the grant starts")], reference)
        day = today or clock.today()
        if settled_on > day:
            raise InvalidInput([Problem(None, "--date", (
                f"{settled_on.isoformat()} is in the future (today is {day.isoformat()}); "
                "record the vaststelling once it is made"))], reference)
        grant.settled_on = settled_on
        grant.settled_cents = settled_cents
        details.update(settled_on=settled_on.isoformat(), settled_amount=cents_to_str(settled_cents))
    if action == "close":
        from subsidies.report import gather

        balance = gather(session, reference).balance_cents
        if balance != 0:
            raise GrantBalanceOpen(reference, balance)
    grant.status = new_status
    session.flush()
    audit.record(session, actor=actor, action=f"grant.{action}", entity="grant", entity_ref=reference, details=details)
    return grant
