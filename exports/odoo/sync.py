"""`anbi odoo sync` and `anbi odoo pull-costs`: our books into Odoo, grant costs back.

The order of work, and why:

1. `Ledger.open` checks the key, finds every account of `[odoo.accounts]` by its code
   (never by type), the journal, and the analytic plans "Campaigns" and "Grants"
   (created when missing). Any refusal here — unreachable, wrong key, an account
   code Odoo does not have, analytic accounting off — stops the sync before anything
   is written on either side.
2. `sync_partners`: donors become `res.partner` (ref = donor ref), looked up by ref
   before they are created, written only when their values changed; a merged
   donor's partner is archived, an erased or purged donor's partner anonymised.
3. `plan_entries` decides the journal entries (`exports.odoo.ledger`) and saves them
   with the donations and refunds they carry, in our database, before anything is
   sent: the plan of a sync that breaks off is found again by the next run.
4. `send_entry`, one entry per transaction: the entry is looked up in Odoo by its
   ref (each RPC is its own transaction there), created and posted only when it is
   not there yet, and its move id recorded. A posted entry is never edited.

Services take a Session and flush; the command commits between the steps.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from anbi.core import audit
from anbi.core.clock import utcnow
from anbi.core.errors import ConfigurationError, InvalidInput, Problem
from anbi.core.money import cents_to_str
from donors.models import Donor
from donors.names import display_name
from exports.odoo import ledger as rules
from exports.odoo.client import OdooClient
from exports.odoo.errors import UnknownAccounts
from exports.odoo.models import OdooBooking, OdooEntry, OdooPartner, OdooRefundBooking
from fundraising.donations import RECEIVED_STATUSES
from fundraising.income import consideration_sql, payer_line_sql, split_income
from fundraising.lookups import chunks
from fundraising.models import Campaign, Donation, DonationAdjustment, Fund
from fundraising.models_ledger import SepaCollection, StripePayout
from fundraising.stripe.donors import SOURCE as STRIPE_SOURCE

PLANS = ("Campaigns", "Grants")
EXPENSE_TYPES = ("expense", "expense_depreciation", "expense_direct_cost")
PARTNER_CHUNK = 100


def account_codes(section) -> dict[str, str]:
    """`[odoo.accounts]` flattened: {"bank": "101401", "income.private_individuals": "400100", ...}."""
    accounts = section.get("accounts") or {}
    if not isinstance(accounts, dict):
        raise ConfigurationError("[odoo.accounts] must be a table of account codes")
    flat: dict[str, str] = {}
    for key, value in accounts.items():
        if isinstance(value, dict):
            for sub, code in value.items():
                flat[f"{key}.{sub}"] = str(code).strip()
        else:
            flat[key] = str(value).strip()
    return flat


def wire_amount(cents: int) -> float:
    """Odoo's JSON takes amounts as numbers; cents become a number only here, at the
    edge (exact: every cent amount below 2**53 has a nearest double that prints back)."""
    return float(Decimal(cents).scaleb(-2))


def cents_of(amount) -> int:
    return int((Decimal(str(amount)) * 100).quantize(Decimal(1)))


# --------------------------------------------------------------------------- Odoo side


@dataclass
class Ledger:
    """Odoo as this sync sees it: account ids by our keys, journal, plans."""

    client: OdooClient
    prefix: str
    codes: dict[str, str]
    accounts: dict[str, int]
    journal_id: int
    plans: dict[str, int]
    dry_run: bool = False
    plans_created: list[str] = field(default_factory=list)
    analytic: dict[tuple[int, str], int] = field(default_factory=dict)
    countries: dict[str, int | bool] = field(default_factory=dict)
    grants_by_fund: dict | None = None
    names: dict[tuple[str, int], tuple[str, str]] = field(default_factory=dict)

    def code_and_name(self, session: Session, model, pk: int) -> tuple[str, str]:
        key = (model.__name__, pk)
        if key not in self.names:
            row = session.get(model, pk)
            self.names[key] = (row.code, row.name)
        return self.names[key]

    def grants(self, session: Session) -> dict:
        """Grants by their fund: a gift to a grant's fund is booked on the grant's analytic account."""
        if self.grants_by_fund is None:
            from subsidies.models import Grant

            self.grants_by_fund = {g.fund_id: (g.reference, g.title)
                                   for g in session.scalars(select(Grant).where(Grant.fund_id.is_not(None)))}
        return self.grants_by_fund

    @classmethod
    def open(cls, client: OdooClient, section, *, dry_run: bool = False) -> Ledger:
        client.check_login()
        codes = account_codes(section)
        found = {row["code"]: row["id"] for row in client.search_read(
            "account.account", [["code", "in", sorted(set(codes.values()))]], ["code", "name", "account_type"])} if codes else {}
        missing = {key: code for key, code in codes.items() if code not in found}
        if missing:
            raise UnknownAccounts(missing)
        journal_code = str(section.get("journal", "") or "").strip()
        domain = [["code", "=", journal_code]] if journal_code else [["type", "=", "general"]]
        journals = client.search("account.journal", domain, limit=1)
        if not journals:
            raise ConfigurationError(f"no journal {journal_code!r} in Odoo" if journal_code
                                     else "Odoo has no general journal (Miscellaneous Operations) to book on")
        ledger = cls(client=client, prefix=str(section.get("ref_prefix", "") or "anbi").strip(), codes=codes,
                     accounts={key: found[code] for key, code in codes.items()}, journal_id=journals[0],
                     plans={}, dry_run=dry_run)
        for name in PLANS:
            plan_ids = client.search("account.analytic.plan", [["name", "=", name]], limit=1)
            if plan_ids:
                ledger.plans[name] = plan_ids[0]
            elif not dry_run:
                ledger.plans[name] = client.create("account.analytic.plan", {"name": name})
                ledger.plans_created.append(name)
            else:
                ledger.plans_created.append(name)
        return ledger

    def require(self, keys: set[str]) -> None:
        missing = sorted(k for k in keys if k not in self.accounts)
        if missing:
            raise ConfigurationError("[odoo.accounts] has no code for " + ", ".join(missing)
                                     + ": add them to anbi.toml (DESIGN.md, Settings)")

    def analytic_account(self, plan: str, code: str, name: str) -> int:
        """The analytic account with this code in a plan, made when missing."""
        plan_id = self.plans[plan]
        key = (plan_id, code)
        if key not in self.analytic:
            found = self.client.search("account.analytic.account", [["code", "=", code], ["plan_id", "=", plan_id]], limit=1)
            self.analytic[key] = found[0] if found else self.client.create(
                "account.analytic.account", {"name": name, "code": code, "plan_id": plan_id})
        return self.analytic[key]

    def country(self, code: str | None) -> int | bool:
        if not code:
            return False
        if code not in self.countries:
            found = self.client.search("res.country", [["code", "=", code]], limit=1)
            self.countries[code] = found[0] if found else False
        return self.countries[code]


# --------------------------------------------------------------------------- partners


@dataclass
class PartnerSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    archived: int = 0
    anonymised: int = 0


def partner_values(donor: Donor, country: int | bool) -> dict:
    house = " ".join(p for p in (donor.house_number, donor.house_number_suffix) if p)
    street = " ".join(p for p in (donor.street, house) if p)
    return {
        "name": display_name(donor) or donor.ref, "ref": donor.ref, "email": donor.email or False,
        "phone": donor.phone or False, "street": street or False, "zip": donor.postcode or False,
        "city": donor.city or False, "country_id": country, "is_company": donor.kind == "organisation",
    }


ANONYMOUS = {"name": "Anonymised donor", "email": False, "phone": False, "street": False, "street2": False,
             "zip": False, "city": False, "country_id": False, "comment": False, "active": False}


def _fingerprint(values: dict) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def sync_partners(session: Session, ledger: Ledger, *, progress=lambda items, **_: items) -> PartnerSummary:
    summary = PartnerSummary()
    client = ledger.client
    links = {link.donor_id: link for link in session.scalars(select(OdooPartner))}
    active = select(Donor).where(Donor.merged_into_id.is_(None), Donor.restricted_at.is_(None),
                                 Donor.purged_at.is_(None)).order_by(Donor.id)
    donors = list(session.scalars(active))
    for part in progress(list(chunks(donors, PARTNER_CHUNK)), label="Partners"):
        values = {d.id: partner_values(d, ledger.country(d.country)) for d in part}
        new = [d for d in part if d.id not in links]
        if new:
            found = {row["ref"]: row["id"] for row in client.search_read(
                "res.partner", [["ref", "in", [d.ref for d in new]], ["active", "in", [True, False]]], ["ref"])}
            to_create = [d for d in new if d.ref not in found]
            created = [] if ledger.dry_run else client.create_many("res.partner", [values[d.id] for d in to_create])
            found.update({d.ref: pid for d, pid in zip(to_create, created)})
            summary.created += len(to_create)
            for donor in new:
                if donor.ref in found and not ledger.dry_run:
                    # Found by ref (a broken-off run made it): bring it up to date.
                    if donor not in to_create:
                        client.write("res.partner", [found[donor.ref]], {**values[donor.id], "active": True})
                        summary.updated += 1
                    link = OdooPartner(donor_id=donor.id, donor_ref=donor.ref, partner_id=found[donor.ref],
                                       fingerprint=_fingerprint(values[donor.id]), state="active")
                    session.add(link)
                    links[donor.id] = link
        for donor in part:
            link = links.get(donor.id)
            if link is None or donor in new:
                continue
            fingerprint = _fingerprint(values[donor.id])
            if link.fingerprint == fingerprint and link.state == "active":
                summary.unchanged += 1
                continue
            if not ledger.dry_run:
                client.write("res.partner", [link.partner_id], {**values[donor.id], "active": True})
                link.fingerprint, link.state, link.donor_ref = fingerprint, "active", donor.ref
            summary.updated += 1
    _retire_partners(session, ledger, links, summary)
    session.flush()
    return summary


def _retire_partners(session: Session, ledger: Ledger, links: dict[int, OdooPartner], summary: PartnerSummary) -> None:
    """Merged donors' partners are archived; erased, purged or deleted donors' anonymised."""
    live = {link.donor_id for link in links.values() if link.state != "anonymised"}
    if not live:
        return
    donors = {}
    for part in chunks(sorted(live)):
        donors.update({d.id: d for d in session.scalars(select(Donor).where(Donor.id.in_(part)))})
    for donor_id in sorted(live):
        link = links[donor_id]
        donor = donors.get(donor_id)
        if donor is None or donor.restricted_at is not None or donor.purged_at is not None:
            if not ledger.dry_run:
                ledger.client.write("res.partner", [link.partner_id], {**ANONYMOUS, "ref": link.donor_ref})
                link.state, link.fingerprint = "anonymised", _fingerprint(ANONYMOUS)
            summary.anonymised += 1
        elif donor.merged_into_id is not None and link.state == "active":
            if not ledger.dry_run:
                ledger.client.write("res.partner", [link.partner_id], {"active": False})
                link.state = "archived"
            summary.archived += 1


# --------------------------------------------------------------------------- planning


@dataclass
class PlanSummary:
    entries: Counter = field(default_factory=Counter)
    donations: int = 0
    refunds: int = 0
    corrections: int = 0
    total_cents: int = 0
    waiting_for_payout: int = 0      # Stripe payouts not yet paid or reconciled: not booked yet
    foreign_currency: int = 0
    planned: list[rules.PlannedEntry] = field(default_factory=list)


def plan_entries(session: Session, *, since: dt.date | None, prefix: str, require=None) -> PlanSummary:
    """Decide and save the entries this sync makes. `require(keys)` checks that the
    accounts they need are configured before anything is saved."""
    summary = PlanSummary()
    gifts, foreign = _gifts(session, since)
    summary.foreign_currency = foreign
    refunds = _refunds(session, since)
    payouts, summary.waiting_for_payout = _payouts(session, since)
    existing = Counter()
    for day, channel in session.execute(select(OdooEntry.entry_date, OdooEntry.channel).where(
            OdooEntry.kind.in_(("donations", "payout")))):
        existing[(day, channel)] += 1
    planned = rules.plan(gifts, refunds, payouts, existing=dict(existing), prefix=prefix)
    needed = set().union(*(entry.accounts() for entry in planned)) if planned else set()
    if require is not None:
        require(needed)
    for entry in planned:
        rules.check_balanced(entry)
        summary.entries[entry.kind] += 1
        summary.total_cents += sum(line.credit_cents for line in entry.lines if line.account.startswith(rules.INCOME))
        summary.donations += len(entry.donations)
        summary.refunds += 1 if entry.refund else 0
        summary.corrections += 1 if entry.kind == "correction" else 0
    summary.planned = planned
    _save(session, planned)
    return summary


def _sepa_channels(session: Session, donation_ids: list[int]) -> dict[int, str]:
    sepa: dict[int, str] = {}
    for part in chunks(donation_ids):
        for donation_id, batch_id in session.execute(select(SepaCollection.donation_id, SepaCollection.batch_id)
                                                     .where(SepaCollection.donation_id.in_(part))):
            sepa[donation_id] = f"sepa-{batch_id}"
    return sepa


def _channel(source: str, donation_id: int, sepa: dict[int, str]) -> str:
    """Where a donation's money arrived: Stripe, a SEPA batch, or the bank."""
    if source == STRIPE_SOURCE:
        return rules.STRIPE
    return sepa.get(donation_id, "bank")


