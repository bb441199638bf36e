"""Signing in and out, and the language switch."""
from __future__ import annotations

from fastapi import Form, Request
from sqlalchemy.orm import Session

from anbi.web.i18n import LANGUAGES, translate
from anbi.web.identity.security import new_csrf_token
from anbi.web.ui.common import DB, current_staff, language, redirect, render, safe_next, web_state, ui_router
from anbi.web.identity.users import SignInRefused, Throttled, authenticate, close_session, open_session

router = ui_router()


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login")
def login_page(request: Request, next: str = "/", db: Session = DB):
    if current_staff(request, db) is not None:
        return redirect(safe_next(next))
    return render(request, "login.html", {"title": translate(language(request), "Sign in"), "next": safe_next(next),
                                          "email": "", "error": None, "ask": next not in ("", "/")})


@router.post("/login")
def login(request: Request, email: str = Form(""), password: str = Form(""), next: str = Form("/"),
          db: Session = DB):
    lang = language(request)
    try:
        user = authenticate(db, email, password, client=client_address(request))
    except Throttled as exc:
        if exc.seconds < 120:
            error = translate(lang, "Too many failed attempts. Try again in {seconds} seconds.", seconds=exc.seconds)
        else:
            error = translate(lang, "Too many failed attempts. Try again in {minutes} minutes.", minutes=exc.minutes)
        page = render(request, "login.html", {"title": translate(lang, "Sign in"), "next": safe_next(next),
                                              "email": email, "error": error, "ask": False}, status=429)
        page.headers["Retry-After"] = str(exc.seconds)
        return page
    except SignInRefused:
        # Returned, not raised: the failed attempt must be committed to count.
        return render(request, "login.html", {"title": translate(lang, "Sign in"), "next": safe_next(next),
                                              "email": email, "error": translate(lang, "Wrong e-mail address or password."),
                                              "ask": False}, status=400)
    state = web_state(request)
    if state.session_key:
        close_session(db, state.session_key)
    opened = open_session(db, user=user)
    # A new session gets a new CSRF token: a token seen before sign-in is worth nothing after.
    state.session_key = opened.key
    state.csrf = new_csrf_token()
    state.changed = True
    return redirect(safe_next(next))


@router.post("/logout")
def logout(request: Request, db: Session = DB):
    state = web_state(request)
    if state.session_key:
        close_session(db, state.session_key)
    state.session_key = None
    state.csrf = new_csrf_token()
    state.changed = True
    return redirect("/login?msg=signed_out")


@router.post("/language")
def switch_language(request: Request, language: str = Form("nl"), next: str = Form("/")):
    state = web_state(request)
    if language in LANGUAGES:
        state.language = language
        state.changed = True
    return redirect(safe_next(next))
