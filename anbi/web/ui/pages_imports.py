"""The imports page: upload a CSV or XLSX file, see its first rows and every problem
with line and field (or what the import will do) before anything is written, then
import."""
from __future__ import annotations

from pathlib import PurePath
from typing import Any

from fastapi import Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from anbi.core.errors import InvalidInput
from anbi.core.roles import DONORS_WRITE, FINANCE_WRITE
from anbi.web import imports
from anbi.web.i18n import translate
from anbi.web.ui.common import (
    DB,
    MAX_FIELD_BYTES,
    Forbidden,
    LoginRequired,
    Staff,
    current_staff,
    language,
    render,
    ui_router,
)

router = ui_router()


def importer_staff(request: Request, db: Session = DB) -> Staff:
    """Fundraisers import donor files, finance imports cost files: either may open the page."""
    person = current_staff(request, db)
    if person is None:
        raise LoginRequired()
    request.state.staff = person
    if not (person.can(DONORS_WRITE) or person.can(FINANCE_WRITE)):
        raise Forbidden("Your role ({role}) may not open this page.", role=person.role)
    return person


def _kinds_for(person: Staff) -> list[imports.ImportKind]:
    return [kind for kind in imports.KINDS.values() if person.can(kind.permission)]


def _store(request: Request) -> imports.UploadStore:
    store = getattr(request.app.state, "upload_store", None)
    if store is None:
        directory = request.app.state.settings.web.upload_dir
        store = request.app.state.upload_store = imports.UploadStore(directory)
    return store


def _page(request: Request, person: Staff, *, status: int = 200, **context: Any):
    kinds = _kinds_for(person)
    base = {"title": translate(language(request), "Imports"), "kinds": kinds, "chosen": kinds[0].key if kinds else "",
            "check": None, "token": None, "outcome": None, "error": None}
    base.update(context)
    return render(request, "imports.html", base, status=status)


@router.get("/imports")
def imports_page(request: Request, kind: str = "", person: Staff = Depends(importer_staff)):
    chosen: dict[str, Any] = {"chosen": kind} if kind in imports.KINDS else {}
    return _page(request, person, **chosen)


@router.post("/imports", max_body_size=imports.MAX_UPLOAD_BYTES + MAX_FIELD_BYTES)
async def check_upload(request: Request, person: Staff = Depends(importer_staff), db: Session = DB):
    lang = language(request)
    form = await request.form(max_part_size=MAX_FIELD_BYTES)
    kind_key = str(form.get("kind", ""))
    upload = form.get("file")
    kind = imports.KINDS.get(kind_key)
    if kind is None or not person.can(kind.permission):
        raise Forbidden("Your role ({role}) may not open this page.", role=person.role)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _page(request, person, chosen=kind_key, error=translate(lang, "Choose a file."), status=400)
    data = await upload.read(imports.MAX_UPLOAD_BYTES + 1)
    if len(data) > imports.MAX_UPLOAD_BYTES:
        return _page(request, person, chosen=kind_key, error=translate(lang, "The request is too large."), status=413)
    name = PurePath(upload.filename.replace("\\", "/")).name or "upload.csv"
    result = imports.check(request.app.state.sessions, kind, data, name, actor=person.email)
    token = None
    if result.ok:
        token = _store(request).save(data, kind=kind.key, name=name, user_id=person.user_id)
    else:
        imports.log_refused(db, kind.key, name, person.email, result.problems, len(result.rows))
    return _page(request, person, chosen=kind_key, check=result, token=token, status=200 if result.ok else 400)


@router.post("/imports/confirm")
def confirm_upload(request: Request, token: str = Form(""), person: Staff = Depends(importer_staff), db: Session = DB):
    lang = language(request)
    store = _store(request)
    try:
        data, meta = store.load(token, user_id=person.user_id)
    except imports.UploadExpired:
        return _page(request, person, error=translate(lang, "The upload has expired; upload the file again."), status=400)
    kind = imports.KINDS[meta["kind"]]
    if not person.can(kind.permission):
        raise Forbidden("Your role ({role}) may not open this page.", role=person.role)
    try:
        outcome = imports.run(db, kind, data, meta["name"], actor=person.email)
    except InvalidInput as exc:
        db.rollback()
        header, rows = imports.preview(data)
        imports.log_refused(db, kind.key, meta["name"], person.email, exc.problems, len(rows))
        check = imports.Check(kind.key, meta["name"], header, rows, exc.problems, None)
        return _page(request, person, chosen=kind.key, check=check, status=400)
    store.delete(token)
    return _page(request, person, chosen=kind.key, outcome=outcome, done_name=meta["name"], done_kind=kind.key)
