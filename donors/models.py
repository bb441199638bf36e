"""Donor records: persons and organisations, their tags, consent history, merges,
and the suppression list that outlives an erasure (DOMAIN.md 6.2, 6.3)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from anbi.core.db import Base, BigIntId, IdMixin, TimestampMixin, UTCDateTime, utcnow

DONOR_KINDS = ("person", "organisation")
# The RJ 650 income statement sorts organisation gifts by this (DOMAIN.md 2.2).
ORGANISATION_TYPES = ("company", "foundation", "related_nonprofit", "other_nonprofit")
LANGUAGES = ("nl", "en")
CHANNELS = ("email", "post", "phone")
SEARCH_NAME_TYPE = String(300).with_variant(String(300, collation="C"), "postgresql")


# The donors never shown (restricted or purged): few, looked up by every list that
# leaves their records out (donors.service.hidden_donors).
_HIDDEN = "restricted_at IS NOT NULL OR purged_at IS NOT NULL"


class Donor(IdMixin, TimestampMixin, Base):
    __tablename__ = "donors"
    __table_args__ = (
        Index("ix_donors_hidden", "id", postgresql_where=text(_HIDDEN), sqlite_where=text(_HIDDEN)),
        # A search's page of names in order, read from the index and stopped after the page.
        Index("ix_donors_search_name", "search_name", "id"),
    )

    ref: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="person")
    initials: Mapped[str | None] = mapped_column(String(20))
    first_name: Mapped[str | None] = mapped_column(String(100))
    prefix: Mapped[str | None] = mapped_column(String(30))  # tussenvoegsel: "van der"
    last_name: Mapped[str | None] = mapped_column(String(150))
    organisation_name: Mapped[str | None] = mapped_column(String(200))
    organisation_type: Mapped[str | None] = mapped_column(String(30))
    # What the donor sorts under: "Van der Berg" sorts under "berg van der".
    sort_name: Mapped[str] = mapped_column(String(300), default="", index=True)
    # The words the donor is found by, folded (donors.names.search_key: "berg van der
    # anna a", "ozturk mehmet"), written with every change of the name. Compared byte
    # by byte on PostgreSQL too ("C"), so that a search for a prefix is a range of the
    # index on both databases.
    search_name: Mapped[str] = mapped_column(SEARCH_NAME_TYPE, default="", server_default="")

    street: Mapped[str | None] = mapped_column(String(200))
    house_number: Mapped[str | None] = mapped_column(String(20))
    house_number_suffix: Mapped[str | None] = mapped_column(String(20))
    postcode: Mapped[str | None] = mapped_column(String(20), index=True)
    city: Mapped[str | None] = mapped_column(String(100), index=True)  # search finds donors by city
    country: Mapped[str] = mapped_column(String(2), default="NL")

    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(30))
    iban: Mapped[str | None] = mapped_column(String(34), index=True)
    language: Mapped[str] = mapped_column(String(2), default="nl")
    notes: Mapped[str | None] = mapped_column(Text)
    deceased_on: Mapped[dt.date | None] = mapped_column(Date)

    # Set when this record was merged into another; its ref then resolves there.
    merged_into_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("donors.id"), index=True)
    # AVG art. 18: restricted after an erasure request while fiscal records must be kept.
    restricted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Irreversibly pseudonymised once the retention period passed.
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


    tags: Mapped[list[DonorTag]] = relationship(
        back_populates="donor", cascade="all, delete-orphan", order_by="DonorTag.tag"
    )
    consent_events: Mapped[list[ConsentEvent]] = relationship(
        back_populates="donor", cascade="all, delete-orphan", order_by="ConsentEvent.id"
    )

    @property
    def is_active(self) -> bool:
        """Shown in lists, search, exports and the API."""
        return self.merged_into_id is None and self.restricted_at is None and self.purged_at is None


class DonorTag(IdMixin, Base):
    __tablename__ = "donor_tags"
    __table_args__ = (UniqueConstraint("donor_id", "tag"),)

    donor_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("donors.id", ondelete="CASCADE"), index=True)
    tag: Mapped[str] = mapped_column(String(100))

    donor: Mapped[Donor] = relationship(back_populates="tags")


class ConsentEvent(IdMixin, Base):
    """Consent given or withdrawn, or an objection made, for one channel.

    The latest event per channel is the donor's current consent; the history is the
    proof the AVG asks for (when, from where, under which wording)."""

    __tablename__ = "consent_events"

    donor_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("donors.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    granted: Mapped[bool] = mapped_column(Boolean)
    # "consent" (opt-in or its withdrawal) or "objection" (recht van verzet: never contact)
    kind: Mapped[str] = mapped_column(String(20), default="consent")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    source: Mapped[str] = mapped_column(String(200))
    wording: Mapped[str | None] = mapped_column(String(500))

    donor: Mapped[Donor] = relationship(back_populates="consent_events")


class DonorMerge(IdMixin, Base):
    """A merge: `merged_ref` now resolves to the kept donor."""

    __tablename__ = "donor_merges"

    kept_donor_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("donors.id"), index=True)
    merged_donor_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("donors.id"), index=True)
    merged_ref: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))


class Suppression(IdMixin, Base):
    """A hashed contact detail never to be used again (survives erasure, DOMAIN.md 6.3)."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("kind", "value_hash"),)

    kind: Mapped[str] = mapped_column(String(10))  # email, phone, iban
    value_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reason: Mapped[str] = mapped_column(String(50), default="erasure")
