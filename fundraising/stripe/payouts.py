"""Stripe payouts (uitbetalingen): what each payout to our bank account consists of,
reconciled to the cent with the donations it carries, and matched to the bank line
it arrived on — the third corner of gift ↔ bank line/payout ↔ journal entry.

`fetch_payouts` reads payouts and their balance transactions (charges, refunds,
disputes, fees) through the Stripe client of `fundraising.stripe.client`;
`reconcile` is a plain function over those values; `store_payouts` records them
(idempotent per payout and per balance transaction) and matches bank lines.

Stripe lists a payout's balance transactions with `payout=<id>`. A Stripe-compatible
server that cannot (localstripe) gets the transactions assigned the way Stripe's
balance works for a single account: every available transaction goes into the next
payout created after it — and the payout is only called reconciled when the
transactions so assigned add up to it exactly.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import stripe
from sqlalchemy import select
from sqlalchemy.orm import Session

from anbi.core.clock import amsterdam_date
from anbi.core.errors import AnbiError
from anbi.core.money import cents_to_str
from fundraising.bank.booking import PAYOUT_DAYS, PAYOUT_ID
from fundraising.lookups import chunks
from fundraising.models import Donation
from fundraising.models_ledger import BankLine, StripePayout, StripePayoutItem
from fundraising.stripe.donors import SOURCE as STRIPE_SOURCE

CHARGE_TYPES = ("charge", "payment")
REFUND_TYPES = ("refund", "payment_refund", "payment_failure_refund")
FEE_TYPES = ("stripe_fee", "application_fee", "tax_fee")


class StripeUnavailable(AnbiError):
    def __init__(self, reason: str):
        super().__init__(f"Stripe could not be read: {reason}; nothing was changed, run it again later")


@dataclass(frozen=True)
class BalanceItem:
    id: str
    type: str
    amount_cents: int        # signed: refunds and disputes are negative
    fee_cents: int
    net_cents: int
    currency: str
    source_id: str | None    # ch_, re_, dp_, ...
    charge_id: str | None    # the charge a refund or dispute belongs to
    created: int             # unix time

    @property
    def is_dispute(self) -> bool:
        return bool(self.source_id and self.source_id.startswith("dp_")) or self.type.startswith("dispute")


@dataclass(frozen=True)
class PayoutFacts:
    id: str
    amount_cents: int
    currency: str
    arrival_date: dt.date
    created: int
    status: str
    items: tuple[BalanceItem, ...] = ()


@dataclass(frozen=True)
class Reconciliation:
    charges_cents: int
    refunds_cents: int
    disputes_cents: int
    fees_cents: int
    other_cents: int
    difference_cents: int            # payout amount minus what its transactions add up to
    unknown_charges: tuple[str, ...]  # charges that are no donation of ours
    mismatched: tuple[str, ...]      # charges whose amount differs from their donation's
    reconciled: bool

    def note(self) -> str | None:
        parts = []
        if self.difference_cents:
            parts.append(f"transactions add up to {cents_to_str(self.difference_cents)} less than the payout"
                         if self.difference_cents > 0 else
                         f"transactions add up to {cents_to_str(-self.difference_cents)} more than the payout")
        if self.unknown_charges:
            parts.append(f"{len(self.unknown_charges)} charge(s) are no donation of ours: {', '.join(self.unknown_charges[:5])}")
        if self.mismatched:
            parts.append(f"charge amount differs from the donation: {', '.join(self.mismatched[:5])}")
        return "; ".join(parts) or None


def reconcile(payout: PayoutFacts, donations: dict[str, tuple[int, int]]) -> Reconciliation:
    """Split a payout into charges, refunds, disputes and fees, and check it to the cent.

    `donations[charge_id] = (donation id, amount in cents)`. Reconciled means: the
    transactions' net amounts add up to the payout, and every charge in it is one of
    our donations with exactly the donation's amount."""
    charges = refunds = disputes = other = 0
    fees = 0
    unknown: list[str] = []
    mismatched: list[str] = []
    for item in payout.items:
        fees += item.fee_cents
        if item.type in CHARGE_TYPES:
            charges += item.amount_cents
            found = donations.get(item.source_id or "")
            if found is None:
                unknown.append(item.source_id or item.id)
            elif found[1] != item.amount_cents:
                mismatched.append(item.source_id or item.id)
        elif item.type in REFUND_TYPES:
            refunds += item.amount_cents
        elif item.is_dispute:
            disputes += item.amount_cents
        elif item.type in FEE_TYPES:
            fees -= item.amount_cents    # a fee transaction's amount is negative
        else:
            other += item.amount_cents
    net = sum(item.net_cents for item in payout.items)
    difference = payout.amount_cents - net
    reconciled = (difference == 0 and not unknown and not mismatched and payout.currency == "EUR"
                  and bool(payout.items))
    return Reconciliation(charges, refunds, disputes, fees, other, difference, tuple(unknown), tuple(mismatched), reconciled)


