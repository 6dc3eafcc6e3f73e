"""Repository of the invoice events outbox."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import or_, select
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
    ) -> list[InvoiceEvent]:
        """Events after `cursor`, oldest first, of invoices where one of `sirets` is seller
        or buyer (`None`: every invoice, for operators)."""
        query = select(InvoiceEvent).where(InvoiceEvent.id > cursor)
        if sirets is not None:
            query = query.where(
                or_(InvoiceEvent.seller_key.in_(sirets), InvoiceEvent.buyer_siret.in_(sirets))
            )
        if types:
            query = query.where(InvoiceEvent.type.in_(types))
        return list(await self.session.scalars(query.order_by(InvoiceEvent.id).limit(limit)))
