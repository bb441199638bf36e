"""Who gave, for a Stripe payment: find the donor, or make one from the billing details.

Matching, in order (the first that finds someone wins):

1. `metadata.donor_ref` set by our donation form — resolved through merges;
2. a Stripe customer id seen before: on a donation or a recurring gift, or a donor we
   made for that customer (`STRIPE-<customer id>`);
3. the e-mail address, among active donors (the oldest record when several share it);
4. otherwise a new donor from the billing details, written through the donor
   importer's own validation and writer (`donors.importer`), so a Stripe donor obeys
   the same rules as an imported one. A detail the importer refuses (an e-mail it
   cannot read, a postcode that is not Dutch for an NL address) is left out and said
   in a note, rather than losing the payment.

Without a name no donor can be made: the gift is booked without one (anonymous) and
attached to the customer's donor once that donor becomes known (`attach_anonymous`)."""
from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, case, literal, select, union_all, update
from sqlalchemy.orm import Session

from anbi.core import identifiers
from anbi.core.csvfile import CsvRow
from anbi.core.db import one_of
from anbi.core.errors import Problem
from anbi.core.text import control_character
from donors.errors import DonorNotFound
from donors.importer import ImportPlan, apply_plan, load_existing, parse_row, plan_import
from donors.models import Donor
from donors.service import resolve_ref
from fundraising.models import Donation, RecurringGift
from fundraising.stripe.events import Address, Billing

DONOR_REF_PREFIX = "STRIPE-"
SOURCE = "stripe"

# Tussenvoegsels, as single words; consecutive ones form the prefix ("van der").
PREFIX_WORDS = frozenset(
    ["van", "de", "der", "den", "het", "'t", "te", "ter", "ten", "in", "op", "uit", "aan", "bij", "onder", "over", "voor", "vd", "v/d", "d'", "l'", "la", "le", "du", "des", "von", "vom", "zu"]
)
_INITIALS = re.compile(r"^(?:[A-Za-z][a-z]{0,2}\.)+$")
# "Kerkstraat 12-2" (a suffix after a dash or slash), else "Kerkstraat 12a", "Kerkstraat
# 12 A" or "Plein 1944 7" (the last number is the house number).
_STREET_DASH_SUFFIX = re.compile(r"^(?P<street>.*\S)\s+(?P<number>\d{1,5})\s*[-/]\s*(?P<suffix>[A-Za-z0-9]{1,6})$")
_STREET_NUMBER = re.compile(r"^(?P<street>.*\S)\s+(?P<number>\d{1,5})\s*(?P<suffix>[A-Za-z]{1,4})?$")


@dataclass
class DonorMatch:
    donor: Donor | None
    how: str  # donor_ref, customer, email, created, none
    # What a person should check (an unknown donor_ref, a detail left out): flagged on the gift.
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------
# Pure: billing details -> the donor import's cells
# ---------------------------------------------------------------------------


def split_name(full: str | None) -> dict[str, str]:
    """`Jan van der Berg` -> first_name Jan, prefix `van der`, last_name Berg;
    `J.P. de Vries` -> initials; one word is a last name."""
    words = (full or "").split()
    if not words:
        return {}
    if len(words) == 1:
        return {"last_name": words[0]}
    start = next((i for i in range(1, len(words) - 1) if words[i].lower() in PREFIX_WORDS), None)
    if start is None:
        given, prefix, last = words[:-1], [], words[-1:]
    else:
        end = start
        while end < len(words) - 1 and words[end].lower() in PREFIX_WORDS:
            end += 1
        given, prefix, last = words[:start], words[start:end], words[end:]
    parts: dict[str, str] = {"last_name": " ".join(last)}
    if prefix:
        parts["prefix"] = " ".join(prefix)
    if given:
        if all(_INITIALS.match(w) for w in given):
            parts["initials"] = "".join(given)
        else:
            parts["first_name"] = " ".join(given)
    return parts


