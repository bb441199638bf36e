"""`anbi donations import`: donations from a CSV file (DESIGN.md, Import files).

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
(`check_donation`, `next_status`), applied here in bulk."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from anbi.core.csvfile import RowParser, check_unique, read_csv
from anbi.core.errors import InvalidInput, Problem
from anbi.core.money import Money, cents_to_str
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
from fundraising.lookups import by_key, by_reference, resolve_donor_refs
from fundraising.models import (
    DONATION_KINDS,
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
COLUMNS_REQUIRED = ("date", "amount", "method", "reference")
# `recurring` (an addition to DESIGN.md's columns) links an instalment to the recurring
# gift it was collected for, by that gift's import reference; `mandate` (another) names
# the mandate a one-off direct debit was collected under, so its statement line shows it.
COLUMNS_OPTIONAL = (
    "donor_ref", "currency", "campaign", "fund", "kind", "consideration", "agreement", "refunded", "recurring",
    "mandate",
)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_FUND_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,49}$")


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


def import_donations(session: Session, source: str | Path | bytes, *, actor: str, dry_run: bool = False,
                     name: str | None = None) -> DonationImportSummary:
    """Validate the whole file, then write it in the caller's transaction.

    Raises InvalidInput listing every problem (nothing written). `actor` is accepted
    for symmetry with the other importers; donations carry no personal data of their
    own, so no audit row is written per gift."""
    csv = read_csv(source, required=COLUMNS_REQUIRED, optional=COLUMNS_OPTIONAL, name=name)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    check_unique(csv.rows, "reference", problems)

    def column(key: str):
        return (r.values.get(key, "") for r in csv.rows)

    donors = resolve_donor_refs(session, column("donor_ref"))
    campaigns = by_key(session, Campaign, Campaign.code, column("campaign"))
    funds = by_key(session, Fund, Fund.code, column("fund"))
    agreements = by_key(session, PeriodicAgreement, PeriodicAgreement.number, column("agreement"))
    recurring_gifts = by_reference(session, RecurringGift, SOURCE, column("recurring"))
    mandates = by_key(session, Mandate, Mandate.mandate_id, column("mandate"))
    existing = by_reference(session, Donation, SOURCE, column("reference"))
    refunds_before = by_reference(session, DonationAdjustment, SOURCE, (refund_reference(r) for r in existing))
    # A code or ref that is not found but differs only in case from one that is: said
    # in the message (looked up only for what is missing).
    donor_hints = other_cases(session, Donor.ref, {r for r in column("donor_ref") if r and donors.get(r) is None},
                              scan=False)
    campaign_hints = other_cases(session, Campaign.code, {c for c in column("campaign") if c and c not in campaigns})
    fund_hints = other_cases(session, Fund.code, {f for f in column("fund") if f and f not in funds})
    fund_codes = {fund.id: code for code, fund in funds.items()}
    missing_fund_ids = {d.fund_id for d in existing.values() if d.fund_id and d.fund_id not in fund_codes}
    if missing_fund_ids:
        fund_codes.update({f.id: f.code for f in by_key(session, Fund, Fund.id, missing_fund_ids).values()})

    rows: list[DonationRow] = []
    repeats: list[tuple[DonationRow, Donation]] = []
    warned_funds: set[str] = set()
    for row in progress(csv.rows, label="checking donations"):
        cells = RowParser(row, problems)
        reported = len(problems)
        reference = cells.text("reference", required=True, max_length=100)
        received_on = cells.date("date", required=True)
        currency = EUR
        if cells.given("currency"):
            currency = cells.raw("currency").upper()
            if not _CURRENCY.match(currency):
                cells.fail("currency", f"{cells.raw('currency')!r} is not a three-letter currency code (EUR)")
                currency = EUR
        amount = cells.money("amount", required=True, currency=currency, allow_zero=False)
        if amount is not None and amount.currency != currency:
            if cells.given("currency"):
                cells.fail("amount", f"is written in {amount.currency} but the currency column says {currency}")
            currency = amount.currency
        consideration = cells.money("consideration", currency=currency)
        refunded = cells.money("refunded", currency=currency)
        for label, money in (("consideration", consideration), ("refunded", refunded)):
            if money is not None and money.currency != currency:
                cells.fail(label, f"is written in {money.currency}, the gift is in {currency}")
        method = cells.choice("method", METHODS, required=True)
        kind = cells.choice("kind", DONATION_KINDS) or "gift"
        donor_ref = cells.text("donor_ref", max_length=64)
        campaign_code = cells.text("campaign", max_length=50)
        fund_code = cells.text("fund", max_length=50)
        agreement_number = cells.text("agreement", max_length=50)
        recurring_reference = cells.text("recurring", max_length=100)
        mandate_id = cells.text("mandate", max_length=35)

        donor = None
        if donor_ref:
            donor = donors.get(donor_ref)
            if donor is None:
                cells.fail("donor_ref", did_you_mean(f"no donor with ref {donor_ref!r}", donor_hints.get(donor_ref)))
        campaign = None
        if campaign_code:
            campaign = campaigns.get(campaign_code)
            if campaign is None:
                hint = campaign_hints.get(campaign_code)
                cells.fail("campaign", did_you_mean(f"no campaign {campaign_code!r}", hint) if hint
                           else f"no campaign {campaign_code!r} (add it with `anbi campaigns add`)")
        if fund_code and not _FUND_CODE.match(fund_code):
            cells.fail("fund", "use letters, digits, '-', '_' or '.' for a fund code")
        agreement = None
        if agreement_number:
            agreement = agreements.get(agreement_number)
            if agreement is None:
                cells.fail("agreement", f"no periodic gift agreement {agreement_number!r}")
            elif donor_ref and donor is not None and agreement.donor_id != donor.id:
                cells.fail("agreement", f"agreement {agreement_number} belongs to another donor, not {donor_ref}")
            elif not donor_ref:
                cells.fail("agreement", "an anonymous gift cannot be under a periodic gift agreement")
        recurring_gift = None
        if recurring_reference:
            recurring_gift = recurring_gifts.get(recurring_reference)
            if recurring_gift is None:
                cells.fail("recurring", f"no recurring gift {recurring_reference!r} (import the recurring gifts first)")
            elif not donor_ref or (donor is not None and recurring_gift.donor_id != donor.id):
                cells.fail("recurring", f"recurring gift {recurring_reference} is another donor's")
        mandate = _mandate(cells, mandates, mandate_id, method=cells.raw("method"), donor=donor, donor_ref=donor_ref,
                           recurring_gift=recurring_gift)

        if amount is None or received_on is None or method is None or reference is None or len(problems) > reported:
            continue
        # A purchase with no consideration given: the whole amount is the value received.
        consideration_cents = consideration.cents if consideration is not None else (amount.cents if kind == "purchase" else 0)
        refunded_cents = refunded.cents if refunded is not None else 0
        for problem in check_donation(DonationFacts(
            source=SOURCE, reference=reference, amount_cents=amount.cents, currency=currency, method=method,
            kind=kind, consideration_cents=consideration_cents,
        )):
            cells.fail(problem.field, problem.reason)
        if refunded_cents > amount.cents:
            cells.fail("refunded", f"{cents_to_str(refunded_cents)} is more than the amount {cents_to_str(amount.cents)}")
        if len(problems) > reported:
            continue

        parsed = DonationRow(
            line=row.line, reference=reference, donor=donor, received_on=received_on, amount_cents=amount.cents,
            currency=currency, method=method, kind=kind, consideration_cents=consideration_cents, campaign=campaign,
            fund_code=fund_code, agreement=agreement, recurring_gift=recurring_gift, refunded_cents=refunded_cents,
            mandate=mandate,
        )
        before = existing.get(reference)
        if before is not None:
            stored = _stored_content(before, fund_codes)
            differences = [key for key, value in _content(parsed, fund_code).items() if stored[key] != value]
            if mandate is not None and before.mandate_id != mandate.id:
                differences.append("mandate")
            earlier_refund = refunds_before.get(refund_reference(reference))
            if differences:
                cells.fail("reference", f"{reference!r} was imported before with a different {', '.join(differences)}; "
                                        "a donation is never overwritten: record a refund or a new donation instead")
            elif earlier_refund is not None and refunded is not None and earlier_refund.amount_cents != refunded_cents:
                cells.fail("refunded", f"{cents_to_str(earlier_refund.amount_cents)} was imported as refunded before; "
                                       "a refund is never changed by an import")
            elif earlier_refund is None and refunded_cents and before.status in ("pending", "failed"):
                cells.fail("refunded", f"the donation is {before.status}: nothing to refund")
            else:
                repeats.append((parsed, before))
            continue
        if currency != EUR:
            warnings.append(Problem(row.line, "currency", f"{currency}: recorded, not included in EUR totals"))
        if fund_code in fund_hints and fund_code not in warned_funds:
            warned_funds.add(fund_code)
            warnings.append(Problem(row.line, "fund", did_you_mean(
                f"{fund_code!r} is a new fund (codes are exact)", fund_hints[fund_code])))
        if agreement is not None:
            why = paid_outside_agreement(received_on, agreement)
            if why:
                warnings.append(Problem(row.line, "agreement", f"{why}: counts as an ordinary gift"))
        rows.append(parsed)
    if problems:
        raise InvalidInput(problems, csv.name)

    summary = DonationImportSummary(warnings=warnings, unchanged=0)
    summary.funds_created = sorted({r.fund_code for r in rows if r.fund_code and r.fund_code not in funds})
    for parsed in rows:
        summary.created_cents[parsed.currency] = summary.created_cents.get(parsed.currency, 0) + parsed.amount_cents
    summary.created = len(rows)
    summary.refunds = sum(1 for r in rows if r.refunded_cents)
    for parsed, before in repeats:
        if parsed.refunded_cents and refund_reference(parsed.reference) not in refunds_before:
            summary.refunds += 1
            if not dry_run:
                record_adjustment(session, before, kind="refund", amount_cents=parsed.refunded_cents,
                                  occurred_on=before.received_on, source=SOURCE, reference=refund_reference(parsed.reference))
        else:
            summary.unchanged += 1
    if dry_run:
        return summary

    for code in summary.funds_created:
        funds[code] = Fund(code=code, name=code)
        session.add(funds[code])
    # Flushed in chunks so a large file is inserted in batches (insertmanyvalues),
    # not row by row, and memory stays bounded by the ORM's identity map.
    for count, parsed in enumerate(progress(rows, length=len(rows), label="writing donations"), 1):
        status = "paid"
        if parsed.refunded_cents:
            status = next_status("paid", "refund", donation_amount_cents=parsed.amount_cents,
                                 taken_back_after_cents=parsed.refunded_cents) or "paid"
        donation = Donation(
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
        )
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
    return summary


def _mandate(cells: RowParser, mandates: dict[str, Mandate], mandate_id: str | None, *, method: str,
             donor: Donor | None, donor_ref: str | None, recurring_gift: RecurringGift | None) -> Mandate | None:
    """The mandate a row names, if it may: a direct debit's, of the same donor, and
    the one its recurring gift is collected under."""
    if not mandate_id:
        return None
    mandate = mandates.get(mandate_id)
    if mandate is None:
        cells.fail("mandate", f"no mandate {mandate_id!r} (import the mandates first)")
    elif method != "sepa_debit":
        cells.fail("mandate", "only a direct debit (method sepa_debit) is collected under a mandate")
    elif not donor_ref or (donor is not None and mandate.donor_id != donor.id):
        cells.fail("mandate", f"mandate {mandate_id} is another donor's")
    elif recurring_gift is not None and recurring_gift.mandate_id not in (None, mandate.id):
        cells.fail("mandate", f"recurring gift {recurring_gift.reference} is collected under another mandate")
    else:
        return mandate
    return None


def amount_text(cents_by_currency: dict[str, int]) -> str:
    """`€ 1.234,56 + USD 10,00` for a summary line."""
    return " + ".join(Money(cents, currency).dutch() for currency, cents in sorted(cents_by_currency.items(), key=lambda kv: kv[0] != EUR))
