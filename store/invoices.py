"""Repository of invoices and their status history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Invoice, InvoiceStatusChange


class InvoiceRepository:
    """Every query on `invoices` and `invoice_status_changes`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, invoice_id: str) -> Invoice | None:
        """The invoice with this id."""
        return await self.session.get(Invoice, invoice_id)

    async def add_deposit(
        self, invoice: Invoice, statuses: Sequence[str], actor: str, at: datetime
    ) -> bool:
        """Record a deposit and the statuses it reached; False if it was already recorded.

        Keyed by the invoice id, itself derived from the workflow run, so an activity
        retried after a crash finds its own row and writes nothing twice.
        """
        if await self.session.get(Invoice, invoice.id) is not None:
            return False
        self.session.add(invoice)
        await self.session.flush()
        for sequence, status in enumerate(statuses, start=1):
            self.session.add(InvoiceStatusChange(
                invoice_id=invoice.id, sequence=sequence, status=status, actor=actor, at=at,
            ))
        return True

    async def live_with_number(
        self, seller_key: str, number: str, year: int | None, excluding: str
    ) -> str | None:
        """The id of a non-rejected invoice of this seller, number and year, other than one."""
        return await self.session.scalar(
            select(Invoice.id).where(
                Invoice.seller_key == seller_key,
                Invoice.number == number,
                Invoice.issue_year == year,
                Invoice.status != "REJETEE",
                Invoice.id != excluding,
            ).limit(1)
        )

    async def history(self, invoice_id: str) -> list[InvoiceStatusChange]:
        """Every status the invoice reached, oldest first."""
        rows = await self.session.scalars(
            select(InvoiceStatusChange)
            .where(InvoiceStatusChange.invoice_id == invoice_id)
            .order_by(InvoiceStatusChange.sequence)
        )
        return list(rows)
