"""`anbi bank import`: what each line of a bank statement means for our books.

A statement is read and checked whole by `fundraising.bank.camt` first; then every line
not seen before (lines are keyed, so importing a statement again is a no-op) is
decided by `decide`, a plain function over the line and what we already know:

- a credit whose end-to-end id is one of our SEPA collections confirms it: the
  pending donation becomes paid, dated by the booking date; a collection batch the
  bank booked as one amount (no transaction details, only the PmtInfId of our file)
  confirms every collection of that payment-information block when the total agrees;
- a debit that returns one of our collections (an R-transaction: RvslInd, a return
  reason, or a direct-debit bank code with our end-to-end id) undoes the gift on its
  own booking date with the reason code kept: MD06 is the donor's refund after
  settlement; any other code (AM04, AC04, MD07, ...) a return — `record_adjustment`
  then makes a pending collection `failed` and a settled one `refunded`. What the
  return means for the recurring gift and its mandate is one table,
  `fundraising.bank.return_reasons` (AM04: the next regular collection is the retry;
  MS02, MD06: paused for follow-up; AC04, AC06, MD01: mandate revoked, gift paused;
  `max_failures` failures in a row pause it too); every gift it pauses or a person
  should look at is in the summary's follow-up list. MD07 (debtor deceased) also
  ends the donor's periodic agreements and recurring gifts, revokes the mandates and
  marks the donor deceased, for a person to check;
- a confirmed collection clears its gift's failure count and makes a failing gift
  active again;
- a credit from Stripe is matched to its payout;
- any other credit is a transfer: matched to a donor by a donor ref in the
  remittance text or else by the payer's IBAN (one donor only), with a campaign code
  in the text as its campaign, it becomes a donation (source "bank");
- everything else that is money in goes to the review list (`anbi bank unmatched`),
  to be assigned by hand (`anbi bank assign`); money out that is not a return is
  ignored (it is not a gift).

New donations for transfers are written in bulk with the rules of
`fundraising.donations` (as the donations import does), and the bank lines with
them (COPY on PostgreSQL); confirmations and returns go through `confirm_paid` and
`record_adjustment` one by one, on gifts loaded in bulk beforehand, and the mandates'
last collection dates are written together after the lines.
"""
from __future__ import annotations

import datetime as dt
import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from sqlalchemy import any_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, selectinload

from anbi.core import audit
from anbi.core.clock import utcnow
from anbi.core.db import insert_rows
from anbi.core.errors import Conflict, InvalidInput, NotFound, Problem
from anbi.core.money import cents_to_str
from anbi.core.progress import progress
from donors.models import Donor
from fundraising.bank import camt as bank
from fundraising.agreements import end_agreement
from fundraising.donations import (
    DonationFacts,
    add_flag,
    check_donation,
    confirm_paid,
    foreign_currency_flag,
    record_adjustment,
    record_donation,
)
from fundraising.lookups import chunks, resolve_donor_refs
from fundraising.models import Campaign, Donation, Mandate, PeriodicAgreement, RecurringGift
from fundraising.models_ledger import BankLine, BankStatement, SepaCollection, StripePayout
from fundraising.recurring import ended_on, record_paid, record_return
from fundraising.bank.return_reasons import DEFAULT_MAX_FAILURES, END, RULES, rule_for

SOURCE = "bank"
REFUND_REASONS = {"MD06"}          # the donor's own refund request (8-week right)
DECEASED_REASONS = {code for code, rule in RULES.items() if rule.gift == END}   # MD07
DIRECT_DEBIT_FAMILIES = {"IDDT", "RDDT", "DDT"}
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*[A-Za-z0-9]|[A-Za-z0-9]")
PAYOUT_ID = re.compile(r"\bpo_[A-Za-z0-9]+\b")
PAYOUT_DAYS = 3  # a payout reaches the bank within a few days of its arrival date


# --------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class Collection:
    """A SEPA collection of ours as the decision sees it."""

    donation_id: int
    amount_cents: int
    status: str


@dataclass(frozen=True)
class Payout:
    pk: int
    payout_id: str
    amount_cents: int
    arrival_date: dt.date
    matched: bool


