"""Demo steps for the ledger: the January 2026 direct-debit batch, the bank statement
that confirms most of it and returns some, a Stripe payout, the review list, and —
when [odoo] is configured — the sync into Odoo.

The fundraising demo books 2025; its monthly collections run to 28 December. These
steps collect January 2026 as if run on 31 December 2025, write the pain.008 file,
then write the camt.053 statement the bank would send back (generated, in the
output folder) and import it through `anbi bank import`'s service, so every euro of
the demo reconciles: gift, bank line or payout, journal entry.
"""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from sqlalchemy import select

from anbi.context import AppContext
from anbi.core.money import format_dutch
from exports.sepa.batch import run_batch
from fundraising.bank import camt_writer as w
from fundraising.bank.booking import import_file, unmatched_lines
from fundraising.models import Campaign, Donation, Mandate
from fundraising.models_ledger import SepaBatch, SepaCollection
from fundraising.stripe.payouts import BalanceItem, PayoutFacts, store_payouts

D = dt.date
RUN_ON = D(2025, 12, 31)
COLLECT_ON = D(2026, 1, 5)          # 1 January is a TARGET holiday; the 2nd a Friday; the 5th a Monday
ACCOUNT = "NL91ABNA0417164300"
# Used when anbi.toml has no [sepa]: the example creditor of DOMAIN.md 7.1.
DEMO_CREDITOR = {"creditor_id": "NL33ZZZ140946600000", "name": "Stichting Demo", "iban": ACCOUNT, "bic": "ABNANL2A",
                 "lead_days": 1}


def sepa_batch(app: AppContext, out_dir: Path, rng: random.Random) -> list[str]:
    section = app.settings.sepa
    out = out_dir / f"sepa-{COLLECT_ON:%Y%m%d}.xml"
    with app.session() as session:
        done = session.scalar(select(SepaBatch.id).where(SepaBatch.collection_date == COLLECT_ON).limit(1))
    if done is not None:
        # A second demo: the batch is there. Run again, it would retry what the bank
        # returned (a failed collection frees its period), which a demo should not.
        return [f"nothing to collect on {COLLECT_ON.isoformat()} (collected before)"]
    with app.session() as session:
        result = run_batch(session, section if section.creditor_id else DEMO_CREDITOR,
                           collection_date=COLLECT_ON, actor=app.actor, file_name=str(out), today=RUN_ON)
    if not result.xml:
        return [f"nothing to collect on {COLLECT_ON.isoformat()} (collected before)"]
    out.write_bytes(result.xml)
    lines = [f"{result.count} collections, {format_dutch(result.total_cents)}, on {COLLECT_ON.isoformat()}: {out}"]
    if result.expired_mandates:
        lines.append(f"mandates expired: {', '.join(result.expired_mandates)}")
    return lines


def bank_statement(app: AppContext, out_dir: Path, rng: random.Random) -> list[str]:
    local = random.Random(rng.getrandbits(64))
    with app.session() as session:
        batch = session.scalar(select(SepaBatch).where(SepaBatch.collection_date == COLLECT_ON).order_by(SepaBatch.id))
        if batch is None:
            return ["no SEPA batch to confirm: run the sepa step first"]
        rows = session.execute(
            select(Donation.reference, Donation.amount_cents, Mandate.mandate_id, Mandate.iban, Donation.agreement_id,
                   SepaCollection.payment_info_id)
            .join(SepaCollection, SepaCollection.donation_id == Donation.id)
            .join(Mandate, Mandate.id == SepaCollection.mandate_id)
            .where(SepaCollection.batch_id == batch.id).order_by(Donation.id)).all()
        transferers = _transferers(session)
        campaigns = list(session.scalars(select(Campaign.code).order_by(Campaign.code)))
        payout_line = _demo_payout(session, local)
    collected = [w.Transaction(cents, reference, mandate_id, "Donateur", iban, "Gift")
                 for reference, cents, mandate_id, iban, _, _ in rows]
    # Three come back: returned the day it was booked (AM04), the debtor deceased
    # (MD07, a donor with a periodic gift agreement if there is one), and refunded at
    # the donor's request two weeks later (MD06).
    with_agreement = [t for t, row in zip(collected, rows) if row[4] is not None]
    deceased = with_agreement[0] if with_agreement else collected[1]
    rest = [t for t in collected if t is not deceased]
    returned, refunded = rest[0], rest[-1]
    entries = [
        w.collection_batch(COLLECT_ON, rows[0][5], collected),
        w.returned(COLLECT_ON, w.Transaction(returned.amount_cents, returned.end_to_end_id, returned.mandate_id,
                                             "Donateur", returned.iban, None, "AM04")),
        w.returned(D(2026, 1, 8), w.Transaction(deceased.amount_cents, deceased.end_to_end_id, deceased.mandate_id,
                                                "Donateur", deceased.iban, None, "MD07")),
        w.returned(D(2026, 1, 19), w.Transaction(refunded.amount_cents, refunded.end_to_end_id, refunded.mandate_id,
                                                 "Donateur", refunded.iban, None, "MD06")),
    ]
    for _ref, name, iban in transferers:
        campaign = local.choice(campaigns) if campaigns else ""
        entries.append(w.transfer(D(2026, 1, local.randint(5, 9)), local.choice((2500, 5000, 10000, 1500)),
                                  name=name, iban=iban, remittance=f"gift {campaign}"))
    if transferers:
        ref, name, _ = transferers[0]
        entries.append(w.transfer(D(2026, 1, 7), 7500, name="Familie " + name.split()[-1], iban="NL18RABO0123459876",
                                  remittance=f"gift for {ref}"))
    entries.append(w.transfer(D(2026, 1, 6), 2000, name="J. Onbekend", iban="NL39RABO0300065264", remittance="voor het goede doel"))
    if payout_line is not None:
        entries.append(payout_line)
    entries.append(w.Entry(D(2026, 1, 9), "debit", [w.Transaction(45000, None, None, "Drukkerij Noord", "NL86INGB0002445588", "factuur 2025-118")]))
    entries.sort(key=lambda e: e.booking_date)
    path = out_dir / "camt053-2026-01.xml"
    w.write(path, w.StatementSpec(ACCOUNT, "2026-01-DEMO", 2500000, entries,
                                  created_at=dt.datetime(2026, 1, 20, 7, tzinfo=dt.UTC)))
    with app.session() as session:
        summary = import_file(session, path, actor=app.actor, max_failures=app.settings.sepa.max_failures)
    lines = [f"statement {path.name}: {summary.lines} lines; {summary.confirmed} collections confirmed, "
             f"{summary.returned} returned, {summary.refunded} refunded, {summary.donations} transfers booked "
             f"({format_dutch(summary.donations_cents)}), {summary.payouts} Stripe payout matched, {summary.ignored} ignored"]
    for ref in summary.deceased:
        lines.append(f"donor {ref} reported deceased (MD07): agreement and recurring gifts ended")
    for item in summary.follow_up:
        lines.append(f"to follow up: recurring gift {item['recurring_gift']} ({item['status']}): {item['note']}")
    with app.session() as session:
        review = unmatched_lines(session)
    lines.append(f"to review (anbi bank unmatched): {len(review)} line(s)")
    for item in review:
        lines.append(f"  line {item['id']}: {item['date']} {item['amount']} {item['name'] or ''} — {item['note']}")
    return lines


