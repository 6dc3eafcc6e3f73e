"""Repository of the invoice events outbox."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import InvoiceEvent


class EventRepository:
    """Every query on `invoice_events`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def after(
        self,
        cursor: int,
        *,
        sirets: Collection[str] | None,
        types: Collection[str] | None = None,
        limit: int = 100,
        until: int | None = None,
    ) -> list[InvoiceEvent]:
        """Events after `cursor` (up to the id `until`, if given), oldest first, of invoices
        where one of `sirets` is seller or buyer (`None`: every invoice, for operators)."""
        query = select(InvoiceEvent).where(InvoiceEvent.id > cursor)
        if until is not None:
            query = query.where(InvoiceEvent.id <= until)
        if sirets is not None:
            query = query.where(
                or_(InvoiceEvent.seller_key.in_(sirets), InvoiceEvent.buyer_siret.in_(sirets))
            )
        if types:
            query = query.where(InvoiceEvent.type.in_(types))
        return list(await self.session.scalars(query.order_by(InvoiceEvent.id).limit(limit)))

    async def last_id(self) -> int:
        """The id of the newest committed event (0 when there is none)."""
        return await self.session.scalar(select(func.max(InvoiceEvent.id))) or 0