def income_key_sql():
    """The [odoo.accounts] key of a donation's gift part, from the table in
    `fundraising.income`, so changed bookings are found by the database."""
    return payer_line_sql(rules.INCOME)


def _gifts(session: Session, since: dt.date | None) -> tuple[list[rules.Gift], int]:
    """Received donations not booked yet, and booked ones whose booking no longer
    matches (both found in SQL: a year of donations is not loaded to compare). A
    booking in an entry of kind payout is a Stripe gift booked with its payout, before
    Stripe gifts were booked on their own dates: it is booked again (exports.odoo.ledger)."""
    current = select(OdooBooking.donation_id).where(OdooBooking.reversed_by_id.is_(None))
    unbooked = (select(Donation).outerjoin(Donor, Donor.id == Donation.donor_id)
                .where(Donation.status.in_(RECEIVED_STATUSES), Donation.id.not_in(current)))
    if since is not None:
        unbooked = unbooked.where(Donation.received_on >= since)
    changed = (select(Donation, OdooBooking, OdooEntry.entry_date, OdooEntry.channel)
               .join(OdooBooking, (OdooBooking.donation_id == Donation.id) & OdooBooking.reversed_by_id.is_(None))
               .join(OdooEntry, OdooEntry.id == OdooBooking.entry_id)
               .outerjoin(Donor, Donor.id == Donation.donor_id)
               .where(Donation.status.not_in(RECEIVED_STATUSES)
                      | (Donation.amount_cents != OdooBooking.amount_cents)
                      | (consideration_sql() != OdooBooking.consideration_cents)
                      | Donation.campaign_id.is_distinct_from(OdooBooking.campaign_id)
                      | Donation.fund_id.is_distinct_from(OdooBooking.fund_id)
                      | (income_key_sql() != OdooBooking.income_account)
                      | (OdooEntry.kind == "payout")))
    rows = [(d, None) for d in session.scalars(unbooked.options(joinedload(Donation.donor)).order_by(Donation.id))]
    changed_rows = session.execute(changed.options(joinedload(Donation.donor)).order_by(Donation.id)).all()
    refunds = _booked_refunds(session, [d.id for d, *_ in changed_rows])
    rows += [(d, rules.Booked(b.id, _booking(b), day, channel, tuple(refunds.get(d.id, ()))))
             for d, b, day, channel in changed_rows]
    sepa = _sepa_channels(session, [d.id for d, _ in rows])
    gifts, foreign = [], 0
    for donation, booked in rows:
        if donation.currency != "EUR":
            foreign += 1   # recorded and flagged, never in EUR books
            continue
        donor = donation.donor
        split = split_income(donor.kind if donor else None, donor.organisation_type if donor else None, donation.kind,
                             donation.amount_cents, donation.consideration_cents)
        booking = rules.booking_of(split, donation.campaign_id, donation.fund_id)
        gifts.append(rules.Gift(donation.id, donation.received_on, _channel(donation.source, donation.id, sepa),
                                donation.status in RECEIVED_STATUSES, booking, booked))
    return gifts, foreign


