"""Donor pages: search, the donor page, edit, duplicates with compare and merge,
erasure (AVG), and downloading an issued statement.

Every rule lives in the donors and fundraising packages; these pages gather, show
and call. Viewers never see an IBAN."""
from __future__ import annotations

import urllib.parse

from fastapi import Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from anbi.core.audit import AuditEntry
from anbi.core.clock import today
from anbi.core.errors import AnbiError
from anbi.core.roles import DONORS_ERASE, DONORS_READ, DONORS_SEE_IBAN, DONORS_WRITE, EXPORT_DONORS
from anbi.web import donor_forms
from anbi.web.i18n import translate
from anbi.web.search import search_donors
from anbi.web.ui.common import DB, PageNotFound, Staff, language, page_asked, redirect, render, staff, ui_router
from donors.errors import DonorNotFound
from donors.models import Donor, DonorMerge
from donors.service import donor_detail, find_by_ref, resolve_ref
from fundraising.models import Mandate, PeriodicAgreement, RecurringGift

router = ui_router()

PAGE_SIZE = 50


def _donor_or_404(db: Session, ref: str) -> Donor:
    try:
        return resolve_ref(db, ref)
    except DonorNotFound:
        raise PageNotFound("This page does not exist.") from None


@router.get("/donors")
def donors_page(request: Request, q: str = "", page: int = 1, person: Staff = Depends(staff(DONORS_READ)),
                db: Session = DB):
    page = page_asked(page)
    results = search_donors(db, q, may_see_iban=person.can(DONORS_SEE_IBAN), limit=PAGE_SIZE,
                            offset=(page - 1) * PAGE_SIZE)
    return render(request, "donors.html", {
        "title": translate(language(request), "Donors"), "q": q, "results": results, "page": page,
        "next_url": "/donors?" + urllib.parse.urlencode({"q": q, "page": page + 1}) if results.more else None,
        "previous_url": "/donors?" + urllib.parse.urlencode({"q": q, "page": page - 1}) if page > 1 else None,
    })


# --- duplicates (before /donors/{ref}, which would match "duplicates") ------------

@router.get("/donors/duplicates")
def duplicates_page(request: Request, person: Staff = Depends(staff(DONORS_WRITE)), db: Session = DB):
    from donors.duplicates import find_duplicates

    pairs = find_duplicates(db)
    refs = {ref for pair in pairs for ref in (pair.ref_a, pair.ref_b)}
    donors = {d.ref: d for d in db.scalars(select(Donor).where(Donor.ref.in_(refs)))} if refs else {}
    return render(request, "duplicates.html", {
        "title": translate(language(request), "Possible duplicates"), "pairs": pairs, "donors": donors,
    })


COMPARE_FIELDS = (
    ("Donor number", "ref"), ("Name", None), ("Street", "street"), ("House number", "house_number"),
    ("Suffix", "house_number_suffix"), ("Postcode", "postcode"), ("City", "city"), ("Country", "country"),
    ("E-mail", "email"), ("Phone", "phone"), ("IBAN", "iban"),
)


@router.get("/donors/compare")
def compare_page(request: Request, a: str, b: str, person: Staff = Depends(staff(DONORS_WRITE)), db: Session = DB):
    from donors import names

    left, right = _donor_or_404(db, a), _donor_or_404(db, b)
    rows = []
    for label, attribute in COMPARE_FIELDS:
        if attribute is None:
            values = (names.display_name(left), names.display_name(right))
        else:
            values = (getattr(left, attribute) or "", getattr(right, attribute) or "")
        rows.append((label, values[0], values[1], values[0] != values[1]))
    gifts = {
        d.ref: sum(1 for _ in _gifts(db, d.ref)) for d in (left, right)
    }
    return render(request, "compare.html", {
        "title": translate(language(request), "Compare"), "left": left, "right": right, "rows": rows, "gifts": gifts,
        "error": None,
    })


def _preview_merge(request: Request, keep: str, duplicate: str, actor: str):
    """What a merge would do, by running it in a transaction of its own that is
    always rolled back: the confirmation shows exactly what the merge will do."""
    from donors.merge import merge_donors

    sessions: sessionmaker = request.app.state.sessions
    preview = sessions()
    try:
        return merge_donors(preview, keep, duplicate, actor=actor)
    finally:
        preview.rollback()
        preview.close()


