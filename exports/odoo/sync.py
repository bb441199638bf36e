"""`anbi odoo sync`: our books into Odoo. (Grant costs back: `exports.odoo.costs`.)

The order of work, and why:

1. `Ledger.open` checks the key, finds every account of `[odoo.accounts]` by its code
   (never by type) and checks that its type fits its use (an income account is of
   type Income, the bank an asset, ...), the journal, its company's currency (it
   must be the gifts' EUR: Odoo would read every amount in its own) and lock date,
   and the analytic plans "Campaigns" and "Grants" (created when missing). Any
   refusal here — unreachable, wrong key, wrong database, an account code Odoo does
   not have or of the wrong type, another currency, analytic accounting off — stops
   the sync before anything is written on either side.
2. `sync_partners`: donors become `res.partner` (ref = donor ref), looked up by ref
   before they are created, written only when their values changed; a merged
   donor's partner is archived, an erased or purged donor's partner anonymised.
   A batch of partners (`[odoo] partner_batch_size`) costs one search and one create.
3. `plan_entries` decides the journal entries (`exports.odoo.ledger`) and saves them
   with the donations and refunds they carry, in our database, before anything is
   sent: the plan of a sync that breaks off is found again by the next run.
4. `send_entries`, one batch of entries per transaction (`[odoo] batch_size`): the
   batch's refs are looked up in Odoo in one search, the missing entries created in
   one request (Odoo makes them all or none) and posted in one, and each entry's
   move id, name and date read back and recorded. Odoo moves an entry dated in a
   locked period to its first open day: `[odoo] on_lock_date` decides whether the
   sync refuses to send such entries ("stop", the default) or lets Odoo move them
   and lists each one ("report"); either way an entry Odoo dated differently keeps
   Odoo's date beside ours (`odoo_date`). A posted entry is never edited.

A sync that breaks off anywhere loses and doubles nothing: whatever Odoo made is
found by its ref on the next run. Services take a Session and flush; the command
commits between the steps and after every batch of entries.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, joinedload, selectinload

from anbi.core import audit
from anbi.core.clock import utcnow
from anbi.core.errors import ConfigurationError
from anbi.core.money import cents_to_str
from anbi.core.settings import DEFAULT_BATCH_SIZE, DEFAULT_PARTNER_BATCH_SIZE, OdooSection
from donors.models import Donor
from donors.names import display_name
from exports.odoo import ledger as rules
from exports.odoo.client import OdooClient
from exports.odoo.errors import (
    EntriesRedated,
    EntryRefused,
    LockedPeriod,
    OdooError,
    OdooRefused,
    OdooUnreachable,
    SyncInterrupted,
    UnknownAccounts,
    WrongAccountTypes,
    WrongCurrency,
)
from exports.odoo.models import OdooBooking, OdooEntry, OdooPartner, OdooRefundBooking
from fundraising.donations import RECEIVED_STATUSES
from fundraising.income import consideration_sql, payer_line_sql, split_income
from fundraising.lookups import chunks
from fundraising.models import Campaign, Donation, DonationAdjustment, Fund
from fundraising.models_ledger import SepaCollection, StripePayout
from fundraising.stripe.donors import SOURCE as STRIPE_SOURCE

PLANS = ("Campaigns", "Grants")
EXPENSE_TYPES = ("expense", "expense_depreciation", "expense_direct_cost")
BOOK_CURRENCY = "EUR"          # the gifts' currency: others are left out of the books (plan_entries)
# Records per request ([odoo] batch_size, partner_batch_size; their defaults are in
# anbi.core.settings). A partner costs Odoo about a tenth of an entry (measured on
# Odoo 19: 1.4 ms to create against 12 ms, and as much again to post an entry).
PAGE = 1000                    # rows per read when reading back

# The Odoo account types each [odoo.accounts] key may have (account.account.account_type),
# and how to say so. Keys not listed here (added later) are not checked.
_ASSETS = (("asset_cash", "asset_current"), "Bank and Cash or Current Assets")
ACCOUNT_TYPES: dict[str, tuple[tuple[str, ...], str]] = {
    "bank": _ASSETS,
    "stripe_clearing": _ASSETS,
    "stripe_fees": (("expense", "expense_other", "expense_direct_cost"), "Expenses, Other Expenses or Cost of Revenue"),
    "income.": (("income", "income_other"), "Income or Other Income"),
}


def account_codes(section: OdooSection | Mapping[str, Any]) -> dict[str, str]:
    """`[odoo.accounts]` flattened: {"bank": "101401", "income.private_individuals": "400100", ...}."""
    return dict(OdooSection.of(section).accounts)


def wrong_account_types(codes: dict[str, str], accounts: dict[str, dict]) -> list[tuple[str, str, str, str, str]]:
    """Each mapped account whose Odoo type does not fit its key: (key, code, name, type,
    what the key needs). `accounts` are Odoo's rows (code, name, account_type) by code."""
    wrong = []
    for key, code in sorted(codes.items()):
        rule = ACCOUNT_TYPES.get(key) or (ACCOUNT_TYPES["income."] if key.startswith("income.") else None)
        account = accounts.get(code)
        if rule is None or account is None or account["account_type"] in rule[0]:
            continue
        use = "an income" if key.startswith("income.") else {"stripe_fees": "a fees"}.get(key, "a bank or clearing")
        wrong.append((key, code, account["name"], account["account_type"], f"{use} account must be of type {rule[1]}"))
    return wrong


