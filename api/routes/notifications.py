"""`/v1/notifications`: each API client's inbox (for now: its webhook was disabled)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.deps import CurrentPrincipal, SessionDep
from api.schemas import ResponseModel
from core.errors import ChaineError, ErrorCode
from store.notifications import NotificationRepository

router = APIRouter(prefix="/v1", tags=["notifications"])

NotificationId = Annotated[int, Path(ge=1, le=2**62, description="Notification id")]


class NotificationNotFound(ChaineError):
    """No notification with this id in the caller's inbox."""

    code = ErrorCode.NOTIFICATION_NOT_FOUND
    status = 404


class NotificationPublic(ResponseModel):
    """Something Chaîne tells a client; `kind` says what (`webhook.disabled`)."""

    id: int
    kind: str
    subject: str
    payload: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class NotificationsPublic(ResponseModel):
    """A page of notifications, newest first; pass `next` as `before` to read older ones."""

    items: list[NotificationPublic]
    next: int | None


@router.get("/notifications", response_model=NotificationsPublic, summary="Your notifications")
async def list_notifications(
    principal: CurrentPrincipal,
    session: SessionDep,
    unread: bool = False,
    before: Annotated[int | None, Query(ge=1, le=2**62, description="Cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NotificationsPublic:
    """Your inbox, newest first; `unread=true` for those not marked read."""
    found = await NotificationRepository(session).inbox(
        principal.client_id, unread=unread, before=before, limit=limit
    )
    return NotificationsPublic(
        items=[NotificationPublic.model_validate(n) for n in found],
        next=found[-1].id if len(found) == limit else None,
    )


@router.post(
    "/notifications/{notification_id}/read",
    response_model=NotificationPublic,
    summary="Mark a notification read",
)
async def read_notification(
    notification_id: NotificationId, principal: CurrentPrincipal, session: SessionDep
) -> NotificationPublic:
    """Marked read (again: no change)."""
    store = NotificationRepository(session)
    notification = await store.get(notification_id)
    if notification is None or notification.recipient != principal.client_id:
        raise NotificationNotFound(f"no notification {notification_id}")
    store.mark_read(notification, datetime.now(UTC))
    await session.flush()
    answer = NotificationPublic.model_validate(notification)
    await session.commit()
    return answer
