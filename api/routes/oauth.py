"""`POST /oauth/token`: OAuth 2.0 client credentials grant (RFC 6749 §4.4)."""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.credentials import hash_secret, issue_token, secret_matches
from api.deps import SessionDep, SettingsDep, UnsupportedMediaType
from api.schemas import ResponseModel
from core.errors import ChaineError, ErrorCode
from store.clients import ClientRepository, principal_of

router = APIRouter(tags=["authentication"])

# Verified against when the client id is unknown, so timing does not reveal which ids exist.
_DECOY_HASH = hash_secret("decoy-secret-never-issued")


class InvalidClient(ChaineError):
    """Client authentication failed (RFC 6749 `invalid_client`)."""

    code = ErrorCode.AUTH_INVALID_CLIENT
    status = 401
    challenge = 'Basic realm="chaine"'


class UnsupportedGrant(ChaineError):
    """Only the client credentials grant is offered (RFC 6749 `unsupported_grant_type`)."""

    code = ErrorCode.AUTH_UNSUPPORTED_GRANT
    status = 400


class Token(ResponseModel):
    """An access token to send as `Authorization: Bearer ...`."""

    access_token: str
    token_type: str = "Bearer"
    expires_in: int


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if header[:6].lower() != "basic ":
        return None
    try:
        client_id, _, secret = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient("malformed HTTP Basic credentials", error="invalid_client") from None
    return client_id, secret


_FORM_SCHEMA = {
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "client_id": {"type": "string"},
        "client_secret": {"type": "string", "format": "password"},
    },
}


@router.post(
    "/oauth/token",
    response_model=Token,
    summary="Obtain an access token (client credentials grant)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": _FORM_SCHEMA}},
        }
    },
)
async def token(request: Request, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    """Exchange a client id and secret (form fields or HTTP Basic) for a signed token."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise UnsupportedMediaType("send the token request as application/x-www-form-urlencoded")
    form = await request.form(max_files=0, max_fields=8)
    grant_type = str(form.get("grant_type", ""))
    if grant_type != "client_credentials":
        raise UnsupportedGrant(
            f"grant_type {grant_type[:64]!r} is not supported; use client_credentials",
            error="unsupported_grant_type",
        )
    client_id, client_secret = _basic_credentials(request) or (
        str(form.get("client_id", "")),
        str(form.get("client_secret", "")),
    )
    if not client_id or not client_secret or len(client_id) > 128 or len(client_secret) > 256:
        raise InvalidClient("client_id and client_secret are required", error="invalid_client")
    client = await ClientRepository(session).active(client_id)
    valid = await run_in_threadpool(
        secret_matches, client_secret, client.secret_hash if client else _DECOY_HASH
    )
    if client is None or not valid:
        raise InvalidClient("unknown client or wrong secret", error="invalid_client")
    access_token = issue_token(
        principal_of(client), request.app.state.token_key, settings.token_ttl
    )
    body = Token(access_token=access_token, expires_in=int(settings.token_ttl.total_seconds()))
    return JSONResponse(
        body.model_dump(), headers={"Cache-Control": "no-store", "Pragma": "no-cache"}
    )
