"""Signing in and out, the language switch, and the way home."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from core.errors import NotFound
from core.principals import Role
from portal.accounts import SignInFailed, sign_in
from portal.deps import (
    LANGUAGE_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Changing,
    CsrfFailed,
    OptionalVisitor,
    same_origin,
)
from portal.i18n import LANGUAGES
from portal.pages import ROLE_HOMES, render
from store.database import transaction
from store.portal_users import PortalUserRepository

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None, default: str) -> str:
    """A place on this site to go after signing in (never another site)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return default


def _login_form(request: Request, status_code: int = 200, **context: object) -> Response:
    response = render(request, "login.html", None, status_code=status_code, **context)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        request.state.login_csrf,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.portal_cookies_secure,
        path="/login",
    )
    return response


@router.get("/")
async def home(visitor: OptionalVisitor) -> Response:
    """Each role's first page; the sign-in form for strangers."""
    if visitor is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(ROLE_HOMES[visitor.principal.role], status_code=303)


@router.get("/login")
async def login_form(
    request: Request, visitor: OptionalVisitor, next: str | None = None
) -> Response:
    """The sign-in form (a signed-in visitor goes home)."""
    if visitor is not None:
        return RedirectResponse(safe_next(next, ROLE_HOMES[visitor.principal.role]), 303)
    return _login_form(request, next=safe_next(next, ""))


@router.post("/login")
async def login(
    request: Request,
    visitor: OptionalVisitor,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Check the password, open a session and go where the visitor was going.

    The form is protected by a double-submit token (cookie and field must match), so no
    other site can sign a browser in to an account of its choosing."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not same_origin(request) or not cookie or not secrets.compare_digest(cookie, csrf_token):
        exc = CsrfFailed("the sign-in form has expired: please try again")
        return _login_form(request, 403, next=next, error=exc, username=username)
    settings = request.app.state.settings
    try:
        async with transaction(request.app.state.sessions) as session:
            token = await sign_in(
                session, username, password, datetime.now(UTC), settings.portal_session_ttl
            )
            user = await PortalUserRepository(session).by_username(username.strip().lower())
            assert user is not None
            role = user.client.role
    except SignInFailed as exc:
        return _login_form(request, exc.status, next=next, error=exc, username=username)
    response = RedirectResponse(safe_next(next, ROLE_HOMES[Role(role)]), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.portal_session_ttl.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.portal_cookies_secure,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, visitor: Changing) -> Response:
    """End this browser's session."""
    async with transaction(request.app.state.sessions) as session:
        await PortalUserRepository(session).close_session(visitor.session_digest)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/lang/{language}")
async def switch_language(
    request: Request, language: str, visitor: OptionalVisitor, next: str | None = None
) -> Response:
    """Show pages in `language` from now on (kept with the user when signed in)."""
    if language not in LANGUAGES:
        raise NotFound(f"no pages in {language}")
    if visitor is not None:
        async with transaction(request.app.state.sessions) as session:
            await PortalUserRepository(session).set_language(visitor.user_pk, language)
    response = RedirectResponse(safe_next(next, "/"), status_code=303)
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        max_age=365 * 24 * 3600,
        samesite="lax",
        secure=request.app.state.settings.portal_cookies_secure,
    )
    return response