def sync_options(section: OdooSection | Mapping[str, Any]) -> tuple[str, int, int]:
    """`[odoo] on_lock_date`, `batch_size` (entries) and `partner_batch_size`."""
    section = OdooSection.of(section)
    return section.on_lock_date, section.batch_size, section.partner_batch_size


def odoo_date(value) -> dt.date | None:
    """A date as Odoo sends it: false when empty, and "1-01-01" for a computed lock
    date where there is no lock (`user_fiscalyear_lock_date`)."""
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return day if day > dt.date.min else None


def wire_amount(cents: int) -> float:
    """Odoo's JSON takes amounts as numbers; cents become a number only here, at the
    edge (exact: every cent amount below 2**53 has a nearest double that prints back)."""
    return float(Decimal(cents).scaleb(-2))


def cents_of(amount) -> int:
    return int((Decimal(str(amount)) * 100).quantize(Decimal(1)))


def _many2one(value):
    return value[0] if isinstance(value, list) and value else value


def _first_by(rows: list[dict], key: str) -> dict:
    """Rows by a field's value, the first (lowest id) where two share one."""
    found: dict = {}
    for row in rows:
        found.setdefault(_many2one(row[key]), row)
    return found


# --------------------------------------------------------------------------- Odoo side


@dataclass
class Ledger:
    """Odoo as this sync sees it: account ids by our keys, journal, plans, company."""

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
    company: str = ""
    lock_date: dt.date | None = None     # Odoo books nothing on or before it (for this user and journal)
    on_lock_date: str = "stop"
    batch_size: int = DEFAULT_BATCH_SIZE
    partner_batch_size: int = DEFAULT_PARTNER_BATCH_SIZE

    def code_and_name(self, session: Session, model, pk: int) -> tuple[str, str]:
        key = (model.__name__, pk)
        if key not in self.names:
            row = session.get_one(model, pk)
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
    def open(cls, client: OdooClient, section: OdooSection | Mapping[str, Any], *, dry_run: bool = False) -> Ledger:
        section = OdooSection.of(section)
        on_lock_date, batch_size, partner_batch_size = sync_options(section)
        client.check_login()
        codes = account_codes(section)
        rows = client.search_read("account.account", [["code", "in", sorted(set(codes.values()))]],
                                  ["code", "name", "account_type"], order="id") if codes else []
        found = _first_by(rows, "code")
        missing = {key: code for key, code in codes.items() if code not in found}
        if missing:
            raise UnknownAccounts(missing)
        wrong = wrong_account_types(codes, found)
        if wrong:
            raise WrongAccountTypes(wrong)
        journal_code = section.journal
        domain = [["code", "=", journal_code]] if journal_code else [["type", "=", "general"]]
        journals = client.search_read("account.journal", domain, ["code", "type", "company_id", "currency_id"], limit=1)
        if not journals:
            raise ConfigurationError(f"no journal {journal_code!r} in Odoo" if journal_code
                                     else "Odoo has no general journal (Miscellaneous Operations) to book on")
        journal = journals[0]
        if journal["currency_id"] and journal["currency_id"][1] != BOOK_CURRENCY:
            raise WrongCurrency(f"Odoo's journal {journal['code']}", journal["currency_id"][1], BOOK_CURRENCY)
        lock_fields = ["user_fiscalyear_lock_date", "user_hard_lock_date"]
        lock_fields += {"sale": ["user_sale_lock_date"], "purchase": ["user_purchase_lock_date"]}.get(journal["type"], [])
        [company] = client.read("res.company", [journal["company_id"][0]], ["name", "currency_id", *lock_fields])
        if company["currency_id"][1] != BOOK_CURRENCY:
            raise WrongCurrency(f"Odoo's company {company['name']!r}", company["currency_id"][1], BOOK_CURRENCY)
        locks = [day for day in (odoo_date(company.get(name)) for name in lock_fields) if day]
        ledger = cls(client=client, prefix=section.ref_prefix, codes=codes,
                     accounts={key: found[code]["id"] for key, code in codes.items()}, journal_id=journal["id"],
                     plans={}, dry_run=dry_run, company=company["name"], lock_date=max(locks) if locks else None,
                     on_lock_date=on_lock_date, batch_size=batch_size, partner_batch_size=partner_batch_size)
        plans = _first_by(client.search_read("account.analytic.plan", [["name", "in", list(PLANS)]], ["name"], order="id"),
                          "name")
        ledger.plans = {name: plans[name]["id"] for name in PLANS if name in plans}
        ledger.plans_created = [name for name in PLANS if name not in plans]
        if ledger.plans_created and not dry_run:
            ids = client.create_many("account.analytic.plan", [{"name": name} for name in ledger.plans_created])
            ledger.plans.update(zip(ledger.plans_created, ids))
        return ledger

    def require(self, keys: set[str]) -> None:
        missing = sorted(k for k in keys if k not in self.accounts)
        if missing:
            raise ConfigurationError("[odoo.accounts] has no code for " + ", ".join(missing)
                                     + ": add them to anbi.toml (DESIGN.md, Settings)")

    def analytic_account(self, plan: str, code: str, name: str) -> int:
        """The analytic account with this code in a plan, made when missing."""
        return self.analytic_accounts([(plan, code, name)])[(self.plans[plan], code)]

    def analytic_accounts(self, wanted: list[tuple[str, str, str]]) -> dict[tuple[int, str], int]:
        """The analytic accounts (plan, code, name) by (plan id, code): looked up with one
        search per plan, the missing ones made in one create."""
        missing: dict[tuple[int, str], str] = {}
        for plan, code, name in wanted:
            key = (self.plans[plan], code)
            if key not in self.analytic:
                missing.setdefault(key, name)
        for plan_id in sorted({plan_id for plan_id, _ in missing}):
            codes = sorted(code for p, code in missing if p == plan_id)
            rows = self.client.search_read("account.analytic.account", [["plan_id", "=", plan_id], ["code", "in", codes]],
                                           ["code"], order="id")
            for code, row in _first_by(rows, "code").items():
                self.analytic[(plan_id, code)] = row["id"]
        new = [key for key in missing if key not in self.analytic]
        ids = self.client.create_many("account.analytic.account", [
            {"name": missing[key], "code": key[1], "plan_id": key[0]} for key in new])
        self.analytic.update(zip(new, ids))
        return self.analytic

    def country(self, code: str | None) -> int | bool:
        if not code:
            return False
        if code not in self.countries:
            self.load_countries({code})
        return self.countries[code]

    def load_countries(self, codes: set[str | None]) -> None:
        """Country ids by ISO code, in one search."""
        wanted = sorted(c for c in codes if c and c not in self.countries)
        if not wanted:
            return
        found = _first_by(self.client.search_read("res.country", [["code", "in", wanted]], ["code"]), "code")
        self.countries.update({code: found[code]["id"] if code in found else False for code in wanted})


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
PARTNER_FIELDS = ["name", "ref", "email", "phone", "street", "zip", "city", "country_id", "is_company", "active"]


