"""`anbi export donors|donations|agreements|grants`: the registers as CSV or XLSX.

An exporter is a list of columns and a query that yields rows; a formatter writes
them. Rows are streamed from the database (`yield_per`, a server-side cursor on
PostgreSQL) straight into the file, so a million donations export in bounded
memory. Amounts are cents until the formatter writes them: `1234.56` in CSV (with
`--dutch`: `;` between fields and a decimal comma, which Dutch Excel opens
correctly), a number with two decimals in XLSX. Text is never a formula: a text
cell that a spreadsheet would run gets a leading `'` in CSV and is a string cell
in XLSX (`anbi.core.spreadsheet`). Donors who are merged away,
restricted after an erasure request or purged are not exported, nor their gifts
and agreements (AVG art. 18: their data may be kept, not used).
"""
from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from anbi.core.clock import FIRST_YEAR, LAST_YEAR
from anbi.core.errors import InvalidInput, Problem
from anbi.core.money import cents_to_str, format_dutch_number
from anbi.core.progress import progress
from anbi.core.spreadsheet import csv_text, xlsx_value
from donors.models import Donor
from donors.names import display_name
from donors.service import active_filter, shown_donor
from fundraising.campaigns import campaign_ids, gifts_of
from fundraising.donations import taken_back_by_donation
from fundraising.errors import CampaignNotFound
from fundraising.models import Campaign, Donation, Fund, PeriodicAgreement

CHUNK = 2000
FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"   # text, date, money, int, decimal, bool


@dataclass(frozen=True)
class Filters:
    year: int | None = None
    campaign: str | None = None
    # The campaign and every campaign below it (`fundraising.campaigns.campaign_ids`),
    # looked up by `export` before the query is built.
    campaign_ids: tuple[int, ...] | None = None

    def in_campaign(self):
        """The donations of the campaign, its sub-campaigns' included."""
        if self.campaign_ids is None:
            raise ValueError("campaign not looked up: call resolved(session, filters) first")
        return gifts_of(list(self.campaign_ids))

    @property
    def first_day(self) -> dt.date:
        assert self.year is not None  # asked only of a year's filters
        return dt.date(self.year, 1, 1)

    @property
    def last_day(self) -> dt.date:
        assert self.year is not None  # asked only of a year's filters
        return dt.date(self.year, 12, 31)


@dataclass(frozen=True)
class Exporter:
    name: str
    columns: tuple[Column, ...]
    query: Callable[[Filters], Select[Any]]  # a select() whose rows feed `row`
    row: Callable[[Any], tuple]
    campaign_filter: bool = True


# --------------------------------------------------------------------------- donors


DONOR_FIELDS = ("ref", "kind", "initials", "first_name", "prefix", "last_name", "organisation_name",
                "organisation_type", "street", "house_number", "house_number_suffix", "postcode", "city", "country",
                "email", "phone", "iban", "language", "deceased_on")


def _donors_query(filters: Filters):
    # Columns, not ORM objects: nothing accumulates in the session while streaming.
    query = select(*(getattr(Donor, name) for name in DONOR_FIELDS)).where(*active_filter())
    gave = select(Donation.id).where(Donation.donor_id == Donor.id, Donation.status.in_(("paid", "partially_refunded", "disputed", "dispute_won")))
    if filters.year is not None:
        gave = gave.where(Donation.received_on.between(filters.first_day, filters.last_day))
    if filters.campaign is not None:
        gave = gave.where(filters.in_campaign())
    if filters.year is not None or filters.campaign is not None:
        query = query.where(exists(gave))
    return query.order_by(Donor.sort_name, Donor.id)


def _donor_row(donor) -> tuple:
    return (
        donor.ref, donor.kind, display_name(donor), donor.initials, donor.first_name, donor.prefix, donor.last_name,
        donor.organisation_name, donor.organisation_type, donor.street, donor.house_number, donor.house_number_suffix,
        donor.postcode, donor.city, donor.country, donor.email, donor.phone, donor.iban, donor.language, donor.deceased_on,
    )


DONORS = Exporter(
    "donors",
    tuple(Column(h, k) for h, k in (
        ("ref", "text"), ("kind", "text"), ("name", "text"), ("initials", "text"), ("first_name", "text"),
        ("prefix", "text"), ("last_name", "text"), ("organisation", "text"), ("organisation_type", "text"),
        ("street", "text"), ("house_number", "text"), ("house_number_suffix", "text"), ("postcode", "text"),
        ("city", "text"), ("country", "text"), ("email", "text"), ("phone", "text"), ("iban", "text"),
        ("language", "text"), ("deceased_on", "date"))),
    _donors_query, _donor_row,
)


