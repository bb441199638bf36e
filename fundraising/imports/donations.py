"""`anbi donations import`: donations from a CSV or XLSX file (DESIGN.md, Import files).

The whole file is validated before anything is written, with bulk lookups (one query
per chunk of keys, never one per row); any problem — an unknown donor ref or
campaign, a refund or consideration above the amount, an agreement that does not
exist or is another donor's — stops the import with every problem listed by line and
column, and nothing is written.

Rows are keyed by `reference` (source "import"). A row imported before with exactly
the same content is left unchanged; with different content it is refused, because a
donation is money and money is corrected by a new row, never overwritten
(DESIGN.md, Idempotency). A `refunded` amount becomes a refund row dated on the
gift's own date (a historical import knows no other date). A fund code not seen
before creates the fund: a fund exists once a donation names it.

The rules for a single donation are those of `fundraising.donations`
(`check_donation`, `next_status`), applied here in bulk. An importer of
`anbi.core.importing`: its columns, a check across a row's cells (the amounts in
the row's currency), and load, plan, apply, summarise."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from anbi.core.errors import Problem
from anbi.core.importing import Column, Context, Importer, Row, choice, date, money, run_import, text
from anbi.core.money import Money, MoneyError, cents_to_str
from anbi.core.progress import progress
from anbi.core.spelling import did_you_mean, other_cases
from donors.models import Donor
from fundraising.agreements import paid_outside_agreement
from fundraising.donations import (
    EUR,
    DonationFacts,
    check_donation,
    foreign_currency_flag,
    next_status,
    record_adjustment,
    taken_back_for,
)
from fundraising.lookups import DonorRefs, by_key, by_reference, resolve_donor_refs
from fundraising.models import (
    DONATION_KINDS,
    DONATION_STATUSES,
    METHODS,
    Campaign,
    Donation,
    DonationAdjustment,
    Fund,
    Mandate,
    PeriodicAgreement,
    RecurringGift,
)

SOURCE = "import"
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _currency(value: str) -> str:
    code = value.upper()
    if not _CURRENCY.match(code):
        raise ValueError(f"{value!r} is not a three-letter currency code (EUR)")
    return code


# What an import records: money received (and what of it was taken back since). A
# gift still pending, failed or under an open dispute is not money received.
RECEIVED = ("paid", "partially_refunded", "refunded", "dispute_won", "dispute_lost")


def _received(value: str) -> str:
    status = value.lower()
    if status in RECEIVED:
        return status
    if status in DONATION_STATUSES:
        raise ValueError(f"a {status} donation is not imported: an import records money received "
                         f"({', '.join(RECEIVED)})")
    raise ValueError(f"{value!r} is not one of {', '.join(RECEIVED)}")


COLUMNS = (
    Column("date", date, required=True, help="the day the money reached you (the bank's booking date)"),
    # The amounts are read in the row's currency, by `check_amounts`.
    Column("amount", required=True, help="more than zero"),
    Column("method", choice(METHODS), required=True),
    Column("reference", text(100), required=True, help="the key: a unique external id"),
    Column("donor_ref", text(64), help="the donor; empty for an anonymous gift"),
    Column("currency", _currency, help="default EUR"),
    Column("campaign", text(50), help="a campaign code"),
    Column("fund", text(50, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,49}$",
                        reason="use letters, digits, '-', '_' or '.' for a fund code"),
           help="an earmark code; a new code creates the fund"),
    Column("kind", choice(DONATION_KINDS), help="gift (default), lottery, purchase"),
    Column("consideration", help="the value received in return"),
    Column("agreement", text(50), help="the periodic gift agreement's number"),
    Column("refunded", help="an amount refunded already"),
    # `recurring` (an addition to DESIGN.md's columns) links an instalment to the recurring
    # gift it was collected for, by that gift's import reference; `mandate` (another) names
    # the mandate a one-off direct debit was collected under, so its statement line shows it.
    Column("recurring", text(100), help="the recurring gift an instalment was collected for"),
    Column("mandate", text(35), help="the mandate a one-off direct debit was collected under"),
    # Written by `anbi export donations`, so that an export comes back in.
    Column("fee", help="the payment provider's fee, in the gift's currency"),
    Column("status", _received, help="money received: paid (default), partially_refunded, refunded, dispute_won, "
                                     "dispute_lost; the refunded amount decides"),
    Column("source", export_only=True, help="where the gift came from, written by the export; an import records "
                                            "its rows as source import"),
)


def refund_reference(reference: str) -> str:
    """The key of the refund row an import creates for a row's `refunded` amount."""
    return f"{reference}:refunded"