def _booked_refunds(session: Session, donation_ids: list[int]) -> dict[int, list[rules.BookedRefund]]:
    """The refunds in force of these donations, with the booking each was taken from."""
    found: dict[int, list[rules.BookedRefund]] = {}
    for part in chunks(donation_ids):
        rows = session.execute(
            select(OdooRefundBooking, OdooBooking, OdooEntry.channel, DonationAdjustment)
            .join(OdooBooking, OdooBooking.id == OdooRefundBooking.booking_id)
            .join(OdooEntry, OdooEntry.id == OdooRefundBooking.entry_id)
            .join(DonationAdjustment, DonationAdjustment.id == OdooRefundBooking.adjustment_id)
            .where(DonationAdjustment.donation_id.in_(part), OdooRefundBooking.reversed_by_id.is_(None))
            .order_by(OdooRefundBooking.id)).all()
        times = _times_booked(session, [adjustment.id for *_, adjustment in rows])
        for link, booking, channel, adjustment in rows:
            found.setdefault(adjustment.donation_id, []).append(rules.BookedRefund(
                link.id, adjustment.id, adjustment.occurred_on, adjustment.taken_back_cents, channel, _booking(booking),
                times.get(adjustment.id, 1)))
    return found


def _times_booked(session: Session, adjustment_ids: list[int]) -> dict[int, int]:
    """How often each adjustment was booked, taken-out bookings included."""
    if not adjustment_ids:
        return {}
    return dict(session.execute(select(OdooRefundBooking.adjustment_id, func.count()).where(
        OdooRefundBooking.adjustment_id.in_(adjustment_ids)).group_by(OdooRefundBooking.adjustment_id)).all())


