"""Reading donations back: the one list behind `anbi donations list`, the API's
`GET /api/v1/donations` and the web application's donations page and CSV.

Every filter is a condition in SQL, and a page is cut with LIMIT/OFFSET in SQL, so
a page over millions of donations reads only the rows it shows. The refunded
amount is a scalar subquery correlated to each listed donation (served by the
index on `donation_adjustments.donation_id`): computed for the rows returned only,
never by grouping every adjustment in the database.

Restricted and purged donors' gifts leave every list here through one condition
(`DonationFilter.conditions`); anonymous gifts stay."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, join, outerjoin

from anbi.core.money import cents_to_str
from donors import names
from donors.models import Donor
from donors.service import hidden_donors, resolve_listed_ref
from fundraising.campaigns import campaign_ids, gifts_of
from fundraising.donations import EUR, NOT_RECEIVED_STATUSES, sum_cents
from fundraising.models import Campaign, Donation, DonationAdjustment, Fund

# Exactly the keys DESIGN.md names for `anbi donations list --json`.
DONATION_LIST_KEYS = (
    "reference", "donor_ref", "date", "amount", "currency", "method", "campaign", "fund", "kind", "status",
    "refunded", "source",
)

# Rows fetched from the database at a time when a whole list is streamed.
STREAM_BATCH = 2000


def _shown(session: Session) -> list[ColumnElement[bool]]:
    """Not a gift of a hidden donor (`donors.service.hidden_donors`), said by donation
    id: the few such gifts are found through the donor index, and a page is still cut
    from the (received_on, id) index alone, without reading each row's donor. No
    condition at all while there is no such gift (one indexed look first)."""
    hidden_gifts = select(Donation.id).where(Donation.donor_id.in_(hidden_donors()))
    if not session.scalar(select(hidden_gifts.exists())):
        return []
    return [Donation.id.not_in(hidden_gifts)]


@dataclass(frozen=True)
class DonationFilter:
    """What a list of donations is narrowed by; None leaves that out. The dates are
    both inclusive; `year` and a date range together give the days in both."""

    donor_ref: str | None = None
    year: int | None = None
    campaign: str | None = None
    status: str | None = None
    method: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @property
    def narrows(self) -> bool:
        """Whether anything is chosen, beyond leaving out who is not shown."""
        return any(value is not None for value in
                   (self.donor_ref, self.year, self.campaign, self.status, self.method, self.date_from, self.date_to))

    def conditions(self, session: Session) -> list[ColumnElement[bool]]:
        """The filter as conditions on `donations`. A donor ref and a campaign code are
        looked up here (a merged ref finds the donor it was merged into), so that the
        list itself filters on indexed ids; a campaign's gifts include its
        sub-campaigns' (`fundraising.campaigns.gifts_of`). Raises DonorNotFound /
        CampaignNotFound. The gifts of restricted and purged donors are never listed
        (`donors.service.shown_donor`), and such a donor's ref is not found."""
        found: list[ColumnElement[bool]] = _shown(session)
        if self.donor_ref is not None:
            found.append(Donation.donor_id == resolve_listed_ref(session, self.donor_ref).id)
        if self.campaign is not None:
            found.append(gifts_of(campaign_ids(session, self.campaign)))
        if self.year is not None:
            found += [Donation.received_on >= dt.date(self.year, 1, 1), Donation.received_on < dt.date(self.year + 1, 1, 1)]
        if self.date_from is not None:
            found.append(Donation.received_on >= self.date_from)
        if self.date_to is not None:
            found.append(Donation.received_on <= self.date_to)
        if self.status is not None:
            found.append(Donation.status == self.status)
        if self.method is not None:
            found.append(Donation.method == self.method)
        return found