def sweep(payouts: list[PayoutFacts], items: list[BalanceItem], taken: set[str]) -> list[PayoutFacts]:
    """Assign transactions to payouts when the server cannot say which went where:
    each payout takes the transactions created up to it and not in an earlier one."""
    pool = sorted((i for i in items if i.id not in taken and i.type != "payout"), key=lambda i: (i.created, i.id))
    result = []
    for payout in sorted(payouts, key=lambda p: (p.created, p.id)):
        mine = tuple(i for i in pool if i.created <= payout.created)
        pool = [i for i in pool if i.created > payout.created]
        result.append(PayoutFacts(payout.id, payout.amount_cents, payout.currency, payout.arrival_date, payout.created,
                                  payout.status, mine))
    return result


# --------------------------------------------------------------------------- Stripe


def _get(obj, key, default=None):
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _item(txn, client: stripe.StripeClient | None, charges_of: dict[str, str]) -> BalanceItem:
    source = _get(txn, "source")
    source_id = source if isinstance(source, str) or source is None else _get(source, "id")
    charge_id = None
    if source_id and source_id.startswith(("ch_", "py_")):
        charge_id = source_id
    elif source_id and source_id.startswith(("re_", "pyr_", "dp_")):
        charge = _get(source, "charge") if not isinstance(source, str) else None
        if charge is None:
            charge = charges_of.get(source_id) or (_charge_of(client, source_id) if client is not None else None)
        charge_id = charge if isinstance(charge, str) else _get(charge, "id")
    return BalanceItem(
        id=_get(txn, "id"), type=_get(txn, "type") or "", amount_cents=int(_get(txn, "amount") or 0),
        fee_cents=int(_get(txn, "fee") or 0), net_cents=int(_get(txn, "net") or 0),
        currency=(_get(txn, "currency") or "").upper(), source_id=source_id, charge_id=charge_id,
        created=int(_get(txn, "created") or 0),
    )


def _charge_of(client: stripe.StripeClient, source_id: str) -> str | None:
    if source_id.startswith("dp_"):
        return _get(client.v1.disputes.retrieve(source_id), "charge")
    return _get(client.v1.refunds.retrieve(source_id), "charge")


def payout_facts(payout, items: Iterable[BalanceItem] = ()) -> PayoutFacts:
    return PayoutFacts(
        id=_get(payout, "id"), amount_cents=int(_get(payout, "amount") or 0),
        currency=(_get(payout, "currency") or "").upper(), arrival_date=amsterdam_date(int(_get(payout, "arrival_date"))),
        created=int(_get(payout, "created") or 0), status=_get(payout, "status") or "", items=tuple(items),
    )


def fetch_payouts(client: stripe.StripeClient, *, since: dt.date | None, known_items: set[str]) -> list[PayoutFacts]:
    """Payouts created on or after `since` with their balance transactions."""
    try:
        payouts = [p for p in client.v1.payouts.list(params={"limit": 100}).auto_paging_iter()
                   if since is None or amsterdam_date(int(_get(p, "created"))) >= since]
        payouts = [p for p in payouts if _get(p, "status") in ("paid", "in_transit", "pending")]
        facts: list[PayoutFacts] = []
        unlinked: list = []
        for payout in payouts:
            try:
                txns = client.v1.balance_transactions.list(params={
                    "payout": _get(payout, "id"), "limit": 100, "expand": ["data.source"]}).auto_paging_iter()
                items = [_item(t, client, {}) for t in txns if _get(t, "type") != "payout"]
                facts.append(payout_facts(payout, items))
            except stripe.InvalidRequestError as exc:
                if "payout" not in str(exc):
                    raise
                unlinked.append(payout)
        if unlinked:
            every = [_item(t, client, {}) for t in
                     client.v1.balance_transactions.list(params={"limit": 100}).auto_paging_iter()
                     if _get(t, "type") != "payout"]
            facts += sweep([payout_facts(p) for p in unlinked], every, known_items)
        return facts
    except stripe.APIConnectionError:
        raise StripeUnavailable("cannot connect to Stripe (check [stripe] api_base and the network)") from None
    except stripe.AuthenticationError:
        raise StripeUnavailable("Stripe refused [stripe] api_key") from None
    except stripe.StripeError as exc:
        text = " ".join((exc.user_message or str(exc) or exc.__class__.__name__).split())
        raise StripeUnavailable(text[:300]) from None


# --------------------------------------------------------------------------- storing


@dataclass
class PayoutReport:
    payouts: list[dict] = field(default_factory=list)
    not_on_statement: list[dict] = field(default_factory=list)
    unmatched_lines: list[dict] = field(default_factory=list)
    bank_lines_matched: int = 0


def known_items(session: Session) -> set[str]:
    return set(session.scalars(select(StripePayoutItem.balance_transaction_id)))