def _refunds(session: Session, since: dt.date | None) -> list[rules.Refund]:
    done = select(OdooRefundBooking.adjustment_id).where(OdooRefundBooking.reversed_by_id.is_(None))
    query = (select(DonationAdjustment, Donation.source, Donation.id)
             .join(Donation, Donation.id == DonationAdjustment.donation_id)
             .where(DonationAdjustment.taken_back_cents > 0, DonationAdjustment.id.not_in(done),
                    Donation.currency == "EUR"))
    if since is not None:
        query = query.where(DonationAdjustment.occurred_on >= since)
    rows = session.execute(query.order_by(DonationAdjustment.id)).all()
    sepa = _sepa_channels(session, [donation_id for _, _, donation_id in rows])
    current = {}
    times: dict[int, int] = {}
    for part in chunks([donation_id for _, _, donation_id in rows]):
        for booking in session.scalars(select(OdooBooking).where(OdooBooking.donation_id.in_(part),
                                                                 OdooBooking.reversed_by_id.is_(None))):
            current[booking.donation_id] = _booking(booking)
    for part in chunks([adjustment.id for adjustment, _, _ in rows]):
        times.update(_times_booked(session, list(part)))
    return [rules.Refund(adjustment.id, donation_id, adjustment.occurred_on, adjustment.taken_back_cents,
                         _channel(source, donation_id, sepa), current.get(donation_id), times.get(adjustment.id, 0))
            for adjustment, source, donation_id in rows]