def _fingerprint(values: dict) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def partner_differs(row: dict, values: dict) -> bool:
    """Whether Odoo's partner (as read) differs from the values we would write."""
    return any(_many2one(row.get(key, False)) != (value or False) for key, value in values.items())


def write_each(client: OdooClient, model: str, writes: list[tuple[int, dict]]) -> None:
    """The writes, one request per distinct set of values (Odoo's write gives all its
    records the same values)."""
    grouped: dict[str, tuple[dict, list[int]]] = {}
    for record_id, values in writes:
        grouped.setdefault(json.dumps(values, sort_keys=True), (values, []))[1].append(record_id)
    for values, ids in grouped.values():
        client.write(model, ids, values)


def sync_partners(session: Session, ledger: Ledger, *, progress=lambda items, **_: items) -> PartnerSummary:
    """Donors to partners, a batch at a time: the batch's unlinked donors are looked up by
    ref in one search (a partner a broken-off run made, or made by hand, is linked and
    written only if it differs), the rest created in one request. A dry run counts the
    same way and changes nothing."""
    summary = PartnerSummary()
    client = ledger.client
    links = {link.donor_id: link for link in session.scalars(select(OdooPartner))}
    active = select(Donor).where(Donor.merged_into_id.is_(None), Donor.restricted_at.is_(None),
                                 Donor.purged_at.is_(None)).order_by(Donor.id)
    donors = list(session.scalars(active))
    sent = 0
    try:
        ledger.load_countries({d.country for d in donors})
        for part in progress(list(chunks(donors, ledger.partner_batch_size)), label="Partners"):
            values = {d.id: partner_values(d, ledger.country(d.country)) for d in part}
            writes: list[tuple[int, dict]] = []
            new = [d for d in part if d.id not in links]
            if new:
                found = _first_by(client.search_read(
                    "res.partner", [["ref", "in", [d.ref for d in new]], ["active", "in", [True, False]]],
                    PARTNER_FIELDS, order="id"), "ref")
                to_create = [d for d in new if d.ref not in found]
                created = [] if ledger.dry_run else client.create_many("res.partner", [values[d.id] for d in to_create])
                partner_ids = {d.ref: pid for d, pid in zip(to_create, created)}
                summary.created += len(to_create)
                for donor in new:
                    row = found.get(donor.ref)
                    if row is not None:
                        # Found by ref (a broken-off run or a person made it): bring it up to date.
                        wanted = {**values[donor.id], "active": True}
                        if partner_differs(row, wanted):
                            writes.append((row["id"], wanted))
                            summary.updated += 1
                        else:
                            summary.unchanged += 1
                        partner_ids[donor.ref] = row["id"]
                    if not ledger.dry_run:
                        links[donor.id] = OdooPartner(donor_id=donor.id, donor_ref=donor.ref,
                                                      partner_id=partner_ids[donor.ref],
                                                      fingerprint=_fingerprint(values[donor.id]), state="active")
                        session.add(links[donor.id])
            for donor in part:
                link = links.get(donor.id)
                if link is None or donor in new:
                    continue
                fingerprint = _fingerprint(values[donor.id])
                if link.fingerprint == fingerprint and link.state == "active":
                    summary.unchanged += 1
                    continue
                writes.append((link.partner_id, {**values[donor.id], "active": True}))
                if not ledger.dry_run:
                    link.fingerprint, link.state, link.donor_ref = fingerprint, "active", donor.ref
                summary.updated += 1
            if not ledger.dry_run:
                write_each(client, "res.partner", writes)
            sent += len(part)
        _retire_partners(session, ledger, links, summary)
    except OdooUnreachable as exc:
        raise SyncInterrupted(exc, "partners", sent, len(donors)) from None
    session.flush()
    return summary