@dataclass
class Known:
    """What the decision may look up, gathered in bulk for one statement."""

    collections: dict[str, Collection] = field(default_factory=dict)              # by end-to-end id
    payment_infos: dict[str, list[str]] = field(default_factory=dict)             # PmtInfId -> end-to-end ids
    donors_by_ref: dict[str, int] = field(default_factory=dict)
    donors_by_iban: dict[str, set[int]] = field(default_factory=dict)
    campaigns: dict[str, int] = field(default_factory=dict)
    payouts: dict[str, Payout] = field(default_factory=dict)
    # What a remittance text names, worked out once per distinct text: the same
    # texts come back line after line ("maandgift", "voor het goede doel").
    texts: dict[str, Named] = field(default_factory=dict)
    # Mandate id -> the day of its latest collection this statement confirmed,
    # written to the mandate register in one statement after the lines.
    collected: dict[int, dt.date] = field(default_factory=dict)
    # Recurring gifts with failures to clear when a collection of theirs is paid, by
    # id: the few that are failing or counted a failure, not every gift confirmed.
    unwell: dict[int, RecurringGift] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Named:
    """The donors (by ref) and campaigns (by code) a text names, and a Stripe payout id in it."""

    donors: frozenset[int]
    campaigns: frozenset[int]
    payout_id: str | None


@dataclass(slots=True)   # not frozen: made for every line, and frozen init is twice as slow
class Decision:
    kind: str                        # transfer, collection, return, payout, outgoing, other
    state: str                       # matched, unmatched, ignored
    action: str = "none"             # confirm, confirm_batch, return, donation, payout, none
    note: str | None = None
    end_to_end_ids: tuple[str, ...] = ()
    donor_id: int | None = None
    campaign_id: int | None = None
    payout_pk: int | None = None
    adjustment_kind: str | None = None


@lru_cache(maxsize=65536)
def tokens(text: str) -> tuple[str, ...]:
    """The words of a remittance text that could be a donor ref or a campaign code
    (cached: the same texts come back, and each text is looked at twice)."""
    return tuple(_TOKEN.findall(text or ""))


def decide(line: bank.CamtLine, known: Known) -> Decision:
    """What one statement line means. Plain: no database, no side effects."""
    if line.status not in ("BOOK", ""):
        return Decision("other", "ignored", note=f"status {line.status}: not booked yet")
    e2e = line.end_to_end_id
    ours = known.collections.get(e2e) if e2e else None
    if line.direction == "debit":
        returned = line.reversal or line.return_reason or line.family in DIRECT_DEBIT_FAMILIES
        if ours is not None and returned:
            return _return(line, ours)
        if line.return_reason or line.reversal:
            return Decision("return", "unmatched", note=f"return ({line.return_reason or 'no reason'}) of a collection we do not know ({e2e or 'no end-to-end id'})")
        return Decision("outgoing", "ignored", note="money out: not a gift")

    if line.currency != "EUR":
        return Decision("transfer", "unmatched", note=f"amount in {line.currency}: book it by hand")
    if ours is not None and e2e:  # (ours is found by its end-to-end id)
        if ours.status == "pending":
            return Decision("collection", "matched", "confirm", end_to_end_ids=(e2e,))
        return Decision("collection", "matched", note=f"collection already {ours.status}", end_to_end_ids=(e2e,))
    if line.batch_payment_info_id and line.batch_size == 1 and line.batch_payment_info_id in known.payment_infos:
        return _batch(line, known)
    named = _named(line.text, known)
    if named.payout_id or "stripe" in (line.counterparty_name or "").lower():
        return _payout(line, named, known)
    return _transfer(line, named, known)


def _named(text: str, known: Known) -> Named:
    found = known.texts.get(text)
    if found is not None:
        return found
    donors: set[int] = set()
    campaigns: set[int] = set()
    by_ref, by_code = known.donors_by_ref, known.campaigns
    for word in tokens(text):
        upper = word.upper()
        donor = by_ref.get(word) or by_ref.get(upper)
        if donor is not None:
            donors.add(donor)
        campaign = by_code.get(word) or by_code.get(upper)
        if campaign is not None:
            campaigns.add(campaign)
    payout = PAYOUT_ID.search(text)
    found = known.texts[text] = Named(frozenset(donors), frozenset(campaigns), payout.group(0) if payout else None)
    return found


def _return(line: bank.CamtLine, ours: Collection) -> Decision:
    reason = (line.return_reason or "").upper() or None
    e2e = line.end_to_end_id
    assert e2e is not None  # `ours` was found by it
    if ours.status == "failed":
        return Decision("return", "matched", note="collection already failed", end_to_end_ids=(e2e,))
    refund = reason in REFUND_REASONS and ours.status != "pending"
    return Decision("return", "matched", "return", end_to_end_ids=(e2e,),
                    adjustment_kind="refund" if refund else "reversal")