def _payout_totals(p: StripePayout) -> rules.PayoutTotals:
    return rules.PayoutTotals(p.payout_id, p.arrival_date, p.amount_cents, p.charges_cents, p.fees_cents,
                              p.refunds_cents, p.disputes_cents, p.other_cents)


def _payouts(session: Session, since: dt.date | None) -> tuple[list[rules.PayoutTotals], int]:
    """Payouts without an entry yet: those paid and reconciled (to book now), and how
    many others still wait for `anbi stripe payouts` to reconcile them or for Stripe to
    pay them out. A failed or cancelled payout left the money with Stripe."""
    booked = select(OdooEntry.payout_ref).where(OdooEntry.payout_ref.is_not(None))
    query = select(StripePayout).where(StripePayout.payout_id.not_in(booked), StripePayout.currency == "EUR",
                                       StripePayout.status.not_in(("failed", "canceled")))
    if since is not None:
        query = query.where(StripePayout.arrival_date >= since)
    ready, waiting = [], 0
    for payout in session.scalars(query.order_by(StripePayout.arrival_date, StripePayout.payout_id)):
        if payout.reconciled and payout.status == "paid":
            ready.append(_payout_totals(payout))
        else:
            waiting += 1
    return ready, waiting


def _save(session: Session, planned: list[rules.PlannedEntry]) -> None:
    refund_entries: list[tuple[OdooEntry, rules.PlannedEntry]] = []
    for entry in planned:
        row = OdooEntry(ref=entry.ref, kind=entry.kind, entry_date=entry.day, channel=entry.channel,
                        total_cents=entry.total_cents, payout_ref=entry.payout)
        session.add(row)
        session.flush()
        for donation_id, booking in entry.donations:
            session.add(OdooBooking(entry_id=row.id, donation_id=donation_id, amount_cents=booking.amount_cents,
                                    consideration_cents=booking.consideration_cents, campaign_id=booking.campaign_id,
                                    fund_id=booking.fund_id, income_account=booking.income_account))
        for booking_id in entry.reverses:
            session.get(OdooBooking, booking_id).reversed_by_id = row.id
        for refund_booking_id in entry.reverses_refunds:
            session.get(OdooRefundBooking, refund_booking_id).reversed_by_id = row.id
        if entry.refund is not None:
            refund_entries.append((row, entry))
    session.flush()
    # A refund is taken from its gift's booking in force (refunds are planned last).
    in_force: dict[int, int] = {}
    for part in chunks([entry.refunded_donation for _, entry in refund_entries]):
        in_force.update(session.execute(select(OdooBooking.donation_id, OdooBooking.id).where(
            OdooBooking.donation_id.in_(part), OdooBooking.reversed_by_id.is_(None))).all())
    for row, entry in refund_entries:
        session.add(OdooRefundBooking(entry_id=row.id, adjustment_id=entry.refund,
                                      booking_id=in_force[entry.refunded_donation]))
    session.flush()