@router.post("/donors/merge")
def merge(request: Request, keep: str = Form(...), duplicate: str = Form(...), confirmed: str = Form(""),
          person: Staff = Depends(staff(DONORS_WRITE)), db: Session = DB):
    """A merge cannot be undone: the first POST shows what it will do and asks; the
    merge happens only with `confirmed=yes` from that confirmation."""
    from donors.merge import merge_donors

    if confirmed != "yes":
        try:
            preview = _preview_merge(request, keep, duplicate, person.email)
        except AnbiError as exc:
            return render(request, "error.html", {"title": translate(language(request), "Merge"), "detail": str(exc)},
                          status=409)
        return render(request, "merge_confirm.html", {
            "title": translate(language(request), "Merge"), "keep": _donor_or_404(db, keep),
            "duplicate": _donor_or_404(db, duplicate), "preview": preview,
        })
    try:
        result = merge_donors(db, keep, duplicate, actor=person.email)
    except AnbiError as exc:
        db.rollback()
        return render(request, "error.html", {"title": translate(language(request), "Merge"), "detail": str(exc)},
                      status=409)
    return redirect(f"/donors/{urllib.parse.quote(result.kept_ref)}?"
                    + urllib.parse.urlencode({"msg": "merged", "duplicate": result.merged_ref, "kept": result.kept_ref}))


# --- one donor -----------------------------------------------------------------

def _gifts(db: Session, ref: str):
    from fundraising.queries import list_donations

    return list_donations(db, donor_ref=ref)


@router.get("/donors/{ref}")
def donor_page(request: Request, ref: str, person: Staff = Depends(staff(DONORS_READ)), db: Session = DB):
    requested = find_by_ref(db, ref)
    if requested is None:
        raise PageNotFound("This page does not exist.")
    donor = resolve_ref(db, ref)
    if donor.ref != ref:
        # A merged-away number: show the donor it was merged into, under its own address.
        return redirect(f"/donors/{urllib.parse.quote(donor.ref)}")
    detail = donor_detail(db, ref)
    if not person.can(DONORS_SEE_IBAN):
        detail["iban"] = None
    gifts = list(_gifts(db, ref))
    gifts.reverse()  # newest first
    recurring = db.scalars(select(RecurringGift).where(RecurringGift.donor_id == donor.id).order_by(RecurringGift.start_date)).all()
    agreements = db.scalars(select(PeriodicAgreement).where(PeriodicAgreement.donor_id == donor.id)
                            .order_by(PeriodicAgreement.start_date)).all()
    mandates = db.scalars(select(Mandate).where(Mandate.donor_id == donor.id).order_by(Mandate.signed_on)).all()
    statements = _statements(db, donor.id)
    merges = db.execute(
        select(DonorMerge.merged_ref, DonorMerge.at, DonorMerge.actor)
        .where(DonorMerge.kept_donor_id == donor.id).order_by(DonorMerge.at)
    ).all()
    refs = [donor.ref, *detail["merged_from"]]
    audit_rows = db.scalars(
        select(AuditEntry).where(AuditEntry.entity_ref.in_(refs), AuditEntry.entity.in_(("donor", "statement")))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(100)
    ).all()
    return render(request, "donor.html", {
        "title": detail["name"], "d": detail, "donor": donor, "gifts": gifts, "recurring": recurring,
        "agreements": agreements, "mandates": mandates, "statements": statements, "merges": merges,
        "audit": audit_rows, "show_iban": person.can(DONORS_SEE_IBAN),
    })


def _own_ids(db: Session, donor_id: int) -> list[int]:
    """The donor and the records merged into it: statements keep naming the record
    they were issued to (the merge policy keeps them there)."""
    return [donor_id, *db.scalars(select(Donor.id).where(Donor.merged_into_id == donor_id))]


def _statements(db: Session, donor_id: int) -> list:
    from fundraising.statements.models import Statement

    return list(db.scalars(select(Statement).where(Statement.donor_id.in_(_own_ids(db, donor_id)))
                           .order_by(Statement.year.desc(), Statement.sequence.desc())))


@router.get("/donors/{ref}/statements/{number}.pdf")
def statement_download(request: Request, ref: str, number: str, person: Staff = Depends(staff(EXPORT_DONORS)),
                       db: Session = DB):
    donor = _donor_or_404(db, ref)
    owners = _own_ids(db, donor.id)
    from fundraising.statements.models import Statement

    owner = db.scalar(select(Statement.donor_id).where(Statement.number == number, Statement.donor_id.in_(owners)))
    if owner is None:
        raise PageNotFound("This page does not exist.")
    return statement_pdf_response(db, owner, number)


