"""`GET /v1/events`: status changes to poll, for clients that cannot receive webhooks."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import CurrentPrincipal, SessionDep
from api.schemas import ResponseModel
from core.principals import Role
from store.events import EventRepository

router = APIRouter(prefix="/v1", tags=["events"])
MAX_WAIT_SECONDS = 30
POLL_SECONDS = 0.5  # how often a waiting request looks again


class EventPublic(ResponseModel):
    """One status change of one invoice; `sequence` orders an invoice's events."""

    id: int
    type: str
    invoice_id: str
    sequence: int
    status: str
    lifecycle_code: str | None
    occurred_at: datetime
    payload: dict[str, Any]


class EventsPublic(ResponseModel):
    """A page of events; pass `next` as `after` to read on (it stays put when empty)."""

    items: list[EventPublic]
    next: int


@router.get("/events", response_model=EventsPublic, summary="Poll status changes")
async def list_events(
    principal: CurrentPrincipal,
    session: SessionDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="Cursor: last id read")] = 0,
    types: Annotated[list[str] | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    wait: Annotated[
        int, Query(ge=0, le=MAX_WAIT_SECONDS, description="Seconds to wait for an event")
    ] = 0,
) -> EventsPublic:
    """Events of the invoices of your SIRETs (as seller or buyer), oldest first.

    With `wait`, an empty page is not answered at once: the request waits (long polling)
    until an event arrives, then answers it, or answers empty after `wait` seconds.
    """
    sirets = None if principal.role is Role.OPS else principal.sirets
    store = EventRepository(session)
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        events = await store.after(after, sirets=sirets, types=types, limit=limit)
        remaining = deadline - asyncio.get_running_loop().time()
        if events or remaining <= 0:
            break
        await session.rollback()  # end the snapshot (and free the connection) while waiting
        await asyncio.sleep(min(POLL_SECONDS, remaining))
    return EventsPublic(
        items=[EventPublic.model_validate(e) for e in events],
        next=events[-1].id if events else after,
    )
