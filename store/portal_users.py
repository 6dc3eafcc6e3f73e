"""Repository of portal users and their browser sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import ApiClient, PortalSession, PortalUser


class PortalUserRepository:
    """Every query on `portal_users` and `portal_sessions`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, username: str, password_hash: str, client: ApiClient) -> PortalUser:
        """Record a user acting as `client`."""
        user = PortalUser(username=username, password_hash=password_hash, client=client)
        self.session.add(user)
        await self.session.flush()
        return user

    async def by_username(self, username: str) -> PortalUser | None:
        """The user with this name, whatever the state of its client."""
        return await self.session.scalar(select(PortalUser).where(PortalUser.username == username))

    async def set_password(self, user: PortalUser, password_hash: str) -> None:
        """Replace the password and end every session of the user."""
        user.password_hash = password_hash
        await self.session.execute(delete(PortalSession).where(PortalSession.user_pk == user.id))

    async def open_session(
        self, user: PortalUser, token_sha256: str, csrf_token: str, expires_at: datetime
    ) -> None:
        """Record a signed-in browser."""
        self.session.add(
            PortalSession(
                token_sha256=token_sha256,
                user_pk=user.id,
                csrf_token=csrf_token,
                expires_at=expires_at,
            )
        )
        await self.session.flush()

    async def live_session(self, token_sha256: str, now: datetime) -> PortalSession | None:
        """The unexpired session of this cookie whose user's client is still active."""
        return await self.session.scalar(
            select(PortalSession)
            .join(PortalUser, PortalUser.id == PortalSession.user_pk)
            .join(ApiClient, ApiClient.id == PortalUser.client_pk)
            .where(
                PortalSession.token_sha256 == token_sha256,
                PortalSession.expires_at > now,
                ApiClient.active,
            )
        )

    async def close_session(self, token_sha256: str) -> None:
        """Sign a browser out."""
        await self.session.execute(
            delete(PortalSession).where(PortalSession.token_sha256 == token_sha256)
        )

    async def forget_expired(self, now: datetime) -> None:
        """Drop sessions past their end (done at each sign-in: no sweeper needed)."""
        await self.session.execute(delete(PortalSession).where(PortalSession.expires_at <= now))

    async def set_flash(self, token_sha256: str, flash: dict[str, Any] | None) -> None:
        """The message the next page shows once (None clears it)."""
        await self.session.execute(
            update(PortalSession)
            .where(PortalSession.token_sha256 == token_sha256)
            .values(flash=flash)
        )

    async def set_language(self, user_pk: int, language: str) -> None:
        """The language the user's pages are shown in."""
        await self.session.execute(
            update(PortalUser).where(PortalUser.id == user_pk).values(language=language)
        )
