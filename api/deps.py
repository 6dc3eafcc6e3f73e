"""FastAPI dependencies: settings, database session, Temporal client, current principal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.credentials import principal_from_token
from core.config import Settings
from core.errors import ChaineError, ErrorCode
from core.principals import Principal, Role
from signatures.seal import Sealer


class AuthRequired(ChaineError):
    """No bearer token was given."""

    code = ErrorCode.AUTH_REQUIRED
    status = 401


class ForbiddenRole(ChaineError):
    """The principal's role may not use this operation."""

    code = ErrorCode.FORBIDDEN_ROLE
    status = 403


class UnsupportedMediaType(ChaineError):
    """The body is not in a media type this operation reads."""

    code = ErrorCode.UNSUPPORTED_MEDIA_TYPE
    status = 415


def require_json(request: Request) -> None:
    """Refuse a body that is not declared `application/json` (415), before reading it."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(
            f"send this body as application/json, not {media_type or 'an undeclared type'}"
        )


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for this request; the route commits, anything else rolls back.

    Closing on a connection the database dropped (a restart) must not fail the request
    whose answer is already on its way: there is nothing left to roll back."""
    session = request.app.state.sessions()
    try:
        yield session
    finally:
        with suppress(DBAPIError):
            # Shielded: a client gone mid-request must not leave the connection unreturned.
            await asyncio.shield(session.close())


def get_temporal(request: Request) -> Client:
    """The app's Temporal client (connected lazily)."""
    return request.app.state.temporal


_bearer = HTTPBearer(auto_error=False, description="Access token from POST /oauth/token")


def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The authenticated principal, from a valid bearer token."""
    if credentials is None:
        raise AuthRequired("a bearer access token is required (POST /oauth/token)")
    return principal_from_token(credentials.credentials, request.app.state.token_key)


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting only principals of the given roles (403 otherwise)."""
    allowed = frozenset(roles)

    def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise ForbiddenRole(
                f"role {principal.role} may not do this; allowed: "
                + ", ".join(sorted(r.value for r in allowed))
            )
        return principal

    return check


def app_sealer(request: Request, settings: Settings) -> Sealer:
    """Chaîne's seal, read on first use (a missing key fails the request, not the start)."""
    sealer = getattr(request.app.state, "sealer", None)
    if sealer is None:
        sealer = Sealer.from_settings(settings, request.app.state.signature_policy)
        request.app.state.sealer = sealer
    return sealer
