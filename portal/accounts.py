"""People of the portal: creating them, checking their password, opening their sessions.

A person is also an API client (role and SIRETs), so every rule that binds clients binds
people, and what is addressed to clients (notifications, threads, webhooks) reaches them.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.credentials import hash_secret, register_client, secret_matches
from core.errors import ChaineError, ErrorCode, InvalidInput
from core.principals import Principal, Role
from store.clients import ClientRepository
from store.models import PortalSession, PortalUser
from store.portal_users import PortalUserRepository

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,63}$")
PASSWORD_MIN_LENGTH = 12  # ANSSI: at least 12 characters for a password alone
# A hash of nothing anyone knows: unknown users cost the same time as wrong passwords.
_DECOY_HASH = hash_secret(secrets.token_urlsafe(16))


class SignInFailed(ChaineError):
    """Unknown user, wrong password or disabled account: one answer for all three."""

    code = ErrorCode.SIGN_IN_FAILED
    status = 401


def session_digest(token: str) -> str:
    """What is stored of a session cookie: its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_username(username: str) -> str:
    """A username in lower case: 3 to 64 letters, digits and `._@-`."""
    if not USERNAME.fullmatch(username):
        raise InvalidInput(
            ErrorCode.USERNAME_INVALID,
            "a username is 3 to 64 lower-case letters, digits or . _ @ -, starting with a "
            "letter or digit",
        )
    return username


def check_password(password: str, username: str) -> str:
    """A password long enough and not the username."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise InvalidInput(
            ErrorCode.PASSWORD_TOO_WEAK, f"a password has at least {PASSWORD_MIN_LENGTH} characters"
        )
    if username in password.lower():
        raise InvalidInput(ErrorCode.PASSWORD_TOO_WEAK, "a password may not contain the username")
    return password


async def create_user(
    session: AsyncSession,
    username: str,
    password: str,
    role: Role,
    sirets: list[str],
    name: str,
    email: str | None = None,
) -> PortalUser:
    """Create a person: an API client of `role` for `sirets` (whose secret nobody is given:
    people sign in with their password) and the user bound to it."""
    users = PortalUserRepository(session)
    check_password(password, check_username(username))
    if await users.by_username(username) is not None:
        raise InvalidInput(ErrorCode.USERNAME_TAKEN, f"the username {username} is taken")
    client_id, _ = await register_client(session, role, sirets, name, email)
    client = await ClientRepository(session).active(client_id)
    assert client is not None  # just made, in this transaction
    return await users.add(username, hash_secret(password), client)


@dataclass(frozen=True)
class Visitor:
    """A signed-in person, as every page sees them."""

    username: str
    name: str
    principal: Principal
    language: str
    csrf_token: str
    session_digest: str
    user_pk: int
    flash: dict[str, str] | None


def visitor_of(row: PortalSession) -> Visitor:
    """The visitor a live session row stands for."""
    client = row.user.client
    return Visitor(
        username=row.user.username,
        name=client.name,
        principal=Principal(
            client_id=client.client_id,
            role=Role(client.role),
            sirets=frozenset(s.siret for s in client.sirets),
        ),
        language=row.user.language,
        csrf_token=row.csrf_token,
        session_digest=row.token_sha256,
        user_pk=row.user_pk,
        flash=row.flash,
    )


async def sign_in(
    session: AsyncSession, username: str, password: str, now: datetime, ttl: timedelta
) -> str:
    """Check the password and open a session; the cookie token (shown once) is returned."""
    users = PortalUserRepository(session)
    user = await users.by_username(username.strip().lower())
    known = user is not None and user.client.active
    if not secret_matches(password, user.password_hash if known and user else _DECOY_HASH):
        raise SignInFailed("unknown username or wrong password")
    assert user is not None
    await users.forget_expired(now)
    token = secrets.token_urlsafe(32)
    await users.open_session(user, session_digest(token), secrets.token_urlsafe(32), now + ttl)
    return token