def _batch(line: bank.CamtLine, known: Known) -> Decision:
    assert line.batch_payment_info_id is not None  # decide() sends only a line of a known batch
    ids = known.payment_infos[line.batch_payment_info_id]
    members = [known.collections[e] for e in ids]
    pending = [e for e, c in zip(ids, members) if c.status == "pending"]
    total = sum(known.collections[e].amount_cents for e in pending)
    if not pending:
        return Decision("collection", "matched", note="collection batch already confirmed")
    if total != line.amount_cents:
        return Decision("collection", "unmatched", note=(
            f"collection batch {line.batch_payment_info_id}: booked {cents_to_str(line.amount_cents)}, "
            f"pending collections total {cents_to_str(total)}"))
    return Decision("collection", "matched", "confirm_batch", end_to_end_ids=tuple(pending),
                    note=f"batch {line.batch_payment_info_id}: {len(pending)} collections")


def _payout(line: bank.CamtLine, named: Named, known: Known) -> Decision:
    if named.payout_id in known.payouts:
        payout = known.payouts[named.payout_id]
        if payout.amount_cents != line.amount_cents:
            return Decision("payout", "unmatched", note=f"payout {payout.payout_id} is {cents_to_str(payout.amount_cents)}, the bank booked {cents_to_str(line.amount_cents)}")
        return Decision("payout", "matched", "payout", payout_pk=payout.pk)
    candidates = [
        p for p in known.payouts.values()
        if not p.matched and p.amount_cents == line.amount_cents
        and abs((p.arrival_date - line.booking_date).days) <= PAYOUT_DAYS
    ]
    if len(candidates) == 1:
        return Decision("payout", "matched", "payout", payout_pk=candidates[0].pk)
    note = "several Stripe payouts of this amount" if candidates else "no Stripe payout of this amount and date yet (run `anbi stripe payouts`)"
    return Decision("payout", "unmatched", note=note)


_NONE: frozenset[int] = frozenset()


def _transfer(line: bank.CamtLine, named: Named, known: Known) -> Decision:
    refs, campaigns = named.donors, named.campaigns
    campaign_id = next(iter(campaigns)) if len(campaigns) == 1 else None
    if len(refs) > 1:
        return Decision("transfer", "unmatched", note="the text names more than one donor")
    if refs:
        return Decision("transfer", "matched", "donation", donor_id=next(iter(refs)), campaign_id=campaign_id,
                        note="donor named in the text")
    by_iban = known.donors_by_iban.get(line.counterparty_iban or "", _NONE)
    if len(by_iban) == 1:
        return Decision("transfer", "matched", "donation", donor_id=next(iter(by_iban)), campaign_id=campaign_id,
                        note="donor found by IBAN")
    if len(by_iban) > 1:
        return Decision("transfer", "unmatched", note=f"{len(by_iban)} donors have this IBAN")
    if campaign_id is not None:
        return Decision("transfer", "unmatched", campaign_id=campaign_id, note="campaign named, payer unknown")
    return Decision("transfer", "unmatched", note="payer unknown")


# --------------------------------------------------------------------------- the import


@dataclass
class BankImportSummary:
    file: str
    version: str
    lines: int = 0
    already_imported: int = 0
    donations: int = 0
    donations_cents: int = 0
    confirmed: int = 0
    returned: int = 0
    refunded: int = 0
    deceased: list[str] = field(default_factory=list)
    # Gifts a return paused, stopped or left for a person to look at.
    follow_up: list[dict] = field(default_factory=list)
    payouts: int = 0
    unmatched: int = 0
    ignored: int = 0

    def as_json(self) -> dict:
        return {
            "file": self.file, "camt_version": f"camt.053.001.{self.version}", "lines": self.lines,
            "already_imported": self.already_imported, "donations": self.donations,
            "donations_total": cents_to_str(self.donations_cents), "collections_confirmed": self.confirmed,
            "collections_returned": self.returned, "refunds": self.refunded, "deceased_reported": self.deceased,
            "follow_up": self.follow_up,
            "payouts_matched": self.payouts, "unmatched": self.unmatched, "ignored": self.ignored,
        }