def split_street(line: str | None) -> dict[str, str]:
    """`Kerkstraat 12a` -> street Kerkstraat, house_number 12, suffix a."""
    text = " ".join((line or "").split())
    if not text:
        return {}
    match = _STREET_DASH_SUFFIX.match(text) or _STREET_NUMBER.match(text)
    if not match:
        return {"street": text}
    parts = {"street": match.group("street"), "house_number": match.group("number")}
    if match.group("suffix"):
        parts["house_number_suffix"] = match.group("suffix")
    return parts


def donor_cells(billing: Billing, ref: str) -> dict[str, str]:
    """The donor import's columns (DESIGN.md, donors) for what a payment tells us."""
    cells: dict[str, str] = {"ref": ref}
    cells.update(split_name(billing.name))
    if billing.email:
        cells["email"] = billing.email.strip()
    if billing.phone:
        cells["phone"] = billing.phone.strip()
    address: Address | None = billing.address
    if address is not None:
        cells.update(split_street(address.line1))
        if address.postal_code:
            cells["postcode"] = address.postal_code.strip()
        if address.city:
            cells["city"] = address.city.strip()
        if address.country:
            cells["country"] = address.country.strip()
    return {k: v for k, v in cells.items() if v}


# ---------------------------------------------------------------------------
# Matching
# ---------------------------------------------------------------------------


def _survivor(session: Session, donor: Donor) -> Donor:
    return resolve_ref(session, donor.ref) if donor.merged_into_id is not None else donor


@functools.cache
def _customer_donors(dialect: str):
    """The donors some customer ids were seen with, in one query: for each customer,
    the donor ids of their donations (rank 1; rank 0 for a gift without one) and
    recurring gifts (rank 2), in the order made, and of the donor we made for them
    (`STRIPE-<customer id>`, rank 3), each row keyed by the customer id or that ref.
    Built once per dialect: every batch of payments asks it."""
    return union_all(
        # Every gift of the customer with a donor, the first picked out by the caller:
        # the customer index finds them however large the table (a few per customer),
        # where grouping and joining back depends on the planner knowing the table.
        # Gifts without a donor (rank 0) say that the donor found for the customer
        # takes them over (`attach_anonymous`).
        select(Donation.stripe_customer_id.label("key"), Donation.donor_id.label("donor_id"),
               case((Donation.donor_id.is_(None), 0), else_=1).label("rank"), Donation.id.label("n"))
        .where(one_of(Donation.stripe_customer_id, "customers", dialect)),
        select(RecurringGift.stripe_customer_id, RecurringGift.donor_id, literal(2), RecurringGift.id)
        .where(one_of(RecurringGift.stripe_customer_id, "customers", dialect)),
        select(Donor.ref, Donor.id, literal(3), Donor.id).where(one_of(Donor.ref, "refs", dialect)),
    )


@functools.cache
def _donors_by_id(dialect: str):
    return select(Donor).where(one_of(Donor.id, "ids", dialect))


@functools.cache
def _donors_by_email(dialect: str):
    return (
        select(Donor)
        .where(
            one_of(Donor.email, "emails", dialect),
            Donor.merged_into_id.is_(None),
            Donor.restricted_at.is_(None),
            Donor.purged_at.is_(None),
        )
        .order_by(Donor.id)
    )


def _email_forms(email: str) -> tuple[str, ...]:
    """Addresses are stored as the donor importer normalises them (domain in lower
    case); the all-lower-case form is tried too, as people type their address in any
    case. None for an address that cannot be read."""
    try:
        normalised = identifiers.email(email)
    except ValueError:
        return ()
    return tuple(sorted({normalised, normalised.lower()}))


