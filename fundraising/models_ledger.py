"""The ledger's records of money on its way: SEPA batches and their collections,
bank statements and their lines, Stripe payouts and what they carried.

None of these tables points at `donors`: a line or collection reaches its donor
through the donation it matched, so merges and erasures (donors/merge.py,
donors/privacy.py) follow the donation and nothing here can keep a merged-away
record alive. Bank lines do hold the payer's name and account as the bank printed
them; `fundraising.bank.booking` registers a purge hook that pseudonymises those on
the lines of a purged donor's donations.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from anbi.core.db import Base, BigIntId, IdMixin, UTCDateTime, utcnow
from fundraising.models import Donation, DonationAdjustment, Mandate, RecurringGift

BANK_LINE_KINDS = ("transfer", "collection", "return", "payout", "outgoing", "other")
BANK_LINE_STATES = ("matched", "unmatched", "ignored")
# A collection as its period sees it: `presented` to the bank and not returned before
# it settled (pending or paid) — the period is collected; `failed` — returned before
# settlement, the period is open again; `duplicate` — a second collection for a period
# made by overlapping batches before migration 0012, left for a person (its donation
# is flagged). Kept in step with the donation by `fundraising.donations`.
COLLECTION_STATUSES = ("presented", "failed", "duplicate")
# The condition of the unique index: one presented collection per gift and period.
PRESENTED = "status = 'presented'"


class SepaBatch(IdMixin, Base):
    """One pain.008 file handed to the bank (incassobestand)."""

    __tablename__ = "sepa_batches"

    message_id: Mapped[str] = mapped_column(String(35), unique=True)
    collection_date: Mapped[dt.date] = mapped_column(Date, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    file_name: Mapped[str] = mapped_column(String(500))
    collection_count: Mapped[int] = mapped_column(Integer)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    actor: Mapped[str] = mapped_column(String(200))

    collections: Mapped[list[SepaCollection]] = relationship(back_populates="batch", order_by="SepaCollection.id")


class SepaCollection(IdMixin, Base):
    """One direct debit in a batch: the pending donation it created, the calendar
    period it collects for, and the account and sequence it was presented with."""

    __tablename__ = "sepa_collections"
    __table_args__ = (
        # The database's guarantee that a gift is collected once per period, whatever
        # starts the batches: a failed collection is left out, so a retry stays possible.
        Index("uq_sepa_collections_gift_period", "recurring_gift_id", "period_start", unique=True,
              sqlite_where=text(PRESENTED), postgresql_where=text(PRESENTED)),
    )

    batch_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("sepa_batches.id"), index=True)
    donation_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("donations.id"), unique=True)
    recurring_gift_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("recurring_gifts.id"))
    mandate_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("mandates.id"), index=True)
    period_start: Mapped[dt.date] = mapped_column(Date)
    sequence_type: Mapped[str] = mapped_column(String(4))
    debtor_iban: Mapped[str] = mapped_column(String(34))
    # Set when this collection carried an amendment (DOMAIN.md 7.2): the account it replaced.
    amended_from_iban: Mapped[str | None] = mapped_column(String(34))
    payment_info_id: Mapped[str] = mapped_column(String(35), index=True)
    status: Mapped[str] = mapped_column(String(10), default="presented", server_default="presented")

    batch: Mapped[SepaBatch] = relationship(back_populates="collections")
    donation: Mapped[Donation] = relationship()
    recurring_gift: Mapped[RecurringGift] = relationship()
    mandate: Mapped[Mandate] = relationship()


class BankStatement(IdMixin, Base):
    """A camt.053 statement (rekeningafschrift) as imported."""

    __tablename__ = "bank_statements"
    __table_args__ = (UniqueConstraint("account_iban", "statement_ref"),)

    account_iban: Mapped[str] = mapped_column(String(34))
    statement_ref: Mapped[str] = mapped_column(String(100))
    message_id: Mapped[str] = mapped_column(String(100))
    camt_version: Mapped[str] = mapped_column(String(2))
    from_date: Mapped[dt.date | None] = mapped_column(Date)
    to_date: Mapped[dt.date | None] = mapped_column(Date)
    opening_cents: Mapped[int | None] = mapped_column(BigInteger)
    closing_cents: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    file_name: Mapped[str] = mapped_column(String(500))
    file_sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BankLine(IdMixin, Base):
    """One transaction on a statement; a batch booking is split into one line per
    transaction. `key` makes the import idempotent per line."""

    __tablename__ = "bank_lines"

    statement_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("bank_statements.id"), index=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    account_iban: Mapped[str] = mapped_column(String(34))
    booking_date: Mapped[dt.date] = mapped_column(Date)
    value_date: Mapped[dt.date | None] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    direction: Mapped[str] = mapped_column(String(6))  # credit / debit
    reversal: Mapped[bool] = mapped_column(Boolean, default=False)
    bank_code: Mapped[str] = mapped_column(String(40), default="")
    entry_ref: Mapped[str | None] = mapped_column(String(100))
    # Matched through the donation's reference, never searched here: not indexed, so
    # that a statement of 100,000 lines is written without upkeep nothing uses.
    end_to_end_id: Mapped[str | None] = mapped_column(String(100))
    mandate_ref: Mapped[str | None] = mapped_column(String(100))
    counterparty_name: Mapped[str | None] = mapped_column(String(200))
    counterparty_iban: Mapped[str | None] = mapped_column(String(34))
    remittance: Mapped[str | None] = mapped_column(Text)
    creditor_reference: Mapped[str | None] = mapped_column(String(100))
    return_reason: Mapped[str | None] = mapped_column(String(10))
    additional_info: Mapped[str | None] = mapped_column(Text)
    batch_payment_info_id: Mapped[str | None] = mapped_column(String(100))
    batch_size: Mapped[int] = mapped_column(Integer, default=1)
    # What the line turned out to be, and whether it found its gift.
    kind: Mapped[str] = mapped_column(String(12))
    state: Mapped[str] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(Text)
    donation_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("donations.id"), index=True)
    adjustment_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("donation_adjustments.id"))
    payout_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("stripe_payouts.id"))
    assigned_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    statement: Mapped[BankStatement] = relationship()
    donation: Mapped[Donation | None] = relationship()
    adjustment: Mapped[DonationAdjustment | None] = relationship()
    payout: Mapped[StripePayout | None] = relationship(foreign_keys=[payout_id])


class StripePayout(IdMixin, Base):
    """A Stripe payout (uitbetaling) to our bank account and what it consists of."""

    __tablename__ = "stripe_payouts"

    payout_id: Mapped[str] = mapped_column(String(100), unique=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    arrival_date: Mapped[dt.date] = mapped_column(Date, index=True)
    created_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    # The payout's balance transactions summed by type (gross charges, refunds, ...).
    charges_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    refunds_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    disputes_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    fees_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    other_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # True when every charge is a donation of ours and the items add up to the payout.
    reconciled: Mapped[bool] = mapped_column(Boolean, default=False)
    difference_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    note: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    items: Mapped[list[StripePayoutItem]] = relationship(back_populates="payout", order_by="StripePayoutItem.id")


class StripePayoutItem(IdMixin, Base):
    """One balance transaction settled by a payout: a charge, refund, dispute or fee."""

    __tablename__ = "stripe_payout_items"

    payout_pk: Mapped[int] = mapped_column(BigIntId, ForeignKey("stripe_payouts.id"), index=True)
    balance_transaction_id: Mapped[str] = mapped_column(String(100), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[str | None] = mapped_column(String(100), index=True)
    charge_id: Mapped[str | None] = mapped_column(String(100))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    fee_cents: Mapped[int] = mapped_column(BigInteger)
    net_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_on: Mapped[dt.date] = mapped_column(Date)
    donation_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("donations.id"), index=True)

    payout: Mapped[StripePayout] = relationship(back_populates="items")
    donation: Mapped[Donation | None] = relationship()