def import_file(session: Session, path: str | Path, *, actor: str,
                max_failures: int = DEFAULT_MAX_FAILURES) -> BankImportSummary:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput([Problem(None, None, f"cannot read the file: {exc.strerror}")], path.name) from None
    return import_statement(session, data, name=path.name, actor=actor, max_failures=max_failures)


def import_statement(session: Session, data: bytes, *, name: str, actor: str,
                     max_failures: int = DEFAULT_MAX_FAILURES) -> BankImportSummary:
    """Import one camt.053 file. Flushes, never commits; nothing is written when the
    file fails its checks. `max_failures`: failed collections in a row that pause a
    recurring gift (`[sepa] max_failures`)."""
    # A statement becomes hundreds of thousands of small objects (lines, rows,
    # decisions) that hold no cycles: the cyclic garbage collector rescanned them
    # again and again for nothing (measured: 1 s of a 10 s import of 100,000 lines),
    # as donors.duplicates found for its records.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _import(session, data, name=name, actor=actor, max_failures=max_failures)
    finally:
        if collecting:
            gc.enable()


def _import(session: Session, data: bytes, *, name: str, actor: str, max_failures: int) -> BankImportSummary:
    parsed = bank.parse(data, name=name)
    summary = BankImportSummary(file=name, version=parsed.version)
    pending: list[tuple[bank.CamtLine, int]] = []
    for statement in parsed.statements:
        statement_pk = _statement(session, statement, parsed, name)
        pending.extend((line, statement_pk) for line in statement.lines)
    summary.lines = len(pending)
    seen = _existing_keys(session, [line.key for line, _ in pending])
    fresh = [(line, pk) for line, pk in pending if line.key not in seen]
    summary.already_imported = summary.lines - len(fresh)
    # Chronological; on one day a return goes before the confirmation of the same
    # collection, so a collection returned the day it was booked never settled.
    fresh.sort(key=lambda item: (item[0].booking_date, 0 if item[0].direction == "debit" else 1))
    known = _gather(session, [line for line, _ in fresh])
    held = _collections_loaded(session, known)   # noqa: F841 (kept so the session keeps them)
    now = utcnow()   # one timestamp for the import: no default computed per row
    rows: list[dict] = []
    transfers: list[tuple[int, bank.CamtLine, Decision]] = []
    for line, statement_pk in progress(fresh, length=len(fresh), label="Reading statement lines"):
        decision = decide(line, known)
        row = _line_row(line, statement_pk, decision, now)
        if decision.action == "donation":
            transfers.append((len(rows), line, decision))
        else:
            _apply(session, line, decision, row, known, summary, actor, max_failures)
        _count(decision, summary)
        rows.append(row)
    _write_collected(session, known.collected)
    with _page_cache(session):
        _write_transfers(session, rows, transfers, summary)
        insert_rows(session, BankLine.__table__, rows)
    session.flush()
    audit.record(session, actor=actor, action="import", entity="bank_statement", entity_ref=name,
                 details=summary.as_json())
    return summary


SQLITE_CACHE_KIB = 65536