class KnownDonors:
    """The donors of Stripe customers and of e-mail addresses, read for many payments
    with one query each (`read_customers`, `read_emails`) and remembered; asked for one
    not read yet, it reads that one."""

    def __init__(self, session: Session):
        self._session = session
        self._dialect = session.get_bind().dialect.name
        self._by_customer: dict[str, Donor | None] = {}
        self._by_email: dict[str, Donor | None] = {}
        self._with_anonymous_gifts: set[str] = set()

    def read_customers(self, customer_ids: Iterable[str]) -> None:
        todo = sorted({c for c in customer_ids if c and c not in self._by_customer})
        if not todo:
            return
        best: dict[str, tuple[int, int, int]] = {}
        rows = self._session.execute(_customer_donors(self._dialect),
                                     {"customers": todo, "refs": [DONOR_REF_PREFIX + c for c in todo]})
        for key, donor_id, rank, n in rows:
            customer = key[len(DONOR_REF_PREFIX):] if rank == 3 else key
            if rank == 0:
                self._with_anonymous_gifts.add(customer)
            elif customer not in best or (rank, n) < best[customer][:2]:
                best[customer] = (rank, n, donor_id)
        ids = sorted({donor_id for _, _, donor_id in best.values()})
        donors = {d.id: d for d in self._session.scalars(_donors_by_id(self._dialect), {"ids": ids})} if ids else {}
        for customer in todo:
            found = best.get(customer)
            self._by_customer[customer] = _survivor(self._session, donors[found[2]]) if found else None

    def read_emails(self, emails: Iterable[str]) -> None:
        todo = {e: _email_forms(e) for e in emails if e and e not in self._by_email}
        forms = sorted({form for found in todo.values() for form in found})
        oldest: dict[str, Donor] = {}
        if forms:
            for donor in self._session.scalars(_donors_by_email(self._dialect), {"emails": forms}):
                oldest.setdefault(donor.email, donor)
        for email, found in todo.items():
            candidates = [oldest[form] for form in found if form in oldest]
            self._by_email[email] = min(candidates, key=lambda d: d.id) if candidates else None

    def for_customer(self, customer_id: str) -> Donor | None:
        """The donor a Stripe customer id was seen with before."""
        self.read_customers([customer_id])
        return self._by_customer[customer_id]

    def has_anonymous_gifts(self, customer_id: str) -> bool:
        """Whether gifts of this customer were booked without a donor."""
        self.read_customers([customer_id])
        return customer_id in self._with_anonymous_gifts

    def for_email(self, email: str) -> Donor | None:
        """The oldest active donor with this address."""
        self.read_emails([email])
        return self._by_email[email]


def match_donor(
    session: Session,
    *,
    donor_ref: str | None,
    customer_id: str | None,
    billing: Billing,
    new_ref: str | None,
    source: str,
    create: bool = True,
    known: KnownDonors | None = None,
) -> DonorMatch:
    """Find the donor of a payment, or make one (see the module docstring). `known`:
    what was read for this payment among others."""
    known = known or KnownDonors(session)
    notes: list[str] = []
    donor: Donor | None
    if donor_ref:
        try:
            named = resolve_ref(session, donor_ref)
        except DonorNotFound:
            notes.append(f"metadata donor_ref {donor_ref!r} is not a known donor")
        else:
            if named.restricted_at is not None or named.purged_at is not None:
                notes.append(f"donor {named.ref} is restricted after an erasure request: check before using")
            return DonorMatch(named, "donor_ref", notes)
    if customer_id:
        donor = known.for_customer(customer_id)
        if donor is not None:
            return DonorMatch(donor, "customer", notes)
    if billing.email:
        donor = known.for_email(billing.email)
        if donor is not None:
            return DonorMatch(donor, "email", notes)
    if not create or not new_ref:
        return DonorMatch(None, "none", notes)
    donor, create_notes = create_donor(session, ref=new_ref, billing=billing, source=source)
    notes.extend(create_notes)
    return DonorMatch(donor, "created" if donor is not None else "none", notes)


# ---------------------------------------------------------------------------
# Writing donors, through the donor importer's rules
# ---------------------------------------------------------------------------

# What the importer must have to make a donor; without it there is nothing to make.
_ESSENTIAL = {"ref", "last_name", "organisation"}


def _plan(cells: dict[str, str], existing: dict) -> tuple[ImportPlan, list[Problem]]:
    # A control character in what the payer typed (a NUL cannot even be stored) is
    # refused as the import files refuse it, cell by cell.
    problems = [Problem(1, column, reason) for column, value in cells.items() if (reason := control_character(value))]
    row = parse_row(CsvRow(1, cells), problems)
    plan = plan_import([row], existing, problems)
    return plan, problems