@dataclass(frozen=True)
class DonationRow:
    """One valid row, ready to be written."""

    line: int
    reference: str
    donor: Donor | None
    received_on: dt.date
    amount_cents: int
    currency: str
    method: str
    kind: str
    consideration_cents: int
    campaign: Campaign | None
    fund_code: str | None
    agreement: PeriodicAgreement | None
    recurring_gift: RecurringGift | None
    refunded_cents: int
    mandate: Mandate | None = None   # given in the file (a one-off direct debit's)
    fee_cents: int | None = None     # given in the file (an export's)


@dataclass
class DonationImportSummary:
    created: int = 0
    unchanged: int = 0
    refunds: int = 0  # refund rows recorded
    created_cents: dict[str, int] = field(default_factory=dict)  # per currency
    funds_created: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "created": self.created,
            "unchanged": self.unchanged,
            "refunds": self.refunds,
            "created_amounts": {currency: cents_to_str(cents) for currency, cents in sorted(self.created_cents.items())},
            "funds_created": self.funds_created,
            "warnings": [w.as_dict() for w in self.warnings],
        }


def _content(row: DonationRow, fund_code: str | None) -> dict[str, object]:
    return {
        "donor": row.donor.id if row.donor else None,
        "date": row.received_on,
        "amount": row.amount_cents,
        "currency": row.currency,
        "method": row.method,
        "kind": row.kind,
        "consideration": row.consideration_cents,
        "campaign": row.campaign.id if row.campaign else None,
        "fund": fund_code,
        "agreement": row.agreement.id if row.agreement else None,
        "recurring": row.recurring_gift.id if row.recurring_gift else None,
    }


def _stored_content(donation: Donation, fund_codes: dict[int, str]) -> dict[str, object]:
    return {
        "donor": donation.donor_id,
        "date": donation.received_on,
        "amount": donation.amount_cents,
        "currency": donation.currency,
        "method": donation.method,
        "kind": donation.kind,
        "consideration": donation.consideration_cents,
        "campaign": donation.campaign_id,
        "fund": fund_codes.get(donation.fund_id) if donation.fund_id else None,
        "agreement": donation.agreement_id,
        "recurring": donation.recurring_gift_id,
    }


def check_amounts(row: Row) -> None:
    """The amounts in the row's currency: the currency column's, else the one the
    amount is written in (`USD 10`), else EUR; an amount written in another currency
    than the column's, or a refund or fee in another than the gift's, is a problem."""
    given = row.given("currency")
    currency = row.values.pop("currency", EUR)
    amount = _money(row, "amount", currency, allow_zero=False)
    if amount is not None and amount.currency != currency:
        if given:
            row.fail("amount", f"is written in {amount.currency} but the currency column says {currency}")
        currency = amount.currency
    row.values["currency"] = currency
    for label in ("consideration", "refunded", "fee"):
        other = _money(row, label, currency)
        if other is not None and other.currency != currency:
            row.fail(label, f"is written in {other.currency}, the gift is in {currency}")


def _money(row: Row, column: str, currency: str, *, allow_zero: bool = True) -> Money | None:
    written = row.values.pop(column, None)
    if written is None:
        return None
    try:
        amount = money(currency=currency, allow_zero=allow_zero)(written)
    except MoneyError as exc:
        row.fail(column, str(exc))
        return None
    row.values[column] = amount
    return amount


@dataclass(frozen=True)
class Stored:
    """What the file's rows name, read in bulk, and the spellings in another case of
    what is not found."""

    donors: DonorRefs
    campaigns: dict[str, Campaign]
    funds: dict[str, Fund]
    agreements: dict[str, PeriodicAgreement]
    recurring_gifts: dict[str, RecurringGift]
    mandates: dict[str, Mandate]
    donations: dict[str, Donation]          # imported before, by reference
    refunds: dict[str, DonationAdjustment]  # their refunds imported before, by refund reference
    fund_codes: dict[int, str]              # of the funds of these and of the stored donations
    donor_hints: dict[str, str]
    campaign_hints: dict[str, str]
    fund_hints: dict[str, str]


