"""Delivering issued statements: by e-mail (`anbi receipts send`) and on paper
(`anbi receipts print`).

Both work on the current statements of a year and render each PDF again from its
snapshot — deterministic rendering gives the very bytes that were issued, which is
checked against the snapshot's SHA-256 before anything leaves the building. Each
sending is recorded in `statement_deliveries` (one per statement and channel), so a
re-run sends nothing twice.

An e-mail cannot be rolled back: each message is recorded, in its own transaction,
right after the SMTP server accepted it. A crash between the two could send one
message twice on the next run; never does a recorded statement go unsent.
"""
from __future__ import annotations

import hashlib
import io
import smtplib
import ssl
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from anbi.core.clock import utcnow
from anbi.core.errors import AnbiError, ConfigurationError
from anbi.core.progress import progress
from anbi.core.settings import SmtpSection
from donors.models import Donor
from exports.statements.pdf import render_statement
from exports.statements.issue import Snapshot, prepare_output, snapshot_from_row, write_atomically
from fundraising.statements.models import Statement, StatementDelivery, StatementLine

UnitOfWork = Callable[[], AbstractContextManager[Session]]
CHUNK = 200

SUBJECT = {
    "nl": "Jaaroverzicht giften {year} – {organisation}",
    "en": "Annual statement of gifts {year} – {organisation}",
}
BODY = {
    "nl": (
        "{salutation},\n\n"
        "Hartelijk dank voor uw steun in {year}. In de bijlage vindt u het jaaroverzicht van uw giften "
        "(overzicht {number}), dat u kunt gebruiken bij uw aangifte inkomstenbelasting.\n\n"
        "Met vriendelijke groet,\n{organisation}\n"
    ),
    "en": (
        "{salutation},\n\n"
        "Thank you for your support in {year}. Attached is the annual statement of your gifts "
        "(statement {number}), which you can use for your Dutch income tax return.\n\n"
        "Kind regards,\n{organisation}\n"
    ),
}


class DeliveryError(AnbiError):
    """A statement could not be delivered; the message says which and why."""


# --- SMTP ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: str
    user: str
    password: str = field(repr=False)   # a secret: never in a log line or a traceback
    sender: str

    @classmethod
    def from_section(cls, section: SmtpSection | Mapping[str, Any]) -> SmtpSettings:
        """What sending needs of `[smtp]` (checked when the settings were read): every
        missing value named at once."""
        smtp, problems, missing = SmtpSection.needing(section, "host", "sender")
        needed = {"host": "host is required", "sender": "sender is required (the From address)"}
        if missing:
            problems.insert(0, "[smtp] " + "; ".join(needed[key] for key in missing))
        if problems:
            raise ConfigurationError("; ".join(problems))
        return cls(smtp.host, smtp.port_or_default, smtp.tls, smtp.user, smtp.password, smtp.sender)


class SmtpConnection:
    """One SMTP session for a whole run (connect, TLS, login once)."""

    def __init__(self, settings: SmtpSettings, timeout: float = 30.0):
        self.settings = settings
        self.timeout = timeout
        self.client: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpConnection:
        s = self.settings
        try:
            if s.tls == "ssl":
                self.client = smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout, context=ssl.create_default_context())
            else:
                self.client = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
            if s.tls == "starttls":
                self.client.starttls(context=ssl.create_default_context())
            if s.user:
                self.client.login(s.user, s.password)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"cannot connect to SMTP server {s.host}:{s.port}: {exc}") from None
        return self

    def send(self, message: EmailMessage) -> None:
        assert self.client is not None
        self.client.send_message(message)

    def __exit__(self, *exc_info) -> None:
        if self.client is not None:
            with suppress(OSError, smtplib.SMTPException):
                self.client.quit()


# --- what is to be delivered -------------------------------------------------------------


@dataclass(frozen=True)
class Deliverable:
    statement_id: int
    number: str
    donor_id: int
    donor_ref: str
    email: str | None
    postcode: str | None
    pdf_sha256: str
    snapshot: Snapshot


