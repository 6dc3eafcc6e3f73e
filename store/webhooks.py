"""Repository of webhook subscriptions, their deliveries and attempts, and relay cursors."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import InvoiceEvent, RelayCursor, Webhook, WebhookAttempt, WebhookDelivery


class DeliveryStatus(StrEnum):
    """Where the delivery of one event to one subscription stands."""

    PENDING = "PENDING"  # being delivered, retries included
    DELIVERED = "DELIVERED"  # the receiver answered 2xx
    DEAD = "DEAD"  # retried for the whole retry window, given up; may be redelivered
    SKIPPED = "SKIPPED"  # the subscription was disabled before it could be delivered


REDELIVERABLE = frozenset({DeliveryStatus.DEAD, DeliveryStatus.DELIVERED, DeliveryStatus.SKIPPED})


class WebhookRepository:
    """Every query on `webhooks`, `webhook_deliveries`, `webhook_attempts`, `relay_cursors`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- subscriptions --------------------------------------------------------------

    def add(self, webhook: Webhook) -> None:
        """A new subscription."""
        self.session.add(webhook)

    async def get(self, webhook_id: str, *, for_update: bool = False) -> Webhook | None:
        """The subscription with this id."""
        return await self.session.get(Webhook, webhook_id, with_for_update=for_update)

    async def owned_by(self, owner: str | None) -> list[Webhook]:
        """The subscriptions of an API client (`None`: everyone's, for operators)."""
        query = select(Webhook).order_by(Webhook.created_at, Webhook.id)
        if owner is not None:
            query = query.where(Webhook.owner == owner)
        return list(await self.session.scalars(query))

    async def count_owned_by(self, owner: str) -> int:
        """How many subscriptions an API client has."""
        return (
            await self.session.scalar(
                select(func.count()).select_from(Webhook).where(Webhook.owner == owner)
            )
            or 0
        )

    async def active(self) -> list[Webhook]:
        """Every subscription that receives events."""
        return list(await self.session.scalars(select(Webhook).where(Webhook.active.is_(True))))

    async def delete(self, webhook_id: str) -> None:
        """Remove a subscription; its deliveries and attempts go with it (cascade)."""
        await self.session.execute(delete(Webhook).where(Webhook.id == webhook_id))

    async def note_failure(self, webhook_id: str, at: datetime) -> Webhook | None:
        """Mark the endpoint failing since `at` unless it already was; the subscription."""
        await self.session.execute(
            update(Webhook)
            .where(Webhook.id == webhook_id, Webhook.failing_since.is_(None))
            .values(failing_since=at)
        )
        return await self.session.get(Webhook, webhook_id, populate_existing=True)

    async def note_success(self, webhook_id: str) -> None:
        """The endpoint answered: it is no longer failing."""
        await self.session.execute(
            update(Webhook)
            .where(Webhook.id == webhook_id, Webhook.failing_since.is_not(None))
            .values(failing_since=None)
        )

    async def disable(self, webhook_id: str, reason: str) -> bool:
        """Stop sending to an endpoint; False if it already was disabled (so the owner is
        told once)."""
        done = await self.session.execute(
            update(Webhook)
            .where(Webhook.id == webhook_id, Webhook.active.is_(True))
            .values(active=False, disabled_reason=reason[:500])
        )
        return done.rowcount == 1  # type: ignore[attr-defined]

    # --- deliveries -----------------------------------------------------------------

    async def add_deliveries(self, pairs: Sequence[tuple[InvoiceEvent, Webhook, str]]) -> set[str]:
        """A pending delivery per (event, subscription, delivery id) not yet recorded; the
        ids still to be made (new ones, and earlier ones still pending)."""
        if not pairs:
            return set()
        ids = [delivery_id for _, _, delivery_id in pairs]
        status = dict(
            (
                await self.session.execute(
                    select(WebhookDelivery.id, WebhookDelivery.status).where(
                        WebhookDelivery.id.in_(ids)
                    )
                )
            ).all()
        )
        for event, webhook, delivery_id in pairs:
            if delivery_id not in status:
                self.session.add(
                    WebhookDelivery(
                        id=delivery_id,
                        webhook_id=webhook.id,
                        event_id=event.id,
                        event_type=event.type,
                        status=DeliveryStatus.PENDING,
                        attempts=0,
                    )
                )
        return {i for i in ids if status.get(i, DeliveryStatus.PENDING) == DeliveryStatus.PENDING}

    async def delivery(
        self, delivery_id: str, *, for_update: bool = False
    ) -> WebhookDelivery | None:
        """The delivery with this id."""
        return await self.session.get(
            WebhookDelivery, delivery_id, with_for_update=for_update, populate_existing=True
        )

    async def existing(self, delivery_ids: Sequence[str]) -> set[str]:
        """Those of these deliveries that exist (a deleted subscription deletes its own)."""
        if not delivery_ids:
            return set()
        return set(
            await self.session.scalars(
                select(WebhookDelivery.id).where(WebhookDelivery.id.in_(delivery_ids))
            )
        )

    async def delivery_context(
        self, delivery_id: str
    ) -> tuple[WebhookDelivery, Webhook, InvoiceEvent] | None:
        """A delivery with its subscription and its event (`None` once the subscription is
        deleted, which deletes its deliveries)."""
        row = (
            await self.session.execute(
                select(WebhookDelivery, Webhook, InvoiceEvent)
                .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                .join(InvoiceEvent, InvoiceEvent.id == WebhookDelivery.event_id)
                .where(WebhookDelivery.id == delivery_id)
            )
        ).one_or_none()
        return None if row is None else (row[0], row[1], row[2])

    async def deliveries(
        self, webhook_id: str, *, after: int, status: str | None, limit: int
    ) -> list[WebhookDelivery]:
        """A subscription's deliveries by event, after the event id `after`."""
        query = select(WebhookDelivery).where(
            WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.event_id > after
        )
        if status is not None:
            query = query.where(WebhookDelivery.status == status)
        query = query.order_by(WebhookDelivery.event_id).limit(limit)
        return list(await self.session.scalars(query))

    async def attempts_of(self, delivery_ids: Collection[str]) -> dict[str, list[WebhookAttempt]]:
        """The attempts of these deliveries, oldest first, by delivery id."""
        found: dict[str, list[WebhookAttempt]] = defaultdict(list)
        if delivery_ids:
            query = (
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id.in_(delivery_ids))
                .order_by(WebhookAttempt.id)
            )
            for attempt in await self.session.scalars(query):
                found[attempt.delivery_id].append(attempt)
        return found

    async def record_attempt(
        self,
        delivery_id: str,
        *,
        at: datetime,
        status_code: int | None,
        latency_ms: int,
        error: str | None,
    ) -> None:
        """One HTTP attempt: its row, and the delivery's counters and last outcome."""
        self.session.add(
            WebhookAttempt(
                delivery_id=delivery_id,
                attempted_at=at,
                status_code=status_code,
                latency_ms=latency_ms,
                error=error[:500] if error else None,
            )
        )
        await self.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .values(
                attempts=WebhookDelivery.attempts + 1,
                last_status_code=status_code,
                last_error=error[:500] if error else None,
            )
        )

    async def record_deliveries(
        self, accepted: Sequence[tuple[str, datetime, int, int]], at: datetime
    ) -> set[str]:
        """Attempts the receivers accepted, as (delivery id, sent at, status code, latency),
        recorded together (a relay pass's batch): their rows, the deliveries' counters, and
        `DELIVERED` (never twice). The ids of the deliveries that still exist."""
        existing = await self.existing([delivery_id for delivery_id, *_ in accepted])
        kept = [item for item in accepted if item[0] in existing]
        if not kept:
            return existing
        self.session.add_all(
            WebhookAttempt(
                delivery_id=delivery_id, attempted_at=sent_at, status_code=code, latency_ms=ms
            )
            for delivery_id, sent_at, code, ms in kept
        )
        for code in {code for _, _, code, _ in kept}:
            await self.session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_([i for i, _, c, _ in kept if c == code]))
                .values(
                    attempts=WebhookDelivery.attempts + 1, last_status_code=code, last_error=None
                )
            )
        await self.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id.in_([i for i, *_ in kept]),
                WebhookDelivery.status != DeliveryStatus.DELIVERED,
            )
            .values(status=DeliveryStatus.DELIVERED, delivered_at=at)
        )
        return existing

    async def mark_undelivered(self, delivery_id: str, status: str, reason: str) -> None:
        """Given up (dead-lettered) or skipped, unless it was delivered meanwhile."""
        await self.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.status != DeliveryStatus.DELIVERED,
            )
            .values(status=status, last_error=reason[:500])
        )

    async def reopen(self, delivery: WebhookDelivery) -> bool:
        """Back to pending for a redelivery, if it still stands where it was read (so two
        concurrent requests redeliver once) and may be redelivered."""
        done = await self.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery.id,
                WebhookDelivery.status == delivery.status,
                WebhookDelivery.status.in_(REDELIVERABLE),
            )
            .values(status=DeliveryStatus.PENDING)
        )
        return done.rowcount == 1  # type: ignore[attr-defined]

    async def restore(self, delivery_id: str, status: str) -> None:
        """Undo `reopen` when the redelivery could not be started."""
        await self.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id, WebhookDelivery.status == DeliveryStatus.PENDING
            )
            .values(status=status)
        )

    # --- relay cursors --------------------------------------------------------------

    async def cursor(self, name: str) -> int:
        """The last event id the relay `name` handled (0 before its first run)."""
        found = await self.session.get(RelayCursor, name)
        return found.last_event_id if found else 0

    async def advance(self, name: str, last_event_id: int) -> None:
        """Move the relay `name` past `last_event_id` (never backwards)."""
        found = await self.session.get(RelayCursor, name, with_for_update=True)
        if found is None:
            self.session.add(RelayCursor(name=name, last_event_id=last_event_id))
        elif last_event_id > found.last_event_id:
            found.last_event_id = last_event_id