def store_payouts(session: Session, fetched: list[PayoutFacts], *, today: dt.date) -> PayoutReport:
    report = PayoutReport()
    charges = sorted({i.source_id for p in fetched for i in p.items if i.type in CHARGE_TYPES and i.source_id}
                     | {i.charge_id for p in fetched for i in p.items if i.charge_id})
    donations: dict[str, tuple[int, int]] = {}
    for part in chunks(charges):
        for charge_id, donation_id, amount in session.execute(
            select(Donation.stripe_charge_id, Donation.id, Donation.amount_cents)
            .where(Donation.source == STRIPE_SOURCE, Donation.stripe_charge_id.in_(part))
        ):
            assert charge_id is not None  # one of `part`
            donations[charge_id] = (donation_id, amount)
    existing = {p.payout_id: p for p in session.scalars(select(StripePayout).where(
        StripePayout.payout_id.in_([p.id for p in fetched])))} if fetched else {}
    stored_items = known_items(session)
    for facts in fetched:
        outcome = reconcile(facts, donations)
        row = existing.get(facts.id)
        if row is None:
            row = StripePayout(payout_id=facts.id)
            session.add(row)
        row.amount_cents, row.currency, row.arrival_date = facts.amount_cents, facts.currency, facts.arrival_date
        row.created_on, row.status = amsterdam_date(facts.created), facts.status
        row.charges_cents, row.refunds_cents, row.disputes_cents = outcome.charges_cents, outcome.refunds_cents, outcome.disputes_cents
        row.fees_cents, row.other_cents = outcome.fees_cents, outcome.other_cents
        row.reconciled, row.difference_cents, row.note = outcome.reconciled, outcome.difference_cents, outcome.note()
        session.flush()
        for item in facts.items:
            if item.id in stored_items:
                continue
            linked = donations.get(item.source_id or "") if item.type in CHARGE_TYPES else None
            session.add(StripePayoutItem(
                payout_pk=row.id, balance_transaction_id=item.id, type=item.type, source_id=item.source_id,
                charge_id=item.charge_id, amount_cents=item.amount_cents, fee_cents=item.fee_cents,
                net_cents=item.net_cents, currency=item.currency, created_on=amsterdam_date(item.created) if item.created else today,
                donation_id=linked[0] if linked else None,
            ))
            stored_items.add(item.id)
        report.payouts.append({
            "payout": facts.id, "arrival_date": facts.arrival_date.isoformat(), "status": facts.status,
            "amount": cents_to_str(facts.amount_cents), "currency": facts.currency,
            "charges": cents_to_str(outcome.charges_cents), "refunds": cents_to_str(outcome.refunds_cents),
            "disputes": cents_to_str(outcome.disputes_cents), "fees": cents_to_str(outcome.fees_cents),
            "other": cents_to_str(outcome.other_cents), "transactions": len(facts.items),
            "reconciled": outcome.reconciled, "difference": cents_to_str(outcome.difference_cents), "note": outcome.note(),
        })
    session.flush()
    report.bank_lines_matched = match_bank_lines(session)
    _three_way(session, report, today)
    return report


def match_bank_lines(session: Session) -> int:
    """Stripe lines on statements imported before the payout was known: match them now."""
    lines = list(session.scalars(select(BankLine).where(BankLine.kind == "payout", BankLine.state == "unmatched")))
    if not lines:
        return 0
    taken = set(session.scalars(select(BankLine.payout_id).where(BankLine.payout_id.is_not(None))))
    payouts = [p for p in session.scalars(select(StripePayout)) if p.id not in taken]
    matched = 0
    for line in lines:
        text = " ".join(x for x in (line.remittance, line.creditor_reference, line.additional_info) if x)
        named = PAYOUT_ID.search(text)
        candidates = [p for p in payouts if p.payout_id == named.group(0)] if named else [
            p for p in payouts if p.amount_cents == line.amount_cents
            and abs((p.arrival_date - line.booking_date).days) <= PAYOUT_DAYS]
        if len(candidates) == 1 and candidates[0].amount_cents == line.amount_cents:
            line.payout_id, line.state, line.note = candidates[0].id, "matched", None
            payouts.remove(candidates[0])
            matched += 1
    session.flush()
    return matched


def _three_way(session: Session, report: PayoutReport, today: dt.date) -> None:
    seen = set(session.scalars(select(BankLine.payout_id).where(BankLine.payout_id.is_not(None))))
    for payout in session.scalars(select(StripePayout).where(StripePayout.status.in_(("paid", "in_transit")))
                                  .order_by(StripePayout.arrival_date)):
        if payout.id not in seen and payout.arrival_date <= today:
            report.not_on_statement.append({"payout": payout.payout_id, "arrival_date": payout.arrival_date.isoformat(),
                                            "amount": cents_to_str(payout.amount_cents)})
    for line in session.scalars(select(BankLine).where(BankLine.kind == "payout", BankLine.state == "unmatched")
                                .order_by(BankLine.booking_date)):
        report.unmatched_lines.append({"line": line.id, "date": line.booking_date.isoformat(),
                                       "amount": cents_to_str(line.amount_cents), "text": line.remittance, "note": line.note})