# --------------------------------------------------------------------------- sending


def unsent_entries(session: Session) -> list[int]:
    return list(session.scalars(select(OdooEntry.id).where(OdooEntry.posted.is_(False)).order_by(OdooEntry.id)))


def entry_lines(session: Session, entry: OdooEntry) -> list[rules.Line]:
    """The lines of a saved entry, derived again from what it carries (so a re-run
    after a break sends exactly what was planned)."""
    if entry.kind == "donations":
        return rules.donation_lines([_booking(b) for b in entry.bookings], entry.channel)
    if entry.kind == "payout":
        payout = _payout_totals(session.scalar(select(StripePayout).where(StripePayout.payout_id == entry.payout_ref)))
        if entry.bookings:   # planned before Stripe gifts were booked on their own dates
            return rules.legacy_payout_lines([_booking(b) for b in entry.bookings], payout)
        return rules.payout_lines(payout)
    if entry.kind == "correction":
        reversed_bookings = list(session.scalars(select(OdooBooking).where(OdooBooking.reversed_by_id == entry.id)))
        if reversed_bookings:
            return rules.correction_lines([_booking(b) for b in reversed_bookings], entry.channel)
        link = session.scalar(select(OdooRefundBooking).where(OdooRefundBooking.reversed_by_id == entry.id))
        return rules.refund_correction_lines(_booking(link.booking), link.adjustment.taken_back_cents, entry.channel)
    link = session.scalar(select(OdooRefundBooking).where(OdooRefundBooking.entry_id == entry.id))
    return rules.refund_lines(_booking(link.booking), link.adjustment.taken_back_cents, entry.channel)