def _valid_plan(cells: dict[str, str], existing: dict) -> tuple[ImportPlan | None, list[str]]:
    """The importer's plan for these cells, leaving out each cell it refuses."""
    notes: list[str] = []
    cells = dict(cells)
    for _ in range(len(cells) + 1):
        plan, problems = _plan(cells, existing)
        if not problems:
            return plan, notes
        fields = {p.field for p in problems}
        if fields & _ESSENTIAL or None in fields:
            return None, notes + [f"{p.field}: {p.reason}" for p in problems]
        for problem in problems:
            if problem.field is None:  # not so: a problem without a field returned above
                continue
            value = cells.pop(problem.field, None)
            if value is not None:
                notes.append(f"{problem.field} {value!r} left out: {problem.reason}")
    return None, notes


def donor_plan(billing: Billing, ref: str) -> tuple[ImportPlan | None, list[str]]:
    """The donor import's plan for a new donor from the billing details, or None
    (with the reason) when the payment names nobody or nobody can be made of it."""
    cells = donor_cells(billing, ref)
    if "last_name" not in cells:
        return None, []  # nobody named: the gift is booked without a donor
    plan, notes = _valid_plan(cells, {})
    if plan is None:
        return None, notes + ["no donor could be made from the billing details"]
    return plan, notes


def create_donors(session: Session, plans: list[tuple[ImportPlan, str]]) -> dict[str, int]:
    """Write the plans of `donor_plan` (each with its source) at once: ref -> new id."""
    if not plans:
        return {}
    together = ImportPlan(creates=[write for plan, _ in plans for write in plan.creates])
    sources = {write.ref: source for plan, source in plans for write in plan.creates}
    apply_plan(session, together, source="stripe", actor="stripe", sources=sources)
    ids: dict[str, int] = {}
    for write in together.creates:
        assert write.donor_id is not None  # apply_plan wrote it
        ids[write.ref] = write.donor_id
    return ids


def create_donor(session: Session, *, ref: str, billing: Billing, source: str) -> tuple[Donor | None, list[str]]:
    """A new donor from the billing details, or None (with the reason) when the
    payment names nobody."""
    plan, notes = donor_plan(billing, ref)
    if plan is None:
        return None, notes
    return session.get_one(Donor, create_donors(session, [(plan, source)])[ref]), notes


# Import columns whose donor field has another name.
_FIELD_OF = {"organisation": "organisation_name"}


def fill_in(session: Session, donor: Donor, billing: Billing, *, source: str) -> list[str]:
    """Fill the empty fields of a donor WE made from an earlier Stripe payment with
    what a later event tells (a checkout's customer details, an invoice's name).
    Donors entered by people are never changed by Stripe."""
    if not donor.ref.startswith(DONOR_REF_PREFIX):
        return []
    offered = donor_cells(billing, donor.ref)
    # Most payments of a known customer tell nothing new: decide that from the record
    # already loaded, before reading consent and tags for a plan.
    if not any(getattr(donor, _FIELD_OF.get(column, column), None) in (None, "") for column in offered if column != "ref"):
        return []
    existing = load_existing(session, [donor.ref])
    current = existing.get(donor.ref)
    if current is None or current.inactive:
        return []
    cells = {"ref": donor.ref}
    for column, value in offered.items():
        if column == "ref":
            continue
        if current.values.get(_FIELD_OF.get(column, column)) in (None, ""):
            cells[column] = value
    if len(cells) == 1:
        return []
    plan, notes = _valid_plan(cells, existing)
    if plan is not None and (plan.updates or plan.creates):
        apply_plan(session, plan, source=source, actor="stripe")
        session.expire(donor)
    return notes


_ATTACH = (
    update(Donation.__table__)
    .where(
        Donation.__table__.c.source == SOURCE,
        Donation.__table__.c.stripe_customer_id == bindparam("_customer"),
        Donation.__table__.c.donor_id.is_(None),
    )
    .values(donor_id=bindparam("_donor"))
)


def attach_anonymous(session: Session, found: Iterable[tuple[str | None, int | None]]) -> None:
    """Gifts booked without a donor for a customer now belong to the donor found or
    made for that customer: (customer id, donor id) pairs, written at once."""
    params = [{"_customer": customer, "_donor": donor_id} for customer, donor_id in found if customer and donor_id]
    if params:
        session.execute(_ATTACH, params)