def list_donations(
    session: Session, *, donor_ref: str | None = None, year: int | None = None, campaign: str | None = None,
    status: str | None = None, method: str | None = None, date_from: dt.date | None = None,
    date_to: dt.date | None = None, limit: int | None = None, offset: int = 0, newest_first: bool = False,
    with_names: bool = False,
) -> Iterator[dict]:
    """Donations by date (then by id, so that pages never overlap or skip a row),
    oldest first unless `newest_first`, as dicts with DONATION_LIST_KEYS; with
    `with_names` also `donor_name` (the name lists show; None when anonymous), for
    a person reading the list.

    With `limit`, one page: `limit` rows after skipping `offset`. Without, every
    matching row, streamed STREAM_BATCH at a time so a long list never sits in
    memory. Raises DonorNotFound / CampaignNotFound for an unknown donor or
    campaign, at the call (not at the first row)."""
    chosen = DonationFilter(donor_ref, year, campaign, status, method, date_from, date_to)
    conditions = chosen.conditions(session)
    if limit is None:
        return _stream(session, conditions, newest_first, with_names, narrowed=chosen.narrows)
    return iter(_page(session, conditions, limit=limit, offset=offset, newest_first=newest_first, with_names=with_names))


def _order(id_column, date_column, newest_first: bool) -> tuple:
    if newest_first:
        return date_column.desc(), id_column.desc()
    return date_column, id_column


# The name parts a donor's name is written from (donors.names), selected only for a
# list that shows names.
_NAME_COLUMNS = (Donor.kind, Donor.initials, Donor.first_name, Donor.prefix, Donor.last_name,
                 Donor.organisation_name, Donor.language)


def _listed(source, refunded, order: tuple, with_names: bool):
    """The listed columns, from `source` (donations, joined to what picks them) and the
    refunded amount column `refunded`, with the donor, campaign and fund codes (and
    the donor's name parts when `with_names`)."""
    return (
        select(
            Donation.reference, Donor.ref, Donation.received_on, Donation.amount_cents, Donation.currency,
            Donation.method, Campaign.code, Fund.code, Donation.kind, Donation.status, refunded, Donation.source,
            *(_NAME_COLUMNS if with_names else ()),
        )
        .select_from(
            outerjoin(outerjoin(outerjoin(source, Donor, Donor.id == Donation.donor_id),
                                Campaign, Campaign.id == Donation.campaign_id), Fund, Fund.id == Donation.fund_id)
        )
        .order_by(*order)
    )


def _page(session: Session, conditions: list, *, limit: int, offset: int, newest_first: bool,
          with_names: bool) -> list[dict]:
    # The page is cut from the ids alone (from the (received_on, id) index when no
    # other filter applies); only its own rows are then joined to the donor,
    # campaign and fund and have their refunds summed, by a subquery per row. A
    # subquery with LIMIT is not merged into the outer query by either database.
    page = (
        select(Donation.id, Donation.received_on)
        .where(*conditions)
        .order_by(*_order(Donation.id, Donation.received_on, newest_first))
        .limit(limit)
        .offset(offset)
        .subquery("page")
    )
    refunded = (
        select(sum_cents(DonationAdjustment.taken_back_cents))
        .where(DonationAdjustment.donation_id == Donation.id)
        .scalar_subquery()
    )
    query = _listed(join(page, Donation, Donation.id == page.c.id), refunded,
                    _order(page.c.id, page.c.received_on, newest_first), with_names)
    return [_document(row) for row in session.execute(query)]


def _stream(session: Session, conditions: list, newest_first: bool, with_names: bool, *, narrowed: bool) -> Iterator[dict]:
    # A whole list is read in one pass, and the refunds of the listed donations are
    # summed once and hash-joined. A subquery per row costs more here: PostgreSQL
    # plans a cursor for its first rows and then walks the date index with a lookup
    # per row (1,000,000 donations: about twice as long, measured with bench/donation_list.py).
    taken = select(
        DonationAdjustment.donation_id.label("donation_id"),
        sum_cents(DonationAdjustment.taken_back_cents).label("cents"),
    )
    if narrowed:  # only the listed donations' refunds; for every donation, no filter is cheaper
        taken = taken.where(DonationAdjustment.donation_id.in_(select(Donation.id).where(*conditions)))
    taken_back = taken.group_by(DonationAdjustment.donation_id).subquery("taken_back")
    query = _listed(outerjoin(Donation, taken_back, taken_back.c.donation_id == Donation.id), func.coalesce(taken_back.c.cents, 0),
                    _order(Donation.id, Donation.received_on, newest_first), with_names).where(*conditions)
    for row in session.execute(query.execution_options(yield_per=STREAM_BATCH)):
        yield _document(row)


