"""`anbi receipts send` against a real SMTP server on 127.0.0.1 (aiosmtpd), and
`anbi receipts print` (issue 4 item 5)."""
from __future__ import annotations

import email
import email.policy
import hashlib
import io
import json
import socket

import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader
from sqlalchemy import func, select

from fundraising.statements.models import Statement, StatementDelivery
from tests.exports.receipt_support import ORG_ENV, manifest
from tests.factories import make_donation, make_donor


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.refuse_after: int | None = None
        self.port = 0  # set once its server listens

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_after is not None and len(self.messages) >= self.refuse_after:
            return "554 mailbox unavailable"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


@pytest.fixture
def smtp_server():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    yield inbox
    controller.stop()


def smtp_env(server) -> dict[str, str]:
    return {**ORG_ENV, "ANBI_SMTP_HOST": "127.0.0.1", "ANBI_SMTP_PORT": str(server.port), "ANBI_SMTP_TLS": "false",
            "ANBI_SMTP_SENDER": "giften@voorbeeld.example"}


@pytest.fixture
def issued(cli, session, tmp_path):
    """Four statements for 2025: two donors with e-mail, two without (postcodes 9711 and 1017)."""
    for ref, email_address, postcode, amount in (
        ("MAIL1", "een@example.org", "3511 AB", "10.00"),
        ("POST1", None, "9711 AA", "20.00"),
        ("MAIL2", "twee@example.org", "1234 AB", "30.00"),
        ("POST2", None, "1017 GC", "40.00"),
    ):
        donor = make_donor(session, ref=ref, email=email_address, postcode=postcode)
        make_donation(session, donor=donor, amount=amount, date="2025-04-01")
    session.commit()
    out = tmp_path / "receipts"
    result = cli("receipts", "issue", "--year", "2025", "--out", str(out), env=ORG_ENV)
    assert result.exit_code == 0, result.stderr
    return {row["donor_ref"]: row | {"path": out / row["file"]} for row in manifest(out)}


def test_send_mails_each_statement_with_its_pdf_and_records_it(cli, session, issued, smtp_server):
    result = cli("receipts", "send", "--year", "2025", env=smtp_env(smtp_server))
    assert result.exit_code == 0, result.stderr
    assert "Sent 2 statements for 2025 (0 sent before)." in result.stdout
    assert "2 donors have no e-mail address" in result.stdout
    assert "POST1  2025-000002" in result.stdout and "POST2  2025-000004" in result.stdout

    assert len(smtp_server.messages) == 2
    by_recipient = {tuple(rcpt): message for rcpt, message in smtp_server.messages}
    message = by_recipient[("een@example.org",)]
    assert message["To"] == "een@example.org"
    assert message["From"] == "giften@voorbeeld.example"
    assert message["Subject"] == "Jaaroverzicht giften 2025 – Stichting Voorbeeld"
    assert "overzicht 2025-000001" in message.get_body(("plain",)).get_content()
    attachments = list(message.iter_attachments())
    assert len(attachments) == 1
    assert attachments[0].get_content_type() == "application/pdf"
    assert attachments[0].get_filename() == issued["MAIL1"]["file"]
    pdf = attachments[0].get_content()
    assert pdf == issued["MAIL1"]["path"].read_bytes()
    assert hashlib.sha256(pdf).hexdigest() == issued["MAIL1"]["sha256"]

    deliveries = session.execute(select(Statement.number, StatementDelivery.channel, StatementDelivery.recipient)
                                 .join(Statement).order_by(Statement.number)).all()
    assert [tuple(d) for d in deliveries] == [("2025-000001", "email", "een@example.org"),
                                              ("2025-000003", "email", "twee@example.org")]


def test_a_rerun_sends_nothing_twice(cli, session, issued, smtp_server):
    assert cli("receipts", "send", "--year", "2025", env=smtp_env(smtp_server)).exit_code == 0
    result = cli("receipts", "send", "--year", "2025", env=smtp_env(smtp_server))
    assert result.exit_code == 0
    assert "Sent 0 statements for 2025 (2 sent before)." in result.stdout
    assert len(smtp_server.messages) == 2
    assert session.scalar(select(func.count()).select_from(StatementDelivery)) == 2


