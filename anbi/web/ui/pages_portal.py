"""The donor portal: a donor asks for a sign-in link by e-mail, and behind it sees
their statements per year (to download), their gifts, and updates their address,
e-mail and consent. Nothing else is reachable with a portal session, and a staff
session does not open the portal."""
from __future__ import annotations

import logging
import smtplib
import urllib.parse

from fastapi import BackgroundTasks, Depends, Form, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from anbi.core.errors import AnbiError
from anbi.web import donor_forms
from anbi.web.identity import portal
from anbi.web.i18n import translate
from anbi.web.identity.security import new_csrf_token
from anbi.web.ui.common import (
    DB,
    PRODUCT_NAME,
    PageNotFound,
    PortalLoginRequired,
    language,
    organisation_name,
    redirect,
    render,
    ui_router,
    web_state,
)
from anbi.web.ui.pages_auth import client_address
from anbi.web.identity.users import close_session, find_session, open_session
from donors import names
from donors.models import Donor

router = ui_router()
log = logging.getLogger(__name__)

LINK_REASONS = {
    "expired": "This link has expired. Ask for a new one.",
    "used": "This link has already been used. Ask for a new one.",
    "unknown": "This link is not valid. Ask for a new one.",
}


def portal_donor(request: Request, db: Session = DB) -> Donor:
    """The donor signed in to the portal; otherwise back to the portal's start."""
    state = web_state(request)
    if not state.session_key:
        raise PortalLoginRequired()
    record = find_session(db, state.session_key, idle=portal.SESSION_IDLE)
    if record is None or record.donor_id is None:
        raise PortalLoginRequired()
    donor = db.get(Donor, record.donor_id)
    if donor is None or not donor.is_active:
        raise PortalLoginRequired()
    return donor


def _signed_in_donor(request: Request, db: Session) -> Donor | None:
    try:
        return portal_donor(request, db)
    except PortalLoginRequired:
        return None


def _statements(db: Session, donor: Donor) -> list:
    from fundraising.statements.models import Statement

    ids = [donor.id, *db.scalars(select(Donor.id).where(Donor.merged_into_id == donor.id))]
    return list(db.scalars(select(Statement).where(Statement.donor_id.in_(ids), Statement.status == "current")
                           .order_by(Statement.year.desc())))


def _overview(request: Request, db: Session, donor: Donor, *, values=None, errors=None, status=200):
    from fundraising.queries import list_donations

    gifts = list(list_donations(db, donor_ref=donor.ref))
    gifts.reverse()
    return render(request, "portal/home.html", {
        "title": translate(language(request), "Donor portal"), "donor": donor, "name": names.display_name(donor),
        "statements": _statements(db, donor), "gifts": gifts,
        "values": values if values is not None else donor_forms.current_values(donor), "errors": errors or {},
    }, status=status)


@router.get("/portal")
def portal_start(request: Request, db: Session = DB):
    donor = _signed_in_donor(request, db)
    if donor is not None:
        return _overview(request, db, donor)
    return render(request, "portal/ask.html", {"title": translate(language(request), "Donor portal"),
                                               "sent": False, "email": ""})


def _send_links(mailer, links: list[portal.IssuedLink], base_url: str, organisation: str) -> None:
    for link in links:
        url = f"{base_url}/portal/login/{link.token}"
        try:
            mailer.send(portal.link_message(link, url, organisation))
        except (OSError, smtplib.SMTPException, AnbiError) as exc:
            # The page already answered; a person reads the log.
            log.error("portal link for donor %s not sent: %s", link.donor_ref, exc)


@router.post("/portal")
def portal_request(request: Request, background: BackgroundTasks, email: str = Form(""), db: Session = DB):
    """The same answer whether or not the address is known; the e-mail goes out after
    the answer, so the time taken does not tell either."""
    # Links are made from [web] base_url only: the Host header is the sender's to choose.
    base_url = request.app.state.web_config.base_url
    if base_url is None:
        log.error("a portal link was asked for, but none is sent: [web] base_url is not set")
        links = []
    else:
        links = portal.request_links(db, email, client=client_address(request))
        db.commit()  # the links exist before anyone can click them
    if links:
        settings = request.app.state.settings
        organisation = organisation_name(settings) or PRODUCT_NAME
        background.add_task(_send_links, request.app.state.mailer, links, base_url, organisation)
    return render(request, "portal/ask.html", {"title": translate(language(request), "Donor portal"),
                                               "sent": True, "email": ""})


@router.get("/portal/login/{token}")
def portal_link(request: Request, token: str, db: Session = DB):
    """Shows a button instead of signing in at once: mail scanners that open links
    must not use up the single-use link."""
    from anbi.core.clock import utcnow
    from anbi.web.identity.models import PortalLink
    from anbi.web.identity.users import digest

    link = db.scalar(select(PortalLink).where(PortalLink.token_hash == digest(token)))
    reason = None
    if link is None:
        reason = "unknown"
    elif link.used_at is not None:
        reason = "used"
    elif link.expires_at <= utcnow():
        reason = "expired"
    lang = language(request)
    return render(request, "portal/link.html", {
        "title": translate(lang, "Donor portal"), "token": token,
        "problem": translate(lang, LINK_REASONS[reason]) if reason else None,
    }, status=410 if reason else 200)


@router.post("/portal/login")
def portal_login(request: Request, token: str = Form(""), db: Session = DB):
    lang = language(request)
    try:
        donor_id = portal.redeem_link(db, token)
    except portal.LinkRefused as exc:
        return render(request, "portal/link.html", {
            "title": translate(lang, "Donor portal"), "token": "", "problem": translate(lang, LINK_REASONS[exc.reason]),
        }, status=410)
    state = web_state(request)
    if state.session_key:
        close_session(db, state.session_key)
    opened = open_session(db, donor_id=donor_id, lifetime=portal.SESSION_LIFETIME)
    state.session_key = opened.key
    state.csrf = new_csrf_token()
    state.changed = True
    return redirect("/portal")


@router.post("/portal/logout")
def portal_logout(request: Request, db: Session = DB):
    state = web_state(request)
    if state.session_key:
        close_session(db, state.session_key)
    state.session_key = None
    state.csrf = new_csrf_token()
    state.changed = True
    return redirect("/portal")


@router.get("/portal/statements/{number}.pdf")
def portal_statement(request: Request, number: str, donor: Donor = Depends(portal_donor), db: Session = DB):
    from anbi.web.ui.pages_donors import statement_pdf_response

    allowed_ids = [s.donor_id for s in _statements(db, donor) if s.number == number]
    if not allowed_ids:
        raise PageNotFound("This page does not exist.")
    return statement_pdf_response(db, allowed_ids[0], number)


@router.post("/portal/details")
async def portal_details(request: Request, donor: Donor = Depends(portal_donor), db: Session = DB):
    form = await request.form()
    submitted = {key: str(value) for key, value in form.items() if isinstance(value, str)}
    result = donor_forms.apply_form(db, donor, submitted, columns=donor_forms.PORTAL_COLUMNS,
                                    actor=f"portal:{donor.ref}", source="portal")
    if not result.ok:
        values = {**donor_forms.current_values(donor), **{c: submitted.get(c, "") for c in donor_forms.PORTAL_COLUMNS}}
        return _overview(request, db, donor, values=values, errors=result.by_field(), status=400)
    return redirect("/portal?" + urllib.parse.urlencode({"msg": "portal_updated"}))
