"""Sending the donor-portal e-mail over SMTP with the `[smtp]` settings, through the
receipts part's SMTP connection (exports.receipt_delivery), so that both speak to
the mail server the same way.

The mailer is injected into the app (`app.state.mailer`), so tests can use a local
SMTP server or capture messages. Sending happens after the database work is
committed: an e-mail cannot be rolled back."""
from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any


class SmtpMailer:
    def __init__(self, section: Mapping[str, Any], timeout: float = 30.0):
        self.section = dict(section)
        self.timeout = timeout

    def send(self, message: EmailMessage) -> None:
        """Raises ConfigurationError for missing settings and DeliveryError (or
        smtplib's errors) when the server refuses."""
        from exports.receipt_delivery import SmtpConnection, SmtpSettings

        settings = SmtpSettings.from_section(self.section)
        if "From" not in message:
            message["From"] = settings.sender
        with SmtpConnection(settings, timeout=self.timeout) as connection:
            connection.send(message)