def _booking(row: OdooBooking) -> rules.Booking:
    return rules.Booking(row.amount_cents, row.consideration_cents, row.income_account, row.campaign_id, row.fund_id)


def send_entry(session: Session, ledger: Ledger, entry_id: int) -> str:
    """Make sure the entry exists and is posted in Odoo. Returns created, posted or found.
    The move's name (MISC/2025/03/0001) is read afterwards for all entries at once
    (`record_names`)."""
    entry = session.get(OdooEntry, entry_id)
    client = ledger.client
    found = client.search_read("account.move", [["ref", "=", entry.ref]], ["name", "state"], limit=1)
    outcome = "found"
    if found:
        move = found[0]
        if move["state"] == "draft":
            client.call("account.move", "action_post", [move["id"]])
            outcome = "posted"
    else:
        lines = entry_lines(session, entry)
        ledger.require({line.account for line in lines})
        grants = ledger.grants(session)
        commands = []
        for line in lines:
            values = {"account_id": ledger.accounts[line.account], "name": line.label,
                      "debit": wire_amount(line.debit_cents), "credit": wire_amount(line.credit_cents)}
            distribution = _distribution(session, ledger, line, grants)
            if distribution:
                values["analytic_distribution"] = {distribution: 100.0}
            commands.append([0, 0, values])
        move_id = client.create("account.move", {
            "move_type": "entry", "journal_id": ledger.journal_id, "date": entry.entry_date.isoformat(),
            "ref": entry.ref, "line_ids": commands,
        })
        client.call("account.move", "action_post", [move_id])
        move = {"id": move_id}
        outcome = "created"
    entry.move_id, entry.posted, entry.sent_at = move["id"], True, utcnow()
    session.flush()
    return outcome


def record_names(session: Session, ledger: Ledger) -> int:
    """Odoo names a move when it is posted: keep the name with our entry, read in bulk."""
    missing = {e.move_id: e for e in session.scalars(select(OdooEntry).where(
        OdooEntry.posted.is_(True), OdooEntry.move_name.is_(None)))}
    for part in chunks(sorted(missing), 500):
        for row in ledger.client.read("account.move", list(part), ["name"]):
            missing[row["id"]].move_name = row["name"]
    session.flush()
    return len(missing)


def _distribution(session: Session, ledger: Ledger, line: rules.Line, grants: dict) -> str | None:
    """The analytic key of an income line: campaign and grant/fund accounts, as one
    combination across the two plans ("1,2" in Odoo's notation)."""
    if not line.account.startswith("income."):
        return None
    ids = []
    if line.campaign:
        ids.append(ledger.analytic_account("Campaigns", *ledger.code_and_name(session, Campaign, line.campaign)))
    if line.fund:
        grant = grants.get(line.fund)
        if grant is not None:
            ids.append(ledger.analytic_account("Grants", *grant))
        else:
            ids.append(ledger.analytic_account("Grants", *ledger.code_and_name(session, Fund, line.fund)))
    return ",".join(str(i) for i in ids) or None


