"""The donor's rights under the AVG (GDPR): access, erasure, and the purge that ends
the fiscal retention period (DOMAIN.md 6.3).

- `export_personal_data`: everything still held on a donor, as a JSON-ready dict
  (right of access, art. 15).
- `forget`: an erasure request (art. 17). Marketing and contact data goes at once.
  A donor with financial records keeps name, address and IBAN under restriction
  (art. 18) because the tax administration requires the records for seven years
  (art. 52 AWR); a donor without any is erased completely. Either way a hashed
  suppression entry stays so the person is not contacted again.
- `purge`: once the retention period has passed after a restricted donor's last
  financial record, the name, address and IBANs are replaced by pseudonyms for
  good; amounts and dates stay because the books need them.

Which tables point at a donor is read from `Base.metadata`, and each must be
declared here: in `FINANCIAL_RECORDS` (kept under restriction, with the dates its
retention runs from) or in `NOT_FINANCIAL` (what an erasure does with it). Tables
are reached by name through their `Table` objects, so this module imports nothing
from `fundraising` or later parts (dependencies point one way) and a new table is
covered by adding one line.

Services take a Session and never commit. None of this writes personal data into
the audit trail.
"""
from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Table, delete, or_, select, update
from sqlalchemy.orm import Session

from anbi.core import audit
from anbi.core.audit import AuditEntry
from anbi.core.calendar import anniversary, term_end
from anbi.core.clock import utcnow
from anbi.core.db import Base, rows_matched
from anbi.core.errors import ConfigurationError
from anbi.core.money import cents_to_str
from anbi.core.progress import progress
from donors import names
from donors.errors import DonorInactive, ErasureRefused
from donors.merge import donor_references
from donors.models import Donor
from donors.service import resolve_ref
from donors.suppression import add_suppression

Row = Mapping[Any, Any]  # a row as a mapping (SQLAlchemy's RowMapping is keyed by names and columns)


def _as_date(value) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    return value


@dataclass(frozen=True)
class FinancialRecord:
    """A table of records the tax administration requires us to keep (art. 52 AWR).

    Retention runs from the latest of `dates` on a row (a timestamp counts by its
    day) and, with `term` = (start column, years column), the end of a fixed term."""

    label: str  # what a person calls one row: "donation"
    dates: tuple[str, ...]
    donor_column: str = "donor_id"
    term: tuple[str, str] | None = None
    # Still running on `today` (an agreement in force, a mandate in use): retention has not begun.
    running: Callable[[Row, dt.date], bool] | None = None
    # A running row refuses an erasure (a periodic gift agreement: the donor must end it first).
    blocks_erasure: bool = False
    key: str | None = None  # the column that names a row to a person ("number", "mandate_id")
    personal: tuple[str, ...] = ()  # columns purge replaces with pseudonyms (an IBAN, a Stripe customer)
    suppress: tuple[tuple[str, str], ...] = ()  # (column, contact kind) added to the suppression list
    # Called by an erasure for the donor's rows: end what would otherwise go on
    # (collections). Returns one line per thing it stopped.
    stop: Callable[[Session, Table, list[int], dt.date], list[str]] | None = None

    def retention_from(self, row: Row) -> dt.date | None:
        days = [_as_date(row[name]) for name in self.dates]
        if self.term is not None:
            start, years = row[self.term[0]], row[self.term[1]]
            if start is not None and years is not None:
                days.append(term_end(start, years))
        known = [d for d in days if d is not None]
        return max(known) if known else None

    def is_running(self, row: Row, today: dt.date) -> bool:
        return self.running is not None and self.running(row, today)

    def name(self, row: Row) -> str:
        return f"{self.label} {row[self.key]}" if self.key else self.label


def _agreement_running(row: Row, today: dt.date) -> bool:
    """Active and not past its end or its term (DOMAIN.md 1.3: five years or more, or until death)."""
    if row["status"] != "active":
        return False
    if row["end_date"] is not None and row["end_date"] <= today:
        return False
    if row["years"] is not None and term_end(row["start_date"], row["years"]) <= today:
        return False
    return True


def _recurring_running(row: Row, today: dt.date) -> bool:
    return row["status"] != "cancelled" and (row["end_date"] is None or row["end_date"] > today)


def _mandate_running(row: Row, today: dt.date) -> bool:
    return row["status"] == "active"


