"""The accountability figures of one grant (verantwoording): a pure function over
plain values, no database, no files.

The queries in `subsidies.report` gather the inputs (sums per budget line, hours per
employee and year with their hour rate, payments by kind, outputs per indicator); the
renderers in `exports` format the result. What a grant may claim is decided here and
only here, with one rounding chain that the XLSX formulas repeat:

1. each cost row exact (an expense in cents; a timesheet line = hours × hour rate,
   which may hold fractions of a cent);
2. each budget line's actual = its exact costs rounded half-up to cents;
3. direct eligible costs = the sum of the lines;
4. indirect costs = round(indirect rate × base), the base being the eligible direct
   costs, or the eligible direct staff costs (their exact sum rounded to cents)
   (CPR art. 54 (a) and (b), DOMAIN.md 4.2);
5. total eligible = direct + indirect;
6. funder share = min(awarded, round(funding rate × total eligible));
7. received = advances + settlements − repayments; balance = what the funder owes
   in all − received (positive: still to receive; negative: to repay), where what it
   owes is the computed funder share until the vaststelling, and the settled amount
   from then on (Awb 4:46: the vaststelling decides the grant). `grant_balance` is
   that rule, for this report and for the funds report alike.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from anbi.core import formatting
from anbi.core.money import format_dutch, round_half_up

# DOMAIN.md 3.2 (rijksbreed USK staffel): up to € 25.000 direct settlement, below
# € 125.000 an activity report, from € 125.000 also a financial report with an
# auditor's statement. Thresholds in cents, with the comparison the issue settles.
NO_REPORT_UP_TO_CENTS = 2_500_000
FULL_REPORT_FROM_CENTS = 12_500_000
DEFAULT_ALLOWED_SHIFT = Decimal("0.10")
UNBUDGETED = "unbudgeted"


def entitled_cents(funder_share_cents: int, settled_cents: int | None) -> int:
    """What the funder owes in all: the settled amount once the vaststelling is made,
    else the funder share computed from the eligible costs (capped at the award)."""
    return settled_cents if settled_cents is not None else funder_share_cents


def grant_balance(funder_share_cents: int, settled_cents: int | None, received_cents: int) -> int:
    """What is still to receive from the funder (positive) or to repay (negative)."""
    return entitled_cents(funder_share_cents, settled_cents) - received_cents


def accountability_level(awarded_cents: int, override: str | None = None) -> str:
    """`none` (direct settlement), `activities` (activity report on outputs) or `full`
    (activity and financial report with an auditor's statement)."""
    if override:
        return override
    if awarded_cents <= NO_REPORT_UP_TO_CENTS:
        return "none"
    if awarded_cents < FULL_REPORT_FROM_CENTS:
        return "activities"
    return "full"


@dataclass(frozen=True)
class GrantTerms:
    """What the grant decision says, as far as the figures need it."""

    reference: str
    title: str
    funder: str
    start: dt.date
    end: dt.date
    awarded_cents: int
    funding_rate: Decimal = Decimal(1)
    indirect_rate: Decimal | None = None
    indirect_base: str = "none"          # direct | staff | none
    allowed_shift: Decimal = DEFAULT_ALLOWED_SHIFT
    accountability: str | None = None    # as set in the grant file
    settled_cents: int | None = None     # the vaststelling, once settled
    currency: str = "EUR"


@dataclass(frozen=True)
class BudgetLineTerms:
    code: str
    name: str
    budget_cents: int


@dataclass(frozen=True)
class ExpenseTotal:
    """The eligible expenses on one budget line, summed (exact cents)."""

    budget_line: str | None
    amount_cents: int


@dataclass(frozen=True)
class StaffHours:
    """One employee's eligible hours on one budget line in one year, at one hour rate."""

    budget_line: str | None
    employee: str
    year: int
    hours: Decimal
    hour_rate_cents: int

    @property
    def cost(self) -> Decimal:
        """Exact, in cents: may hold fractions of a cent."""
        return self.hours * self.hour_rate_cents


@dataclass(frozen=True)
class IneligibleItem:
    """A cost row (or the part of a timesheet line) that may not be claimed, and why."""

    kind: str                    # expense | timesheet
    reference: str
    date: dt.date
    budget_line: str | None
    amount: Decimal              # cents, exact
    reason: str
    employee: str | None = None
    hours: Decimal | None = None


@dataclass(frozen=True)
class PaymentTotals:
    advances_cents: int = 0
    settlements_cents: int = 0
    repayments_cents: int = 0

    @property
    def received_cents(self) -> int:
        return self.advances_cents + self.settlements_cents - self.repayments_cents


@dataclass(frozen=True)
class IndicatorProgress:
    code: str
    name: str
    target: int
    actual: int


@dataclass(frozen=True)
class LineFigures:
    code: str
    name: str
    budget_cents: int
    expenses_cents: int
    staff_cost: Decimal          # exact cents
    actual_cents: int
    variance_cents: int          # actual − budget: positive is an overrun
    variance_pct: Decimal | None  # of the budget, 2 decimals; None without a budget
    over_budget: bool


@dataclass(frozen=True)
class EligibleTotals:
    """Steps 1–6 of the rounding chain."""

    lines: tuple[LineFigures, ...]
    direct_eligible_cents: int
    staff_eligible_cents: int
    indirect_base_cents: int
    indirect_cents: int
    total_eligible_cents: int
    share_before_cap_cents: int
    funder_share_cents: int


@dataclass(frozen=True)
class Figures:
    """Everything a grant report shows."""

    terms: GrantTerms
    totals: EligibleTotals
    payments: PaymentTotals
    received_cents: int
    balance_cents: int
    accountability_level: str
    indicators: tuple[IndicatorProgress, ...]
    ineligible_items: tuple[IneligibleItem, ...]
    ineligible_cents: int
    warnings: tuple[str, ...]
    period_from: dt.date | None = None
    period_to: dt.date | None = None

    # The totals' figures, named as the report names them.
    @property
    def lines(self) -> tuple[LineFigures, ...]:
        return self.totals.lines

    @property
    def direct_eligible_cents(self) -> int:
        return self.totals.direct_eligible_cents

    @property
    def indirect_cents(self) -> int:
        return self.totals.indirect_cents

    @property
    def total_eligible_cents(self) -> int:
        return self.totals.total_eligible_cents

    @property
    def funder_share_cents(self) -> int:
        return self.totals.funder_share_cents

    @property
    def interim(self) -> bool:
        return self.period_from is not None or self.period_to is not None


def _variance_pct(variance_cents: int, budget_cents: int) -> Decimal | None:
    if budget_cents == 0:
        return None
    return (Decimal(variance_cents) * 100 / Decimal(budget_cents)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def eligible_totals(
    terms: GrantTerms,
    budget_lines: Sequence[BudgetLineTerms],
    expenses: Iterable[ExpenseTotal],
    staff: Iterable[StaffHours],
) -> EligibleTotals:
    """Steps 1–6: per budget line the actual, then direct, indirect, total, share.

    Costs without a budget line (a grant with no budget, such as a regular
    contribution) are shown on one extra line, `unbudgeted`."""
    known = {line.code for line in budget_lines}
    expense_by_line: dict[str | None, int] = {}
    for expense in expenses:
        code = expense.budget_line
        if code is not None and code not in known:
            raise ValueError(f"cost on budget line {code!r}, which grant {terms.reference} does not have")
        expense_by_line[code] = expense_by_line.get(code, 0) + expense.amount_cents
    staff_by_line: dict[str | None, Decimal] = {}
    for hours in staff:
        code = hours.budget_line
        if code is not None and code not in known:
            raise ValueError(f"hours on budget line {code!r}, which grant {terms.reference} does not have")
        staff_by_line[code] = staff_by_line.get(code, Decimal(0)) + hours.cost

    rows: list[tuple[str | None, str, int]] = [(line.code, line.name, line.budget_cents) for line in budget_lines]
    if None in expense_by_line or None in staff_by_line:
        rows.append((None, "Kosten zonder begrotingspost", 0))
    lines = []
    for code, name, budget in rows:
        expenses_cents = expense_by_line.get(code, 0)
        staff_cost = staff_by_line.get(code, Decimal(0))
        actual = round_half_up(Decimal(expenses_cents) + staff_cost)
        variance = actual - budget
        over = code is not None and Decimal(actual) > Decimal(budget) * (1 + terms.allowed_shift)
        lines.append(LineFigures(
            code=code if code is not None else UNBUDGETED,
            name=name,
            budget_cents=budget,
            expenses_cents=expenses_cents,
            staff_cost=staff_cost,
            actual_cents=actual,
            variance_cents=variance,
            variance_pct=_variance_pct(variance, budget),
            over_budget=over,
        ))

    direct = sum(line.actual_cents for line in lines)
    staff_eligible = round_half_up(sum(staff_by_line.values(), Decimal(0)))
    if terms.indirect_rate is None or terms.indirect_base == "none":
        base, indirect = 0, 0
    else:
        base = direct if terms.indirect_base == "direct" else staff_eligible
        indirect = round_half_up(terms.indirect_rate * base)
    total = direct + indirect
    share_before_cap = round_half_up(terms.funding_rate * total)
    return EligibleTotals(
        lines=tuple(lines),
        direct_eligible_cents=direct,
        staff_eligible_cents=staff_eligible,
        indirect_base_cents=base,
        indirect_cents=indirect,
        total_eligible_cents=total,
        share_before_cap_cents=share_before_cap,
        funder_share_cents=min(terms.awarded_cents, share_before_cap),
    )


def _pct(value: Decimal) -> str:
    """A rate in a sentence a person reads: 0.10 → `10%`, 0.142 → `14,2%`."""
    return formatting.percent(value)


def account_for(
    terms: GrantTerms,
    budget_lines: Sequence[BudgetLineTerms],
    expenses: Iterable[ExpenseTotal],
    staff: Iterable[StaffHours],
    *,
    ineligible: Iterable[IneligibleItem] = (),
    payments: PaymentTotals = PaymentTotals(),
    indicators: Iterable[IndicatorProgress] = (),
    period_from: dt.date | None = None,
    period_to: dt.date | None = None,
) -> Figures:
    """The whole set of figures for one grant (or one interim period of it).

    For an interim report the caller gathers only what falls between `period_from`
    and `period_to`; the dates are kept so the report can say which period it covers."""
    totals = eligible_totals(terms, budget_lines, expenses, staff)
    ineligible_items = tuple(sorted(ineligible, key=lambda item: (item.date, item.kind, item.reference)))
    ineligible_cents = round_half_up(sum((item.amount for item in ineligible_items), Decimal(0)))
    indicators = tuple(indicators)
    received = payments.received_cents
    interim = period_from is not None or period_to is not None
    # An interim period is accounted for on its own costs; the vaststelling covers the whole grant.
    settled = None if interim else terms.settled_cents
    balance = grant_balance(totals.funder_share_cents, settled, received)
    level = accountability_level(terms.awarded_cents, terms.accountability)

    warnings: list[str] = []
    if interim:
        start = (period_from or terms.start).isoformat()
        end = (period_to or terms.end).isoformat()
        warnings.append(f"interim report: costs, payments and outputs from {start} to {end} only")
    for line in totals.lines:
        if not line.over_budget:
            continue
        if line.variance_pct is None:  # a budget of 0.00: no percentage to give
            warnings.append(f"budget line {line.code} has no budget ({format_dutch(line.budget_cents)}) but "
                            f"{format_dutch(line.actual_cents)} of costs")
        else:
            warnings.append(
                f"budget line {line.code} is {formatting.percent(line.variance_pct / 100, trim=False)} over its budget "
                f"({format_dutch(line.actual_cents)} against {format_dutch(line.budget_cents)}), "
                f"more than the allowed {_pct(terms.allowed_shift)}"
            )
    if totals.share_before_cap_cents > terms.awarded_cents:
        warnings.append(
            f"the funder share is capped at the awarded {format_dutch(terms.awarded_cents)}: "
            f"{_pct(terms.funding_rate)} of the eligible costs would be {format_dutch(totals.share_before_cap_cents)}"
        )
    if ineligible_items:
        warnings.append(
            f"{len(ineligible_items)} cost row(s) not eligible, {format_dutch(ineligible_cents)} in all: see the ineligible items"
        )
    if balance < 0:
        owed = "the settled amount (vaststelling)" if settled is not None else "the funder share"
        warnings.append(f"received {format_dutch(-balance)} more than {owed}: to repay")
    if settled is not None and settled != totals.funder_share_cents:
        warnings.append(
            f"the settled amount (vaststelling) {format_dutch(settled)} differs from the "
            f"computed funder share {format_dutch(totals.funder_share_cents)}"
        )
    for indicator in indicators:
        if indicator.actual < indicator.target:
            warnings.append(f"indicator {indicator.code}: {indicator.actual} of the target {indicator.target}")

    return Figures(
        terms=terms,
        totals=totals,
        payments=payments,
        received_cents=received,
        balance_cents=balance,
        accountability_level=level,
        indicators=indicators,
        ineligible_items=ineligible_items,
        ineligible_cents=ineligible_cents,
        warnings=tuple(warnings),
        period_from=period_from,
        period_to=period_to,
    )
