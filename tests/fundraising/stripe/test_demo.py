"""The demo's Stripe step: events posted over HTTP book what they say, once."""
import random

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anbi.context import AppContext
from anbi.core.settings import Settings
from fundraising.models import Donation, RecurringGift
from anbi.demo.stripe_webhooks import stripe_webhooks
from tests.factories import make_campaign, make_donor


def test_stripe_demo_step_books_once(db_url, engine, session, tmp_path):
    for n in range(10):
        make_donor(session, ref=f"DEMO{n:02d}")
    make_campaign(session, code="ONLINE-2025")
    session.commit()
    app = AppContext(settings=Settings(database_url=db_url), actor="tester", _engine=engine)
    lines = stripe_webhooks(app, tmp_path, random.Random(1))
    assert lines[0].startswith("21 signed events posted")
    with Session(engine) as s:
        # 8 demo donors, 2 of a new donor, 1 refunded before it arrived, 1 subscription payment
        assert s.scalar(select(func.count()).select_from(Donation).where(Donation.source == "stripe")) == 12
        statuses = dict(s.execute(select(Donation.status, func.count()).group_by(Donation.status)).all())
        assert statuses == {"paid": 9, "refunded": 1, "partially_refunded": 1, "dispute_lost": 1}
        gift = s.execute(select(RecurringGift)).scalar_one()
        assert (gift.reference, gift.amount_cents, gift.status) == ("sub_demo_1", 1500, "active")
    again = stripe_webhooks(app, tmp_path, random.Random(1))
    assert again[0].endswith("21 duplicate")