# --------------------------------------------------------------------------- costs back


@dataclass
class CostsSummary:
    grants: int = 0
    created: int = 0
    already: int = 0
    total_cents: int = 0
    notes: list[str] = field(default_factory=list)


def pull_costs(session: Session, ledger: Ledger, *, grant_reference: str | None = None) -> CostsSummary:
    """Import the cost lines booked on grants' analytic accounts as expenses of those
    grants (idempotent by analytic line id). Every account is mapped through the
    grant's [odoo.budget_lines] first; an unmapped account stops the pull, naming it,
    before anything is written."""
    from subsidies.costs import record_expense
    from subsidies.errors import GrantNotFound
    from subsidies.models import Grant

    client = ledger.client
    query = select(Grant).order_by(Grant.reference)
    if grant_reference:
        query = query.where(Grant.reference == grant_reference)
    grants = list(session.scalars(query))
    if grant_reference and not grants:
        raise GrantNotFound(grant_reference)
    summary = CostsSummary(grants=len(grants))
    plan_id = ledger.plans.get("Grants")
    if plan_id is None:
        summary.notes.append("Odoo has no analytic plan 'Grants' yet: nothing is booked on a grant")
        return summary
    column = f"x_plan{plan_id}_id"
    pulled: list[tuple[Grant, dict, str]] = []
    problems: list[Problem] = []
    account_info: dict[int, dict] = {}
    for grant in grants:
        analytic = client.search("account.analytic.account", [["code", "=", grant.reference], ["plan_id", "=", plan_id]], limit=1)
        if not analytic:
            summary.notes.append(f"grant {grant.reference}: no analytic account in Odoo yet")
            continue
        lines = client.search_read("account.analytic.line", [[column, "=", analytic[0]], ["amount", "<", 0]],
                                   ["name", "date", "amount", "general_account_id"], order="id")
        ids = sorted({line["general_account_id"][0] for line in lines if line["general_account_id"]} - set(account_info))
        for row in client.read("account.account", ids, ["code", "name", "account_type"]):
            account_info[row["id"]] = row
        unmapped: dict[str, str] = {}
        for line in lines:
            account = account_info.get(line["general_account_id"][0]) if line["general_account_id"] else None
            if account is None or account["account_type"] not in EXPENSE_TYPES:
                continue  # only costs count: the grant's analytic account also carries income
            code = account["code"]
            budget_line = (grant.odoo_budget_lines or {}).get(code)
            if budget_line is None:
                unmapped[code] = account["name"]
                continue
            pulled.append((grant, line, budget_line))
        for code, name in sorted(unmapped.items()):
            problems.append(Problem(None, f"grant {grant.reference} [odoo.budget_lines]",
                                    f"Odoo account {code} ({name}) maps to no budget line; add \"{code}\" = "
                                    "\"<budget line code>\" to the grant file and load it again"))
    if problems:
        raise InvalidInput(problems, "anbi odoo pull-costs (nothing was imported)")
    for grant, line, budget_line in pulled:
        cents = -cents_of(line["amount"])
        _, created = record_expense(
            session, source="odoo", reference=f"analytic-line:{line['id']}", spent_on=dt.date.fromisoformat(line["date"]),
            amount_cents=cents, grant_reference=grant.reference, budget_line=budget_line, description=line["name"] or None,
        )
        if created:
            summary.created += 1
            summary.total_cents += cents
        else:
            summary.already += 1
    session.flush()
    return summary


def record_sync(session: Session, actor: str, details: dict) -> None:
    audit.record(session, actor=actor, action="sync", entity="odoo", entity_ref="ledger", details=details)


def summary_total(summary: PlanSummary) -> str:
    return cents_to_str(summary.total_cents)
