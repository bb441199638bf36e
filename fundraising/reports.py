"""What campaigns raised, and which donors lapsed: the reports fundraisers run.

Everything is aggregated in the database (GROUP BY), never by loading every donation
into Python; what comes back is a handful of rows per month, currency or distinct
amount. Only money that reached us counts (status paid, refunded, partially refunded,
disputed, dispute won or lost; not pending, not failed). Refunds, chargebacks,
settled reversals and lost disputes count on their own dates (DESIGN.md, Refunds),
each capped as recorded (`fundraising.donations`). EUR totals never include another
currency: other currencies are listed apart.

The figures are derived from the query rows by plain functions (`median_from_counts`,
`rate`, `percentage`), tested without a database."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import DateTime, and_, case, cast, exists, extract, func, literal, or_, select, text
from sqlalchemy.orm import Session, aliased

from anbi.core.money import cents_to_str, round_half_up
from donors import names
from donors.models import Donor
from donors.service import sort_name_order
from fundraising.campaigns import campaign_codes_with_descendants, gifts_of
from fundraising.donations import EUR, NOT_RECEIVED_STATUSES, is_received, sum_cents
from fundraising.models import Donation, DonationAdjustment

REFUND_KINDS = ("refund", "chargeback", "reversal")


# --- pure helpers -------------------------------------------------------------


def median_from_counts(counts: Iterable[tuple[int, int]]) -> int | None:
    """The median of a multiset given as (value, how many) sorted by value; for an
    even count the mean of the two middle values, rounded half up to the cent."""
    pairs = list(counts)
    total = sum(n for _, n in pairs)
    if total == 0:
        return None
    # 0-based positions of the middle value(s)
    low_position, high_position = (total - 1) // 2, total // 2
    low = high = None
    seen = 0
    for value, n in pairs:
        if low is None and low_position < seen + n:
            low = value
        if high_position < seen + n:
            high = value
            break
        seen += n
    assert low is not None and high is not None  # total > 0: the walk reached both middle positions
    return round_half_up((Decimal(low) + Decimal(high)) / 2)


def percentage(part: int, whole: int) -> float | None:
    """`part` as a percentage of `whole`, rounded half up to 2 decimals (a JSON number)."""
    if not whole:
        return None
    return float((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def rate(numerator: int, denominator: int) -> str | None:
    """A ratio as a string with 2 decimals (`"0.12"`), None when it has no meaning."""
    if denominator <= 0:
        return None
    return str((Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def average(total: int, count: int) -> int | None:
    return round_half_up(Decimal(total) / count) if count else None


# --- campaign report ----------------------------------------------------------


@dataclass
class MonthFigures:
    month: str  # 2025-03
    gifts: int = 0
    gross_cents: int = 0
    refunds_cents: int = 0
    lost_disputes_cents: int = 0
    fees_cents: int = 0

    @property
    def net_cents(self) -> int:
        return self.gross_cents - self.refunds_cents - self.lost_disputes_cents - self.fees_cents

    def as_json(self) -> dict:
        return {
            "month": self.month,
            "gifts": self.gifts,
            "gross": cents_to_str(self.gross_cents),
            "refunds": cents_to_str(self.refunds_cents),
            "lost_disputes": cents_to_str(self.lost_disputes_cents),
            "fees": cents_to_str(self.fees_cents),
            "net": cents_to_str(self.net_cents),
        }


@dataclass
class CurrencyFigures:
    currency: str
    gifts: int = 0
    gross_cents: int = 0
    refunds_cents: int = 0
    lost_disputes_cents: int = 0
    fees_cents: int = 0

    def as_json(self) -> dict:
        return {
            "currency": self.currency,
            "gifts": self.gifts,
            "gross": cents_to_str(self.gross_cents),
            "refunds": cents_to_str(self.refunds_cents),
            "lost_disputes": cents_to_str(self.lost_disputes_cents),
            "fees": cents_to_str(self.fees_cents),
        }


@dataclass
class CampaignReport:
    code: str
    name: str
    channel: str | None
    includes: list[str]
    goal_cents: int | None
    cost_cents: int
    gifts: int
    anonymous_gifts: int
    donors: int
    new_donors: int
    gross_cents: int
    refunds_cents: int
    lost_disputes_cents: int
    fees_cents: int
    average_cents: int | None
    median_cents: int | None
    months: list[MonthFigures] = field(default_factory=list)
    other_currencies: list[CurrencyFigures] = field(default_factory=list)

    @property
    def net_cents(self) -> int:
        return self.gross_cents - self.refunds_cents - self.lost_disputes_cents - self.fees_cents

    @property
    def returning_donors(self) -> int:
        return self.donors - self.new_donors

    @property
    def progress_pct(self) -> float | None:
        """Net raised as a percentage of the goal."""
        return percentage(self.net_cents, self.goal_cents) if self.goal_cents else None

    @property
    def cost_per_euro(self) -> str | None:
        """What one euro of net income cost (campaign cost / net raised)."""
        return rate(self.cost_cents, self.net_cents)

    def as_json(self) -> dict:
        return {
            "campaign": self.code,
            "name": self.name,
            "channel": self.channel,
            "includes": self.includes,
            "currency": EUR,
            "gross": cents_to_str(self.gross_cents),
            "refunds": cents_to_str(self.refunds_cents),
            "lost_disputes": cents_to_str(self.lost_disputes_cents),
            "fees": cents_to_str(self.fees_cents),
            "net": cents_to_str(self.net_cents),
            "gifts": self.gifts,
            "anonymous_gifts": self.anonymous_gifts,
            "donors": self.donors,
            "new_donors": self.new_donors,
            "returning_donors": self.returning_donors,
            "average_gift": cents_to_str(self.average_cents) if self.average_cents is not None else None,
            "median_gift": cents_to_str(self.median_cents) if self.median_cents is not None else None,
            "goal": cents_to_str(self.goal_cents) if self.goal_cents is not None else None,
            "progress_pct": self.progress_pct,
            "cost": cents_to_str(self.cost_cents),
            "cost_per_euro": self.cost_per_euro,
            "months": [m.as_json() for m in self.months],
            "other_currencies": [c.as_json() for c in self.other_currencies],
        }


def month_of(session: Session, column):
    """A date column's month as one grouping key: `'2025-03'` text on SQLite, the
    first of the month on PostgreSQL (both cheap per row; one key, not year and
    month apart)."""
    if session.get_bind().dialect.name == "postgresql":
        # date_trunc of a date would make it a timestamp with time zone, through the
        # session's time zone, for every row (a third of the first pass's time); a plain
        # timestamp has the same month without that.
        return func.date_trunc("month", cast(column, DateTime()))
    # SQLite keeps a date as ISO text (2025-03-01): its first seven characters are the
    # month, without parsing the date as strftime would.
    return func.substr(column, 1, 7)


def _month(value) -> str:
    """`'2025-03'` from either database's month key."""
    if isinstance(value, (dt.date, dt.datetime)):
        return f"{value.year:04d}-{value.month:02d}"
    return str(value)