def statement_pdf_response(db: Session, donor_id: int, number: str) -> Response:
    """The issued statement's PDF, rendered again from its snapshot (byte for byte
    the one issued). Only a statement of this donor: any other number is 404."""
    from exports.statements.pdf import render_statement
    from exports.statements.issue import snapshot_from_row
    from fundraising.statements.models import Statement

    statement = db.scalar(select(Statement).where(Statement.number == number, Statement.donor_id == donor_id))
    if statement is None:
        raise PageNotFound("This page does not exist.")
    data = render_statement(snapshot_from_row(statement, list(statement.lines)).view())
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{statement.file_name.rsplit("/", 1)[-1]}"',
    })


# --- edit ----------------------------------------------------------------------

def _edit_context(request: Request, donor: Donor, values: dict, errors: dict, person: Staff) -> dict:
    from donors.models import LANGUAGES, ORGANISATION_TYPES

    return {
        "title": translate(language(request), "Edit donor"), "donor": donor, "values": values, "errors": errors,
        "languages_choice": LANGUAGES, "organisation_types": ORGANISATION_TYPES,
        "show_iban": person.can(DONORS_SEE_IBAN),
    }


@router.get("/donors/{ref}/edit")
def edit_page(request: Request, ref: str, person: Staff = Depends(staff(DONORS_WRITE)), db: Session = DB):
    donor = _donor_or_404(db, ref)
    if not donor.is_active:
        raise PageNotFound("This page does not exist.")
    return render(request, "donor_edit.html", _edit_context(request, donor, donor_forms.current_values(donor), {}, person))


@router.post("/donors/{ref}/edit")
async def edit(request: Request, ref: str, person: Staff = Depends(staff(DONORS_WRITE)), db: Session = DB):
    donor = _donor_or_404(db, ref)
    if not donor.is_active:
        raise PageNotFound("This page does not exist.")
    form = await request.form()
    submitted = {key: str(value) for key, value in form.items() if isinstance(value, str)}
    columns: tuple[str, ...] = donor_forms.STAFF_COLUMNS
    if donor.kind == "person":
        columns = tuple(c for c in columns if c not in ("organisation", "organisation_type"))
    result = donor_forms.apply_form(db, donor, submitted, columns=columns, actor=person.email,
                                    source=f"web:{person.email}")
    if not result.ok:
        values = {**donor_forms.current_values(donor), **{c: submitted.get(c, "") for c in columns}}
        return render(request, "donor_edit.html",
                      _edit_context(request, donor, values, result.by_field(), person), status=400)
    return redirect(f"/donors/{urllib.parse.quote(donor.ref)}?msg=saved")


# --- erasure (AVG art. 17) --------------------------------------------------------

def _preview_forget(request: Request, ref: str, actor: str):
    """What an erasure would do, by running it in a transaction of its own that is
    always rolled back: the confirmation shows exactly what the erasure will do."""
    from donors.privacy import forget

    sessions: sessionmaker = request.app.state.sessions
    preview = sessions()
    try:
        return forget(preview, ref, actor, today(), retention_years=request.app.state.settings.retention_years)
    finally:
        preview.rollback()
        preview.close()


@router.get("/donors/{ref}/erase")
def erase_page(request: Request, ref: str, person: Staff = Depends(staff(DONORS_ERASE)), db: Session = DB):
    donor = _donor_or_404(db, ref)
    refused = None
    report = None
    try:
        report = _preview_forget(request, donor.ref, person.email)
    except AnbiError as exc:
        refused = str(exc)
    return render(request, "erase.html", {
        "title": translate(language(request), "Erase donor"), "donor": donor, "report": report,
        "refused": refused, "error": None,
    })


@router.post("/donors/{ref}/erase")
def erase(request: Request, ref: str, confirm_ref: str = Form(""), person: Staff = Depends(staff(DONORS_ERASE)),
          db: Session = DB):
    from donors.privacy import forget

    donor = _donor_or_404(db, ref)
    if confirm_ref.strip() != donor.ref:
        report, refused = None, None
        try:
            report = _preview_forget(request, donor.ref, person.email)
        except AnbiError as exc:
            refused = str(exc)
        return render(request, "erase.html", {
            "title": translate(language(request), "Erase donor"), "donor": donor, "report": report,
            "refused": refused, "error": translate(language(request), "The donor number you typed does not match."),
        }, status=400)
    donor_ref = donor.ref
    try:
        report = forget(db, donor_ref, person.email, today(), retention_years=request.app.state.settings.retention_years)
    except AnbiError as exc:
        db.rollback()
        return render(request, "error.html", {"title": translate(language(request), "Erase donor"), "detail": str(exc)},
                      status=409)
    return render(request, "erased.html", {"title": translate(language(request), "Erased."), "report": report})