def _deliverables(session: Session, year: int, channel: str, *, with_email: bool | None, include_delivered: bool = False) -> Iterator[Deliverable]:
    """Current statements of `year` not yet delivered on `channel`, of donors who are
    neither merged away, restricted nor purged, streamed a chunk at a time."""
    delivered = exists().where(StatementDelivery.statement_id == Statement.id, StatementDelivery.channel == channel)
    query = (
        select(Statement, Donor.email)
        .join(Donor, Donor.id == Statement.donor_id)
        .where(Statement.year == year, Statement.status == "current", Donor.merged_into_id.is_(None),
               Donor.restricted_at.is_(None), Donor.purged_at.is_(None))
        .order_by(Statement.sequence)
    )
    if not include_delivered:
        query = query.where(~delivered)
    if with_email is True:
        query = query.where(Donor.email.is_not(None), Donor.email != "")
    elif with_email is False:
        query = query.where((Donor.email.is_(None)) | (Donor.email == ""))
    last = 0
    while True:
        rows = session.execute(query.where(Statement.sequence > last).limit(CHUNK)).all()
        if not rows:
            return
        lines: dict[int, list[StatementLine]] = defaultdict(list)
        for line in session.scalars(select(StatementLine).where(StatementLine.statement_id.in_([r[0].id for r in rows])).order_by(StatementLine.position)):
            lines[line.statement_id].append(line)
        for statement, email in rows:
            yield Deliverable(statement.id, statement.number, statement.donor_id, statement.donor_ref, email,
                              statement.postcode, statement.pdf_sha256, snapshot_from_row(statement, lines[statement.id]))
        last = rows[-1][0].sequence


def _issued_pdf(item: Deliverable) -> bytes:
    """The statement's PDF, rendered again and proven identical to the one issued."""
    pdf = render_statement(item.snapshot.view())
    if hashlib.sha256(pdf).hexdigest() != item.pdf_sha256:
        raise DeliveryError(
            f"statement {item.number} no longer renders to the PDF that was issued (SHA-256 differs); "
            "nothing was sent for it — check the reportlab version"
        )
    return pdf


def build_message(item: Deliverable, pdf: bytes, sender: str) -> EmailMessage:
    snapshot = item.snapshot
    language = snapshot.language if snapshot.language in SUBJECT else "nl"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = item.email
    message["Subject"] = SUBJECT[language].format(year=snapshot.year, organisation=snapshot.organisation.name)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=snapshot.number, domain=sender.rpartition("@")[2] or None)
    message.set_content(BODY[language].format(
        salutation=snapshot.salutation, year=snapshot.year, number=snapshot.number,
        organisation=snapshot.organisation.name,
    ))
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=snapshot.file_name)
    return message


# --- e-mail ------------------------------------------------------------------------------


@dataclass
class SendReport:
    year: int
    dry_run: bool
    sent: list[tuple[str, str, str]] = field(default_factory=list)  # (number, donor_ref, e-mail)
    without_email: list[tuple[str, str]] = field(default_factory=list)  # (donor_ref, number)
    already_sent: int = 0

    def as_dict(self) -> dict:
        return {
            "year": self.year,
            "dry_run": self.dry_run,
            "sent": [{"number": n, "donor_ref": r, "email": e} for n, r, e in self.sent],
            "already_sent": self.already_sent,
            "without_email": [{"donor_ref": r, "number": n} for r, n in self.without_email],
        }


def send_statements(
    unit_of_work: UnitOfWork,
    *,
    year: int,
    smtp: Mapping[str, Any],
    dry_run: bool = False,
    connect: Callable[[SmtpSettings], AbstractContextManager[SmtpConnection]] = SmtpConnection,
) -> SendReport:
    """E-mail every current statement of `year` not sent yet to its donor's address."""
    report = SendReport(year=year, dry_run=dry_run)
    settings = None if dry_run else SmtpSettings.from_section(smtp)
    with unit_of_work() as session:
        report.already_sent = session.scalar(
            select(func.count()).select_from(StatementDelivery).join(Statement, Statement.id == StatementDelivery.statement_id)
            .where(Statement.year == year, Statement.status == "current", StatementDelivery.channel == "email")
        ) or 0
        report.without_email = [(d.donor_ref, d.number) for d in _deliverables(session, year, "email", with_email=False, include_delivered=True)]
        to_send = list(_ids(_deliverables(session, year, "email", with_email=True)))
    if dry_run:
        report.sent = [(number, ref, email) for _id, number, ref, email in to_send]
        return report
    assert settings is not None  # read above, when it is not a dry run
    sender = settings.sender
    with connect(settings) as connection:
        for statement_id, _number, _ref, _email in progress(to_send, length=len(to_send), label=f"E-mailing {year}"):
            with unit_of_work() as session:
                item = _one(session, statement_id)
                if item is None:
                    continue  # replaced or sent meanwhile
                assert item.email is not None  # _one gives only a statement whose donor has an address
                message = build_message(item, _issued_pdf(item), sender)
            try:
                connection.send(message)
            except (OSError, smtplib.SMTPException) as exc:
                raise DeliveryError(f"statement {item.number} to {item.email}: the SMTP server refused it ({exc}); "
                                    f"{len(report.sent)} sent before it are recorded") from None
            with unit_of_work() as session:
                session.add(StatementDelivery(statement_id=item.statement_id, donor_id=item.donor_id, channel="email",
                                              recipient=item.email, sent_at=utcnow()))
            report.sent.append((item.number, item.donor_ref, item.email))
    return report


