"""Issued annual gift statements (jaaroverzichten giften) as immutable snapshots.

A statement row copies what its PDF shows — the donor's name and address as
printed, the organisation's identity, the amounts, the periodic agreements and every
gift line — so that the PDF can be rendered again byte for byte, years later,
whatever happened to the donor or the gifts since. An issued statement is never
edited or deleted: a correction is a new statement that refers to the one it
replaces, and the old one only changes its status to `replaced` (STYLE.md 5, pretix
invoices). Numbers come from a per-year sequence (`2025-000001`) guarded by a unique
constraint.

Deliveries record each e-mail or print of a statement, so that a re-run sends
nothing twice.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Integer, String, UniqueConstraint, event, inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from anbi.core.db import Base, BigIntId, IdMixin, UTCDateTime, utcnow
from anbi.core.errors import Conflict

STATEMENT_STATUSES = ("current", "replaced")
DELIVERY_CHANNELS = ("email", "print")
# The only columns of an issued statement that may change, once: it becomes replaced.
_MUTABLE_ON_REPLACE = frozenset({"status", "replaced_by_id", "replaced_at"})


class StatementImmutable(Conflict):
    """Something tried to edit or delete an issued statement."""

    def __init__(self, number: str, what: str):
        self.number = number
        super().__init__(f"statement {number} was issued and cannot be {what}; issue a correction instead")


def statement_number(year: int, sequence: int) -> str:
    """`2025-000001`: the year and a six-digit sequence within it."""
    return f"{year}-{sequence:06d}"


class Statement(IdMixin, Base):
    """One issued annual gift statement for one donor and one calendar year."""

    __tablename__ = "statements"
    __table_args__ = (UniqueConstraint("year", "sequence"),)

    number: Mapped[str] = mapped_column(String(20), unique=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    donor_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("donors.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="current", index=True)

    # The donor as printed.
    donor_ref: Mapped[str] = mapped_column(String(64))
    donor_name: Mapped[str] = mapped_column(String(300))
    salutation: Mapped[str] = mapped_column(String(300))
    # None only after a privacy purge pseudonymised the statement (donors/privacy.py).
    address_lines: Mapped[list[str] | None] = mapped_column(JSON)
    postcode: Mapped[str | None] = mapped_column(String(20))
    # Whom the statement addresses, which decides its tax wording: person (income
    # tax), organisation (corporate tax) or heirs (a deceased donor's: "De erven van").
    addressee: Mapped[str] = mapped_column(String(12), default="person", server_default="person")

    # The organisation as printed (DOMAIN.md 1.6: statutory name, address, RSIN).
    organisation_name: Mapped[str] = mapped_column(String(200))
    organisation_rsin: Mapped[str] = mapped_column(String(9))
    organisation_address: Mapped[str] = mapped_column(String(300))
    organisation_website: Mapped[str] = mapped_column(String(200), default="")

    regular_cents: Mapped[int] = mapped_column(BigInteger)
    periodic_cents: Mapped[int] = mapped_column(BigInteger)
    non_deductible_cents: Mapped[int] = mapped_column(BigInteger)
    total_paid_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    # Per agreement: number (transactienummer), start_year, annual_amount_cents, amount_cents.
    periodic: Mapped[list[dict[str, Any]]] = mapped_column(JSON)

    language: Mapped[str] = mapped_column(String(2))
    # SHA-256 of what decides whether a new statement is due: amounts, gift lines,
    # donor name and address (not the language, not the organisation's identity).
    content_hash: Mapped[str] = mapped_column(String(64))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    issued_on: Mapped[dt.date] = mapped_column(Date)  # the date printed, in Amsterdam

    replaces_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("statements.id"), index=True)
    replaces_number: Mapped[str | None] = mapped_column(String(20))
    replaced_by_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("statements.id"), index=True)
    replaced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    # passive_deletes="all": the ORM never touches the lines of a statement being
    # deleted, so the refusal below is about the statement itself.
    lines: Mapped[list[StatementLine]] = relationship(
        back_populates="statement", order_by="StatementLine.position", cascade="save-update, merge", passive_deletes="all"
    )
    deliveries: Mapped[list[StatementDelivery]] = relationship(
        back_populates="statement", order_by="StatementDelivery.id", passive_deletes="all"
    )

    def replace_by(self, successor_id: int, at: dt.datetime) -> None:
        """The one change an issued statement allows: a correction replaces it."""
        if self.status != "current":
            raise StatementImmutable(self.number, f"replaced again (it is {self.status} already)")
        self.status = "replaced"
        self.replaced_by_id = successor_id
        self.replaced_at = at


class StatementLine(IdMixin, Base):
    """One gift as printed on a statement."""

    __tablename__ = "statement_lines"
    __table_args__ = (UniqueConstraint("statement_id", "position"),)

    statement_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("statements.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    donation_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("donations.id"), index=True)
    received_on: Mapped[dt.date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(20))
    campaign: Mapped[str | None] = mapped_column(String(200))
    mandate_ref: Mapped[str | None] = mapped_column(String(35))
    regular_cents: Mapped[int] = mapped_column(BigInteger)
    periodic_cents: Mapped[int] = mapped_column(BigInteger)
    non_deductible_cents: Mapped[int] = mapped_column(BigInteger)
    agreement_number: Mapped[str | None] = mapped_column(String(50))
    non_deductible_reason: Mapped[str | None] = mapped_column(String(20))

    statement: Mapped[Statement] = relationship(back_populates="lines")


class StatementDelivery(IdMixin, Base):
    """A statement sent by e-mail or printed for the post; at most once per channel."""

    __tablename__ = "statement_deliveries"
    __table_args__ = (UniqueConstraint("statement_id", "channel"),)

    statement_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("statements.id"), index=True)
    # The donor it went to (the statement's donor, or the survivor of a merge), so
    # that a privacy purge finds the recipient's address here too.
    donor_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("donors.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(String(300))
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    statement: Mapped[Statement] = relationship(back_populates="deliveries")


@event.listens_for(Statement, "before_update")
def _statement_only_becomes_replaced(_mapper, _connection, target: Statement) -> None:
    state = inspect(target)
    changed = {attr.key for attr in state.attrs if attr.history.has_changes() and attr.key not in ("lines", "deliveries")}
    if changed - _MUTABLE_ON_REPLACE:
        raise StatementImmutable(target.number, f"edited ({', '.join(sorted(changed - _MUTABLE_ON_REPLACE))})")


@event.listens_for(Statement, "before_delete")
def _statement_never_deleted(_mapper, _connection, target: Statement) -> None:
    raise StatementImmutable(target.number, "deleted")


@event.listens_for(StatementLine, "before_update")
def _line_never_edited(_mapper, _connection, target: StatementLine) -> None:
    raise StatementImmutable(str(target.statement_id), "edited")


@event.listens_for(StatementLine, "before_delete")
def _line_never_deleted(_mapper, _connection, target: StatementLine) -> None:
    raise StatementImmutable(str(target.statement_id), "deleted")