def _document(row) -> dict:
    reference, ref, received_on, amount, currency, method, campaign_code, fund_code, kind, status, refunded, source = row[:12]
    document = {
        "reference": reference,
        "donor_ref": ref,
        "date": received_on.isoformat(),
        "amount": cents_to_str(amount),
        "currency": currency,
        "method": method,
        "campaign": campaign_code,
        "fund": fund_code,
        "kind": kind,
        "status": status,
        "refunded": cents_to_str(int(refunded)),
        "source": source,
    }
    if len(row) > 12:
        document["donor_name"] = names.display_name(names.Name(*row[12:])) if ref is not None else None
    return document


@dataclass(frozen=True)
class ReceivedTotal:
    """Money that reached us in one currency, among the donations counted: what was
    received (every status but pending and failed), what refunds, chargebacks,
    settled reversals and lost disputes took back of it, and what is left."""

    currency: str
    gifts: int
    received_cents: int
    taken_back_cents: int

    @property
    def net_cents(self) -> int:
        return self.received_cents - self.taken_back_cents


@dataclass(frozen=True)
class NotReceivedTotal:
    """Donations counted whose money has not reached us (pending) or never will
    (failed): listed, but not money received."""

    status: str
    currency: str
    gifts: int
    cents: int


@dataclass(frozen=True)
class DonationCount:
    """How many donations match, whatever their status, and what they add up to:
    `received` per currency (EUR first), and apart from it what is `not_received`."""

    count: int
    received: list[ReceivedTotal] = field(default_factory=list)
    not_received: list[NotReceivedTotal] = field(default_factory=list)


def count_donations(
    session: Session, *, donor_ref: str | None = None, year: int | None = None, campaign: str | None = None,
    status: str | None = None, method: str | None = None, date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> DonationCount:
    """How many donations match (whatever their status), the money received of them
    (net of what was taken back, whenever that was) and, apart, the pending and
    failed ones: counted and summed in the database, one GROUP BY over the
    donations and one over their adjustments."""
    conditions = DonationFilter(donor_ref, year, campaign, status, method, date_from, date_to).conditions(session)
    rows = session.execute(
        select(Donation.currency, Donation.status, func.count(), sum_cents(Donation.amount_cents))
        .where(*conditions)
        .group_by(Donation.currency, Donation.status)
    ).all()
    received: dict[str, list[int]] = {}
    not_received: list[NotReceivedTotal] = []
    for currency, state, gifts, cents in rows:
        if state in NOT_RECEIVED_STATUSES:
            not_received.append(NotReceivedTotal(state, currency, int(gifts), int(cents)))
        else:
            figures = received.setdefault(currency, [0, 0])
            figures[0] += int(gifts)
            figures[1] += int(cents)
    taken: dict[str, int] = {}
    if received:
        # Only received donations have anything taken back (a pending collection that
        # is reversed fails, taking nothing back).
        taken = {currency: int(cents) for currency, cents in session.execute(
            select(Donation.currency, sum_cents(DonationAdjustment.taken_back_cents))
            .select_from(DonationAdjustment)
            .join(Donation, Donation.id == DonationAdjustment.donation_id)
            .where(*conditions, DonationAdjustment.taken_back_cents > 0)
            .group_by(Donation.currency)
        )}
    order = sorted(received, key=lambda currency: (currency != EUR, currency))
    return DonationCount(
        count=sum(int(gifts) for _, _, gifts, _ in rows),
        received=[ReceivedTotal(c, received[c][0], received[c][1], taken.get(c, 0)) for c in order],
        not_received=sorted(not_received, key=lambda t: (NOT_RECEIVED_STATUSES.index(t.status), t.currency != EUR,
                                                         t.currency)),
    )
