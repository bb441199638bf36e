"""The demo's fundraising step, run on a small set of demo donors on both databases:
everything is written through the importers, every kind and method appears, the
money-in service's after-effects show, and a second run changes nothing."""
from __future__ import annotations

import random

from sqlalchemy import func, select

from anbi.context import AppContext
from anbi.core.settings import Settings
from anbi.demo.donors import nl_iban
from anbi.demo.fundraising import seed_fundraising, show_campaigns
from fundraising.models import (
    DONATION_KINDS,
    METHODS,
    Campaign,
    Donation,
    Mandate,
    PeriodicAgreement,
    RecurringGift,
)
from tests.factories import make_donor


def test_demo_fundraising_step(db_url, session, tmp_path):
    rng = random.Random(7)
    for number in range(1, 401):
        if number % 10 == 0:
            make_donor(session, ref=f"DEMO-{number:06d}", kind="organisation",
                       organisation_type="foundation" if number % 20 == 0 else "company")
        else:
            make_donor(session, ref=f"DEMO-{number:06d}", iban=nl_iban(rng))
    session.commit()
    app = AppContext(settings=Settings(database_url=db_url), actor="tester")
    try:
        lines = seed_fundraising(app, tmp_path, random.Random(2025))
        again = seed_fundraising(app, tmp_path, random.Random(2025))
        summary = show_campaigns(app, tmp_path, random.Random(2025))
    finally:
        app.close()

    assert lines[0].startswith("campaigns: 11 added")
    # 160 mandates of the monthly givers, and a one-off mandate for each one-off direct debit.
    one_off_sepa = sum(1 for line in (tmp_path / "donations.csv").read_text(encoding="utf-8").splitlines()
                       if ",sepa_debit," in line and "DEMO-EMDT-" in line)
    assert one_off_sepa > 5
    assert any(line.startswith(f"mandates: {160 + one_off_sepa} created") for line in lines)
    assert any("refunded by the bank (MD06): refunded" in line for line in lines)
    assert any("(AM04): failed; recurring gift DEMO-RG-00005 is failing" in line for line in lines)
    assert any("disputed: dispute_lost" in line for line in lines) and any("disputed: dispute_won" in line for line in lines)
    assert any("paid before agreement" in line for line in lines)
    assert again[0].startswith("campaigns: 0 added")
    assert any(line.startswith("donations: 0 created") for line in again)
    assert summary[0].split()[:3] == ["campaign", "gifts", "donors"]
    assert any(line.startswith("KERST-2025 ") for line in summary)
    for name in ("mandates.csv", "agreements.csv", "recurring.csv", "donations.csv"):
        assert (tmp_path / name).read_text(encoding="utf-8").count("\n") > 2

    session.expire_all()
    channels = set(session.scalars(select(Campaign.channel)))
    assert channels == {"online", "mail", "street", "event", "telephone", "major_donors", "legacy"}
    assert set(session.scalars(select(Donation.kind).distinct())) == set(DONATION_KINDS)
    assert set(session.scalars(select(Donation.method).distinct())) == set(METHODS) - {"other"}
    statuses = set(session.scalars(select(Donation.status).distinct()))
    assert {"paid", "refunded", "partially_refunded", "dispute_lost", "dispute_won", "failed"} <= statuses
    assert session.scalar(select(func.count()).select_from(Mandate)) == 160 + one_off_sepa
    # Every one-off direct debit names its mandate (its statement line shows it).
    assert session.scalar(select(func.count()).select_from(Donation).where(
        Donation.method == "sepa_debit", Donation.recurring_gift_id.is_(None), Donation.donor_id.is_not(None),
        Donation.mandate_id.is_(None))) == 0
    assert session.scalar(select(func.count()).select_from(PeriodicAgreement)) > 20
    assert session.scalar(select(func.count()).select_from(RecurringGift)) == 190
    # Monthly gifts under an agreement are linked to it; the gala tickets carry their dinner's value.
    assert session.scalar(select(func.count()).select_from(Donation).where(Donation.agreement_id.is_not(None))) > 100
    assert session.scalar(select(func.count()).select_from(Donation).where(
        Donation.kind == "purchase", Donation.consideration_cents == 6000)) == 60
    assert session.scalar(select(func.count()).select_from(Donation).where(Donation.recurring_gift_id.is_not(None))) > 1000