def _retire_partners(session: Session, ledger: Ledger, links: dict[int, OdooPartner], summary: PartnerSummary) -> None:
    """Merged donors' partners are archived (in one write); erased, purged or deleted
    donors' anonymised."""
    live = {link.donor_id for link in links.values() if link.state != "anonymised"}
    if not live:
        return
    donors = {}
    for part in chunks(sorted(live)):
        donors.update({d.id: d for d in session.scalars(select(Donor).where(Donor.id.in_(part)))})
    writes: list[tuple[int, dict]] = []
    for donor_id in sorted(live):
        link = links[donor_id]
        donor = donors.get(donor_id)
        if donor is None or donor.restricted_at is not None or donor.purged_at is not None:
            writes.append((link.partner_id, {**ANONYMOUS, "ref": link.donor_ref}))
            if not ledger.dry_run:
                link.state, link.fingerprint = "anonymised", _fingerprint(ANONYMOUS)
            summary.anonymised += 1
        elif donor.merged_into_id is not None and link.state == "active":
            writes.append((link.partner_id, {"active": False}))
            if not ledger.dry_run:
                link.state = "archived"
            summary.archived += 1
    if not ledger.dry_run:
        write_each(ledger.client, "res.partner", writes)


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
    existing: Counter[tuple[dt.date, str]] = Counter()
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