def _cancel_recurring(session: Session, table: Table, donor_ids: list[int], today: dt.date) -> list[str]:
    """An erasure ends the relationship: no further instalments are collected."""
    rows = session.execute(select(table.c.id, table.c.reference).where(
        table.c.donor_id.in_(donor_ids), table.c.status != "cancelled",
        or_(table.c.end_date.is_(None), table.c.end_date > today))).all()
    if rows:
        session.execute(update(table).where(table.c.id.in_([r.id for r in rows]))
                        .values(status="cancelled", end_date=today))
    return [f"recurring gift {row.reference} cancelled" for row in rows]


def _revoke_mandates(session: Session, table: Table, donor_ids: list[int], today: dt.date) -> list[str]:
    """No direct debit may be collected from a donor who asked to be forgotten."""
    rows = session.execute(select(table.c.id, table.c.mandate_id).where(
        table.c.donor_id.in_(donor_ids), table.c.status == "active")).all()
    if rows:
        session.execute(update(table).where(table.c.id.in_([r.id for r in rows])).values(status="revoked"))
    return [f"mandate {row.mandate_id} revoked" for row in rows]


# Tables kept under restriction after an erasure request, by table name. Declare
# every new table that references donors here or in NOT_FINANCIAL (CONTRIBUTING.md).
FINANCIAL_RECORDS: dict[str, FinancialRecord] = {
    "donations": FinancialRecord(
        label="donation", dates=("received_on",), personal=("stripe_customer_id",),
    ),
    "periodic_agreements": FinancialRecord(
        # Counted from the end of the agreed term even when ended early: the
        # conservative reading of DOMAIN.md 6.3.
        label="periodic gift agreement", dates=("end_date", "start_date"), term=("start_date", "years"),
        running=_agreement_running, blocks_erasure=True, key="number",
    ),
    "mandates": FinancialRecord(
        # A mandate ends with its last collection or its revocation (the row's last change).
        label="mandate", dates=("last_collected_on", "signed_on", "updated_at"), running=_mandate_running,
        key="mandate_id", personal=("iban", "bic", "signed_place"), suppress=(("iban", "iban"),),
        stop=_revoke_mandates,
    ),
    "recurring_gifts": FinancialRecord(
        label="recurring gift", dates=("end_date", "start_date"), running=_recurring_running, key="reference",
        personal=("stripe_customer_id",), stop=_cancel_recurring,
    ),
    # Annual gift statements are the donor's fiscal evidence: kept like the gifts; a
    # purge pseudonymises the name and address they printed (issue 4).
    "statements": FinancialRecord(
        label="annual gift statement", dates=("issued_at",), key="number",
        personal=("donor_name", "salutation", "address_lines", "postcode"),
    ),
    "statement_deliveries": FinancialRecord(label="statement delivery", dates=("sent_at",), personal=("recipient",)),
}

# Tables that reference donors but are not financial records, and what an erasure
# does with their rows:
#   delete  - deleted at once (marketing, contact preferences, sessions)
#   history - kept while the donor is kept (restricted), deleted with a complete erasure
#   merged  - donors.merged_into_id: records merged into the donor are forgotten with it
NOT_FINANCIAL: dict[str, str] = {
    "donors": "merged",
    "donor_tags": "delete",
    "consent_events": "delete",
    "donor_merges": "history",
    # The web application: portal links and signed-in portal sessions end with the erasure.
    "portal_links": "delete",
    "web_sessions": "delete",
}

# Fields of the donor record deleted at once by an erasure request, with what a person calls them.
CONTACT_FIELDS = {"email": "e-mail", "phone": "phone", "notes": "notes"}
# Replaced by pseudonyms, or emptied, when the retention period has passed.
_PURGED_DONOR_FIELDS = ("initials", "first_name", "prefix", "street", "house_number", "house_number_suffix",
                        "postcode", "city", "iban", "email", "phone", "notes", "deceased_on")


@dataclass(frozen=True)
class PurgedDonor:
    id: int
    ref: str


# Called with the session and the donors just pseudonymised, inside purge's
# transaction, after the pseudonyms are written. The ledger part registers the
# anonymisation of the partner in Odoo here. A callback that talks to another
# system should not assume the transaction will commit.
AFTER_PURGE: list[Callable[[Session, list[PurgedDonor]], None]] = []


# --- the policy ----------------------------------------------------------------------

def referencing_tables() -> set[str]:
    return {key.split(".", 1)[0] for key in donor_references()}


