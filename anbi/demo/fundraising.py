"""The demo's fundraising year: campaigns on every channel, SEPA mandates, periodic
gift agreements, recurring gifts and a year (2025, with some 2024 history) of
donations of every kind and method — written as CSV files in the demo folder and
loaded through the real importers, then a few refunds, a failed collection and two
card disputes through the money-in service, and a campaign summary.

Everything is derived from the random generator handed in, so the same seed gives
the same files and a second `anbi demo` finds everything unchanged."""
from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from anbi.context import AppContext
from anbi.core.money import cents_to_str, format_dutch
from anbi.demo.donors import nl_iban
from donors.models import Donor
from fundraising.imports.agreements import import_agreements
from fundraising.campaigns import CampaignInput, add_campaign
from fundraising.imports.donations import import_donations
from fundraising.donations import find_donation, record_adjustment, record_donation
from fundraising.imports.mandates import import_mandates
from fundraising.models import Campaign, RecurringGift
from fundraising.imports.recurring import import_recurring
from fundraising.recurring import record_return
from fundraising.bank.return_reasons import DEFAULT_MAX_FAILURES
from fundraising.reports import campaign_report

YEAR = 2025
D = dt.date


@dataclass(frozen=True)
class DemoCampaign:
    code: str
    name: str
    channel: str
    goal: int | None  # euro
    cost: int
    start: dt.date | None
    end: dt.date | None
    parent: str | None = None


CAMPAIGNS = [
    DemoCampaign("MAANDGEVERS", "Maandelijkse gevers", "mail", None, 4_000, None, None),
    DemoCampaign("VOORJAAR-2025", "Voorjaarsmailing: iedereen een thuis", "mail", 30_000, 6_500, D(2025, 3, 1), D(2025, 5, 31)),
    DemoCampaign("ONLINE-2025", "Online doneren", "online", 20_000, 2_400, D(2025, 1, 1), D(2025, 12, 31)),
    DemoCampaign("STRAAT-2025", "Straatwerving en collecte", "street", 12_000, 7_500, D(2025, 4, 1), D(2025, 9, 30)),
    DemoCampaign("BEL-2025", "Belactie zomer", "telephone", 8_000, 3_200, D(2025, 6, 1), D(2025, 7, 31)),
    DemoCampaign("GALA-2025", "Benefietdiner Den Haag", "event", 25_000, 9_000, D(2025, 10, 11), D(2025, 10, 11)),
    DemoCampaign("MAJOR-2025", "Grote gevers en fondsen", "major_donors", 60_000, 1_500, D(2025, 1, 1), D(2025, 12, 31)),
    DemoCampaign("NALATEN", "Nalatenschappen", "legacy", None, 500, None, None),
    DemoCampaign("KERST-2025", "Kerstactie: een warm welkom", "mail", 35_000, 800, D(2025, 11, 15), D(2025, 12, 31)),
    DemoCampaign("KERST-2025-POST", "Kerstactie per post", "mail", None, 5_200, D(2025, 11, 15), D(2025, 12, 31), "KERST-2025"),
    DemoCampaign("KERST-2025-ONLINE", "Kerstactie online", "online", None, 1_300, D(2025, 11, 15), D(2025, 12, 31), "KERST-2025"),
]
FUNDS = ["NOODHULP", "TAALLES", "JURIDISCH"]
SMALL = [500, 1000, 1000, 1500, 2000, 2500, 2500, 3500, 5000, 5000, 7500, 10000, 25000]
MONTHLY = [500, 750, 1000, 1000, 1250, 1500, 2000, 2500, 5000]

MANDATE_COLUMNS = ["mandate_id", "donor_ref", "iban", "bic", "signed_on", "signed_place", "status", "last_collected_on"]
AGREEMENT_COLUMNS = ["number", "donor_ref", "annual_amount", "start_date", "years", "signed_on", "end_date", "end_reason"]
RECURRING_COLUMNS = ["reference", "donor_ref", "amount", "interval", "method", "start_date", "end_date", "mandate_id",
                     "campaign", "fund", "agreement"]
DONATION_COLUMNS = ["reference", "donor_ref", "date", "amount", "currency", "method", "campaign", "fund", "kind",
                    "consideration", "agreement", "refunded", "recurring", "mandate"]


