"""The subsidy records: funders, grants (beschikkingen) with their budget lines and
output indicators, the costs charged to them (expenses, staff annual costs and
timesheets), the money funders paid, and the outputs achieved.

Amounts are integer cents beside a currency code. Rates (75% co-financing, 7%
indirect costs, an FTE of 0.8) are exact decimals stored as text, because SQLite has
no exact decimal type and a float would change 0.07; hours are stored as integer
hundredths of an hour for the same reason. Costs, timesheets, payments and outputs
arrive from outside and carry their key (source, reference): a replay is a no-op, and
the same key with other content is refused (money is corrected by a new row)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from anbi.core.db import Base, BigIntId, IdMixin, TimestampMixin
from fundraising.models import Fund

# A funder's type decides its RJ 650 income category (DOMAIN.md 2.2).
FUNDER_TYPES = (
    "lottery", "government", "eu", "municipality", "foundation", "company", "related_nonprofit", "other_nonprofit",
)
# project: projectsubsidie; institutional: instellingssubsidie (DOMAIN.md 3.1);
# regular_contribution: a yearly contribution such as the Postcode Loterij's (DOMAIN.md 5).
GRANT_KINDS = ("project", "institutional", "regular_contribution")
INDIRECT_BASES = ("direct", "staff", "none")
ACCOUNTABILITY_LEVELS = ("none", "activities", "full")
GRANT_STATUSES = ("applied", "awarded", "running", "reported", "settled", "closed")
PAYMENT_KINDS = ("advance", "settlement", "repayment")


class ExactDecimal(TypeDecorator):
    """An exact decimal (a rate, an FTE) stored as its text, the same on both databases."""

    impl = String(24)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect) -> str | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("a float is not an exact decimal; pass a Decimal or a string")
        try:
            number = Decimal(value)
        except (InvalidOperation, TypeError):
            raise ValueError(f"{value!r} is not a decimal number") from None
        return format(number, "f")

    def process_result_value(self, value: str | None, dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class Funder(IdMixin, TimestampMixin, Base):
    """Who grants the money: a ministry, the EU via UVB, a municipality, a lottery."""

    __tablename__ = "funders"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(30))


class Grant(IdMixin, TimestampMixin, Base):
    """A grant decision (beschikking / verleningsbesluit) and where it stands."""

    __tablename__ = "grants"

    reference: Mapped[str] = mapped_column(String(50), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    funder_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("funders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    start_on: Mapped[dt.date] = mapped_column(Date)
    end_on: Mapped[dt.date] = mapped_column(Date)
    awarded_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    # Share of the eligible costs the funder pays; 1 when not co-financed.
    funding_rate: Mapped[Decimal] = mapped_column(ExactDecimal())
    indirect_rate: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    indirect_base: Mapped[str] = mapped_column(String(10), default="none")
    # Hours a full-time employee works per year for the hour rate (1,720 for EU grants).
    hours_per_year: Mapped[int | None] = mapped_column(Integer)
    report_due: Mapped[dt.date | None] = mapped_column(Date)
    settlement_due: Mapped[dt.date | None] = mapped_column(Date)
    # As set in the grant file; None means: derived from `awarded` (DOMAIN.md 3.2).
    accountability: Mapped[str | None] = mapped_column(String(20))
    allowed_shift: Mapped[Decimal] = mapped_column(ExactDecimal())
    fund_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("funds.id"), index=True)
    restricted: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(20), default="awarded", index=True)
    settled_on: Mapped[dt.date | None] = mapped_column(Date)  # vaststelling
    settled_cents: Mapped[int | None] = mapped_column(BigInteger)
    # SHA-256 of the grant file's content as read: the same file again is a no-op,
    # other content under the same reference is refused.
    content_hash: Mapped[str] = mapped_column(String(64))
    # Odoo expense account code -> budget line code, for pulling costs from the ledger.
    odoo_budget_lines: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)

    funder: Mapped[Funder] = relationship()
    fund: Mapped[Fund | None] = relationship()
    budget_lines: Mapped[list[BudgetLine]] = relationship(
        back_populates="grant", cascade="all, delete-orphan", order_by="BudgetLine.id"
    )
    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="grant", cascade="all, delete-orphan", order_by="Indicator.id"
    )


class BudgetLine(IdMixin, Base):
    """One line of a grant's approved budget (begrotingspost)."""

    __tablename__ = "grant_budget_lines"
    __table_args__ = (UniqueConstraint("grant_id", "code"),)

    grant_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("grants.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(200))
    amount_cents: Mapped[int] = mapped_column(BigInteger)

    grant: Mapped[Grant] = relationship(back_populates="budget_lines")


class Indicator(IdMixin, Base):
    """An output indicator with its target (prestatie-indicator)."""

    __tablename__ = "grant_indicators"
    __table_args__ = (UniqueConstraint("grant_id", "code"),)

    grant_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("grants.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(200))
    target: Mapped[int] = mapped_column(BigInteger)

    grant: Mapped[Grant] = relationship(back_populates="indicators")


class Expense(IdMixin, TimestampMixin, Base):
    """A cost: charged to a grant (on one of its budget lines), to a donation fund, or
    to neither (a general cost). `eligible` is False for a cost the file marked not
    eligible and for one dated outside its grant's period; `reason` says why."""

    __tablename__ = "expenses"
    __table_args__ = (
        UniqueConstraint("source", "reference"),
        Index("ix_expenses_grant_id_spent_on", "grant_id", "spent_on"),
        # The few costs that are not eligible are listed one by one in every grant
        # report: a partial index finds them without reading the eligible ones.
        Index("ix_expenses_not_eligible", "grant_id", "spent_on", sqlite_where=text("eligible = 0"), postgresql_where=text("NOT eligible")),
    )

    source: Mapped[str] = mapped_column(String(20), default="import")  # import, odoo
    reference: Mapped[str] = mapped_column(String(100))
    spent_on: Mapped[dt.date] = mapped_column(Date, index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    grant_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("grants.id"))
    budget_line_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("grant_budget_lines.id"))
    fund_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("funds.id"), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    eligible: Mapped[bool] = mapped_column(Boolean, default=True)
    reason: Mapped[str | None] = mapped_column(Text)

    grant: Mapped[Grant | None] = relationship()
    budget_line: Mapped[BudgetLine | None] = relationship()
    fund: Mapped[Fund | None] = relationship()


class StaffCost(IdMixin, TimestampMixin, Base):
    """An employee's documented gross employment cost for one year (DOMAIN.md 4.2)."""

    __tablename__ = "staff_costs"
    __table_args__ = (UniqueConstraint("employee", "year"),)

    employee: Mapped[str] = mapped_column(String(50))
    year: Mapped[int] = mapped_column(Integer)
    annual_cost_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    fte: Mapped[Decimal] = mapped_column(ExactDecimal())
    # Contract hours a week, when the staff file gives them: only the warning for a
    # period with more hours than the contract uses it (else 40 × FTE).
    weekly_hours: Mapped[Decimal | None] = mapped_column(ExactDecimal())


class Timesheet(IdMixin, TimestampMixin, Base):
    """Hours one employee worked for a grant on one day, or in one period (a signed
    monthly sheet): `period_start` to `worked_on`, which is then the period's last
    day; `period_start` is empty for a one-day line.

    `eligible_hundredths` is the part of the hours that may be claimed: all of them,
    unless the days are outside the grant period (a period crossing the grant's start
    or end: pro rata by days) or the hours pass the employee's annual ceiling
    (hours_per_year × FTE, across grants, in the order of the last day, then file
    order); `ineligible_reason` then says why. It is recomputed for an employee's
    year whenever hours or staff costs arrive that change the order or the ceiling."""

    __tablename__ = "timesheets"
    __table_args__ = (
        UniqueConstraint("source", "reference"),
        # With the employee, the report finds whose hour rates it needs from the index alone.
        Index("ix_timesheets_grant_id_worked_on_employee", "grant_id", "worked_on", "employee"),
        Index("ix_timesheets_employee_worked_on", "employee", "worked_on"),
        Index("ix_timesheets_not_eligible", "grant_id", "worked_on", sqlite_where=text("eligible_hundredths < hours_hundredths"),
              postgresql_where=text("eligible_hundredths < hours_hundredths")),
    )

    source: Mapped[str] = mapped_column(String(20), default="import")
    reference: Mapped[str] = mapped_column(String(100))
    employee: Mapped[str] = mapped_column(String(50))
    worked_on: Mapped[dt.date] = mapped_column(Date)
    period_start: Mapped[dt.date | None] = mapped_column(Date)
    grant_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("grants.id"))
    budget_line_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("grant_budget_lines.id"))
    hours_hundredths: Mapped[int] = mapped_column(BigInteger)
    eligible_hundredths: Mapped[int] = mapped_column(BigInteger)
    ineligible_reason: Mapped[str | None] = mapped_column(Text)

    grant: Mapped[Grant] = relationship()
    budget_line: Mapped[BudgetLine | None] = relationship()


class GrantPayment(IdMixin, TimestampMixin, Base):
    """Money the funder paid (an advance or the settlement) or we paid back."""

    __tablename__ = "grant_payments"
    __table_args__ = (UniqueConstraint("source", "reference"),)

    source: Mapped[str] = mapped_column(String(20), default="import")
    reference: Mapped[str] = mapped_column(String(100))
    grant_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("grants.id"), index=True)
    paid_on: Mapped[dt.date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    kind: Mapped[str] = mapped_column(String(20))

    grant: Mapped[Grant] = relationship()


class Output(IdMixin, TimestampMixin, Base):
    """An achieved output counted towards one of a grant's indicators."""

    __tablename__ = "grant_outputs"
    __table_args__ = (UniqueConstraint("source", "reference"),)

    source: Mapped[str] = mapped_column(String(20), default="import")
    reference: Mapped[str] = mapped_column(String(100))
    grant_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("grants.id"), index=True)
    indicator_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("grant_indicators.id"), index=True)
    achieved_on: Mapped[dt.date] = mapped_column(Date)
    value: Mapped[int] = mapped_column(BigInteger)

    grant: Mapped[Grant] = relationship()
    indicator: Mapped[Indicator] = relationship()