def undeclared_tables(financial: Iterable[str] | None = None, not_financial: Iterable[str] | None = None) -> list[str]:
    """Tables referencing donors that neither FINANCIAL_RECORDS nor NOT_FINANCIAL declares."""
    declared = set(FINANCIAL_RECORDS if financial is None else financial)
    declared |= set(NOT_FINANCIAL if not_financial is None else not_financial)
    return sorted(referencing_tables() - declared)


def _check_policy() -> None:
    missing = undeclared_tables()
    if missing:
        raise ConfigurationError(
            "no privacy policy for table " + ", ".join(missing)
            + " (declare it in donors/privacy.py FINANCIAL_RECORDS or NOT_FINANCIAL)"
        )
    unknown = sorted(f"{name}: {action}" for name, action in NOT_FINANCIAL.items()
                     if action not in ("delete", "history", "merged"))
    if unknown:
        raise ConfigurationError("unknown erasure action " + ", ".join(unknown))


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _donor_columns(table: Table) -> list[Column]:
    donors = _table("donors")
    return [fk.parent for fk in table.foreign_keys if fk.references(donors)]


def _financial_tables() -> list[tuple[str, Table, FinancialRecord]]:
    """The declared financial tables that exist in this installation."""
    return [(name, Base.metadata.tables[name], policy) for name, policy in sorted(FINANCIAL_RECORDS.items())
            if name in Base.metadata.tables]


def _chain_ids(session: Session, donor: Donor) -> list[int]:
    """The donor and every record merged into it (a merge re-points older merges, so one level)."""
    merged = session.scalars(select(Donor.id).where(Donor.merged_into_id == donor.id).order_by(Donor.id)).all()
    return [donor.id, *merged]


def _rows(session: Session, table: Table, column: Column, ids: list[int]) -> list[Row]:
    rows: list[Row] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        statement = select(table).where(column.in_(chunk))
        if "id" in table.c:
            statement = statement.order_by(table.c.id)
        rows.extend(session.execute(statement).mappings().all())
    return rows


# --- right of access -------------------------------------------------------------------