# Gifts cluster on round amounts. The first pass counts each multiple of € 5 exactly
# and everything else per € 5 range between them; only when the median falls inside
# such a range is that range counted amount by amount (a second, narrow query).
MEDIAN_STEP = 500
# The donor pass reads every received gift once (index-only, in donor order) when the
# campaign holds at least this share of all donations; for a smaller campaign it
# looks up only its own donors' earlier gifts (one index seek each).
FULL_DONOR_PASS_SHARE = 8


def amount_bucket(amount_cents: int, step: int = MEDIAN_STEP) -> int:
    """The histogram key of an amount: the amount itself when it is a multiple of
    `step`, else -(k + 1) for the open range (k * step, (k + 1) * step)."""
    return amount_cents if amount_cents % step == 0 else -(amount_cents // step) - 1


def _bucket_order(key: int, step: int) -> tuple[int, int]:
    return (key, 0) if key >= 0 else ((-key - 1) * step, 1)


def median_from_buckets(buckets: dict[int, int], refine, step: int = MEDIAN_STEP) -> int | None:
    """The exact median from bucketed counts (`amount_bucket` keys).

    `refine(keys)` is called only when a middle position falls in a range bucket; it
    returns (amount, count) pairs for every amount in those ranges."""
    ordered = sorted(((k, n) for k, n in buckets.items() if n), key=lambda kv: _bucket_order(kv[0], step))
    total = sum(n for _, n in ordered)
    if total == 0:
        return None
    positions = ((total - 1) // 2, total // 2)
    found: dict[int, tuple[int, int]] = {}  # position -> (bucket key, position inside the bucket)
    seen = 0
    for key, n in ordered:
        for position in positions:
            if seen <= position < seen + n:
                found[position] = (key, position - seen)
        seen += n
    ranges = sorted({key for key, _ in found.values() if key < 0})
    exact: dict[int, list[tuple[int, int]]] = {key: [] for key in ranges}
    if ranges:
        for amount, n in sorted(refine(ranges)):
            exact.setdefault(amount_bucket(amount, step), []).append((amount, n))
    values = []
    for position in positions:
        key, inside = found[position]
        if key >= 0:
            values.append(key)
            continue
        seen = 0
        for amount, n in exact[key]:
            if inside < seen + n:
                values.append(amount)
                break
            seen += n
        else:
            raise AssertionError(f"range {key} holds fewer gifts than counted")  # the two queries disagree
    return round_half_up((Decimal(values[0]) + Decimal(values[1])) / 2)


def _donor_counts(session: Session, ids: list[int], in_campaign_eur, gifts: int) -> tuple[int, int]:
    """(donors, new donors): a donor is new when no received gift of theirs (in any
    campaign or currency) is dated before their first gift in this campaign."""
    if gifts == 0:
        return 0, 0
    # How many donations there are, roughly, read from the ends of the primary key
    # (apart, so that SQLite answers each from the index instead of scanning).
    highest = select(func.max(Donation.id)).scalar_subquery()
    lowest = select(func.min(Donation.id)).scalar_subquery()
    span = session.execute(select(highest - lowest + 1)).scalar() or 0
    if gifts * FULL_DONOR_PASS_SHARE >= span:
        # Every row here is received already: the campaign and currency decide.
        here = and_(gifts_of(ids), Donation.currency == EUR)
        first_here = func.min(case((here, Donation.received_on)))
        per_donor = (
            select(first_here.label("first_here"), func.min(Donation.received_on).label("first_ever"))
            .where(is_received(), Donation.donor_id.is_not(None))
            .group_by(Donation.donor_id)
            .subquery("per_donor")
        )
        is_new = per_donor.c.first_ever == per_donor.c.first_here
        query = select(func.count(), sum_cents(case((is_new, 1), else_=0))).where(per_donor.c.first_here.is_not(None))
    else:
        firsts = (
            select(Donation.donor_id.label("donor_id"), func.min(Donation.received_on).label("first_here"))
            .where(in_campaign_eur, Donation.donor_id.is_not(None))
            .group_by(Donation.donor_id)
            .subquery("here")
        )
        earlier = aliased(Donation)
        gave_before = exists().where(
            earlier.donor_id == firsts.c.donor_id, earlier.received_on < firsts.c.first_here,
            earlier.status.not_in(NOT_RECEIVED_STATUSES),
        )
        query = select(func.count(), sum_cents(case((~gave_before, 1), else_=0))).select_from(firsts)
    donors, new = session.execute(query).one()
    return int(donors or 0), int(new or 0)


def campaign_report(session: Session, code: str) -> CampaignReport:
    """The campaign's figures, sub-campaigns included (`fundraising.campaigns.gifts_of`:
    the one definition of a campaign's gifts), from three aggregate passes:
    gifts by currency, month and amount bucket (totals, months, and the median's
    histogram; the median is exact, see `median_from_buckets`); refunds and lost
    disputes by currency and month (their own dates); donors, new and returning."""
    campaign, below = campaign_codes_with_descendants(session, code)
    ids = [campaign.id] + [c.id for c in below]
    in_campaign = and_(gifts_of(ids), is_received())
    postgresql = session.get_bind().dialect.name == "postgresql"
    if postgresql:
        # PostgreSQL's JIT compiler spends longer compiling these short queries than
        # running them.
        session.execute(text("SET LOCAL jit = off"))
        # It also guesses far more month x amount groups than there are (some 100,000
        # for a year's 3,000): it would sort them on disk, and it would think that
        # handing each parallel worker's groups on costs more than scanning in parallel
        # saves. The first pass may hash them in memory and run in parallel, as a plain
        # GROUP BY of the same rows does (both reset after it).
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        session.execute(text("SET LOCAL parallel_tuple_cost = 0"))
    in_campaign_eur = and_(in_campaign, Donation.currency == EUR)

    month = month_of(session, Donation.received_on)
    bucket = case(
        (Donation.amount_cents % MEDIAN_STEP == 0, Donation.amount_cents),
        else_=-(Donation.amount_cents // MEDIAN_STEP) - 1,
    )
    donation_rows = session.execute(
        select(
            Donation.currency, month, bucket, func.count(), sum_cents(Donation.amount_cents),
            sum_cents(Donation.fee_cents), func.count(Donation.donor_id),
        )
        .where(in_campaign)
        .group_by(Donation.currency, month, bucket)
    ).all()
    if postgresql:
        session.execute(text("SET LOCAL work_mem TO DEFAULT"))
        session.execute(text("SET LOCAL parallel_tuple_cost TO DEFAULT"))

    # Adjustments are few next to donations: each looks up its own donation by primary
    # key, rather than the database scanning every donation to join them. PostgreSQL
    # looks them up in donation order, so that it reads the donations front to back
    # rather than a page at random for each (half the time of this pass for 23,000
    # adjustments; a sorted subquery is planned apart and keeps its order). SQLite would
    # read the adjustments through their donation index instead, which is slower.
    in_order = (
        select(
            DonationAdjustment.donation_id, DonationAdjustment.occurred_on, DonationAdjustment.kind,
            DonationAdjustment.taken_back_cents,
        )
        .where(DonationAdjustment.taken_back_cents > 0)
        .order_by(DonationAdjustment.donation_id if postgresql else None)
        .subquery("in_order")
    )
    currency_if_here = (
        select(Donation.currency).where(Donation.id == in_order.c.donation_id, in_campaign).scalar_subquery()
    )
    taken = (
        select(
            currency_if_here.label("currency"),
            month_of(session, in_order.c.occurred_on).label("month"),
            in_order.c.kind.label("kind"),
            in_order.c.taken_back_cents.label("cents"),
        )
        .subquery("taken")
    )
    adjustment_rows = session.execute(
        select(
            taken.c.currency, taken.c.month,
            sum_cents(case((taken.c.kind.in_(REFUND_KINDS), taken.c.cents), else_=0)),
            sum_cents(case((taken.c.kind == "dispute_lost", taken.c.cents), else_=0)),
        )
        .group_by(taken.c.currency, taken.c.month)
    ).all()

    months: dict[str, MonthFigures] = {}
    currencies: dict[str, CurrencyFigures] = {}
    buckets: dict[int, int] = {}
    anonymous = 0
    by_key: dict[object, MonthFigures] = {}  # the database's month key -> that month's figures

    def month_figures_of(key) -> MonthFigures:
        # A month recurs in each of its (some hundred) amount buckets: named once.
        figures = by_key.get(key)
        if figures is None:
            label = _month(key)
            figures = by_key[key] = months.setdefault(label, MonthFigures(label))
        return figures

    for currency, m, key, gifts, gross, fees, from_donors in donation_rows:
        figures = currencies.get(currency) or currencies.setdefault(currency, CurrencyFigures(currency))
        figures.gifts += gifts
        figures.gross_cents += int(gross)
        figures.fees_cents += int(fees)
        if currency == EUR:
            anonymous += gifts - int(from_donors)
            buckets[int(key)] = buckets.get(int(key), 0) + gifts
            month_figures = month_figures_of(m)
            month_figures.gifts += gifts
            month_figures.gross_cents += int(gross)
            month_figures.fees_cents += int(fees)
    for currency, m, refunds, lost_disputes in adjustment_rows:
        if currency is None:
            continue  # adjustments of donations outside this campaign (looked up, not joined)
        figures = currencies.setdefault(currency, CurrencyFigures(currency))
        figures.refunds_cents += int(refunds)
        figures.lost_disputes_cents += int(lost_disputes)
        if currency == EUR:
            month_figures = month_figures_of(m)
            month_figures.refunds_cents += int(refunds)
            month_figures.lost_disputes_cents += int(lost_disputes)

    def refine(range_keys: list[int]) -> list[tuple[int, int]]:
        within = or_(*(
            and_(Donation.amount_cents > (-key - 1) * MEDIAN_STEP, Donation.amount_cents < -key * MEDIAN_STEP)
            for key in range_keys
        ))
        rows = session.execute(
            select(Donation.amount_cents, func.count()).where(in_campaign_eur, within).group_by(Donation.amount_cents)
        ).all()
        return [(int(amount), int(n)) for amount, n in rows]

    euro = currencies.pop(EUR, CurrencyFigures(EUR))
    if postgresql:
        # The donor pass reads every donation in donor order (an index-only scan that
        # groups as it goes): in parallel, each worker's groups are merged in order,
        # which the planner again believes costs more than it saves (half the time for
        # 1,000,000 donations, as the first pass's plain GROUP BY runs too).
        session.execute(text("SET LOCAL parallel_tuple_cost = 0"))
    donors, new_donors = _donor_counts(session, ids, in_campaign_eur, euro.gifts)
    if postgresql:
        session.execute(text("SET LOCAL parallel_tuple_cost TO DEFAULT"))
    return CampaignReport(
        code=campaign.code,
        name=campaign.name,
        channel=campaign.channel,
        includes=[c.code for c in below],
        goal_cents=campaign.goal_cents,
        cost_cents=campaign.cost_cents + sum(c.cost_cents for c in below),
        gifts=euro.gifts,
        anonymous_gifts=anonymous,
        donors=donors,
        new_donors=new_donors,
        gross_cents=euro.gross_cents,
        refunds_cents=euro.refunds_cents,
        lost_disputes_cents=euro.lost_disputes_cents,
        fees_cents=euro.fees_cents,
        average_cents=average(euro.gross_cents, euro.gifts),
        median_cents=median_from_buckets(buckets, refine),
        months=[months[key] for key in sorted(months)],
        other_currencies=[currencies[key] for key in sorted(currencies)],
    )


# --- donor lists: LYBUNT, SYBUNT, retention -----------------------------------


@dataclass(frozen=True)
class LapsedDonor:
    ref: str
    name: str
    postcode: str | None
    email: str | None
    last_gift_on: dt.date
    last_year_total_cents: int

    def as_json(self) -> dict:
        return {
            "ref": self.ref,
            "name": self.name,
            "postcode": self.postcode,
            "email": self.email,
            "last_gift_date": self.last_gift_on.isoformat(),
            "last_year_total": cents_to_str(self.last_year_total_cents),
        }


def _year_start(year: int) -> dt.date:
    return dt.date(year, 1, 1)


def lapsed_donors(session: Session, year: int, *, last_year_only: bool) -> list[LapsedDonor]:
    """Donors who gave before `year` but not in it: LYBUNT (`last_year_only`: their
    last gift was in year-1) or SYBUNT (any earlier year; LYBUNT donors included).

    `last_year_total` is what the donor gave in the last calendar year they gave, in
    EUR, less what was taken back in that same year (refunds on their own dates).
    Only donors who may be mailed are listed: not merged, restricted, purged or
    deceased."""
    start = _year_start(year)
    last = (
        select(Donation.donor_id.label("donor_id"), func.max(Donation.received_on).label("last_on"))
        .where(is_received(), Donation.donor_id.is_not(None), Donation.received_on < start)
        .group_by(Donation.donor_id)
        .subquery("last")
    )
    gave_this_year = exists().where(
        Donation.donor_id == last.c.donor_id, is_received(),
        Donation.received_on >= start, Donation.received_on < _year_start(year + 1),
    )
    lapsed_filter = [~gave_this_year]
    if last_year_only:
        lapsed_filter.append(last.c.last_on >= _year_start(year - 1))
    lapsed = select(last.c.donor_id, last.c.last_on).where(*lapsed_filter).subquery("lapsed")

    last_year = extract("year", lapsed.c.last_on)
    given = (
        select(Donation.donor_id.label("donor_id"), sum_cents(Donation.amount_cents).label("given"))
        .join(lapsed, lapsed.c.donor_id == Donation.donor_id)
        .where(is_received(), Donation.currency == EUR, extract("year", Donation.received_on) == last_year)
        .group_by(Donation.donor_id)
        .subquery("given")
    )
    taken = (
        select(Donation.donor_id.label("donor_id"), sum_cents(DonationAdjustment.taken_back_cents).label("taken"))
        .join(Donation, Donation.id == DonationAdjustment.donation_id)
        .join(lapsed, lapsed.c.donor_id == Donation.donor_id)
        .where(is_received(), Donation.currency == EUR, extract("year", DonationAdjustment.occurred_on) == last_year)
        .group_by(Donation.donor_id)
        .subquery("taken")
    )
    rows = session.execute(
        select(Donor, lapsed.c.last_on, func.coalesce(given.c.given, 0), func.coalesce(taken.c.taken, 0))
        .join(lapsed, lapsed.c.donor_id == Donor.id)
        .outerjoin(given, given.c.donor_id == Donor.id)
        .outerjoin(taken, taken.c.donor_id == Donor.id)
        .where(Donor.merged_into_id.is_(None), Donor.restricted_at.is_(None), Donor.purged_at.is_(None),
               Donor.deceased_on.is_(None))
        .order_by(sort_name_order(session), Donor.ref)
    ).all()
    return [
        LapsedDonor(
            ref=donor.ref,
            name=names.display_name(donor),
            postcode=donor.postcode,
            email=donor.email,
            last_gift_on=last_on,
            last_year_total_cents=max(0, int(given_cents) - int(taken_cents)),
        )
        for donor, last_on, given_cents, taken_cents in rows
    ]


@dataclass(frozen=True)
class Retention:
    year: int
    previous_year_donors: int
    retained: int
    donors: int
    new: int
    reactivated: int

    @property
    def lapsed(self) -> int:
        return self.previous_year_donors - self.retained

    @property
    def rate_pct(self) -> float | None:
        return percentage(self.retained, self.previous_year_donors)

    def as_json(self) -> dict:
        return {
            "year": self.year,
            "previous_year_donors": self.previous_year_donors,
            "retained": self.retained,
            "lapsed": self.lapsed,
            "rate": self.rate_pct,
            "donors": self.donors,
            "new": self.new,
            "reactivated": self.reactivated,
        }


def retention(session: Session, year: int) -> Retention:
    """Of the donors who gave in year-1, how many gave again in `year` (one GROUP BY
    over donors, then a sum over the flags). Also: donors in `year`, new ones (no gift
    ever before) and reactivated ones (gave before year-1, not in it)."""
    previous_start, start, end = _year_start(year - 1), _year_start(year), _year_start(year + 1)

    def flag(condition):
        return func.max(case((condition, 1), else_=0))

    per_donor = (
        select(
            flag(and_(Donation.received_on >= previous_start, Donation.received_on < start)).label("previous"),
            flag(Donation.received_on >= start).label("current"),
            flag(Donation.received_on < previous_start).label("earlier"),
        )
        .where(is_received(), Donation.donor_id.is_not(None), Donation.received_on < end)
        .group_by(Donation.donor_id)
        .subquery("per_donor")
    )
    p, c, e = per_donor.c.previous, per_donor.c.current, per_donor.c.earlier
    one = literal(1)
    previous, retained, donors, new, reactivated = session.execute(
        select(
            sum_cents(p),
            sum_cents(case((and_(p == one, c == one), 1), else_=0)),
            sum_cents(c),
            sum_cents(case((and_(c == one, p == 0, e == 0), 1), else_=0)),
            sum_cents(case((and_(c == one, p == 0, e == one), 1), else_=0)),
        )
    ).one()
    return Retention(year, int(previous), int(retained), int(donors), int(new), int(reactivated))