@contextmanager
def _page_cache(session: Session) -> Iterator[None]:
    """On SQLite, room for 64 MB of pages while the lines are written: with the
    default 2 MB, the indexes of 100,000 new rows (the line keys are hashes, so
    spread over the whole index) are written out and read back again and again."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    before = int(connection.exec_driver_sql("PRAGMA cache_size").scalar_one())
    connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        # A PRAGMA takes no bound parameters; the value is the integer SQLite gave.
        connection.exec_driver_sql(f"PRAGMA cache_size = {before}")


def _statement(session: Session, statement: bank.CamtStatement, parsed: bank.CamtFile, name: str) -> int:
    """The statement row: found again when the same statement comes back."""
    found = session.scalar(select(BankStatement).where(
        BankStatement.account_iban == statement.account_iban, BankStatement.statement_ref == statement.statement_ref))
    if found is not None:
        return found.id
    row = BankStatement(
        account_iban=statement.account_iban, statement_ref=statement.statement_ref, message_id=parsed.message_id,
        camt_version=parsed.version, from_date=statement.from_date, to_date=statement.to_date,
        opening_cents=statement.opening_cents, closing_cents=statement.closing_cents, currency=statement.currency,
        file_name=name, file_sha256=parsed.sha256,
    )
    session.add(row)
    session.flush()
    return row.id


def _existing_keys(session: Session, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for among in _among(session, BankLine.key, sorted(set(keys))):
        found.update(session.scalars(select(BankLine.key).where(among)))
    return found


def _among(session: Session, column, values: list) -> Iterator:
    """`column IN values` as the conditions of as few queries as the database allows.

    PostgreSQL takes the whole list as one array parameter (`= ANY`); an IN list of
    thousands of parameters costs more to render and send than the query costs to
    run. Other databases get an IN list per chunk."""
    if not values:
        return
    if session.get_bind().dialect.name == "postgresql":
        yield column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
        return
    for part in chunks(values):
        yield column.in_(part)


def _gather(session: Session, lines: list[bank.CamtLine]) -> Known:
    known = Known()
    e2e = sorted({line.end_to_end_id for line in lines if line.end_to_end_id})
    infos = sorted({line.batch_payment_info_id for line in lines if line.batch_payment_info_id and line.batch_size == 1})
    for among in _among(session, Donation.reference, e2e):
        for reference, donation_id, amount, status in session.execute(
            select(Donation.reference, Donation.id, Donation.amount_cents, Donation.status)
            .where(Donation.source == "sepa", among)
        ):
            known.collections[reference] = Collection(donation_id, amount, status)
    for among in _among(session, SepaCollection.payment_info_id, infos):
        for info, reference, donation_id, amount, status in session.execute(
            select(SepaCollection.payment_info_id, Donation.reference, Donation.id, Donation.amount_cents, Donation.status)
            .join(Donation, Donation.id == SepaCollection.donation_id)
            .where(among)
        ):
            known.payment_infos.setdefault(info, []).append(reference)
            known.collections[reference] = Collection(donation_id, amount, status)
    credits = [line for line in lines if line.direction == "credit"]
    texts = {line.text for line in credits}
    words = sorted({w for text in texts for word in tokens(text) for w in (word, word.upper())})
    for ref, donor in resolve_donor_refs(session, words).donors.items():
        known.donors_by_ref[ref] = donor.id
    ibans = sorted({line.counterparty_iban for line in credits if line.counterparty_iban})
    for among in _among(session, Donor.iban, ibans):
        for iban, donor_id in session.execute(
            select(Donor.iban, Donor.id).where(among, Donor.merged_into_id.is_(None), Donor.purged_at.is_(None))
        ):
            assert iban is not None  # one of `ibans`
            known.donors_by_iban.setdefault(iban, set()).add(donor_id)
    for among in _among(session, Mandate.iban, ibans):
        for iban, donor_id in session.execute(
            select(Mandate.iban, Mandate.donor_id).join(Donor, Donor.id == Mandate.donor_id)
            .where(among, Donor.merged_into_id.is_(None), Donor.purged_at.is_(None))
        ):
            known.donors_by_iban.setdefault(iban, set()).add(donor_id)
    known.campaigns = dict(session.execute(select(Campaign.code, Campaign.id)).all())
    matched = set(session.scalars(select(BankLine.payout_id).where(BankLine.payout_id.is_not(None))))
    for pk, payout_id, amount, arrival in session.execute(
        select(StripePayout.id, StripePayout.payout_id, StripePayout.amount_cents, StripePayout.arrival_date)
    ):
        known.payouts[payout_id] = Payout(pk, payout_id, amount, arrival, pk in matched)
    if known.collections:
        known.unwell = {gift.id: gift for gift in session.scalars(select(RecurringGift).where(
            or_(RecurringGift.failed_attempts > 0, RecurringGift.status == "failing")))}
    return known


def _collections_loaded(session: Session, known: Known) -> list[Donation]:
    """The gifts of the collections this statement may confirm or return, with their
    mandates, loaded in bulk into the session: a monthly SEPA run confirms thousands,
    and `_apply` then finds each in the session instead of asking the database for
    the gift and then for its mandate (four statements a collection became two).
    The list is held for the import: the session keeps unchanged objects weakly."""
    ids = sorted({collection.donation_id for collection in known.collections.values()})
    loaded: list[Donation] = []
    for among in _among(session, Donation.id, ids):
        loaded.extend(session.scalars(select(Donation).where(among).options(selectinload(Donation.mandate))))
    return loaded


def _line_row(line: bank.CamtLine, statement_pk: int, decision: Decision, now) -> dict:
    # A dict display and `x and x[:n]` rather than dict() and a helper per column:
    # made for every line. The cuts keep a bank's overlong field within its column.
    entry_ref, end_to_end_id, mandate_ref = line.entry_ref, line.end_to_end_id, line.mandate_ref
    name, iban, reference = line.counterparty_name, line.counterparty_iban, line.creditor_reference
    reason, batch_id = line.return_reason, line.batch_payment_info_id
    return {
        "statement_id": statement_pk, "key": line.key, "account_iban": line.account_iban,
        "booking_date": line.booking_date, "value_date": line.value_date, "amount_cents": line.amount_cents,
        "currency": line.currency, "direction": line.direction, "reversal": line.reversal,
        "bank_code": line.bank_code[:40], "entry_ref": entry_ref and entry_ref[:100],
        "end_to_end_id": end_to_end_id and end_to_end_id[:100], "mandate_ref": mandate_ref and mandate_ref[:100],
        "counterparty_name": name and name[:200], "counterparty_iban": iban and iban[:34],
        "remittance": line.remittance, "creditor_reference": reference and reference[:100],
        "return_reason": reason and reason[:10], "additional_info": line.additional_info,
        "batch_payment_info_id": batch_id and batch_id[:100], "batch_size": line.batch_size,
        "kind": decision.kind, "state": decision.state, "note": decision.note, "donation_id": None,
        "adjustment_id": None, "payout_id": decision.payout_pk, "assigned_by": None, "created_at": now,
    }


def _count(decision: Decision, summary: BankImportSummary) -> None:
    if decision.state == "unmatched":
        summary.unmatched += 1
    elif decision.state == "ignored":
        summary.ignored += 1
    elif decision.action == "payout":
        summary.payouts += 1


def _apply(session: Session, line: bank.CamtLine, decision: Decision, row: dict, known: Known,
           summary: BankImportSummary, actor: str, max_failures: int) -> None:
    if decision.action == "confirm" or decision.action == "confirm_batch":
        for e2e in decision.end_to_end_ids:
            collection = known.collections[e2e]
            donation = session.get_one(Donation, collection.donation_id)
            confirm_paid(session, donation, received_on=line.booking_date)
            _collected(known, donation, line.booking_date)
            unwell = known.unwell.get(donation.recurring_gift_id) if donation.recurring_gift_id is not None else None
            if unwell is not None:
                record_paid(unwell)
            known.collections[e2e] = replace(collection, status="paid")
            summary.confirmed += 1
        if decision.action == "confirm":
            row["donation_id"] = known.collections[decision.end_to_end_ids[0]].donation_id
    elif decision.action == "return":
        e2e = decision.end_to_end_ids[0]
        collection = known.collections[e2e]
        donation = session.get_one(Donation, collection.donation_id)
        reason = (line.return_reason or "").upper() or None
        assert decision.adjustment_kind is not None  # a return says which
        adjustment, _ = record_adjustment(
            session, donation, kind=decision.adjustment_kind, amount_cents=line.amount_cents,
            occurred_on=line.booking_date, source=SOURCE, reference=line.key, reason_code=reason,
        )
        known.collections[e2e] = replace(collection, status=donation.status)
        row["donation_id"] = donation.id
        row["adjustment_id"] = adjustment.id
        if decision.adjustment_kind == "refund":
            summary.refunded += 1
        else:
            summary.returned += 1
        if reason in DECEASED_REASONS and donation.donor is not None:
            row["note"] = "; ".join(_debtor_deceased(session, donation, line, actor))
            summary.deceased.append(donation.donor.ref)
        gift = donation.recurring_gift
        if gift is not None:
            _gift_returned(session, gift, donation, reason, line, decision, known, summary, actor, max_failures)
    elif decision.action == "payout":
        payout = next(p for p in known.payouts.values() if p.pk == decision.payout_pk)
        known.payouts[payout.payout_id] = replace(payout, matched=True)
    elif decision.end_to_end_ids and len(decision.end_to_end_ids) == 1:
        # Seen before (already confirmed or already failed): still point at the gift.
        row["donation_id"] = known.collections[decision.end_to_end_ids[0]].donation_id


def _gift_returned(session: Session, gift: RecurringGift, donation: Donation, reason: str | None,
                   line: bank.CamtLine, decision: Decision, known: Known, summary: BankImportSummary, actor: str,
                   max_failures: int) -> None:
    """The return table applied to the collection's recurring gift; a refund the
    donor asked for is no failed attempt. Listed when a person should follow it up."""
    outcome = record_return(session, gift, code=reason, refund=decision.adjustment_kind == "refund",
                            on=line.booking_date, max_failures=max_failures, actor=actor)
    known.unwell[gift.id] = gift
    if outcome.follow_up:
        summary.follow_up.append({
            "recurring_gift": gift.reference, "donor_ref": donation.donor.ref if donation.donor else None,
            "reason_code": rule_for(reason).code or None, "status": gift.status,
            "mandate_revoked": outcome.revoke_mandate,
            "note": outcome.follow_up,
        })


def _collected(known: Known, donation: Donation, day: dt.date) -> None:
    """The mandate register keeps the date of the last collection that settled."""
    if donation.mandate_id is not None and known.collected.get(donation.mandate_id, day) <= day:
        known.collected[donation.mandate_id] = day


def _write_collected(session: Session, collected: dict[int, dt.date]) -> None:
    """Move each mandate's last collection date forward, never back, in one
    executemany (a SEPA run settles thousands of mandates; an update per mandate
    through the ORM doubled the statements of each confirmation)."""
    if not collected:
        return
    day = bindparam("day", type_=Mandate.last_collected_on.type)
    session.connection().execute(
        update(Mandate.__table__)
        .where(Mandate.id == bindparam("mandate"),
               or_(Mandate.last_collected_on.is_(None), Mandate.last_collected_on < day))
        .values(last_collected_on=day),
        [{"mandate": mandate, "day": on} for mandate, on in sorted(collected.items())],
    )
    # Mandates the session holds would otherwise keep the date they were read with.
    for mandate in session.identity_map.values():
        if isinstance(mandate, Mandate) and mandate.id in collected:
            session.expire(mandate, ["last_collected_on", "updated_at"])


def _debtor_deceased(session: Session, donation: Donation, line: bank.CamtLine, actor: str) -> list[str]:
    """MD07: the bank says the debtor died. Death ends a periodic gift agreement by law
    (DOMAIN.md 1.3, 7.5); the recurring gifts and the mandate stop; the donor is marked
    deceased for a person to check the date (the bank does not give it)."""
    donor = donation.donor
    assert donor is not None  # called for a donation with a donor
    day = line.booking_date
    done = []
    for agreement in session.scalars(select(PeriodicAgreement).where(
            PeriodicAgreement.donor_id == donor.id, PeriodicAgreement.status == "active")):
        end_agreement(session, agreement.number, end_date=max(day, agreement.signed_on), reason="death", actor=actor)
        done.append(f"agreement {agreement.number} ended")
    for gift in session.scalars(select(RecurringGift).where(
            RecurringGift.donor_id == donor.id, RecurringGift.status != "cancelled")):
        gift.status = "cancelled"
        gift.end_date = ended_on(gift, day)
        gift.status_reason = f"ended: MD07 (debtor deceased) reported by the bank on {day.isoformat()}"
        done.append(f"recurring gift {gift.reference} cancelled")
    for mandate in session.scalars(select(Mandate).where(Mandate.donor_id == donor.id, Mandate.status == "active")):
        mandate.status = "revoked"
        done.append(f"mandate {mandate.mandate_id} revoked")
    if donor.deceased_on is None:
        donor.deceased_on = day
    donor.notes = add_flag(donor.notes, f"MD07 (debtor deceased) reported by the bank on {day.isoformat()}: "
                                        "check the date of death")
    done.append("donor marked deceased, to be checked")
    audit.record(session, actor=actor, action="deceased_reported", entity="donor", entity_ref=donor.ref,
                 details={"source": "bank return MD07", "booking_date": day.isoformat(), "done": done})
    session.flush()
    return done


def _write_transfers(session: Session, rows: list[dict], transfers: list, summary: BankImportSummary) -> None:
    """Incoming transfers matched to a donor become donations, written in bulk under the
    rules of `fundraising.donations` (check_donation; a foreign currency is flagged)."""
    if not transfers:
        return
    values = []
    problems = []
    for _index, line, decision in transfers:
        facts = DonationFacts(source=SOURCE, reference=line.key, amount_cents=line.amount_cents, currency=line.currency,
                              method="bank_transfer")
        for problem in check_donation(facts):
            problems.append(Problem(None, f"bank line {line.entry_number}.{line.transaction_number} {problem.field}", problem.reason))
        values.append(dict(
            source=SOURCE, reference=line.key, donor_id=decision.donor_id, received_on=line.booking_date,
            amount_cents=line.amount_cents, currency=line.currency, method="bank_transfer", kind="gift",
            consideration_cents=0, status="paid", campaign_id=decision.campaign_id,
            flag=foreign_currency_flag(line.currency) if line.currency != "EUR" else None,
        ))
    if problems:
        raise InvalidInput(problems, summary.file)
    now = utcnow()
    for value in values:
        value.update(created_at=now, updated_at=now)
    ids = _inserted_ids(session, values)
    for index, line, _decision in transfers:
        rows[index]["donation_id"] = ids[line.key]
        summary.donations += 1
        summary.donations_cents += line.amount_cents


def _inserted_ids(session: Session, values: list[dict]) -> dict[str, int]:
    """Insert bank donations and return their ids by reference.

    The ids are read back as the rows above the highest id seen before the insert,
    not by looking up every reference (80,000 references cost more to send than the
    rows to write). With the sequences as the migrations make them, every id handed
    out after that read is above it; a row of another transaction in that range is
    not one of ours and is left out by its reference. Should a sequence hand out ids
    below it (a cache of ids taken earlier), those rows are looked up by reference."""
    before = session.scalar(select(func.coalesce(func.max(Donation.id), 0)))
    insert_rows(session, Donation.__table__, values)
    ours = {value["reference"] for value in values}
    ids = {reference: pk for reference, pk in session.execute(
        select(Donation.reference, Donation.id).where(Donation.id > before, Donation.source == SOURCE))
        if reference in ours}
    missing = sorted(ours - ids.keys())
    for among in _among(session, Donation.reference, missing):
        ids.update(session.execute(select(Donation.reference, Donation.id).where(Donation.source == SOURCE, among)).all())
    return ids


# --------------------------------------------------------------------------- review


def unmatched_lines(session: Session) -> list[dict]:
    """The review list: money in (and returns) that matched nothing, oldest first."""
    lines = session.scalars(select(BankLine).where(BankLine.state == "unmatched").order_by(BankLine.booking_date, BankLine.id))
    return [
        {
            "id": line.id, "date": line.booking_date.isoformat(), "amount": cents_to_str(line.amount_cents),
            "currency": line.currency, "direction": line.direction, "kind": line.kind,
            "name": line.counterparty_name, "iban": line.counterparty_iban,
            "text": " ".join(p for p in (line.remittance, line.creditor_reference) if p) or line.additional_info,
            "end_to_end_id": line.end_to_end_id, "return_reason": line.return_reason, "note": line.note,
        }
        for line in lines
    ]


class BankLineNotFound(NotFound):
    def __init__(self, line_id: int):
        self.line_id = line_id
        super().__init__(f"bank line {line_id} does not exist")


def assign_line(session: Session, line_id: int, donor_ref: str, *, campaign_code: str | None, actor: str) -> Donation:
    """Book an unmatched incoming transfer as a gift of this donor (and campaign)."""
    from donors.service import resolve_ref
    from fundraising.errors import CampaignNotFound

    line = session.get(BankLine, line_id)
    if line is None:
        raise BankLineNotFound(line_id)
    if line.state != "unmatched":
        raise Conflict(f"bank line {line_id} is {line.state}" + (f" (donation {line.donation.reference})" if line.donation else "")
                       + ": only an unmatched line can be assigned")
    if line.direction != "credit" or line.kind not in ("transfer", "other"):
        raise Conflict(f"bank line {line_id} is a {line.kind} ({line.direction}), not an incoming transfer: "
                       "returns and payouts are matched to their collection or payout, not to a donor")
    donor = resolve_ref(session, donor_ref)
    campaign = None
    if campaign_code:
        campaign = session.scalar(select(Campaign).where(Campaign.code == campaign_code))
        if campaign is None:
            raise CampaignNotFound(campaign_code)
    donation, _ = record_donation(
        session, source=SOURCE, reference=line.key, donor=donor, received_on=line.booking_date,
        amount_cents=line.amount_cents, currency=line.currency, method="bank_transfer", campaign=campaign,
    )
    session.execute(update(BankLine).where(BankLine.id == line.id).values(
        state="matched", donation_id=donation.id, assigned_by=actor, note=add_flag(line.note, f"assigned by {actor}")))
    audit.record(session, actor=actor, action="assign", entity="bank_line", entity_ref=str(line.id),
                 details={"donor": donor.ref, "campaign": campaign_code, "amount": cents_to_str(line.amount_cents),
                          "donation": donation.reference})
    session.flush()
    return donation
