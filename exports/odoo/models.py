"""What we sent to Odoo, so that every donation is booked exactly once.

`odoo_entries` holds each journal entry (account.move) by its stable ref of ours;
it is written before the entry is sent, so a sync that breaks off halfway finds its
plan again and looks every ref up in Odoo before creating it. `odoo_entry_donations`
records which donation each entry carried, with the campaign, fund and amount it was
booked with: a donation whose booking no longer matches is reversed by an entry of
ours and booked again. `odoo_partners` maps donors to res.partner ids; it keeps the
donor's id without a foreign key on purpose, so that the link outlives a complete
erasure and the partner in Odoo can still be anonymised.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from anbi.core.db import Base, BigIntId, IdMixin, UTCDateTime, utcnow
from fundraising.models import Donation, DonationAdjustment

ENTRY_KINDS = ("donations", "refund", "correction", "payout")
PARTNER_STATES = ("active", "archived", "anonymised")


class OdooPartner(IdMixin, Base):
    __tablename__ = "odoo_partners"

    donor_id: Mapped[int] = mapped_column(BigInteger, unique=True)  # no FK: see the module docstring
    donor_ref: Mapped[str] = mapped_column(String(64))
    partner_id: Mapped[int] = mapped_column(BigInteger)
    # SHA-256 of the values last written, so an unchanged donor costs no call.
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12), default="active")
    synced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class OdooEntry(IdMixin, Base):
    """A journal entry of ours: planned (move_id empty) or created and posted."""

    __tablename__ = "odoo_entries"

    ref: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    entry_date: Mapped[dt.date] = mapped_column(Date, index=True)
    channel: Mapped[str] = mapped_column(String(60))
    total_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    move_id: Mapped[int | None] = mapped_column(BigInteger)
    move_name: Mapped[str | None] = mapped_column(String(100))
    posted: Mapped[bool] = mapped_column(Boolean, default=False)
    planned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The payout an entry of kind "payout" books (a Stripe payout id).
    payout_ref: Mapped[str | None] = mapped_column(String(100))
    # The date Odoo booked the entry on, when it is not entry_date (a lock date moved it).
    odoo_date: Mapped[dt.date | None] = mapped_column(Date)

    bookings: Mapped[list[OdooBooking]] = relationship(
        back_populates="entry", foreign_keys="OdooBooking.entry_id", order_by="OdooBooking.id"
    )


class OdooBooking(IdMixin, Base):
    """One donation carried by one entry, as it was booked. `reversed_by_id` is set
    when a correction entry of ours took it back out (the donation is then booked
    again in a later entry)."""

    __tablename__ = "odoo_entry_donations"
    __table_args__ = (UniqueConstraint("entry_id", "donation_id"),)

    entry_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("odoo_entries.id"), index=True)
    donation_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("donations.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    # The part booked as income from goods and services (a consideration, DOMAIN.md 1.4).
    consideration_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    campaign_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("campaigns.id"))
    fund_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("funds.id"))
    # The [odoo.accounts] key the rest was booked on: "income.private_individuals", ...
    income_account: Mapped[str] = mapped_column(String(40))
    reversed_by_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("odoo_entries.id"))

    entry: Mapped[OdooEntry] = relationship(back_populates="bookings", foreign_keys=[entry_id])
    donation: Mapped[Donation] = relationship()


class OdooRefundBooking(IdMixin, Base):
    """An adjustment (refund, chargeback, settled reversal, lost dispute) booked by an
    `anbi:refund:<id>` entry on its own date, with the booking of its gift it took the
    income back from. When that gift is booked again with another split or account, a
    correction of ours takes the refund back out (`reversed_by_id`) and the refund is
    booked again, so an adjustment has at most one refund booking in force."""

    __tablename__ = "odoo_entry_adjustments"
    __table_args__ = (
        Index("uq_odoo_entry_adjustments_in_force", "adjustment_id", unique=True,
              sqlite_where=text("reversed_by_id IS NULL"), postgresql_where=text("reversed_by_id IS NULL")),
    )

    entry_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("odoo_entries.id"), index=True)
    adjustment_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("donation_adjustments.id"))
    # Rows made before revision 0016 got the booking their lines were derived from.
    booking_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("odoo_entry_donations.id"))
    reversed_by_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("odoo_entries.id"))

    adjustment: Mapped[DonationAdjustment] = relationship()
    booking: Mapped[OdooBooking | None] = relationship()
