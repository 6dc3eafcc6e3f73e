"""What portal routes depend on: the signed-in visitor, their role, CSRF checks on every
change, the API acting as them, and the message shown on the next page."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from core.errors import ChaineError, ErrorCode
from core.logging import request_id_var
from core.principals import Role
from portal.accounts import Visitor, session_digest, visitor_of
from portal.backend import Backend
from portal.i18n import language_of
from store.database import transaction
from store.portal_users import PortalUserRepository

SESSION_COOKIE = "chaine_session"
LOGIN_CSRF_COOKIE = "chaine_login_csrf"
LANGUAGE_COOKIE = "chaine_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class SignInRequired(ChaineError):
    """No live session: the page sends the browser to the sign-in form."""

    code = ErrorCode.SIGN_IN_REQUIRED
    status = 401


class CsrfFailed(ChaineError):
    """A change without the session's CSRF token, or sent from another site."""

    code = ErrorCode.CSRF_FAILED
    status = 403


class RoleRefused(ChaineError):
    """The visitor's role has no business on this page."""

    code = ErrorCode.FORBIDDEN_ROLE
    status = 403


def redirect(request: Request, location: str) -> Response:
    """See-other to `location`; htmx requests are told to load it as a whole page."""
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


async def optional_visitor(request: Request) -> Visitor | None:
    """The signed-in visitor, if the session cookie names a live session.

    Also fixes the page language and takes the pending flash message (shown once).
    """
    if hasattr(request.state, "visitor"):
        return request.state.visitor
    token = request.cookies.get(SESSION_COOKIE)
    visitor = None
    if token:
        async with transaction(request.app.state.sessions) as session:
            users = PortalUserRepository(session)
            row = await users.live_session(session_digest(token), datetime.now(UTC))
            if row is not None:
                visitor = visitor_of(row)
                if row.flash is not None and request.method == "GET":
                    await users.set_flash(row.token_sha256, None)
    request.state.visitor = visitor
    request.state.flash = visitor.flash if visitor and request.method == "GET" else None
    request.state.language = language_of(
        request.cookies.get(LANGUAGE_COOKIE) or (visitor.language if visitor else None),
        request.headers.get("accept-language"),
    )
    request.state.login_csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    return visitor


async def current_visitor(
    request: Request, visitor: Annotated[Visitor | None, Depends(optional_visitor)]
) -> Visitor:
    """The signed-in visitor; otherwise the page asks to sign in."""
    if visitor is None:
        raise SignInRequired("sign in to see this page")
    return visitor


OptionalVisitor = Annotated[Visitor | None, Depends(optional_visitor)]
CurrentVisitor = Annotated[Visitor, Depends(current_visitor)]


def require_role(*roles: Role) -> Callable[[Visitor], Visitor]:
    """A dependency admitting visitors of these roles only."""
    allowed = frozenset(roles)

    def check(visitor: CurrentVisitor) -> Visitor:
        if visitor.principal.role not in allowed:
            raise RoleRefused(f"this page is for {', '.join(sorted(r.value for r in allowed))}")
        return visitor

    return check


def same_origin(request: Request) -> bool:
    """Whether a change comes from one of our own pages (Origin or Referer, when sent)."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return False
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return source is None
    return urlsplit(source).netloc == request.url.netloc


async def checked_csrf(request: Request, visitor: CurrentVisitor) -> Visitor:
    """Refuse a change unless it carries the session's CSRF token and comes from our site.

    The token is a form field (every form) or a header (htmx requests send it)."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        field = form.get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    if not same_origin(request) or not sent or not secrets.compare_digest(sent, visitor.csrf_token):
        raise CsrfFailed("this form has expired or was not sent from Chaîne: reload the page")
    return visitor


Changing = Annotated[Visitor, Depends(checked_csrf)]


async def acting_backend(request: Request, visitor: CurrentVisitor) -> AsyncIterator[Backend]:
    """The API, acting as the visitor."""
    backend = Backend(request.app, visitor.principal, request_id_var.get())
    try:
        yield backend
    finally:
        await backend.close()


ApiAs = Annotated[Backend, Depends(acting_backend)]


async def flash(request: Request, visitor: Visitor, kind: str, text: str) -> None:
    """A message (`success`, `error`, `info`) for the next page the visitor sees."""
    async with transaction(request.app.state.sessions) as session:
        await PortalUserRepository(session).set_flash(
            visitor.session_digest, {"kind": kind, "text": text}
        )
