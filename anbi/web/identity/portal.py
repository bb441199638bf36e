"""The donor portal's way in: a single-use link, sent to the e-mail address we know
the donor by, that expires after 30 minutes.

Whether or not the address is known, the page answers the same; requests are
throttled per address and per client so the portal cannot be used to flood a
mailbox. Tokens are 256 random bits; only their SHA-256 digest is stored.

Services take a Session and may flush(), never commit()."""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from anbi.core.clock import utcnow
from anbi.core.db import rows_matched
from anbi.core.errors import AnbiError
from anbi.web.identity.models import PortalLink
from anbi.web.identity.users import Throttled, check_throttle, digest, record_attempt
from donors import names
from donors.models import Donor
from donors.service import active_filter

LINK_LIFETIME = dt.timedelta(minutes=30)
SESSION_LIFETIME = dt.timedelta(hours=1)
SESSION_IDLE = dt.timedelta(minutes=30)
# Links asked for per address and per client within the throttle window.
REQUESTS_PER_EMAIL = 3
REQUESTS_PER_CLIENT = 10
# A shared address (a couple) may belong to a few donors; more is not a person.
MAX_DONORS_PER_ADDRESS = 5


class LinkRefused(AnbiError):
    """The link cannot be used: `reason` is expired, used or unknown."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"portal link {reason}")


@dataclass(frozen=True)
class IssuedLink:
    token: str
    donor_id: int
    donor_ref: str
    email: str
    name: str
    language: str


def request_links(session: Session, email: str, *, client: str, now: dt.datetime | None = None) -> list[IssuedLink]:
    """New links for the active donors with this e-mail address; none when the
    address is unknown, malformed or asked too often. The caller answers the same
    in every case."""
    now = now or utcnow()
    address = (email or "").strip().lower()[:254]
    try:
        check_throttle(session, purpose="portal", email=address, client=client, now=now,
                       per_email=REQUESTS_PER_EMAIL, per_client=REQUESTS_PER_CLIENT)
    except Throttled:
        return []
    # Every request counts towards the limit, known address or not.
    record_attempt(session, purpose="portal", email=address, client=client, succeeded=False, now=now)
    if "@" not in address:
        return []
    donors = session.scalars(
        select(Donor).where(func.lower(Donor.email) == address, *active_filter())
        .order_by(Donor.id).limit(MAX_DONORS_PER_ADDRESS)
    ).all()
    links = []
    for donor in donors:
        token = secrets.token_urlsafe(32)
        session.add(PortalLink(token_hash=digest(token), donor_id=donor.id, created_at=now, expires_at=now + LINK_LIFETIME))
        links.append(IssuedLink(token, donor.id, donor.ref, donor.email or address, names.display_name(donor),
                                donor.language or "nl"))
    session.flush()
    return links


def redeem_link(session: Session, token: str, *, now: dt.datetime | None = None) -> int:
    """Use a link once: the donor id it opens, or LinkRefused saying why not."""
    now = now or utcnow()
    link = session.scalar(select(PortalLink).where(PortalLink.token_hash == digest(token or "")))
    if link is None:
        raise LinkRefused("unknown")
    if link.used_at is not None:
        raise LinkRefused("used")
    if link.expires_at <= now:
        raise LinkRefused("expired")
    # Mark used with a guarded UPDATE: of two clicks at the same moment, one wins.
    marked = rows_matched(session.execute(
        update(PortalLink).where(PortalLink.id == link.id, PortalLink.used_at.is_(None)).values(used_at=now)
    ))
    if marked != 1:
        raise LinkRefused("used")
    donor = session.get(Donor, link.donor_id)
    if donor is None or not donor.is_active:
        raise LinkRefused("unknown")
    return donor.id


_TEXTS = {
    "nl": {
        "subject": "Uw link naar het donateursportaal van {org}",
        "body": (
            "Beste {name},\n\n"
            "U vroeg om toegang tot het donateursportaal van {org}. Met deze link ziet u uw giften en "
            "downloadt u uw jaaroverzichten:\n\n{url}\n\n"
            "De link werkt één keer en is 30 minuten geldig. Heeft u hier niet om gevraagd? "
            "Dan kunt u dit bericht negeren.\n\nMet vriendelijke groet,\n{org}\n"
        ),
    },
    "en": {
        "subject": "Your link to the donor portal of {org}",
        "body": (
            "Dear {name},\n\n"
            "You asked for access to the donor portal of {org}. With this link you can see your gifts and "
            "download your annual statements:\n\n{url}\n\n"
            "The link works once and for 30 minutes. Did you not ask for it? Then you can ignore this "
            "message.\n\nKind regards,\n{org}\n"
        ),
    },
}


def link_message(link: IssuedLink, url: str, organisation: str) -> EmailMessage:
    texts = _TEXTS.get(link.language, _TEXTS["nl"])
    message = EmailMessage()
    message["To"] = link.email
    message["Subject"] = texts["subject"].format(org=organisation)
    message.set_content(texts["body"].format(name=link.name, url=url, org=organisation))
    return message
