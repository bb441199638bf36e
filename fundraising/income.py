"""Which RJ 650 income line each part of a payment takes: ONE table, one function that
applies it, and the SQL expressions generated from the same table.

The income statement (`subsidies.income`), the funds report (`subsidies.funds`), the
ledger in Odoo (`exports.odoo.ledger` and `.sync`) and the web dashboard
(`anbi.web.dashboard`) all classify through this module, so that their figures agree
to the cent per income line and year. Nothing else decides an income line; this
module never talks to Odoo, never renders and never writes.

The table (DOMAIN.md 2.2 "Which income line each part of a gift takes", with 1.4 for
considerations; the keys are the statement's lines and the `[odoo.accounts] income.*`
keys):

| what came in | part | RJ 650 income line | source |
|---|---|---|---|
| a gift (kind `gift`) from a person, or anonymous (one-off, recurring, periodic, collection) | all of it less a stated consideration | baten van particulieren — `private_individuals` | 2.2 |
| a legacy (nalatenschap: erfstelling or legaat) | booked as a gift from the deceased, a person | `private_individuals` | 2.2; no sub-line or estate timing yet (2.6 needs the estate records) |
| a gift from an organisation of type `company`, or of no type | as above | baten van bedrijven — `companies` | 2.2; DESIGN.md: an organisation is a company unless typed |
| ... of type `related_nonprofit` | as above | baten van verbonden organisaties zonder winststreven — `related_nonprofits` | 2.2 |
| ... of type `foundation` or `other_nonprofit` | as above | baten van andere organisaties zonder winststreven — `other_nonprofits` | 2.2: vermogensfondsen have no line of their own since 2016 |
| a consideration stated on a gift (dinner ticket € 150, dinner worth € 60) | the consideration (€ 60) | baten als tegenprestatie — `goods_and_services`; the rest (€ 90) on the payer's line above | 1.4, 2.2 |
| a purchase (kind `purchase`) with a consideration stated | the consideration | `goods_and_services`; the rest on the payer's line | 2.2: "the part of such a payment above the consideration — the payer's gift line" |
| a purchase without a consideration stated | all of it | `goods_and_services` | 1.4: merchandise at market price is no gift; DESIGN.md donations file |
| a ticket of the charity's own lottery (kind `lottery`) | all of it | `goods_and_services` | 1.4: never a gift, not splittable; 2.2 |
| a contribution of a lottery organisation (Postcode Loterij) | a grant, recognised by `subsidies.income` | baten van loterijorganisaties — `lotteries` | 2.2 |
| a government grant (national, municipal, EU) | a grant | baten van subsidies van overheden — `government_grants` | 2.2 |
| a grant from a company, a related or another non-profit (foundation) | a grant | its funder's line as for gifts | 2.2 |
| a refund, chargeback, settled reversal or lost dispute | what it takes back, on its own date | the lines its payment was split over: the consideration in proportion (rounded half-up), the rest from the gift line | DESIGN.md Refunds |

Money in another currency than euro is left out of every euro figure (it is flagged on
the donation); gifts in kind are not recorded as donations.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Integer, case, cast, extract, literal, null, or_, select
from sqlalchemy.orm import Session

from donors.models import Donor
from fundraising.donations import EUR, is_received, sum_cents
from fundraising.models import Donation, DonationAdjustment

# RJ 650's income lines in the order of its model (DOMAIN.md 2.2).
PRIVATE_INDIVIDUALS = "private_individuals"
GOODS_AND_SERVICES = "goods_and_services"
RAISED_LINES = (
    PRIVATE_INDIVIDUALS,     # baten van particulieren
    "companies",             # baten van bedrijven
    "lotteries",             # baten van loterijorganisaties
    "government_grants",     # baten van subsidies van overheden
    "related_nonprofits",    # baten van verbonden organisaties zonder winststreven
    "other_nonprofits",      # baten van andere organisaties zonder winststreven
)
INCOME_LINES = RAISED_LINES + (GOODS_AND_SERVICES,)   # + baten als tegenprestatie
# Their names in the RJ 650 model, as statements and pages print them.
DUTCH_NAMES = {
    "private_individuals": "Baten van particulieren",
    "companies": "Baten van bedrijven",
    "lotteries": "Baten van loterijorganisaties",
    "government_grants": "Baten van subsidies van overheden",
    "related_nonprofits": "Baten van verbonden organisaties zonder winststreven",
    "other_nonprofits": "Baten van andere organisaties zonder winststreven",
    GOODS_AND_SERVICES: "Baten als tegenprestatie voor de levering van producten en/of diensten",
}

# The gift part: the payer's line. Persons and anonymous gifts (legacies included).
PERSON_LINE = PRIVATE_INDIVIDUALS
# Organisations by their type; an organisation without a type is a company.
ORGANISATION_LINES = {
    "company": "companies",
    "related_nonprofit": "related_nonprofits",
    "foundation": "other_nonprofits",
    "other_nonprofit": "other_nonprofits",
}
ORGANISATION_DEFAULT_LINE = "companies"

# The consideration part (goods and services), by donation kind.
STATED = "stated"                      # the consideration stated on the payment
STATED_OR_WHOLE = "stated_or_whole"    # the stated consideration; none stated: all of it
WHOLE = "whole"                        # all of it
CONSIDERATION_RULES = {"gift": STATED, "purchase": STATED_OR_WHOLE, "lottery": WHOLE}

# Grants by their funder's type (`subsidies.models.Funder.type`).
FUNDER_LINES = {
    "lottery": "lotteries",
    "government": "government_grants",
    "eu": "government_grants",
    "municipality": "government_grants",
    "company": "companies",
    "related_nonprofit": "related_nonprofits",
    "foundation": "other_nonprofits",
    "other_nonprofit": "other_nonprofits",
}


def payer_line(donor_kind: str | None, organisation_type: str | None) -> str:
    """The income line of a gift part, by who gave it (None: anonymous)."""
    if donor_kind is None or donor_kind == "person":
        return PERSON_LINE
    return ORGANISATION_LINES.get(organisation_type or "", ORGANISATION_DEFAULT_LINE)


def consideration_part(kind: str, amount_cents: int, consideration_cents: int) -> int:
    """The part of a payment that is income from goods and services."""
    rule = CONSIDERATION_RULES.get(kind)
    if rule is None:
        raise ValueError(f"unknown donation kind {kind!r}")
    if rule == WHOLE or (rule == STATED_OR_WHOLE and consideration_cents == 0):
        return amount_cents
    return consideration_cents


def taken_back_consideration(taken_back_cents: int, amount_cents: int, consideration_cents: int) -> int:
    """The consideration part of what a refund takes back: in proportion, rounded half-up."""
    if amount_cents == 0:
        return 0
    return (2 * taken_back_cents * consideration_cents + amount_cents) // (2 * amount_cents)


@dataclass(frozen=True)
class IncomeSplit:
    """One payment over the income lines: the gift part on the payer's line, the
    consideration part on goods and services."""

    gift_line: str
    gift_cents: int
    consideration_cents: int

    def __post_init__(self) -> None:
        if self.gift_line not in INCOME_LINES:
            raise ValueError(f"unknown income line {self.gift_line!r}")
        if self.gift_cents < 0 or self.consideration_cents < 0:
            raise ValueError("an income split has no negative parts")

    @property
    def amount_cents(self) -> int:
        return self.gift_cents + self.consideration_cents

    def parts(self) -> dict[str, int]:
        """The cents per income line, lines without cents left out."""
        parts: dict[str, int] = defaultdict(int)
        if self.gift_cents:
            parts[self.gift_line] += self.gift_cents
        if self.consideration_cents:
            parts[GOODS_AND_SERVICES] += self.consideration_cents
        return dict(parts)

    def taken_back(self, cents: int) -> IncomeSplit:
        """The part of this payment a refund of `cents` takes back."""
        if not 0 <= cents <= self.amount_cents:
            raise ValueError(f"a refund of {cents} cents of a payment of {self.amount_cents}")
        consideration = taken_back_consideration(cents, self.amount_cents, self.consideration_cents)
        return IncomeSplit(self.gift_line, cents - consideration, consideration)


def split_income(donor_kind: str | None, organisation_type: str | None, kind: str,
                 amount_cents: int, consideration_cents: int) -> IncomeSplit:
    """THE classification: a payment of `amount_cents` over the income lines."""
    if not 0 <= consideration_cents <= amount_cents:
        raise ValueError(f"a consideration of {consideration_cents} cents on a payment of {amount_cents}")
    goods = consideration_part(kind, amount_cents, consideration_cents)
    return IncomeSplit(payer_line(donor_kind, organisation_type), amount_cents - goods, goods)


# ---------------------------------------------------------------------------
# The same table as SQL (for grouped queries; tests/fundraising/test_income.py
# checks them equal to the functions on both databases)
# ---------------------------------------------------------------------------


def payer_line_sql(prefix: str = "") -> ColumnElement[str]:
    """`payer_line` over `donations` OUTER JOINed to `donors` (no donor: anonymous);
    `prefix` is put before each line ("income." gives the `[odoo.accounts]` key)."""
    return case(
        (or_(Donor.kind.is_(None), Donor.kind == "person"), literal(prefix + PERSON_LINE)),
        *[(Donor.organisation_type == kind, literal(prefix + line)) for kind, line in ORGANISATION_LINES.items()],
        else_=literal(prefix + ORGANISATION_DEFAULT_LINE),
    )


def _rule_sql(rule: str):
    if rule == WHOLE:
        return Donation.amount_cents
    if rule == STATED_OR_WHOLE:
        return case((Donation.consideration_cents == 0, Donation.amount_cents), else_=Donation.consideration_cents)
    return Donation.consideration_cents


def consideration_sql() -> ColumnElement[int]:
    """`consideration_part` of a `donations` row."""
    return case(*[(Donation.kind == kind, _rule_sql(rule)) for kind, rule in CONSIDERATION_RULES.items()],
                else_=Donation.consideration_cents)


def taken_back_consideration_sql(taken_back, amount, consideration) -> ColumnElement[int]:
    """`taken_back_consideration` in integers: floor((2·t·c + a) / 2a)."""
    return case((amount == 0, 0), else_=(2 * taken_back * consideration + amount) // (2 * amount))


# ---------------------------------------------------------------------------
# Gathering: donation income per year and line (or fund), refunds on their own dates
# ---------------------------------------------------------------------------


def _year(column):
    return cast(extract("year", column), Integer)


def _parts(session: Session, first: dt.date, last: dt.date, *, by_fund: bool):
    """Rows (year, payer line, fund id or None, gift part, consideration part): money
    received in [first, last] less what was taken back in it, EUR only."""
    line = payer_line_sql()
    fund = Donation.fund_id if by_fund else null()
    goods = consideration_sql()
    only_funds = [Donation.fund_id.is_not(None)] if by_fund else []
    received_year = _year(Donation.received_on)
    received = session.execute(
        select(received_year, line, fund, sum_cents(Donation.amount_cents), sum_cents(goods))
        .select_from(Donation).outerjoin(Donor, Donor.id == Donation.donor_id)
        .where(is_received(), Donation.currency == EUR, Donation.received_on.between(first, last), *only_funds)
        .group_by(received_year, line, *([fund] if by_fund else []))
    ).all()
    taken = DonationAdjustment.taken_back_cents
    taken_goods = taken_back_consideration_sql(taken, Donation.amount_cents, goods)
    adjusted_year = _year(DonationAdjustment.occurred_on)
    taken_back = session.execute(
        select(adjusted_year, line, fund, sum_cents(taken), sum_cents(taken_goods))
        .select_from(DonationAdjustment)
        .join(Donation, Donation.id == DonationAdjustment.donation_id)
        .outerjoin(Donor, Donor.id == Donation.donor_id)
        .where(taken > 0, Donation.currency == EUR, DonationAdjustment.occurred_on.between(first, last), *only_funds)
        .group_by(adjusted_year, line, *([fund] if by_fund else []))
    ).all()
    for year, payer, fund_id, amount, consideration in received:
        yield year, payer, fund_id, amount - consideration, consideration
    for year, payer, fund_id, amount, consideration in taken_back:
        yield year, payer, fund_id, -(amount - consideration), -consideration


def income_by_line(session: Session, first_year: int, last_year: int) -> dict[int, dict[str, int]]:
    """Donation income per year and income line (net of refunds on their own dates)."""
    result: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for year, payer, _, gift, goods in _parts(session, dt.date(first_year, 1, 1), dt.date(last_year, 12, 31),
                                              by_fund=False):
        result[year][payer] += gift
        result[year][GOODS_AND_SERVICES] += goods
    return {year: {line: cents for line, cents in lines.items() if cents} for year, lines in result.items()}


def income_by_fund(session: Session, first_year: int, last_year: int) -> dict[int, dict[int, int]]:
    """Earmarked donation income (both parts) per year and fund id."""
    result: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for year, _, fund_id, gift, goods in _parts(session, dt.date(first_year, 1, 1), dt.date(last_year, 12, 31),
                                                by_fund=True):
        result[year][fund_id] += gift + goods
    return {year: dict(funds) for year, funds in result.items()}

