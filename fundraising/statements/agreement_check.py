"""`anbi agreements check --year Y`: which periodic gift agreements did not get, in a
calendar year, what they promised — missed, failed, refunded or reversed
instalments, or more than agreed — so the team can contact the donor.

The comparison itself is `fundraising.statements.rules.check_agreement` (pure); this module
gathers its inputs with a few set-based queries: the agreements that ran in the year
or received money in it, their linked gifts of the year with the rows that undo
them (applied in the gift's year, DESIGN.md Refunds), and how each donor pays (the
interval of a linked recurring gift; yearly when there is none).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from anbi.core.money import cents_to_str
from donors.models import Donor
from fundraising.models import Donation, DonationAdjustment, PeriodicAgreement, RecurringGift
from fundraising.statements.rules import Adjustment, Agreement, AgreementCheck, Gift, check_agreement

CHUNK = 500


@dataclass(frozen=True)
class AgreementCheckRow:
    check: AgreementCheck
    donor_ref: str
    interval: str

    def as_dict(self) -> dict:
        c = self.check
        return {
            "number": c.number,
            "donor_ref": self.donor_ref,
            "year": c.year,
            "interval": self.interval,
            "expected": cents_to_str(c.expected_cents),
            "received": cents_to_str(c.received_cents),
            "difference": cents_to_str(c.difference_cents),
            "instalments_due": c.instalments_due,
            "payments": c.payments,
            "refunded": cents_to_str(c.refunded_cents),
            "pending": cents_to_str(c.pending_cents),
            "problems": list(c.problems),
        }


def check_agreements(session: Session, year: int, number: str | None = None, *, all_rows: bool = False) -> list[AgreementCheckRow]:
    """The agreements whose money in `year` differs from what was agreed (every
    agreement that ran or was paid in the year with `all_rows`). `number` restricts
    the check to one agreement; an unknown number raises AgreementNotFound."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    if number is not None:
        from fundraising.agreements import get_agreement

        ids = [get_agreement(session, number).id]
    else:
        paid_in_year = select(Donation.agreement_id).where(
            Donation.agreement_id.is_not(None), Donation.received_on.between(start, end)
        )
        # Ran in the year: started by its end, not ended early before it. The term is
        # checked in the pure function (it needs date arithmetic both databases lack).
        ids = list(session.scalars(
            select(PeriodicAgreement.id).where(or_(
                (PeriodicAgreement.start_date <= end)
                & (PeriodicAgreement.signed_on <= end)
                & (PeriodicAgreement.end_date.is_(None) | (PeriodicAgreement.end_date >= start)),
                PeriodicAgreement.id.in_(paid_in_year),
            )).order_by(PeriodicAgreement.number)
        ))
    rows: list[AgreementCheckRow] = []
    for first in range(0, len(ids), CHUNK):
        rows.extend(_check_chunk(session, ids[first:first + CHUNK], year, all_rows))
    return rows


def _check_chunk(session: Session, ids: list[int], year: int, all_rows: bool) -> list[AgreementCheckRow]:
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    agreements = session.execute(
        select(PeriodicAgreement, Donor.ref).join(Donor, Donor.id == PeriodicAgreement.donor_id)
        .where(PeriodicAgreement.id.in_(ids)).order_by(PeriodicAgreement.number)
    ).all()
    intervals: dict[int, str] = {}
    for agreement_id, interval in session.execute(
        select(RecurringGift.agreement_id, RecurringGift.interval).where(RecurringGift.agreement_id.in_(ids))
        .order_by(RecurringGift.agreement_id, (RecurringGift.status == "active").desc(), RecurringGift.id)
    ):
        assert agreement_id is not None  # selected so
        intervals.setdefault(agreement_id, interval)
    adjustments: dict[int, list[Adjustment]] = defaultdict(list)
    for a in session.execute(
        select(DonationAdjustment.donation_id, DonationAdjustment.kind, DonationAdjustment.amount_cents,
               DonationAdjustment.occurred_on, DonationAdjustment.taken_back_cents)
        .join(Donation, Donation.id == DonationAdjustment.donation_id)
        .where(Donation.agreement_id.in_(ids), Donation.received_on.between(start, end))
    ):
        adjustments[a.donation_id].append(Adjustment(a.kind, a.amount_cents, a.occurred_on, a.taken_back_cents))
    gifts: dict[int, list[Gift]] = defaultdict(list)
    for g in session.execute(
        select(Donation.id, Donation.agreement_id, Donation.received_on, Donation.amount_cents, Donation.currency,
               Donation.method, Donation.kind, Donation.consideration_cents, Donation.status)
        .where(Donation.agreement_id.in_(ids), Donation.received_on.between(start, end))
    ):
        gifts[g.agreement_id].append(Gift(
            id=g.id, received_on=g.received_on, amount_cents=g.amount_cents, currency=g.currency, method=g.method,
            kind=g.kind, consideration_cents=g.consideration_cents, status=g.status, agreement_id=g.agreement_id,
            adjustments=tuple(adjustments.get(g.id, ())),
        ))
    rows = []
    for agreement, donor_ref in agreements:
        terms = Agreement(agreement.id, agreement.number, agreement.annual_amount_cents, agreement.start_date,
                          agreement.signed_on, agreement.years, agreement.end_date, agreement.currency)
        interval = intervals.get(agreement.id, "yearly")
        result = check_agreement(terms, gifts.get(agreement.id, []), year, interval)
        if all_rows or result.differs:
            rows.append(AgreementCheckRow(result, donor_ref, interval))
    return rows