def load(session: Session, rows: list[Row], context: Context) -> Stored:
    def column(key: str) -> Iterator[str]:
        return (value for row in rows if (value := row.get(key)))

    donors = resolve_donor_refs(session, column("donor_ref"))
    campaigns = by_key(session, Campaign, Campaign.code, column("campaign"))
    funds = by_key(session, Fund, Fund.code, column("fund"))
    donations = by_reference(session, Donation, SOURCE, column("reference"))
    fund_codes = {fund.id: code for code, fund in funds.items()}
    missing_fund_ids = {d.fund_id for d in donations.values() if d.fund_id and d.fund_id not in fund_codes}
    if missing_fund_ids:
        fund_codes.update({f.id: f.code for f in by_key(session, Fund, Fund.id, missing_fund_ids).values()})
    return Stored(
        donors, campaigns, funds,
        by_key(session, PeriodicAgreement, PeriodicAgreement.number, column("agreement")),
        by_reference(session, RecurringGift, SOURCE, column("recurring")),
        by_key(session, Mandate, Mandate.mandate_id, column("mandate")),
        donations,
        by_reference(session, DonationAdjustment, SOURCE, (refund_reference(r) for r in donations)),
        fund_codes,
        # Looked up only for what is missing: a code or ref that differs only in case
        # from a stored one is suggested in the message.
        other_cases(session, Donor.ref, {r for r in column("donor_ref") if donors.get(r) is None}, scan=False),
        other_cases(session, Campaign.code, {c for c in column("campaign") if c not in campaigns}),
        other_cases(session, Fund.code, {f for f in column("fund") if f not in funds}),
    )


@dataclass
class DonationPlan:
    creates: list[DonationRow] = field(default_factory=list)
    # Imported before with the same content: a refund to record now (the file gives
    # one the stored gift lacks), or unchanged.
    refunds: list[tuple[DonationRow, Donation]] = field(default_factory=list)
    unchanged: int = 0
    new_funds: list[str] = field(default_factory=list)
    funds: dict[str, Fund] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)


def plan(rows: list[Row], stored: Stored, problems: list[Problem], context: Context) -> DonationPlan:
    """Per row: a new donation, a refund of one imported before, or unchanged; every
    reference to a donor, campaign, agreement, recurring gift or mandate checked, and
    a gift imported before with other content refused."""
    result = DonationPlan(funds=stored.funds)
    warned_funds: set[str] = set()
    for row in rows:
        parsed = _donation(row, stored)
        if parsed is None or not row.ok:
            continue
        before = stored.donations.get(parsed.reference)
        if before is not None:
            _repeat(row, parsed, before, stored, result)
            continue
        result.warnings.extend(_warnings(parsed, stored, warned_funds))
        result.creates.append(parsed)
    result.new_funds = sorted({r.fund_code for r in result.creates if r.fund_code and r.fund_code not in stored.funds})
    return result


def _donation(row: Row, stored: Stored) -> DonationRow | None:
    """The row as a donation, its references looked up; None when a cell is wrong."""
    donor_ref = row.get("donor_ref")
    donor = _donor(row, donor_ref, stored)
    campaign = _campaign(row, stored)
    agreement = _agreement(row, donor_ref, donor, stored)
    recurring_gift = _recurring_gift(row, donor_ref, donor, stored)
    mandate = _mandate(row, stored.mandates, row.get("mandate"), method=row.cells.get("method", ""), donor=donor,
                       donor_ref=donor_ref, recurring_gift=recurring_gift)
    amount, kind = row.get("amount"), row.get("kind") or "gift"
    if not row.ok:
        return None
    consideration, refunded = row.get("consideration"), row.get("refunded")
    # A purchase with no consideration given: the whole amount is the value received.
    consideration_cents = consideration.cents if consideration is not None else (amount.cents if kind == "purchase" else 0)
    refunded_cents = refunded.cents if refunded is not None else 0
    parsed = DonationRow(
        line=row.line, reference=row.get("reference"), donor=donor, received_on=row.get("date"),
        amount_cents=amount.cents, currency=row.get("currency"), method=row.get("method"), kind=kind,
        consideration_cents=consideration_cents, campaign=campaign, fund_code=row.get("fund"), agreement=agreement,
        recurring_gift=recurring_gift, refunded_cents=refunded_cents, mandate=mandate,
        fee_cents=row.get("fee").cents if row.get("fee") is not None else None,
    )
    for problem in check_donation(DonationFacts(
        source=SOURCE, reference=parsed.reference, amount_cents=parsed.amount_cents, currency=parsed.currency,
        method=parsed.method, kind=kind, consideration_cents=consideration_cents,
    )):
        row.fail(problem.field, problem.reason)
    if refunded_cents > amount.cents:
        row.fail("refunded", f"{cents_to_str(refunded_cents)} is more than the amount {cents_to_str(amount.cents)}")
    return parsed


def _donor(row: Row, donor_ref: str | None, stored: Stored) -> Donor | None:
    donor = stored.donors.get(donor_ref) if donor_ref else None
    if donor_ref and donor is None:
        row.fail("donor_ref", did_you_mean(f"no donor with ref {donor_ref!r}", stored.donor_hints.get(donor_ref)))
    return donor