def _transferers(session) -> list[tuple[str, str, str]]:
    from donors.models import Donor
    from donors.names import display_name

    donors = session.scalars(select(Donor).where(Donor.iban.is_not(None), Donor.merged_into_id.is_(None),
                                                 Donor.restricted_at.is_(None)).order_by(Donor.id).limit(400)).all()
    chosen = [d for d in donors if not session.scalar(select(Mandate.id).where(Mandate.iban == d.iban).limit(1))][:6]
    return [(d.ref, display_name(d), d.iban) for d in chosen]


def _demo_payout(session, rng: random.Random) -> w.Entry | None:
    """One Stripe payout of the demo's card and iDEAL gifts, with Stripe's fees (1.5 %
    + € 0.25), as `anbi stripe payouts` would have fetched it; and its bank line."""
    donations = session.scalars(select(Donation).where(Donation.source == "stripe", Donation.stripe_charge_id.is_not(None),
                                                       Donation.status == "paid", Donation.currency == "EUR")
                                .order_by(Donation.id)).all()
    if not donations:
        return None
    items = []
    for n, donation in enumerate(donations, 1):
        fee = (donation.amount_cents * 15 + 500) // 1000 + 25
        items.append(BalanceItem(f"txn_demo_{n:04d}", "charge", donation.amount_cents, fee, donation.amount_cents - fee,
                                 "EUR", donation.stripe_charge_id, donation.stripe_charge_id, 1767225600 + n))
    payout = PayoutFacts("po_DEMO202601", sum(i.net_cents for i in items), "EUR", D(2026, 1, 7), 1767744000, "paid",
                         tuple(items))
    store_payouts(session, [payout], today=D(2026, 1, 20))
    return w.transfer(D(2026, 1, 7), payout.amount_cents, name="Stripe Payments Europe Ltd",
                      iban="IE13CITI99005156781099", remittance=f"STRIPE PAYOUT {payout.id}")


def odoo_sync(app: AppContext, out_dir: Path, rng: random.Random) -> list[str]:
    section = app.settings.odoo
    if not section.url:
        return ["[odoo] is not configured in anbi.toml: no sync (the statement, gifts and payout are ready for one)"]
    from exports.odoo import sync
    from exports.odoo.client import OdooClient, OdooSettings

    with OdooClient(OdooSettings.from_settings(section)) as client:
        ledger = sync.Ledger.open(client, section)
        with app.session() as session:
            partners = sync.sync_partners(session, ledger)
        with app.session() as session:
            planned = sync.plan_entries(session, since=None, prefix=ledger.prefix, require=ledger.require)
        sync.send_entries(app.session, ledger)
        with app.session() as session:
            sync.record_names(session, ledger)
    return [f"Odoo: {partners.created} partners created, {sum(planned.entries.values())} entries "
            f"({', '.join(f'{n} {k}' for k, n in sorted(planned.entries.items()))}), income {format_dutch(planned.total_cents)}"]
