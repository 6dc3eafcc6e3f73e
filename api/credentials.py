"""Client secrets (Argon2id) and access tokens (HS256 JWT) for OAuth 2.0 client credentials."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import ChaineError, ErrorCode, InvalidInput
from core.principals import Principal, Role
from directory.csv_layouts import EMAIL_MAX_LENGTH
from directory.identifiers import check_email, check_siret
from store.clients import ClientRepository

ISSUER = "chaine"
AUDIENCE = "chaine-api"
ALGORITHM = "HS256"

_hasher = PasswordHasher()  # argon2-cffi's RFC 9106 low-memory profile: a slow, salted KDF


class InvalidToken(ChaineError):
    """The bearer token is missing, expired, forged or otherwise unusable."""

    code = ErrorCode.AUTH_INVALID_TOKEN
    status = 401
    challenge = 'Bearer realm="chaine", error="invalid_token"'


def new_client_credentials() -> tuple[str, str]:
    """A fresh client id and secret; the secret is shown once and only its hash is kept."""
    return f"cl_{secrets.token_hex(12)}", secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """Argon2id hash of a client secret."""
    return _hasher.hash(secret)


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Whether `secret` is the one `stored_hash` was made from (constant-time in argon2)."""
    try:
        return _hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def issue_token(principal: Principal, key: bytes, ttl: timedelta) -> str:
    """A signed access token carrying the principal's role and SIRETs."""
    now = datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": principal.client_id,
        "role": principal.role.value,
        "sirets": sorted(principal.sirets),
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def principal_from_token(token: str, key: bytes) -> Principal:
    """Verify a token (signature, HS256 only, expiry, issuer, audience) and read its principal."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
        return Principal(
            client_id=str(claims["sub"]),
            role=Role(claims["role"]),
            sirets=frozenset(str(s) for s in claims["sirets"]),
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("the access token has expired") from None
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        raise InvalidToken("the access token is invalid") from None


async def register_client(
    session: AsyncSession, role: Role, sirets: list[str], name: str, email: str | None = None
) -> tuple[str, str]:
    """Create a client bound to `role` and valid `sirets`, with the address its notifications
    are emailed to, if any; return its id and one-time secret."""
    checked = [check_siret(s) for s in sirets]
    if role is not Role.OPS and not checked:
        raise InvalidInput(ErrorCode.SIRET_INVALID, f"a {role} client acts for at least one SIRET")
    address = check_email(email) if email is not None else None
    if address is not None and len(address) > EMAIL_MAX_LENGTH:
        raise InvalidInput(ErrorCode.EMAIL_INVALID, f"longer than {EMAIL_MAX_LENGTH} characters")
    client_id, secret = new_client_credentials()
    await ClientRepository(session).add(
        client_id, hash_secret(secret), role, checked, name, address
    )
    return client_id, secret
