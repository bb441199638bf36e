"""Reading donations back: the list behind `anbi donations list` (and anything else
that needs donations as rows), in one query with the refunded amount aggregated in
the database, streamed so a large list does not sit in memory."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anbi.core.money import cents_to_str
from donors.models import Donor
from donors.service import resolve_ref
from fundraising.campaigns import get_campaign
from fundraising.donations import taken_back_by_donation
from fundraising.models import Campaign, Donation, Fund

# Exactly the keys DESIGN.md names for `anbi donations list --json`.
DONATION_LIST_KEYS = (
    "reference", "donor_ref", "date", "amount", "currency", "method", "campaign", "fund", "kind", "status",
    "refunded", "source",
)


def list_donations(
    session: Session, *, donor_ref: str | None = None, year: int | None = None, campaign: str | None = None,
) -> Iterator[dict]:
    """Donations by date, oldest first, optionally for one donor (a merged ref finds
    the donor it was merged into), one calendar year or one campaign. Raises
    DonorNotFound / CampaignNotFound for an unknown filter value."""
    taken = taken_back_by_donation()
    query = (
        select(
            Donation.reference, Donor.ref, Donation.received_on, Donation.amount_cents, Donation.currency,
            Donation.method, Campaign.code, Fund.code, Donation.kind, Donation.status,
            func.coalesce(taken.c.taken_back_cents, 0), Donation.source,
        )
        .outerjoin(Donor, Donor.id == Donation.donor_id)
        .outerjoin(Campaign, Campaign.id == Donation.campaign_id)
        .outerjoin(Fund, Fund.id == Donation.fund_id)
        .outerjoin(taken, taken.c.donation_id == Donation.id)
        .order_by(Donation.received_on, Donation.id)
    )
    if donor_ref is not None:
        query = query.where(Donation.donor_id == resolve_ref(session, donor_ref).id)
    if year is not None:
        query = query.where(Donation.received_on >= dt.date(year, 1, 1), Donation.received_on < dt.date(year + 1, 1, 1))
    if campaign is not None:
        query = query.where(Donation.campaign_id == get_campaign(session, campaign).id)
    for row in session.execute(query.execution_options(yield_per=2000)):
        reference, ref, received_on, amount, currency, method, campaign_code, fund_code, kind, status, refunded, source = row
        yield {
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
