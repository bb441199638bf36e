"""Sending the donor-portal e-mail over SMTP, with the `[smtp]` settings
(host, port, tls false/starttls/ssl, user, password, sender).

The mailer is injected into the app (`app.state.mailer`), so tests can use a local
SMTP server or capture messages. Sending happens after the database work is
committed: an e-mail cannot be rolled back."""
from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from anbi.core.errors import ConfigurationError

TLS_MODES = ("false", "starttls", "ssl")


class SmtpMailer:
    def __init__(self, section: Mapping[str, Any], timeout: float = 30.0):
        self.section = dict(section)
        self.timeout = timeout

    @property
    def sender(self) -> str:
        sender = str(self.section.get("sender") or "").strip()
        if not sender:
            raise ConfigurationError("no [smtp] sender in anbi.toml: the address portal e-mails come from")
        return sender

    def send(self, message: EmailMessage) -> None:
        host = str(self.section.get("host") or "").strip()
        if not host:
            raise ConfigurationError("no [smtp] host in anbi.toml: cannot send e-mail")
        port = int(self.section.get("port") or 25)
        tls = str(self.section.get("tls", "false")).strip().lower()
        if tls not in TLS_MODES:
            raise ConfigurationError(f"[smtp] tls must be one of {', '.join(TLS_MODES)}, not {tls!r}")
        if "From" not in message:
            message["From"] = self.sender
        context = ssl.create_default_context()
        if tls == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=self.timeout)
        with client:
            if tls == "starttls":
                client.starttls(context=context)
            user = str(self.section.get("user") or "")
            if user:
                client.login(user, str(self.section.get("password") or ""))
            client.send_message(message)