def _ids(items: Iterator[Deliverable]) -> Iterator[tuple[int, str, str, str]]:
    # Only ids and addresses are held for the whole run; each PDF is rendered when sent.
    for item in items:
        assert item.email is not None  # chosen with_email=True
        yield item.statement_id, item.number, item.donor_ref, item.email


def _one(session: Session, statement_id: int) -> Deliverable | None:
    delivered = exists().where(StatementDelivery.statement_id == Statement.id, StatementDelivery.channel == "email")
    row = session.execute(
        select(Statement, Donor.email).join(Donor, Donor.id == Statement.donor_id)
        .where(Statement.id == statement_id, Statement.status == "current", ~delivered)
    ).first()
    if row is None or not row[1]:
        return None
    statement, email = row
    lines = list(session.scalars(select(StatementLine).where(StatementLine.statement_id == statement.id).order_by(StatementLine.position)))
    return Deliverable(statement.id, statement.number, statement.donor_id, statement.donor_ref, email,
                       statement.postcode, statement.pdf_sha256, snapshot_from_row(statement, lines))


# --- print -------------------------------------------------------------------------------


@dataclass
class PrintReport:
    year: int
    out: Path
    statements: list[tuple[str, str, str | None]] = field(default_factory=list)  # (number, donor_ref, postcode)
    pages: int = 0
    written: bool = False

    def as_dict(self) -> dict:
        return {
            "year": self.year,
            "out": str(self.out),
            "written": self.written,
            "pages": self.pages,
            "statements": [{"number": n, "donor_ref": r, "postcode": p} for n, r, p in self.statements],
        }


def _postcode_key(postcode: str | None) -> tuple[int, str]:
    """Sort by postcode as the post sorts (digits, then letters); none last."""
    if not postcode:
        return (1, "")
    return (0, postcode.replace(" ", "").upper())


def print_statements(
    unit_of_work: UnitOfWork, *, year: int, out: Path | str, reprint: bool = False, duplex: bool = False
) -> PrintReport:
    """One print-ready PDF with the current statements of donors without e-mail,
    sorted by postcode; each is recorded as printed once the file is written."""
    from pypdf import PdfReader, PdfWriter

    out = Path(out)
    prepare_output(out.parent if str(out.parent) else Path("."))
    report = PrintReport(year=year, out=out)
    with unit_of_work() as session:
        items = list(_deliverables(session, year, "print", with_email=False, include_delivered=reprint))
        items.sort(key=lambda d: (_postcode_key(d.postcode), d.number))
        if not items:
            return report  # nothing to print: no empty file
        writer = PdfWriter()
        for item in progress(items, length=len(items), label=f"Printing {year}"):
            pages_before = len(writer.pages)
            writer.append(PdfReader(io.BytesIO(_issued_pdf(item))))
            if duplex and (len(writer.pages) - pages_before) % 2:
                # Each letter starts on a new sheet when printed on both sides.
                writer.add_blank_page()
            report.statements.append((item.number, item.donor_ref, item.postcode))
        writer.add_metadata({"/Title": f"Statements {year} for print", "/Producer": "anbi-crm"})
        buffer = io.BytesIO()
        writer.write(buffer)
        report.pages = len(writer.pages)
        write_atomically(out, buffer.getvalue())
        report.written = True
        # Recorded after the file exists: a failure before this leaves them unprinted.
        now = utcnow()
        for item in items:
            if reprint and session.scalar(select(StatementDelivery.id).where(
                    StatementDelivery.statement_id == item.statement_id, StatementDelivery.channel == "print")):
                continue
            session.add(StatementDelivery(statement_id=item.statement_id, donor_id=item.donor_id, channel="print",
                                          recipient=" / ".join(item.snapshot.address_lines), sent_at=now))
    return report