# --------------------------------------------------------------------------- donations


def _donations_query(filters: Filters):
    taken = taken_back_by_donation()
    agreement = aliased(PeriodicAgreement)
    query = (
        select(Donation.reference, Donation.source, Donor.ref, Donation.received_on, Donation.amount_cents,
               Donation.currency, Donation.method, Donation.kind, Donation.consideration_cents, Campaign.code,
               Fund.code, agreement.number, Donation.status, func.coalesce(taken.c.taken_back_cents, 0),
               Donation.fee_cents)
        .outerjoin(Donor, Donor.id == Donation.donor_id)
        .outerjoin(Campaign, Campaign.id == Donation.campaign_id)
        .outerjoin(Fund, Fund.id == Donation.fund_id)
        .outerjoin(agreement, agreement.id == Donation.agreement_id)
        .outerjoin(taken, taken.c.donation_id == Donation.id)
        .where(shown_donor(Donation.donor_id))
    )
    if filters.year is not None:
        query = query.where(Donation.received_on.between(filters.first_day, filters.last_day))
    if filters.campaign is not None:
        query = query.where(filters.in_campaign())
    return query.order_by(Donation.received_on, Donation.id)


DONATIONS = Exporter(
    "donations",
    tuple(Column(h, k) for h, k in (
        ("reference", "text"), ("source", "text"), ("donor_ref", "text"), ("date", "date"), ("amount", "money"),
        ("currency", "text"), ("method", "text"), ("kind", "text"), ("consideration", "money"), ("campaign", "text"),
        ("fund", "text"), ("agreement", "text"), ("status", "text"), ("refunded", "money"), ("fee", "money"))),
    _donations_query, tuple,
)


# --------------------------------------------------------------------------- agreements


def _agreements_query(filters: Filters):
    query = (select(PeriodicAgreement.number, Donor.ref, PeriodicAgreement.annual_amount_cents, PeriodicAgreement.currency,
                    PeriodicAgreement.start_date, PeriodicAgreement.years, PeriodicAgreement.signed_on,
                    PeriodicAgreement.end_date, PeriodicAgreement.end_reason, PeriodicAgreement.status)
             .join(Donor, Donor.id == PeriodicAgreement.donor_id).where(*active_filter()))
    if filters.year is not None:
        query = query.where(PeriodicAgreement.start_date <= filters.last_day,
                            or_(PeriodicAgreement.end_date.is_(None), PeriodicAgreement.end_date >= filters.first_day))
    return query.order_by(PeriodicAgreement.number)


AGREEMENTS = Exporter(
    "agreements",
    tuple(Column(h, k) for h, k in (
        ("number", "text"), ("donor_ref", "text"), ("annual_amount", "money"), ("currency", "text"),
        ("start_date", "date"), ("years", "int"), ("signed_on", "date"), ("end_date", "date"),
        ("end_reason", "text"), ("status", "text"))),
    _agreements_query, tuple, campaign_filter=False,
)


# --------------------------------------------------------------------------- grants


def _grants_query(filters: Filters):
    from subsidies.models import Funder, Grant

    query = (select(Grant.reference, Grant.title, Funder.name, Funder.type, Grant.kind, Grant.start_on, Grant.end_on,
                    Grant.awarded_cents, Grant.currency, Grant.funding_rate, Grant.status, Grant.settled_on,
                    Grant.settled_cents, Fund.code)
             .join(Funder, Funder.id == Grant.funder_id).outerjoin(Fund, Fund.id == Grant.fund_id))
    if filters.year is not None:
        query = query.where(Grant.start_on <= filters.last_day, Grant.end_on >= filters.first_day)
    return query.order_by(Grant.reference)


GRANTS = Exporter(
    "grants",
    tuple(Column(h, k) for h, k in (
        ("reference", "text"), ("title", "text"), ("funder", "text"), ("funder_type", "text"), ("kind", "text"),
        ("start", "date"), ("end", "date"), ("awarded", "money"), ("currency", "text"), ("funding_rate", "decimal"),
        ("status", "text"), ("settled_on", "date"), ("settled", "money"), ("fund", "text"))),
    _grants_query, tuple, campaign_filter=False,
)

EXPORTERS = {e.name: e for e in (DONORS, DONATIONS, AGREEMENTS, GRANTS)}


# --------------------------------------------------------------------------- running


def rows(session: Session, exporter: Exporter, filters: Filters) -> Iterator[tuple]:
    """The exporter's rows, streamed in chunks from the database."""
    query = exporter.query(filters)
    for row in session.execute(query.execution_options(yield_per=CHUNK)):
        yield exporter.row(row)