def _write(path: Path, columns: list[str], rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


def _money(cents: int) -> str:
    return cents_to_str(cents)


@dataclass
class DemoFiles:
    mandates: list[dict]
    agreements: list[dict]
    recurring: list[dict]
    donations: list[dict]


def generate(rng: random.Random, donors: list[tuple[str, str, str | None, str | None]]) -> DemoFiles:
    """The four import files for the demo donors: (ref, kind, iban, organisation_type)."""
    persons = [d for d in donors if d[1] == "person"]
    with_iban = [d for d in persons if d[2]]
    organisations = [d for d in donors if d[1] == "organisation"]
    rng.shuffle(with_iban)
    sepa_donors = with_iban[:160]
    others = [d for d in persons if d not in sepa_donors]
    rng.shuffle(others)
    stripe_donors, one_off_donors = others[:30], others[30:1230]

    mandates, agreements, recurring, donations = [], [], [], []
    agreement_seq: dict[int, int] = {}
    for index, (ref, _, iban, _) in enumerate(sepa_donors, 1):
        mandate_id = f"DEMO-MDT-{index:05d}"
        signed = _day(rng, D(2019, 1, 1), D(2024, 11, 30))
        revoked = index % 32 == 0
        mandates.append({
            "mandate_id": mandate_id, "donor_ref": ref, "iban": iban, "bic": "", "signed_on": signed.isoformat(),
            "signed_place": rng.choice(["Amsterdam", "Utrecht", "Zwolle", "Arnhem", "online"]),
            "status": "revoked" if revoked else "", "last_collected_on": "2024-12-30" if signed.year < 2024 else "",
        })
        monthly = rng.choice(MONTHLY)
        start = D(signed.year, signed.month, 1) + dt.timedelta(days=31)
        start = D(start.year, start.month, 1)
        end = None
        agreement = ""
        if index % 4 == 0 and not revoked:
            # A periodic gift agreement: the monthly gifts together are the agreed annual amount.
            begin = D(rng.choice([2022, 2023, 2024, 2025]), 1, 1)
            agreement_seq[begin.year] = agreement_seq.get(begin.year, 0) + 1
            agreement = f"PG-{begin.year}-{agreement_seq[begin.year]:04d}"
            row = {
                "number": agreement, "donor_ref": ref, "annual_amount": _money(12 * monthly), "start_date": begin.isoformat(),
                "years": "" if index % 20 == 0 else "5", "signed_on": (begin - dt.timedelta(days=rng.randint(3, 40))).isoformat(),
                "end_date": "", "end_reason": "",
            }
            if index == 8:  # the donor died in the summer: the agreement ends by law
                row.update(end_date="2025-08-14", end_reason="death")
                end = D(2025, 8, 14)
            elif index == 16:
                row.update(end_date="2025-05-31", end_reason="job_loss")
                end = D(2025, 5, 31)
            agreements.append(row)
            start = begin
        if revoked:
            end = D(2024, rng.randint(2, 11), 28)
        reference = f"DEMO-RG-{index:05d}"
        recurring.append({
            "reference": reference, "donor_ref": ref, "amount": _money(monthly), "interval": "monthly",
            "method": "sepa_debit", "start_date": start.isoformat(), "end_date": end.isoformat() if end else "",
            "mandate_id": mandate_id, "campaign": "MAANDGEVERS", "fund": "", "agreement": agreement,
        })
        for month in range(1, 13):
            collected = D(YEAR, month, 28)
            if collected < start or (end and collected > end):
                continue
            if index == 5 and month == 11:
                continue  # this collection is returned before it settles: see _after_the_money_arrived
            donations.append({
                "reference": f"DEMO-SEPA-{index:05d}-{YEAR}{month:02d}", "donor_ref": ref, "date": collected.isoformat(),
                "amount": _money(monthly), "currency": "", "method": "sepa_debit", "campaign": "MAANDGEVERS", "fund": "",
                "kind": "", "consideration": "", "agreement": agreement, "refunded": "", "recurring": reference,
            })
    # One gift paid before its agreement was signed: imported, counted as an ordinary gift, and warned about.
    if agreements:
        first = agreements[0]
        donations.append({
            "reference": "DEMO-EARLY-1", "donor_ref": first["donor_ref"],
            "date": (D.fromisoformat(first["signed_on"]) - dt.timedelta(days=10)).isoformat(), "amount": "50.00",
            "currency": "", "method": "bank_transfer", "campaign": "", "fund": "", "kind": "", "consideration": "",
            "agreement": first["number"], "refunded": "", "recurring": "",
        })

    for index, (ref, _, _, _) in enumerate(stripe_donors, 1):
        amount = rng.choice(MONTHLY)
        interval = "quarterly" if index % 6 == 0 else "monthly"
        reference = f"DEMO-STRIPE-RG-{index:04d}"
        start = D(2024, rng.randint(1, 12), rng.randint(1, 28))
        recurring.append({
            "reference": reference, "donor_ref": ref, "amount": _money(amount), "interval": interval, "method": "stripe",
            "start_date": start.isoformat(), "end_date": "", "mandate_id": "", "campaign": "ONLINE-2025",
            "fund": "TAALLES" if index % 3 == 0 else "", "agreement": "",
        })
        step = 3 if interval == "quarterly" else 1
        for month in range(1, 13, step):
            donations.append({
                "reference": f"DEMO-STRIPE-{index:04d}-{YEAR}{month:02d}", "donor_ref": ref,
                "date": D(YEAR, month, min(start.day, 28)).isoformat(), "amount": _money(amount), "currency": "",
                "method": "card" if index % 3 else "sepa_debit", "campaign": "ONLINE-2025",
                "fund": "TAALLES" if index % 3 == 0 else "", "kind": "", "consideration": "", "agreement": "",
                "refunded": "", "recurring": reference,
            })

    windows = {c.code: (c.start or D(YEAR, 1, 1), c.end or D(YEAR, 12, 31)) for c in CAMPAIGNS}
    methods = {
        "VOORJAAR-2025": ["bank_transfer", "bank_transfer", "ideal"],
        "ONLINE-2025": ["ideal", "ideal", "card", "bancontact"],
        "STRAAT-2025": ["ideal", "sepa_debit"],
        "BEL-2025": ["bank_transfer", "ideal"],
        "KERST-2025-POST": ["bank_transfer", "ideal"],
        "KERST-2025-ONLINE": ["ideal", "card"],
    }
    serial = 0

    def gift(ref: str, campaign: str, on: dt.date, cents: int, method: str, **extra: str) -> None:
        nonlocal serial
        serial += 1
        row = {
            "reference": f"DEMO-GIFT-{serial:06d}", "donor_ref": ref, "date": on.isoformat(), "amount": _money(cents),
            "currency": "", "method": method, "campaign": campaign, "fund": "", "kind": "", "consideration": "",
            "agreement": "", "refunded": "", "recurring": "", "mandate": "",
        }
        row.update(extra)
        donations.append(row)

    for position, (ref, _, _, _) in enumerate(one_off_donors):
        if position % 5 < 3:  # most of them also gave in 2024: retention and LYBUNT have something to show
            gift(ref, "", _day(rng, D(2024, 1, 10), D(2024, 12, 20)), rng.choice(SMALL), "bank_transfer")
        if position % 7 == 6:
            continue  # gave in 2024 only (or not at all): lapsed
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
            campaign = rng.choice(list(methods))
            start, end = windows[campaign]
            fund = rng.choice(FUNDS) if rng.random() < 0.15 else ""
            gift(ref, campaign, _day(rng, start, end), rng.choice(SMALL), rng.choice(methods[campaign]), fund=fund)

    # Street collection tins: anonymous cash.
    for _ in range(40):
        gift("", "STRAAT-2025", _day(rng, D(2025, 4, 1), D(2025, 9, 30)), rng.randint(300, 9000), "cash")
    # The benefit dinner: tickets (a purchase: the dinner is worth 60.00 of the 150.00) and lottery tickets.
    for ref, _, _, _ in one_off_donors[:60]:
        gift(ref, "GALA-2025", D(2025, 10, 11), 15000, rng.choice(["card", "ideal"]), kind="purchase", consideration="60.00")
    for ref, _, _, _ in one_off_donors[60:90]:
        gift(ref, "GALA-2025", D(2025, 10, 11), 2000, "cash", kind="lottery")
    gift(one_off_donors[-1][0], "GALA-2025", D(2025, 10, 13), 250000, "bank_transfer", fund="NOODHULP")
    # Major donors: foundations and companies.
    for ref, _, _, organisation_type in organisations[:25]:
        cents = rng.choice([100000, 250000, 500000, 1000000, 2500000]) if organisation_type == "foundation" else rng.choice(
            [50000, 100000, 250000])
        gift(ref, "MAJOR-2025", _day(rng, D(2025, 1, 15), D(2025, 12, 15)), cents, "bank_transfer",
             fund=rng.choice(FUNDS + ["", ""]))
    # Legacies arrive from the estate's notary: no living donor.
    gift("", "NALATEN", D(2025, 3, 18), 2500000, "bank_transfer")
    gift("", "NALATEN", D(2025, 9, 2), 1275000, "bank_transfer", fund="JURIDISCH")
    # Refunds known at import time (dated on the gift's own day) and a gift from abroad.
    for row in [r for r in donations if r["reference"].startswith("DEMO-GIFT-") and r["method"] in ("ideal", "card")][:6]:
        cents = int(row["amount"].replace(".", ""))
        row["refunded"] = row["amount"] if cents <= 2000 else _money(cents // 2)
    gift(one_off_donors[-2][0], "ONLINE-2025", D(2025, 5, 17), 10000, "card", currency="USD")
    mandates += _one_off_mandates(donations, {ref: iban for ref, _, iban, _ in donors})
    return DemoFiles(mandates, agreements, recurring, donations)


def _one_off_mandates(donations: list[dict], ibans: dict[str, str | None]) -> list[dict]:
    """A one-off direct debit (signed at a street stand) is collected under a one-off
    mandate (eenmalige machtiging): one per gift, named on the gift's row so that the
    statement shows it. The account is the donor's, or one made up from the donor's ref
    (its own random stream, so the rest of the demo stays as it was)."""
    made: list[dict] = []
    for row in donations:
        if row["method"] != "sepa_debit" or row["recurring"] or not row["donor_ref"]:
            continue
        mandate_id = f"DEMO-EMDT-{len(made) + 1:05d}"
        iban = ibans.get(row["donor_ref"]) or nl_iban(random.Random(row["donor_ref"]))
        made.append({"mandate_id": mandate_id, "donor_ref": row["donor_ref"], "iban": iban, "bic": "",
                     "signed_on": row["date"], "signed_place": "straatwerving", "status": "",
                     "last_collected_on": row["date"]})
        row["mandate"] = mandate_id
    return made


def _demo_donors(app: AppContext) -> list[tuple[str, str, str | None, str | None]]:
    with app.session() as session:
        rows = session.execute(
            select(Donor.ref, Donor.kind, Donor.iban, Donor.organisation_type)
            .where(Donor.ref.like("DEMO-%"), Donor.merged_into_id.is_(None), Donor.restricted_at.is_(None))
            .order_by(Donor.ref)
        ).all()
    return [(row.ref, row.kind, row.iban, row.organisation_type) for row in rows]


def seed_fundraising(app: AppContext, out_dir: Path, rng: random.Random) -> list[str]:
    """Campaigns, mandates, agreements, recurring gifts and the year's donations,
    through the importers; then what happens to money after it arrived."""
    local = random.Random(rng.getrandbits(64))
    donors = _demo_donors(app)
    if not donors:
        return ["no demo donors: run the donors step first"]
    files = generate(local, donors)
    out = Path(out_dir)
    paths = {
        "mandates": _write(out / "mandates.csv", MANDATE_COLUMNS, files.mandates),
        "agreements": _write(out / "agreements.csv", AGREEMENT_COLUMNS, files.agreements),
        "recurring": _write(out / "recurring.csv", RECURRING_COLUMNS, files.recurring),
        "donations": _write(out / "donations.csv", DONATION_COLUMNS, files.donations),
    }
    lines = []
    with app.session() as session:
        added = 0
        for campaign in CAMPAIGNS:
            if session.scalar(select(Campaign.id).where(Campaign.code == campaign.code)) is None:
                add_campaign(session, CampaignInput(
                    campaign.code, campaign.name, goal_cents=campaign.goal * 100 if campaign.goal else None,
                    cost_cents=campaign.cost * 100, start_on=campaign.start, end_on=campaign.end, channel=campaign.channel,
                    parent_code=campaign.parent,
                ), actor=app.actor)
                added += 1
        lines.append(f"campaigns: {added} added ({len(CAMPAIGNS)} in the demo, channels "
                     f"{', '.join(sorted({c.channel for c in CAMPAIGNS}))})")
    with app.session() as session:
        m = import_mandates(session, paths["mandates"], actor=app.actor)
        a = import_agreements(session, paths["agreements"], actor=app.actor)
    with app.session() as session:
        r = import_recurring(session, paths["recurring"], actor=app.actor, on=D(YEAR + 1, 1, 1))
    with app.session() as session:
        d = import_donations(session, paths["donations"], actor=app.actor)
    lines.append(f"mandates: {m.created} created, {m.unchanged} unchanged{_kept(m.kept)} ({paths['mandates']})")
    lines.append(f"agreements: {a.created} created, {a.unchanged} unchanged ({paths['agreements']})")
    lines.append(f"recurring gifts: {r.created} created, {r.unchanged} unchanged{_kept(r.kept)} ({paths['recurring']})")
    # A second demo finds history the ledger steps moved on (collections confirmed,
    # a donor reported deceased): the imports keep it and say so.
    kept = [*r.kept, *m.kept]
    lines.extend(f"  kept: {item}" for item in kept[:KEPT_SHOWN])
    if len(kept) > KEPT_SHOWN:
        lines.append(f"  kept: ... and {len(kept) - KEPT_SHOWN} more (`anbi mandates import --json` and `anbi recurring import --json` list them)")
    lines.append(f"donations: {d.created} created, {d.unchanged} unchanged, {d.refunds} refunds ({paths['donations']})")
    for warning in d.warnings:
        lines.append(f"  warning: {warning}")
    with app.session() as session:
        lines.extend(_after_the_money_arrived(session, app.actor))
    return lines


KEPT_SHOWN = 3


def _kept(kept: list) -> str:
    return f", {len(kept)} kept as they were" if kept else ""


def _after_the_money_arrived(session, actor: str) -> list[str]:
    """What happens later to money already booked, through the money-in service: a
    direct debit refunded by the donor's bank (MD06), a collection returned before it
    settled (AM04), two card disputes (one lost, one won). Idempotent by reference."""
    lines = []
    instalment = find_donation(session, "import", "DEMO-SEPA-00003-202506")
    if instalment is not None:
        _, created = record_adjustment(session, instalment, kind="reversal", amount_cents=instalment.amount_cents,
                                       occurred_on=D(2025, 7, 14), source="demo", reference="DEMO-MD06-1", reason_code="MD06")
        if created:
            lines.append(f"direct debit {instalment.reference} refunded by the bank (MD06): {instalment.status}")
    gift = session.scalar(select(RecurringGift).where(RecurringGift.reference == "DEMO-RG-00005"))
    if gift is not None:
        pending, _ = record_donation(
            session, source="demo", reference="DEMO-SEPA-00005-202511", donor=gift.donor, received_on=D(2025, 11, 28),
            amount_cents=gift.amount_cents, currency="EUR", method="sepa_debit", campaign=gift.campaign,
            recurring_gift=gift, mandate=gift.mandate, agreement=gift.agreement, status="pending",
        )
        if pending.status == "pending":
            record_adjustment(session, pending, kind="reversal", amount_cents=pending.amount_cents, occurred_on=D(2025, 12, 2),
                              source="demo", reference="DEMO-AM04-1", reason_code="AM04")
            record_return(session, gift, code="AM04", refund=False, on=D(2025, 12, 2), max_failures=DEFAULT_MAX_FAILURES,
                          actor=actor)
            lines.append(f"collection {pending.reference} returned before settlement (AM04): {pending.status}; "
                         f"recurring gift {gift.reference} is {gift.status}")
    for number, outcome in ((1, "dispute_lost"), (2, "dispute_won")):
        donation = find_donation(session, "import", f"DEMO-STRIPE-{number:04d}-{YEAR}04")
        if donation is None:
            continue
        record_adjustment(session, donation, kind="dispute_opened", amount_cents=donation.amount_cents,
                          occurred_on=D(2025, 5, 2), source="demo", reference=f"DEMO-DP-{number}-OPEN", reason_code="fraudulent")
        _, created = record_adjustment(session, donation, kind=outcome, amount_cents=donation.amount_cents,
                                       occurred_on=D(2025, 6, 10), source="demo", reference=f"DEMO-DP-{number}-CLOSE")
        if created:
            lines.append(f"card payment {donation.reference} disputed: {donation.status}")
    return lines


def show_campaigns(app: AppContext, out_dir: Path, rng: random.Random) -> list[str]:
    """What each top-level campaign raised (its sub-campaigns included)."""
    lines = [f"{'campaign':<18} {'gifts':>6} {'donors':>6} {'new':>5} {'gross':>15} {'net':>15} {'goal':>8}"]
    with app.session() as session:
        codes = session.scalars(select(Campaign.code).where(Campaign.parent_id.is_(None)).order_by(Campaign.code)).all()
        for code in codes:
            report = campaign_report(session, code)
            goal = "" if report.progress_pct is None else f"{report.progress_pct:.0f}%"
            lines.append(f"{code:<18} {report.gifts:>6} {report.donors:>6} {report.new_donors:>5} "
                         f"{format_dutch(report.gross_cents):>15} {format_dutch(report.net_cents):>15} {goal:>8}")
    lines.append("details: anbi campaigns report CODE; lapsed donors: anbi reports lybunt --year 2026")
    return lines
