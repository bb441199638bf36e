"""The fundraising records: campaigns, earmarked funds, donations and the rows that
undo or contest them, recurring gifts, periodic gift agreements, SEPA mandates.

Amounts are integer cents beside a currency code. A refund, chargeback, reversed
direct debit or dispute is its own row pointing at the donation (DESIGN.md, Refunds);
a donation's `status` is kept in step with those rows by `fundraising.donations`."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from anbi.core.db import Base, BigIntId, IdMixin, TimestampMixin, UTCDateTime, utcnow
from donors.models import Donor

CAMPAIGN_CHANNELS = ("online", "mail", "street", "event", "telephone", "major_donors", "legacy")
METHODS = ("bank_transfer", "sepa_debit", "ideal", "card", "bancontact", "cash", "other")
DONATION_KINDS = ("gift", "lottery", "purchase")
DONATION_STATUSES = (
    "pending", "paid", "failed", "refunded", "partially_refunded", "disputed", "dispute_won", "dispute_lost",
)
# What undoes or contests a donation. refund/chargeback/reversal/dispute_lost take money back.
ADJUSTMENT_KINDS = ("refund", "chargeback", "reversal", "dispute_opened", "dispute_won", "dispute_lost")
TAKEN_BACK_KINDS = ("refund", "chargeback", "reversal", "dispute_lost")
INTERVALS = ("monthly", "quarterly", "yearly")
RECURRING_METHODS = ("sepa_debit", "stripe")
RECURRING_STATUSES = ("active", "paused", "cancelled", "failing")
AGREEMENT_END_REASONS = ("death", "job_loss", "incapacity", "anbi_status_lost", "other")
AGREEMENT_STATUSES = ("active", "ended")
MANDATE_STATUSES = ("active", "revoked", "expired")


class Campaign(IdMixin, TimestampMixin, Base):
    __tablename__ = "campaigns"

    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str | None] = mapped_column(String(20))
    start_on: Mapped[dt.date | None] = mapped_column(Date)
    end_on: Mapped[dt.date | None] = mapped_column(Date)
    goal_cents: Mapped[int | None] = mapped_column(BigInteger)
    cost_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    parent_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("campaigns.id"))

    parent: Mapped[Campaign | None] = relationship(remote_side="Campaign.id")


class Fund(IdMixin, TimestampMixin, Base):
    """An earmarked fund (bestemmingsfonds): money given or granted for one purpose."""

    __tablename__ = "funds"

    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Mandate(IdMixin, TimestampMixin, Base):
    """A SEPA direct-debit mandate (doorlopende machtiging, DOMAIN.md 7.2)."""

    __tablename__ = "mandates"

    mandate_id: Mapped[str] = mapped_column(String(35), unique=True)
    donor_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("donors.id"), index=True)
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    signed_on: Mapped[dt.date] = mapped_column(Date)
    signed_place: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10), default="active")
    last_collected_on: Mapped[dt.date | None] = mapped_column(Date)

    donor: Mapped[Donor] = relationship()


class PeriodicAgreement(IdMixin, TimestampMixin, Base):
    """A periodic gift agreement (overeenkomst periodieke gift, DOMAIN.md 1.3).

    `number` is the transactienummer the donor quotes on the tax return."""

    __tablename__ = "periodic_agreements"

    number: Mapped[str] = mapped_column(String(50), unique=True)
    donor_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("donors.id"), index=True)
    annual_amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    start_date: Mapped[dt.date] = mapped_column(Date)
    years: Mapped[int | None] = mapped_column(Integer)  # None: indefinite, until death
    signed_on: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(10), default="active")

    donor: Mapped[Donor] = relationship()


class RecurringGift(IdMixin, TimestampMixin, Base):
    """A standing commitment to give. Its instalments are donations made when the
    money moves; none is created in advance (DESIGN.md, Payments that happen)."""

    __tablename__ = "recurring_gifts"
    __table_args__ = (UniqueConstraint("source", "reference"),)

    source: Mapped[str] = mapped_column(String(20), default="import")
    reference: Mapped[str] = mapped_column(String(100))
    donor_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("donors.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    interval: Mapped[str] = mapped_column(String(10))
    method: Mapped[str] = mapped_column(String(20))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="active")
    # Collections that failed in a row since the last one paid (`fundraising.bank.return_reasons`).
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Why the gift is paused, failing or cancelled, for the person who follows it up.
    status_reason: Mapped[str | None] = mapped_column(String(200))
    mandate_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("mandates.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("campaigns.id"))
    fund_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("funds.id"))
    agreement_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("periodic_agreements.id"))
    stripe_customer_id: Mapped[str | None] = mapped_column(String(100), index=True)

    donor: Mapped[Donor] = relationship()
    mandate: Mapped[Mandate | None] = relationship()
    campaign: Mapped[Campaign | None] = relationship()
    fund: Mapped[Fund | None] = relationship()
    agreement: Mapped[PeriodicAgreement | None] = relationship()


class Donation(IdMixin, TimestampMixin, Base):
    """Money received (or, for a direct debit, initiated) from a donor or anonymously."""

    __tablename__ = "donations"
    __table_args__ = (
        UniqueConstraint("source", "reference"),
        # A donor's gifts in date order, with what reports filter on, so that "who gave
        # when" (first gifts, LYBUNT, a donor's history, a merge) is read from the index
        # alone. It also serves every lookup by donor_id.
        Index("ix_donations_donor_history", "donor_id", "received_on", "status", "campaign_id", "currency"),
        # Lists of donations are in (received_on, id) order: with id in the index,
        # PostgreSQL cuts a page from the index alone (no sort, no table row read for
        # each row skipped by OFFSET). It also serves every range on received_on.
        Index("ix_donations_received_on_id", "received_on", "id"),
        # The same for a campaign's donations; it serves every lookup by campaign_id.
        Index("ix_donations_campaign_received_on_id", "campaign_id", "received_on", "id"),
    )

    source: Mapped[str] = mapped_column(String(20))  # import, stripe, sepa, bank, api, web
    reference: Mapped[str] = mapped_column(String(100))
    donor_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("donors.id"))
    received_on: Mapped[dt.date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    method: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10), default="gift")
    # The value received in return (tegenprestatie): not deductible (DOMAIN.md 1.4).
    consideration_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(20), default="paid", index=True)
    campaign_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("campaigns.id"))
    fund_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("funds.id"), index=True)
    agreement_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("periodic_agreements.id"), index=True)
    recurring_gift_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("recurring_gifts.id"), index=True)
    mandate_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("mandates.id"))
    # Payment processor fee, known after `anbi stripe sync` (gross - fee = net).
    fee_cents: Mapped[int | None] = mapped_column(BigInteger)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(100), index=True)
    stripe_charge_id: Mapped[str | None] = mapped_column(String(100), index=True)
    # Why a person should look at this row (a refund above what was left, a foreign currency, ...).
    flag: Mapped[str | None] = mapped_column(Text)

    donor: Mapped[Donor | None] = relationship()
    campaign: Mapped[Campaign | None] = relationship()
    fund: Mapped[Fund | None] = relationship()
    agreement: Mapped[PeriodicAgreement | None] = relationship()
    recurring_gift: Mapped[RecurringGift | None] = relationship()
    mandate: Mapped[Mandate | None] = relationship()
    adjustments: Mapped[list[DonationAdjustment]] = relationship(
        back_populates="donation", order_by="DonationAdjustment.id"
    )


def _default_taken_back(context) -> int:
    # For rows made without the service (tests, bulk loads): uncapped, by kind.
    parameters = context.get_current_parameters()
    return parameters["amount_cents"] if parameters["kind"] in TAKEN_BACK_KINDS else 0


class DonationAdjustment(IdMixin, Base):
    """A refund, chargeback, reversed direct debit or dispute event on one donation,
    dated on its own day and keyed by its source so a replay is a no-op."""

    __tablename__ = "donation_adjustments"
    __table_args__ = (UniqueConstraint("source", "reference"),)

    donation_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("donations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    occurred_on: Mapped[dt.date] = mapped_column(Date, index=True)
    source: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(100))
    reason_code: Mapped[str | None] = mapped_column(String(20))  # MD06, AM04, fraudulent, ...
    # How much of `amount_cents` counts as taken back from the donation: the whole
    # amount for a refund, chargeback, settled reversal or lost dispute, capped at what
    # was left of the donation when this row was recorded (so a donation's net never
    # goes below zero); 0 for dispute_opened/dispute_won and for the reversal of a
    # collection that never settled. `fundraising.donations.record_adjustment` sets it;
    # reports simply SUM it.
    taken_back_cents: Mapped[int] = mapped_column(BigInteger, default=_default_taken_back)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    donation: Mapped[Donation] = relationship(back_populates="adjustments")