def _campaign(row: Row, stored: Stored) -> Campaign | None:
    code = row.get("campaign")
    campaign = stored.campaigns.get(code) if code else None
    if code and campaign is None:
        hint = stored.campaign_hints.get(code)
        row.fail("campaign", did_you_mean(f"no campaign {code!r}", hint) if hint
                 else f"no campaign {code!r} (add it with `anbi campaigns add`)")
    return campaign


def _agreement(row: Row, donor_ref: str | None, donor: Donor | None, stored: Stored) -> PeriodicAgreement | None:
    number = row.get("agreement")
    if not number:
        return None
    agreement = stored.agreements.get(number)
    if agreement is None:
        row.fail("agreement", f"no periodic gift agreement {number!r}")
    elif donor_ref and donor is not None and agreement.donor_id != donor.id:
        row.fail("agreement", f"agreement {number} belongs to another donor, not {donor_ref}")
    elif not donor_ref:
        row.fail("agreement", "an anonymous gift cannot be under a periodic gift agreement")
    return agreement


def _recurring_gift(row: Row, donor_ref: str | None, donor: Donor | None, stored: Stored) -> RecurringGift | None:
    reference = row.get("recurring")
    if not reference:
        return None
    gift = stored.recurring_gifts.get(reference)
    if gift is None:
        row.fail("recurring", f"no recurring gift {reference!r} (import the recurring gifts first)")
    elif not donor_ref or (donor is not None and gift.donor_id != donor.id):
        row.fail("recurring", f"recurring gift {reference} is another donor's")
    return gift


def _repeat(row: Row, parsed: DonationRow, before: Donation, stored: Stored, plan: DonationPlan) -> None:
    """A reference imported before: the same content, perhaps with a refund to record
    now; other content is refused, because a donation is never overwritten."""
    reference = parsed.reference
    stored_content = _stored_content(before, stored.fund_codes)
    differences = [key for key, value in _content(parsed, parsed.fund_code).items() if stored_content[key] != value]
    if parsed.mandate is not None and before.mandate_id != parsed.mandate.id:
        differences.append("mandate")
    if parsed.fee_cents is not None and before.fee_cents != parsed.fee_cents:
        differences.append("fee")
    earlier_refund = stored.refunds.get(refund_reference(reference))
    refunded = row.get("refunded")
    if differences:
        row.fail("reference", f"{reference!r} was imported before with a different {', '.join(differences)}; "
                              "a donation is never overwritten: record a refund or a new donation instead")
    elif earlier_refund is not None and refunded is not None and earlier_refund.amount_cents != parsed.refunded_cents:
        row.fail("refunded", f"{cents_to_str(earlier_refund.amount_cents)} was imported as refunded before; "
                             "a refund is never changed by an import")
    elif earlier_refund is None and parsed.refunded_cents and before.status in ("pending", "failed"):
        row.fail("refunded", f"the donation is {before.status}: nothing to refund")
    elif parsed.refunded_cents and earlier_refund is None:
        plan.refunds.append((parsed, before))
    else:
        plan.unchanged += 1


def _warnings(parsed: DonationRow, stored: Stored, warned_funds: set[str]) -> Iterator[Problem]:
    """What a new gift is imported with, but said: another currency, a fund code that
    differs only in case from a stored one (once per code), an agreement it falls outside."""
    if parsed.currency != EUR:
        yield Problem(parsed.line, "currency", f"{parsed.currency}: recorded, not included in EUR totals")
    fund_code = parsed.fund_code
    if fund_code in stored.fund_hints and fund_code not in warned_funds:
        warned_funds.add(fund_code)
        yield Problem(parsed.line, "fund", did_you_mean(f"{fund_code!r} is a new fund (codes are exact)",
                                                        stored.fund_hints[fund_code]))
    if parsed.agreement is not None:
        why = paid_outside_agreement(parsed.received_on, parsed.agreement)
        if why:
            yield Problem(parsed.line, "agreement", f"{why}: counts as an ordinary gift")