def count(session: Session, exporter: Exporter, filters: Filters) -> int:
    return session.scalar(select(func.count()).select_from(exporter.query(filters).order_by(None).subquery())) or 0


def check(exporter_name: str, fmt: str, filters: Filters, session: Session) -> Exporter:
    problems = []
    if exporter_name not in EXPORTERS:
        problems.append(Problem(None, "what", f"{exporter_name!r} is not one of {', '.join(EXPORTERS)}"))
    if fmt not in FORMATS:
        problems.append(Problem(None, "--format", f"{fmt!r} is not one of csv, xlsx"))
    exporter = EXPORTERS.get(exporter_name)
    if exporter and filters.campaign is not None:
        if not exporter.campaign_filter:
            problems.append(Problem(None, "--campaign", f"applies to donors and donations, not {exporter.name}"))
        else:
            try:
                campaign_ids(session, filters.campaign)
            except CampaignNotFound as exc:
                problems.append(Problem(None, "--campaign", str(exc)))
    if filters.year is not None and not FIRST_YEAR <= filters.year <= LAST_YEAR:
        problems.append(Problem(None, "--year", f"{filters.year} is not a year"))
    if problems:
        raise InvalidInput(problems, f"anbi export {exporter_name}")
    assert exporter is not None  # else a problem above
    return exporter


def resolved(session: Session, filters: Filters) -> Filters:
    """The filters with the campaign's tree looked up: `--campaign` exports the
    campaign's gifts and its sub-campaigns', as its report counts them."""
    if filters.campaign is None:
        return filters
    return replace(filters, campaign_ids=tuple(campaign_ids(session, filters.campaign)))


def export(session: Session, exporter_name: str, fmt: str, out: Path, *, filters: Filters, dutch: bool = False) -> int:
    """Write the file (atomically: a partial file never has the real name). Returns the row count."""
    exporter = check(exporter_name, fmt, filters, session)
    filters = resolved(session, filters)
    if dutch and fmt != "csv":
        raise InvalidInput([Problem(None, "--dutch", "applies to CSV only (XLSX stores numbers, not text)")])
    total = count(session, exporter, filters)
    stream = progress(rows(session, exporter, filters), length=total, label=f"Exporting {exporter.name}")
    partial = out.with_name(out.name + ".partial")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        written = (write_csv(partial, exporter.columns, stream, dutch=dutch) if fmt == "csv"
                   else write_xlsx(partial, exporter.columns, stream, title=exporter.name))
        os.replace(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInput([Problem(None, "--out", f"cannot write {out}: {exc.strerror}")]) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return written


# --------------------------------------------------------------------------- formatters


def _text(value, kind: str, dutch: bool) -> str:
    if value is None:
        return ""
    if kind == "money":
        return format_dutch_number(value) if dutch else cents_to_str(value)
    if kind == "date":
        return value.isoformat()
    if kind == "decimal":
        text = format(Decimal(value), "f")
        return text.replace(".", ",") if dutch else text
    if kind == "bool":
        return ("ja" if value else "nee") if dutch else ("yes" if value else "no")
    return csv_text(str(value)) if kind == "text" else str(value)


def write_csv(path: Path, columns, items, *, dutch: bool) -> int:
    """CSV in UTF-8; Dutch: `;`, decimal comma and a byte-order mark (Excel reads UTF-8 then)."""
    written = 0
    with open(path, "w", encoding="utf-8-sig" if dutch else "utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";" if dutch else ",")
        writer.writerow([c.header for c in columns])
        kinds = [c.kind for c in columns]
        for row in items:
            writer.writerow([_text(value, kind, dutch) for value, kind in zip(row, kinds)])
            written += 1
    return written


def write_xlsx(path: Path, columns, items, *, title: str) -> int:
    """XLSX in openpyxl's write-only mode: rows go to disk as they come."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    kinds = [c.kind for c in columns]
    written = 0
    for row in items:
        cells: list[Any] = []
        for value, kind in zip(row, kinds):
            if value is None:
                cells.append(None)
            elif kind == "money":
                cell = WriteOnlyCell(sheet)
                cell.value = Decimal(value).scaleb(-2)  # as WriteOnlyCell(value=) would: its stub leaves Decimal out
                cell.number_format = "0.00"
                cells.append(cell)
            elif kind == "date":
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "yyyy-mm-dd"
                cells.append(cell)
            elif kind == "decimal":
                cells.append(Decimal(value))
            else:
                cells.append(xlsx_value(sheet, value))
        sheet.append(cells)
        written += 1
    workbook.save(path)
    return written