def _json_value(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def _row_document(row: Row) -> dict:
    """A row as JSON: amounts as "12.50", dates ISO. Digests of secrets (`*_hash`:
    session keys, sign-in tokens) are left out: they are not the person's data and
    would only weaken the secrets."""
    document = {}
    for name, value in row.items():
        if name.endswith("_hash"):
            continue
        if name.endswith("_cents") and isinstance(value, int):
            document[name[: -len("_cents")]] = cents_to_str(value)
        else:
            document[name] = _json_value(value)
    return document


def export_personal_data(session: Session, ref: str, *, actor: str) -> dict:
    """Everything still held on the donor `ref` stands for (a merged ref: its survivor),
    as a JSON-ready dict: the donor record, records merged into it, tags, consent
    history, every row in every table that references the donor, and the audit trail
    about it. Writes an audit row (what was exported, not the data)."""
    _check_policy()
    donor = resolve_ref(session, ref)
    ids = _chain_ids(session, donor)
    donors_table = _table("donors")
    donor_rows = {row["id"]: row for row in _rows(session, donors_table, donors_table.c.id, ids)}
    refs = [donor_rows[i]["ref"] for i in ids]

    records: dict[str, list[dict]] = {}
    for table_name in sorted(referencing_tables() - {"donors"}):
        table = _table(table_name)
        seen: set = set()
        rows = []
        for column in _donor_columns(table):
            for row in _rows(session, table, column, ids):
                # A row pointing at the donor through two columns is listed once.
                identity = row["id"] if "id" in row else tuple(row.values())
                if identity not in seen:
                    seen.add(identity)
                    rows.append(_row_document(row))
        if rows:
            records[table_name] = rows
    tags = sorted(row["tag"] for row in records.get("donor_tags", []))
    consent = sorted(records.get("consent_events", []), key=lambda r: (r["at"], r["id"]))
    trail = session.execute(
        select(AuditEntry.at, AuditEntry.actor, AuditEntry.action, AuditEntry.entity_ref, AuditEntry.details)
        .where(AuditEntry.entity == "donor", AuditEntry.entity_ref.in_(refs)).order_by(AuditEntry.id)
    ).mappings().all()

    document = {
        "ref": donor.ref,
        "requested_ref": ref,
        "exported_at": utcnow().isoformat(),
        "status": "purged" if donor.purged_at else "restricted" if donor.restricted_at else "active",
        "donor": _row_document(donor_rows[donor.id]),
        "merged_records": [_row_document(donor_rows[i]) for i in ids[1:]],
        "tags": tags,
        "consent_history": consent,
        "records": records,
        "audit_trail": [_row_document(row) for row in trail],
    }
    audit.record(session, actor=actor, action="export_data", entity="donor", entity_ref=donor.ref,
                 details={"requested_ref": ref, "tables": {name: len(rows) for name, rows in records.items()}})
    session.flush()
    return document


# --- erasure ---------------------------------------------------------------------------

@dataclass
class ForgetReport:
    """What an erasure did, in words a person (and the donor) can read."""

    ref: str
    mode: str  # "erased": nothing is left; "restricted": financial records kept under restriction
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    kept_why: str = ""
    last_financial_record: dt.date | None = None
    kept_until: dt.date | None = None
    stopped: list[str] = field(default_factory=list)
    suppressed: list[str] = field(default_factory=list)
    merged_refs: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "ref": self.ref, "mode": self.mode, "deleted": self.deleted, "kept": self.kept, "kept_why": self.kept_why,
            "last_financial_record": _json_value(self.last_financial_record),
            "kept_until": _json_value(self.kept_until), "stopped": self.stopped, "suppressed": self.suppressed,
            "merged_refs": self.merged_refs,
        }


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@dataclass
class _Retention:
    """The fiscal records of one donor and when their retention ends."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    last: dt.date | None = None
    running: list[str] = field(default_factory=list)  # names of rows still running

    def add(self, table_name: str, policy: FinancialRecord, row: Row, today: dt.date) -> None:
        self.counts[table_name] += 1
        if policy.is_running(row, today):
            self.running.append(policy.name(row))
        day = policy.retention_from(row)
        if day is not None and (self.last is None or day > self.last):
            self.last = day

    def until(self, retention_years: int) -> dt.date | None:
        if self.running or self.last is None:
            return None
        return anniversary(self.last, retention_years)


def forget(session: Session, ref: str, actor: str, today: dt.date, *, retention_years: int = 7) -> ForgetReport:
    """Act on an erasure request for the donor `ref` stands for (DOMAIN.md 6.3).

    Refused, with the reason, while the donor has a periodic gift agreement in force."""
    _check_policy()
    donor = resolve_ref(session, ref)
    if donor.purged_at is not None:
        raise DonorInactive(donor.ref, "already purged: nothing personal is left to forget")
    if donor.restricted_at is not None:
        raise DonorInactive(donor.ref, f"already forgotten on {donor.restricted_at.date().isoformat()}: "
                                       "its financial records are kept under restriction")
    ids = _chain_ids(session, donor)
    donor_ref = donor.ref

    blockers = []
    retention = _Retention()
    financial_rows: list[tuple[str, Table, FinancialRecord, list[Row]]] = []
    for name, table, policy in _financial_tables():
        rows = _rows(session, table, table.c[policy.donor_column], ids)
        financial_rows.append((name, table, policy, rows))
        for row in rows:
            if policy.blocks_erasure and policy.is_running(row, today):
                blockers.append(_blocker(policy, row))
    if blockers:
        raise ErasureRefused(donor_ref, "; ".join(blockers))

    donors_table = _table("donors")
    donor_rows = _rows(session, donors_table, donors_table.c.id, ids)
    report = ForgetReport(ref=donor_ref, mode="erased", merged_refs=[r["ref"] for r in donor_rows if r["id"] != donor.id])
    session.flush()

    # Suppression first, while the details are still there.
    contacts: set[tuple[str, str]] = set()
    for row in donor_rows:
        for kind in ("email", "phone", "iban"):
            if row[kind]:
                contacts.add((kind, row[kind]))
    for _, _, policy, rows in financial_rows:
        for column, kind in policy.suppress:
            contacts.update((kind, row[column]) for row in rows if row[column])
    for kind, value in sorted(contacts):
        add_suppression(session, kind, value)
    report.suppressed = sorted({_KIND_WORDS[kind] for kind, _ in contacts}, key=list(_KIND_WORDS.values()).index)

    # Marketing and contact data: deleted at once, whatever else happens.
    deleted_rows: dict[str, int] = {}
    for table_name, action in sorted(NOT_FINANCIAL.items()):
        if action != "delete" or table_name not in Base.metadata.tables:
            continue
        table = _table(table_name)
        for donor_column in _donor_columns(table):
            count = rows_matched(session.execute(delete(table).where(donor_column.in_(ids))))
            if count:
                deleted_rows[table_name] = deleted_rows.get(table_name, 0) + count
    cleared = [label for name, label in CONTACT_FIELDS.items() if any(row[name] for row in donor_rows)]
    session.execute(update(donors_table).where(donors_table.c.id.in_(ids))
                    .values(dict.fromkeys(CONTACT_FIELDS)))
    report.deleted = cleared + [_deleted_words(name, count) for name, count in sorted(deleted_rows.items())]

    has_financial_records = any(rows for _, _, _, rows in financial_rows)
    if has_financial_records:
        report.mode = "restricted"
        for _name, table, policy, rows in financial_rows:
            if policy.stop is not None and rows:
                report.stopped.extend(policy.stop(session, table, ids, today))
        # Re-read: stopping a mandate or a recurring gift changes when its retention runs from.
        for name, table, policy, _ in financial_rows:
            for row in _rows(session, table, table.c[policy.donor_column], ids):
                retention.add(name, policy, row, today)
        session.execute(update(donors_table).where(donors_table.c.id.in_(ids)).values(restricted_at=utcnow()))
        report.kept = _kept_fields(donor_rows, financial_rows) + [
            _plural(count, FINANCIAL_RECORDS[name].label) for name, count in sorted(retention.counts.items())]
        report.kept_why = ("financial records must be kept for the tax administration (art. 52 AWR); "
                           "they are restricted: out of lists, search, exports, statements and mail")
        report.last_financial_record = retention.last
        report.kept_until = retention.until(retention_years)
    else:
        _erase_completely(session, ids)
        report.deleted.append("the donor record itself (" + ", ".join(_kept_fields(donor_rows, financial_rows)) + ")")

    audit.record(session, actor=actor, action="forget", entity="donor", entity_ref=donor_ref, details={
        "mode": report.mode,
        "deleted_rows": deleted_rows,
        "deleted_fields": [name for name, label in CONTACT_FIELDS.items() if label in cleared],
        "kept_records": dict(retention.counts),
        "kept_until": _json_value(report.kept_until),
        "stopped": report.stopped,
        "suppressed_kinds": sorted({kind for kind, _ in contacts}),
        "merged_records": len(ids) - 1,
    })
    session.flush()
    session.expire_all()
    return report


_KIND_WORDS = {"email": "e-mail", "phone": "phone", "iban": "IBAN"}
_TABLE_WORDS = {"donor_tags": "tag", "consent_events": "consent record"}


def _deleted_words(table_name: str, count: int) -> str:
    return _plural(count, _TABLE_WORDS.get(table_name, f"{table_name} row"))


def _kept_fields(donor_rows: list[Row], financial_rows) -> list[str]:
    """What stays on the donor record under restriction, as far as it holds anything."""
    kept = ["name"]
    if any(row[name] for row in donor_rows for name in ("street", "house_number", "postcode", "city")):
        kept.append("address")
    has_iban = any(row["iban"] for row in donor_rows) or any(
        row[column] for _, _, policy, rows in financial_rows for column, kind in policy.suppress if kind == "iban"
        for row in rows)
    if has_iban:
        kept.append("IBAN")
    return kept


def _blocker(policy: FinancialRecord, row: Row) -> str:
    if policy.term is not None and row[policy.term[1]] is not None:
        until = term_end(row[policy.term[0]], row[policy.term[1]])
        term = f"in force until {until.isoformat()}"
    else:
        term = "in force for an indefinite term"
    how = f"; end it first (anbi agreements end {row[policy.key]} --date D --reason R)" if policy.key == "number" else ""
    return f"{policy.name(row)} is {term}{how}"


def _erase_completely(session: Session, ids: list[int]) -> None:
    """Delete the donor, the records merged into it and everything that still refers to them."""
    for table_name, action in sorted(NOT_FINANCIAL.items()):
        if action == "history" and table_name in Base.metadata.tables:
            table = _table(table_name)
            columns = _donor_columns(table)
            session.execute(delete(table).where(or_(*(column.in_(ids) for column in columns))))
    donors_table = _table("donors")
    # Unlink the merged records first: a row may not point at one deleted before it.
    session.execute(update(donors_table).where(donors_table.c.id.in_(ids)).values(merged_into_id=None))
    session.execute(delete(donors_table).where(donors_table.c.id.in_(ids)))
    for obj in [o for o in session.identity_map.values() if isinstance(o, Donor) and o.id in ids]:
        session.expunge(obj)


# --- purge after the retention period -------------------------------------------------------

@dataclass
class PurgeItem:
    ref: str
    last_financial_record: dt.date | None
    retention_ended_on: dt.date | None
    pseudonymised: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"ref": self.ref, "last_financial_record": _json_value(self.last_financial_record),
                "retention_ended_on": _json_value(self.retention_ended_on), "pseudonymised": self.pseudonymised}


def _pseudonym(column: Column) -> str:
    """A random stand-in: derived from nothing, so it cannot be traced back."""
    text = f"PSEUDONYM-{secrets.token_hex(8).upper()}"
    length = getattr(column.type, "length", None)
    return text[:length] if length else text


def due_for_purge(session: Session, today: dt.date, retention_years: int) -> list[PurgeItem]:
    """Restricted donors whose retention period has passed on `today`, with the date it ended."""
    donors_table = _table("donors")
    candidates = session.execute(
        select(Donor.id, Donor.ref).where(Donor.restricted_at.is_not(None), Donor.purged_at.is_(None),
                                          Donor.merged_into_id.is_(None)).order_by(Donor.id)
    ).all()
    if not candidates:
        return []
    survivor_of: dict[int, int] = {row.id: row.id for row in candidates}
    candidate_ids = list(survivor_of)
    for start in range(0, len(candidate_ids), 500):
        chunk = candidate_ids[start:start + 500]
        for merged_id, survivor_id in session.execute(
            select(donors_table.c.id, donors_table.c.merged_into_id).where(donors_table.c.merged_into_id.in_(chunk))
        ):
            survivor_of[merged_id] = survivor_id
    retention: dict[int, _Retention] = defaultdict(_Retention)
    all_ids = list(survivor_of)
    for name, table, policy in _financial_tables():
        column = table.c[policy.donor_column]
        for row in _rows(session, table, column, all_ids):
            retention[survivor_of[row[policy.donor_column]]].add(name, policy, row, today)
    due = []
    for candidate in candidates:
        state = retention[candidate.id]
        if state.running:
            continue
        ended = state.until(retention_years)
        if ended is None or ended <= today:
            due.append(PurgeItem(ref=candidate.ref, last_financial_record=state.last, retention_ended_on=ended))
    return due


def purge(session: Session, today: dt.date, retention_years: int, dry_run: bool = False, *,
          actor: str = "system") -> list[PurgeItem]:
    """Pseudonymise, irreversibly, every restricted donor whose retention period has
    passed: name, address and IBAN on the donor (and the records merged into it),
    and the personal columns of its financial records (IBANs on mandates, ...).
    Amounts and dates stay. A dry run only reports what would be purged."""
    _check_policy()
    items = due_for_purge(session, today, retention_years)
    if dry_run or not items:
        return items
    donors_table = _table("donors")
    purged: list[PurgedDonor] = []
    now = utcnow()
    for item in progress(items, length=len(items), label="Purging"):
        survivor_id = session.execute(select(donors_table.c.id).where(donors_table.c.ref == item.ref)).scalar_one()
        records = session.execute(select(donors_table.c.id, donors_table.c.kind).where(
            or_(donors_table.c.id == survivor_id, donors_table.c.merged_into_id == survivor_id))).all()
        ids = [r.id for r in records]
        for record in records:
            # Each record its own random pseudonym: nothing links it to the person any more.
            pseudonym = _pseudonym(donors_table.c.last_name)
            values: dict[str, Any] = dict.fromkeys(_PURGED_DONOR_FIELDS)
            values.update(last_name=pseudonym if record.kind != "organisation" else None,
                          organisation_name=pseudonym if record.kind == "organisation" else None,
                          sort_name=pseudonym.lower(), search_name=names.search_text(pseudonym), purged_at=now)
            session.execute(update(donors_table).where(donors_table.c.id == record.id).values(values))
        item.pseudonymised["donors"] = len(ids)
        for name, table, policy in _financial_tables():
            if not policy.personal:
                continue
            values = {c: (None if table.c[c].nullable else _pseudonym(table.c[c])) for c in policy.personal}
            count = rows_matched(session.execute(update(table).where(table.c[policy.donor_column].in_(ids)).values(values)))
            if count:
                item.pseudonymised[name] = count
        audit.record(session, actor=actor, action="purge", entity="donor", entity_ref=item.ref, details={
            "retention_ended_on": _json_value(item.retention_ended_on),
            "retention_years": retention_years,
            "pseudonymised": item.pseudonymised,
        })
        purged.append(PurgedDonor(id=survivor_id, ref=item.ref))
    session.flush()
    for callback in AFTER_PURGE:
        callback(session, purged)
    session.flush()
    session.expire_all()
    return items