def apply(session: Session, plan: DonationPlan, context: Context) -> None:
    for parsed, before in plan.refunds:
        record_adjustment(session, before, kind="refund", amount_cents=parsed.refunded_cents,
                          occurred_on=before.received_on, source=SOURCE, reference=refund_reference(parsed.reference))
    funds = dict(plan.funds)
    for code in plan.new_funds:
        funds[code] = Fund(code=code, name=code)
        session.add(funds[code])
    # Flushed in chunks so a large file is inserted in batches (insertmanyvalues),
    # not row by row, and memory stays bounded by the ORM's identity map.
    for count, parsed in enumerate(progress(plan.creates, length=len(plan.creates), label="writing donations"), 1):
        donation = _new_donation(parsed, funds)
        session.add(donation)
        if parsed.refunded_cents:
            session.add(DonationAdjustment(
                donation=donation, kind="refund", amount_cents=parsed.refunded_cents,
                taken_back_cents=taken_back_for("refund", parsed.refunded_cents, donation_amount_cents=parsed.amount_cents,
                                                already_taken_cents=0, status="paid"),
                occurred_on=parsed.received_on, source=SOURCE, reference=refund_reference(parsed.reference),
            ))
        if count % 2000 == 0:
            session.flush()
    session.flush()


def _new_donation(parsed: DonationRow, funds: dict[str, Fund]) -> Donation:
    status = "paid"
    if parsed.refunded_cents:
        status = next_status("paid", "refund", donation_amount_cents=parsed.amount_cents,
                             taken_back_after_cents=parsed.refunded_cents) or "paid"
    return Donation(
        source=SOURCE, reference=parsed.reference, donor=parsed.donor, received_on=parsed.received_on,
        amount_cents=parsed.amount_cents, currency=parsed.currency, method=parsed.method, kind=parsed.kind,
        consideration_cents=parsed.consideration_cents, status=status, campaign=parsed.campaign,
        fund=funds[parsed.fund_code] if parsed.fund_code else None, agreement=parsed.agreement,
        recurring_gift=parsed.recurring_gift,
        # A direct debit was collected under the mandate the file names, or else
        # (an instalment) under its recurring gift's.
        mandate=parsed.mandate or (
            parsed.recurring_gift.mandate if parsed.recurring_gift and parsed.method == "sepa_debit" else None),
        flag=foreign_currency_flag(parsed.currency) if parsed.currency != EUR else None,
        fee_cents=parsed.fee_cents,
    )


def summarise(plan: DonationPlan, context: Context) -> DonationImportSummary:
    created_cents: dict[str, int] = {}
    for parsed in plan.creates:
        created_cents[parsed.currency] = created_cents.get(parsed.currency, 0) + parsed.amount_cents
    return DonationImportSummary(
        created=len(plan.creates), unchanged=plan.unchanged,
        refunds=sum(1 for r in plan.creates if r.refunded_cents) + len(plan.refunds),
        created_cents=created_cents, funds_created=plan.new_funds, warnings=plan.warnings,
    )


DONATIONS = Importer("donations", COLUMNS, load, plan, apply, summarise, unique="reference",
                     checking="checking donations", check=check_amounts)
COLUMNS_REQUIRED, COLUMNS_OPTIONAL = DONATIONS.required, DONATIONS.optional


def import_donations(session: Session, source: str | Path | bytes, *, actor: str, dry_run: bool = False,
                     name: str | None = None) -> DonationImportSummary:
    """Validate the whole file, then write it in the caller's transaction.

    Raises InvalidInput listing every problem (nothing written). `actor` is accepted
    for symmetry with the other importers; donations carry no personal data of their
    own, so no audit row is written per gift."""
    return run_import(session, DONATIONS, source, actor=actor, dry_run=dry_run, name=name)


def _mandate(row: Row, mandates: dict[str, Mandate], mandate_id: str | None, *, method: str,
             donor: Donor | None, donor_ref: str | None, recurring_gift: RecurringGift | None) -> Mandate | None:
    """The mandate a row names, if it may: a direct debit's, of the same donor, and
    the one its recurring gift is collected under."""
    if not mandate_id:
        return None
    mandate = mandates.get(mandate_id)
    if mandate is None:
        row.fail("mandate", f"no mandate {mandate_id!r} (import the mandates first)")
    elif method != "sepa_debit":
        row.fail("mandate", "only a direct debit (method sepa_debit) is collected under a mandate")
    elif not donor_ref or (donor is not None and mandate.donor_id != donor.id):
        row.fail("mandate", f"mandate {mandate_id} is another donor's")
    elif recurring_gift is not None and recurring_gift.mandate_id not in (None, mandate.id):
        row.fail("mandate", f"recurring gift {recurring_gift.reference} is collected under another mandate")
    else:
        return mandate
    return None


def amount_text(cents_by_currency: dict[str, int]) -> str:
    """`€ 1.234,56 + USD 10,00` for a summary line."""
    return " + ".join(Money(cents, currency).dutch() for currency, cents in sorted(cents_by_currency.items(), key=lambda kv: kv[0] != EUR))
