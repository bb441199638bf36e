"""SEPA direct debits (incasso): which recurring gifts are due on a collection date
(DOMAIN.md 7). The pain.008.001.02 file that asks the bank to collect them is written
by `exports.sepa.pain008`.

Everything here is a plain function over plain values: the business-day calendar,
the lead-time check, the due-collection decision, mandate expiry and amendments.
Reading the registers and recording the collections as pending donations is done by
`exports.sepa.batch`; this module never touches the database.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from anbi.core import identifiers
from anbi.core.calendar import add_months
from anbi.core.errors import ConfigurationError, Conflict, InvalidInput, Problem
from anbi.core.money import cents_to_str
from anbi.core.settings import DEFAULT_EXPIRY_MONTHS, DEFAULT_LEAD_DAYS, SepaSection

INTERVAL_MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}
# A failing gift is collected: its next regular collection is the retry.
DUE_STATUSES = ("active", "failing")
# Characters the SEPA rulebook allows in identifiers (the "Latin character set").
SEPA_ID = re.compile(r"^[A-Za-z0-9/\-?:().,'+ ]{1,35}$")


class CollectionDateError(Conflict):
    """The requested collection date is not one the bank would accept."""

    def __init__(self, collection_date: dt.date, reason: str):
        self.collection_date = collection_date
        self.reason = reason
        super().__init__(f"collection date {collection_date.isoformat()}: {reason}")


# --------------------------------------------------------------------------- calendar


def easter_sunday(year: int) -> dt.date:
    """Gregorian Easter (the anonymous algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


@lru_cache(maxsize=64)
def target_holidays(year: int) -> frozenset[dt.date]:
    """The TARGET2 closing days on which no SEPA collection settles."""
    easter = easter_sunday(year)
    return frozenset({
        dt.date(year, 1, 1),
        easter - dt.timedelta(days=2),   # Good Friday
        easter + dt.timedelta(days=1),   # Easter Monday
        dt.date(year, 5, 1),
        dt.date(year, 12, 25),
        dt.date(year, 12, 26),
    })


def is_business_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in target_holidays(day.year)


def next_business_day(day: dt.date) -> dt.date:
    """`day` itself when it is a business day, else the first one after it."""
    while not is_business_day(day):
        day += dt.timedelta(days=1)
    return day


def add_business_days(day: dt.date, count: int) -> dt.date:
    """The business day `count` business days after `day`."""
    current = day
    remaining = count
    while remaining > 0:
        current += dt.timedelta(days=1)
        if is_business_day(current):
            remaining -= 1
    return current


def earliest_collection_date(today: dt.date, lead_days: int) -> dt.date:
    """The first date a file made today may ask for: `lead_days` business days ahead."""
    return add_business_days(today, max(lead_days, 1))


def check_collection_date(collection_date: dt.date, *, today: dt.date, lead_days: int) -> None:
    """Refuse a collection date the bank would refuse: not a business day, or too soon."""
    if not is_business_day(collection_date):
        why = "a weekend day" if collection_date.weekday() >= 5 else "a TARGET holiday"
        raise CollectionDateError(
            collection_date,
            f"is {why}, on which SEPA does not settle; the next business day is "
            f"{next_business_day(collection_date).isoformat()}",
        )
    earliest = earliest_collection_date(today, lead_days)
    if collection_date < earliest:
        raise CollectionDateError(
            collection_date,
            f"is fewer than {lead_days} business day(s) ahead of today ({today.isoformat()}); "
            f"the earliest possible date is {earliest.isoformat()}",
        )


# --------------------------------------------------------------------------- periods


def period_start(day: dt.date, interval: str) -> dt.date:
    """The first day of the calendar month, quarter or year (by `interval`) containing `day`."""
    if interval == "monthly":
        return day.replace(day=1)
    if interval == "quarterly":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if interval == "yearly":
        return dt.date(day.year, 1, 1)
    raise ValueError(f"interval {interval!r} is not one of monthly, quarterly, yearly")


def period_end(day: dt.date, interval: str) -> dt.date:
    """The last day of the period containing `day`."""
    return add_months(period_start(day, interval), INTERVAL_MONTHS[interval]) - dt.timedelta(days=1)


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Creditor:
    """The charity as creditor (incassant), from `[sepa]`."""

    creditor_id: str
    name: str
    iban: str
    bic: str
    lead_days: int = DEFAULT_LEAD_DAYS
    first_as_frst: bool = False
    expiry_months: int = DEFAULT_EXPIRY_MONTHS

    @classmethod
    def from_settings(cls, values: SepaSection | Mapping[str, object]) -> Creditor:
        """The creditor of `[sepa]` (checked when the settings were read), whose four
        identity values a batch needs; every missing one is named at once."""
        section, problems, missing = SepaSection.needing(values, "creditor_id", "name", "iban", "bic")
        problems = [f"[sepa] {key} is required" for key in missing] + problems
        if problems:
            raise ConfigurationError("; ".join(problems))
        return cls(
            creditor_id=section.creditor_id, name=section.name, iban=section.iban, bic=section.bic,
            lead_days=section.lead_days, first_as_frst=section.first_as_frst, expiry_months=section.mandate_expiry_months,
        )


@dataclass(frozen=True)
class MandateFacts:
    """What the decision needs to know of one mandate (machtiging)."""

    pk: int
    mandate_id: str
    donor_id: int
    iban: str
    bic: str | None
    signed_on: dt.date
    status: str
    last_collected_on: dt.date | None = None
    # From our own collections (non-failed ones only): the latest date and the
    # account it was presented on. None when we never collected on this mandate.
    last_presented_on: dt.date | None = None
    last_presented_iban: str | None = None


@dataclass(frozen=True)
class GiftFacts:
    """One recurring gift (doorlopende gift) that might be collected."""

    pk: int
    reference: str
    donor_id: int
    donor_name: str
    amount_cents: int
    currency: str
    interval: str
    method: str
    start_date: dt.date
    end_date: dt.date | None
    status: str
    mandate: MandateFacts | None
    donor_deceased: bool = False
    donor_inactive: bool = False     # merged away, restricted or purged
    donor_ref: str = ""
    status_reason: str | None = None  # why a paused or failing gift is so


@dataclass(frozen=True)
class Amendment:
    """The account changed since the last collection: carried in the next one (DOMAIN.md 7.2).

    Same bank: the old IBAN goes in `OrgnlDbtrAcct`. Another bank: `OrgnlDbtrAgt` says
    `SMNDA` (same mandate, new debtor agent)."""

    original_iban: str
    other_bank: bool


@dataclass(frozen=True)
class DueCollection:
    gift: GiftFacts
    sequence_type: str   # FRST or RCUR
    period_start: dt.date
    amendment: Amendment | None = None

    @property
    def mandate(self) -> MandateFacts:
        assert self.gift.mandate is not None
        return self.gift.mandate


@dataclass(frozen=True)
class Skipped:
    gift: GiftFacts
    code: str      # a short name for counting: "already_collected", "mandate_expired", ...
    reason: str    # the sentence a person reads


@dataclass
class CollectionPlan:
    collection_date: dt.date
    due: list[DueCollection] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    # Mandates that lapsed: the caller marks them expired.
    expired_mandates: list[MandateFacts] = field(default_factory=list)

    @property
    def total_cents(self) -> int:
        return sum(c.gift.amount_cents for c in self.due)


def mandate_expires_on(mandate: MandateFacts, expiry_months: int) -> dt.date:
    """The day a mandate lapses when nothing is collected before it.

    The clock runs from the last collection presented (ours or the previous system's
    `last_collected_on`), or from the signature when there was none."""
    dates = [d for d in (mandate.last_collected_on, mandate.last_presented_on) if d]
    return add_months(max(dates) if dates else mandate.signed_on, expiry_months)


def is_first_collection(mandate: MandateFacts) -> bool:
    return mandate.last_collected_on is None and mandate.last_presented_on is None


def amendment_for(mandate: MandateFacts) -> Amendment | None:
    """An amendment when the mandate's IBAN differs from the one last collected on."""
    previous = mandate.last_presented_iban
    if not previous or previous == mandate.iban:
        return None
    return Amendment(original_iban=previous, other_bank=bank_of(previous) != bank_of(mandate.iban))


def bank_of(iban: str) -> str:
    """Country and bank identifier of an IBAN: `NL91ABNA0417164300` -> `NL:ABNA`."""
    try:
        from schwifty import IBAN

        parsed = IBAN(iban)
        return f"{parsed.country_code}:{parsed.bank_code}"
    except Exception:  # an unusual but checksum-valid IBAN: compare country and first four
        return f"{iban[:2]}:{iban[4:8]}"


def plan_collections(
    gifts: Iterable[GiftFacts],
    collected_periods: Mapping[int, set[dt.date]],
    *,
    collection_date: dt.date,
    creditor: Creditor,
) -> CollectionPlan:
    """Decide which recurring gifts to collect on `collection_date`.

    A gift is due when it is an active or failing SEPA gift (failing: a collection
    came back and the next regular one is the retry, `fundraising.bank.return_reasons`)
    with an active, unexpired mandate, started on or before the date, not ended
    before it, and has no pending or paid collection yet in the calendar period
    (month/quarter/year by its interval) that contains the date. `collected_periods[gift_pk]` holds the period starts already
    collected (failed collections are not in it). Missed earlier periods are never
    collected retroactively: only the period containing the date is looked at.
    """
    plan = CollectionPlan(collection_date=collection_date)
    expired_seen: set[int] = set()
    for gift in gifts:
        refusal = _not_due_reason(gift, collection_date)
        if refusal:
            plan.skipped.append(Skipped(gift, *refusal))
            continue
        mandate = gift.mandate
        assert mandate is not None
        lapses = mandate_expires_on(mandate, creditor.expiry_months)
        if collection_date >= lapses:
            if mandate.pk not in expired_seen:
                plan.expired_mandates.append(mandate)
                expired_seen.add(mandate.pk)
            plan.skipped.append(Skipped(
                gift, "mandate_expired",
                f"mandate {mandate.mandate_id} expired on {lapses.isoformat()}: nothing collected for "
                f"{creditor.expiry_months} months; a new mandate is needed",
            ))
            continue
        start = period_start(collection_date, gift.interval)
        if start in collected_periods.get(gift.pk, set()):
            plan.skipped.append(Skipped(gift, "already_collected", f"already collected for the period from {start.isoformat()}"))
            continue
        amendment = amendment_for(mandate)
        first = is_first_collection(mandate) or (amendment is not None and amendment.other_bank)
        sequence = "FRST" if creditor.first_as_frst and first else "RCUR"
        plan.due.append(DueCollection(gift=gift, sequence_type=sequence, period_start=start, amendment=amendment))
    return plan


def _not_due_reason(gift: GiftFacts, day: dt.date) -> tuple[str, str] | None:
    """Why a gift is not collected on `day` (a short code and a sentence), or None."""
    if gift.method != "sepa_debit":
        return "not_sepa", "not a SEPA direct debit"
    if gift.status == "paused":
        return "paused", gift.status_reason or "paused"
    if gift.status not in DUE_STATUSES:
        return "not_active", f"recurring gift is {gift.status}"
    if gift.start_date > day:
        return "not_started", f"starts on {gift.start_date.isoformat()}"
    if gift.end_date is not None and gift.end_date < day:
        return "ended", f"ended on {gift.end_date.isoformat()}"
    if gift.amount_cents <= 0:
        return "zero_amount", "amount is zero"
    if gift.currency != "EUR":
        return "not_euro", f"amount is in {gift.currency}; SEPA collects euro only"
    if gift.donor_deceased:
        return "donor_deceased", "donor is deceased"
    if gift.donor_inactive:
        return "donor_inactive", "donor record is merged, restricted or erased"
    mandate = gift.mandate
    if mandate is None:
        return "no_mandate", "no mandate"
    if mandate.status != "active":
        return f"mandate_{mandate.status}", f"mandate {mandate.mandate_id} is {mandate.status}"
    if mandate.donor_id != gift.donor_id:
        return "mandate_other_donor", f"mandate {mandate.mandate_id} belongs to another donor"
    if mandate.signed_on > day:
        return "mandate_not_signed", f"mandate {mandate.mandate_id} is signed only on {mandate.signed_on.isoformat()}"
    return None


def check_collections(plan: CollectionPlan) -> None:
    """Refuse to write a file with an account or identifier the bank would bounce.

    The schema lets a wrong IBAN checksum through, so IBANs are checked here."""
    problems: list[Problem] = []
    for item in plan.due:
        m = item.mandate
        where = f"mandate {m.mandate_id}"
        try:
            identifiers.iban(m.iban)
        except ValueError as exc:
            problems.append(Problem(None, f"{where} iban", str(exc)))
        if m.bic:
            try:
                identifiers.bic(m.bic)
            except ValueError as exc:
                problems.append(Problem(None, f"{where} bic", str(exc)))
        if not SEPA_ID.match(m.mandate_id):
            problems.append(Problem(None, f"{where} mandate_id", "has characters SEPA does not allow or is longer than 35"))
    if problems:
        raise InvalidInput(problems, "SEPA batch")



def summary_line(plan: CollectionPlan) -> str:
    return f"{len(plan.due)} collection(s), total {cents_to_str(plan.total_cents)} EUR"
