"""Repository of the notifications inbox of API clients."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Notification


class NotificationRepository:
    """Every query on `notifications`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, recipient: str, kind: str, subject: str, payload: dict[str, Any]) -> Notification:
        """A new, unread notification for the API client `recipient`."""
        notification = Notification(
            recipient=recipient, kind=kind, subject=subject[:300], payload=payload
        )
        self.session.add(notification)
        return notification

    async def inbox(
        self, recipient: str, *, unread: bool, before: int | None, limit: int
    ) -> list[Notification]:
        """A client's notifications, newest first, older than the id `before` if given."""
        query = select(Notification).where(Notification.recipient == recipient)
        if unread:
            query = query.where(Notification.read_at.is_(None))
        if before is not None:
            query = query.where(Notification.id < before)
        return list(await self.session.scalars(query.order_by(Notification.id.desc()).limit(limit)))

    async def get(self, notification_id: int) -> Notification | None:
        """The notification with this id."""
        return await self.session.get(Notification, notification_id)

    def mark_read(self, notification: Notification, at: datetime) -> None:
        """Read at `at` (the first reading is kept)."""
        if notification.read_at is None:
            notification.read_at = at

    async def mark_emailed(self, notification_id: int, at: datetime) -> None:
        """Its email copy was accepted by the SMTP server at `at`."""
        await self.session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.emailed_at.is_(None))
            .values(emailed_at=at)
        )