def _gifts(session: Session, since: dt.date | None) -> tuple[list[rules.LedgerGift], int]:
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
    rows: list[tuple[Donation, rules.Booked | None]] = [
        (d, None) for d in session.scalars(unbooked.options(joinedload(Donation.donor)).order_by(Donation.id))]
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
        gifts.append(rules.LedgerGift(donation.id, donation.received_on, _channel(donation.source, donation.id, sepa),
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
    # The entries in one flush (their ids, in plan order, are needed below), the
    # donations they carry in one bulk insert: a flush per entry and a statement per
    # donation made saving the demo's plan cost more than Odoo took to create it.
    rows = [OdooEntry(ref=entry.ref, kind=entry.kind, entry_date=entry.day, channel=entry.channel,
                      total_cents=entry.total_cents, payout_ref=entry.payout) for entry in planned]
    session.add_all(rows)
    session.flush()
    bookings = [{"entry_id": row.id, "donation_id": donation_id, "amount_cents": booking.amount_cents,
                 "consideration_cents": booking.consideration_cents, "campaign_id": booking.campaign_id,
                 "fund_id": booking.fund_id, "income_account": booking.income_account}
                for entry, row in zip(planned, rows) for donation_id, booking in entry.donations]
    if bookings:
        # render_nulls: rows without a campaign or fund go in the same batches.
        session.execute(insert(OdooBooking).execution_options(render_nulls=True), bookings)
    refund_entries: list[tuple[OdooEntry, rules.PlannedEntry]] = []
    for entry, row in zip(planned, rows):
        for booking_id in entry.reverses:
            session.get_one(OdooBooking, booking_id).reversed_by_id = row.id
        for refund_booking_id in entry.reverses_refunds:
            session.get_one(OdooRefundBooking, refund_booking_id).reversed_by_id = row.id
        if entry.refund is not None:
            refund_entries.append((row, entry))
    session.flush()
    # A refund is taken from its gift's booking in force (refunds are planned last).
    in_force: dict[int, int] = {}
    for part in chunks([entry.refunded_donation for _, entry in refund_entries]):
        in_force.update(session.execute(select(OdooBooking.donation_id, OdooBooking.id).where(
            OdooBooking.donation_id.in_(part), OdooBooking.reversed_by_id.is_(None))).all())
    for row, entry in refund_entries:
        assert entry.refunded_donation is not None  # a refund entry names the donation it undoes
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
        payout = _payout_totals(session.execute(select(StripePayout).where(StripePayout.payout_id == entry.payout_ref)).scalar_one())
        if entry.bookings:   # planned before Stripe gifts were booked on their own dates
            return rules.legacy_payout_lines([_booking(b) for b in entry.bookings], payout)
        return rules.payout_lines(payout)
    if entry.kind == "correction":
        reversed_bookings = list(session.scalars(select(OdooBooking).where(OdooBooking.reversed_by_id == entry.id)))
        if reversed_bookings:
            return rules.correction_lines([_booking(b) for b in reversed_bookings], entry.channel)
        link = session.execute(select(OdooRefundBooking).where(OdooRefundBooking.reversed_by_id == entry.id)).scalar_one()
        assert link.booking is not None  # a refund's booking stays while its entries do
        return rules.refund_correction_lines(_booking(link.booking), link.adjustment.taken_back_cents, entry.channel)
    link = session.execute(select(OdooRefundBooking).where(OdooRefundBooking.entry_id == entry.id)).scalar_one()
    assert link.booking is not None  # a refund's booking stays while its entries do
    return rules.refund_lines(_booking(link.booking), link.adjustment.taken_back_cents, entry.channel)


def _booking(row: OdooBooking) -> rules.Booking:
    return rules.Booking(row.amount_cents, row.consideration_cents, row.income_account, row.campaign_id, row.fund_id)


@dataclass(frozen=True)
class Redated:
    """An entry Odoo booked on another date than ours (a lock date moved it)."""

    ref: str
    date: dt.date
    odoo_date: dt.date

    def as_json(self) -> dict:
        return {"ref": self.ref, "date": self.date.isoformat(), "odoo_date": self.odoo_date.isoformat()}


@dataclass
class SendSummary:
    """What sending did: entries created, found already there, found in draft and posted."""

    created: int = 0
    found: int = 0
    posted: int = 0
    redated: list[Redated] = field(default_factory=list)
    refused: tuple[str, OdooError] | None = None   # the entry Odoo refused, and why

    @property
    def sent(self) -> int:
        return self.created + self.found + self.posted

    def counts(self) -> dict[str, int]:
        return {"created": self.created, "found": self.found, "posted": self.posted}

    def add(self, other: SendSummary) -> None:
        self.created, self.found, self.posted = self.created + other.created, self.found + other.found, self.posted + other.posted
        self.redated += other.redated


def entries_in_locked_period(session: Session, ledger: Ledger) -> list[tuple[str, dt.date]]:
    """Unsent entries dated on or before Odoo's lock date (ref, date), earliest first."""
    if ledger.lock_date is None:
        return []
    return [(ref, day) for ref, day in session.execute(
        select(OdooEntry.ref, OdooEntry.entry_date).where(OdooEntry.posted.is_(False),
                                                          OdooEntry.entry_date <= ledger.lock_date)
        .order_by(OdooEntry.entry_date, OdooEntry.id))]


def send_entries(sessions: Callable[[], AbstractContextManager[Session]], ledger: Ledger, *,
                 progress=lambda items, **_: items) -> SendSummary:
    """Send every unsent entry, a batch per transaction (`sessions()` opens one and
    commits it: the edge's `app.session`). With on_lock_date "stop", entries dated in a
    locked period stop the sync before anything is sent, and an entry Odoo dated
    differently anyway stops it after its batch is recorded."""
    with sessions() as session:
        waiting = unsent_entries(session)
        locked = entries_in_locked_period(session, ledger)
    if locked and ledger.on_lock_date == "stop":
        assert ledger.lock_date is not None  # entries are locked only by a lock date
        raise LockedPeriod(ledger.lock_date, len(locked), *locked[0])
    summary = SendSummary()
    batches = list(chunks(waiting, ledger.batch_size))
    for part in progress(batches, label="Sending entries"):
        try:
            with sessions() as session:
                outcome = send_batch(session, ledger, list(part))
        except OdooUnreachable as exc:
            raise SyncInterrupted(exc, "entries", summary.sent, len(waiting),
                                  in_flight=len(part) if exc.maybe_done else 0) from None
        summary.add(outcome)
        if outcome.refused is not None:
            ref, refusal = outcome.refused
            raise EntryRefused(ref, refusal, summary.sent, len(waiting))
        if outcome.redated and ledger.on_lock_date == "stop":
            raise EntriesRedated(outcome.redated, summary.sent, len(waiting))
    return summary


def send_batch(session: Session, ledger: Ledger, entry_ids: list[int]) -> SendSummary:
    """Make sure these entries exist and are posted in Odoo, and record each one's move
    id, name and date. Four requests whatever the batch's size: a search for the refs
    (a broken-off run may have made some), one create for the missing entries, one
    post, one read back. Odoo creates a batch in one transaction: all or none."""
    client = ledger.client
    # The bookings in the same query: the lines are derived from them, entry by entry.
    entries = list(session.scalars(select(OdooEntry).options(selectinload(OdooEntry.bookings))
                                   .where(OdooEntry.id.in_(entry_ids)).order_by(OdooEntry.id)))
    found = _first_by(client.search_read("account.move", [["ref", "in", [e.ref for e in entries]]], ["ref", "state"],
                                         order="id"), "ref")
    outcome = SendSummary()
    missing = [e for e in entries if e.ref not in found]
    move_ids = {e.id: found[e.ref]["id"] for e in entries if e.ref in found}
    created = _create_moves(ledger, missing, move_values(session, ledger, missing), outcome)
    move_ids.update(created)
    drafts = [found[e.ref]["id"] for e in entries if e.ref in found and found[e.ref]["state"] == "draft"]
    to_post = drafts + list(created.values())
    if to_post:
        client.call("account.move", "action_post", to_post)
    outcome.created, outcome.posted = len(created), len(drafts)
    outcome.found = sum(1 for e in entries if e.ref in found) - len(drafts)
    rows = {row["id"]: row for row in client.read("account.move", sorted(move_ids.values()), ["name", "date"])}
    for entry in entries:
        if entry.id not in move_ids:
            continue   # refused, or after the refused one
        row = rows[move_ids[entry.id]]
        entry.move_id, entry.move_name, entry.posted, entry.sent_at = row["id"], row["name"] or None, True, utcnow()
        booked = odoo_date(row["date"])
        if booked is not None and booked != entry.entry_date:
            entry.odoo_date = booked
            outcome.redated.append(Redated(entry.ref, entry.entry_date, booked))
    session.flush()
    return outcome


def _create_moves(ledger: Ledger, entries: list[OdooEntry], values: list[dict], outcome: SendSummary) -> dict[int, int]:
    """Move ids by entry id. When Odoo refuses the batch, the entries are sent one at a
    time to find the one it refuses: those before it are kept, it and the rest are not
    sent (`outcome.refused`)."""
    client = ledger.client
    if not entries:
        return {}
    try:
        return dict(zip([e.id for e in entries], client.create_many("account.move", values)))
    except OdooRefused as refusal:
        if len(entries) == 1:
            outcome.refused = (entries[0].ref, refusal)
            return {}
    created = {}
    for entry, vals in zip(entries, values):
        try:
            created[entry.id] = client.create("account.move", vals)
        except OdooRefused as refusal:
            outcome.refused = (entry.ref, refusal)
            break
    return created


def move_values(session: Session, ledger: Ledger, entries: list[OdooEntry]) -> list[dict]:
    """The account.move values of saved entries; their analytic accounts are looked up
    (and made) for all of them at once."""
    grants = ledger.grants(session)
    lines = {entry.id: entry_lines(session, entry) for entry in entries}
    analytic = {(entry.id, n): _analytic_keys(session, ledger, line, grants)
                for entry in entries for n, line in enumerate(lines[entry.id])}
    for entry in entries:
        ledger.require({line.account for line in lines[entry.id]})
    wanted = [key for keys in analytic.values() for key in keys]
    if wanted:
        ledger.analytic_accounts(wanted)
    values = []
    for entry in entries:
        commands = []
        for n, line in enumerate(lines[entry.id]):
            vals = {"account_id": ledger.accounts[line.account], "name": line.label,
                    "debit": wire_amount(line.debit_cents), "credit": wire_amount(line.credit_cents)}
            ids = [ledger.analytic[(ledger.plans[plan], code)] for plan, code, _ in analytic[(entry.id, n)]]
            if ids:
                vals["analytic_distribution"] = {",".join(str(i) for i in ids): 100.0}
            commands.append([0, 0, vals])
        values.append({"move_type": "entry", "journal_id": ledger.journal_id, "date": entry.entry_date.isoformat(),
                       "ref": entry.ref, "line_ids": commands})
    return values


def record_names(session: Session, ledger: Ledger) -> int:
    """Odoo names a move when it is posted: the name of an entry sent before names were
    read back with each batch, read in pages."""
    missing = {e.move_id: e for e in session.scalars(select(OdooEntry).where(
        OdooEntry.posted.is_(True), OdooEntry.move_name.is_(None), OdooEntry.move_id.is_not(None))) if e.move_id is not None}
    for part in chunks(sorted(missing), PAGE):
        for row in ledger.client.read("account.move", list(part), ["name"]):
            missing[row["id"]].move_name = row["name"] or None
    session.flush()
    return len(missing)


def _analytic_keys(session: Session, ledger: Ledger, line: rules.Line, grants: dict) -> list[tuple[str, str, str]]:
    """The analytic accounts (plan, code, name) of an income line: its campaign and its
    grant or fund, booked as one combination across the two plans ("1,2" in Odoo's
    notation)."""
    if not line.account.startswith("income."):
        return []
    keys = []
    if line.campaign:
        keys.append(("Campaigns", *ledger.code_and_name(session, Campaign, line.campaign)))
    if line.fund:
        grant = grants.get(line.fund)
        keys.append(("Grants", *(grant if grant is not None else ledger.code_and_name(session, Fund, line.fund))))
    return keys


def record_sync(session: Session, actor: str, details: dict) -> None:
    audit.record(session, actor=actor, action="sync", entity="odoo", entity_ref="ledger", details=details)


def summary_total(summary: PlanSummary) -> str:
    return cents_to_str(summary.total_cents)
