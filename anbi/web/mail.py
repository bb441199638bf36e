"""Sending the donor-portal e-mail over SMTP with the `[smtp]` settings, through the
receipts part's SMTP connection (exports.statements.delivery), so that both speak to
the mail server the same way.

The mailer is injected into the app (`app.state.mailer`), so tests can use a local
SMTP server or capture messages. Sending happens after the database work is
committed: an e-mail cannot be rolled back."""
from __future__ import annotations

from collections.abc import Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from anbi.core.settings import SmtpSection


def complete_headers(message: EmailMessage, *, sender: str, sender_name: str | None) -> EmailMessage:
    """Fill in what every message must carry and the caller left out: `From` (the
    charity's name with the `[smtp] sender` address), `Date` (RFC 5322 requires it)
    and a `Message-ID` in the sender's domain (mail servers and spam filters distrust
    a message without them)."""
    if "From" not in message:
        local, _, domain = sender.rpartition("@")
        message["From"] = Address(display_name=sender_name or "", username=local, domain=domain) if local else sender
    if "Date" not in message:
        message["Date"] = formatdate(usegmt=True)
    if "Message-ID" not in message:
        message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    return message


class SmtpMailer:
    """`sender_name`: shown with the sender's address (the charity's name, from
    `[organisation] name`)."""

    def __init__(self, section: SmtpSection | Mapping[str, Any], timeout: float = 30.0, *, sender_name: str | None = None):
        self.section = SmtpSection.of(section)
        self.timeout = timeout
        self.sender_name = sender_name

    def send(self, message: EmailMessage) -> None:
        """Raises ConfigurationError for missing settings and DeliveryError (or
        smtplib's errors) when the server refuses."""
        from exports.statements.delivery import SmtpConnection, SmtpSettings

        settings = SmtpSettings.from_section(self.section)
        complete_headers(message, sender=settings.sender, sender_name=self.sender_name)
        with SmtpConnection(settings, timeout=self.timeout) as connection:
            connection.send(message)