def test_dry_run_sends_and_records_nothing(cli, session, issued, smtp_server):
    result = cli("receipts", "send", "--year", "2025", "--dry-run", "--json", env=smtp_env(smtp_server))
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert [(s["number"], s["email"]) for s in report["sent"]] == [("2025-000001", "een@example.org"),
                                                                   ("2025-000003", "twee@example.org")]
    assert report["without_email"] == [{"donor_ref": "POST1", "number": "2025-000002"},
                                       {"donor_ref": "POST2", "number": "2025-000004"}]
    assert smtp_server.messages == []
    assert session.scalar(select(func.count()).select_from(StatementDelivery)) == 0


def test_a_refused_message_stops_the_run_and_keeps_what_was_sent(cli, session, issued, smtp_server):
    smtp_server.refuse_after = 1
    result = cli("receipts", "send", "--year", "2025", env=smtp_env(smtp_server))
    assert result.exit_code == 1
    assert "statement 2025-000003 to twee@example.org: the SMTP server refused it" in result.stderr
    assert session.scalar(select(func.count()).select_from(StatementDelivery)) == 1
    smtp_server.refuse_after = None
    assert "Sent 1 statement for 2025 (1 sent before)." in cli("receipts", "send", "--year", "2025", env=smtp_env(smtp_server)).stdout
    assert [rcpt for rcpt, _ in smtp_server.messages] == [["een@example.org"], ["twee@example.org"]]


def test_send_without_smtp_settings_is_a_clear_error(cli, issued):
    result = cli("receipts", "send", "--year", "2025", env=ORG_ENV)
    assert result.exit_code == 1
    assert "[smtp] host is required; sender is required" in result.stderr


def test_unreachable_smtp_server_is_a_clear_error(cli, session, issued):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**ORG_ENV, "ANBI_SMTP_HOST": "127.0.0.1", "ANBI_SMTP_PORT": str(port), "ANBI_SMTP_SENDER": "a@b.example"}
    result = cli("receipts", "send", "--year", "2025", env=env)
    assert result.exit_code == 1
    assert f"cannot connect to SMTP server 127.0.0.1:{port}" in result.stderr
    assert session.scalar(select(func.count()).select_from(StatementDelivery)) == 0


def test_print_merges_statements_of_donors_without_email_sorted_by_postcode(cli, session, issued, tmp_path):
    out = tmp_path / "print" / "post.pdf"
    result = cli("receipts", "print", "--year", "2025", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert "2 statements, 2 pages, sorted by postcode" in result.stdout
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    pages = [page.extract_text() for page in reader.pages]
    # POST2 (1017 GC) before POST1 (9711 AA); the donors with e-mail are not in it.
    assert "Overzichtnummer 2025-000004" in pages[0] and "1017 GC" in pages[0]
    assert "Overzichtnummer 2025-000002" in pages[1] and "9711 AA" in pages[1]
    assert not any("2025-000001" in p or "2025-000003" in p for p in pages)
    recorded = session.execute(select(Statement.number, StatementDelivery.channel).join(Statement).order_by(Statement.number)).all()
    assert [tuple(r) for r in recorded] == [("2025-000002", "print"), ("2025-000004", "print")]

    again = cli("receipts", "print", "--year", "2025", "--out", str(tmp_path / "again.pdf"))
    assert "Nothing to print for 2025" in again.stdout
    assert not (tmp_path / "again.pdf").exists()
    reprint = cli("receipts", "print", "--year", "2025", "--out", str(tmp_path / "reprint.pdf"), "--reprint", "--duplex", "--json")
    document = json.loads(reprint.stdout)
    assert [s["number"] for s in document["statements"]] == ["2025-000004", "2025-000002"]
    assert document["pages"] == 4  # each one-page statement followed by a blank back side
    assert session.scalar(select(func.count()).select_from(StatementDelivery)) == 2
