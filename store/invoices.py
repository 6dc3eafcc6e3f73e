"""Repository of invoices, their status history, events and mandates."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Invoice, InvoiceEvent, InvoiceStatusChange, Mandate


class InvoiceRepository:
    """Every query on `invoices`, `invoice_status_changes`, `invoice_events` and `mandates`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, invoice_id: str) -> Invoice | None:
        """The invoice with this id."""
        return await self.session.get(Invoice, invoice_id)

    async def add_deposit(
        self,
        invoice: Invoice,
        statuses: Sequence[tuple[str, str | None]],
        actor: str,
        at: datetime,
    ) -> bool:
        """Record a deposit and the statuses it reached (with their lifecycle codes), each
        with its history row and event; False if it was already recorded.

        Keyed by the invoice id, itself derived from the workflow run, so an activity
        retried after a crash finds its own row and writes nothing twice.
        """
        if await self.session.get(Invoice, invoice.id) is not None:
            return False
        self.session.add(invoice)
        await self.session.flush()
        for sequence, (status, code) in enumerate(statuses, start=1):
            self._add_change(
                invoice, sequence, status, actor, at, None, None, code, "invoice.status_changed"
            )
        return True

    async def add_transition(
        self,
        invoice_id: str,
        sequence: int,
        status: str,
        actor: str,
        at: datetime,
        reason: str | None,
        comment: str | None,
        lifecycle_code: str | None,
        event_type: str,
        projection: dict[str, Any],
    ) -> bool:
        """Record one status change: projection, history row and event, or nothing if the
        change with this sequence number is already recorded (a retried activity)."""
        invoice = await self.session.get(Invoice, invoice_id, with_for_update=True)
        if invoice is None:
            raise LookupError(f"no invoice {invoice_id}")
        done = await self.session.scalar(
            select(InvoiceEvent.id).where(
                InvoiceEvent.invoice_id == invoice_id, InvoiceEvent.sequence == sequence
            )
        )
        if done is not None:
            return False
        if status != invoice.status:
            invoice.status = status
            invoice.status_at = at
        added = projection.pop("attachments_added", [])
        if added:  # a new list, so the JSON column is seen as changed
            invoice.attachments = [*invoice.attachments, *added]
        for column, value in projection.items():
            setattr(invoice, column, value)
        self._add_change(
            invoice, sequence, status, actor, at, reason, comment, lifecycle_code, event_type
        )
        return True

    async def uncount_commitment(self, invoice_id: str) -> tuple[str, Decimal] | None:
        """Stop counting the invoice against its commitment: the commitment number and the
        amount to give back, or None when it counts nothing (already given back)."""
        invoice = await self.session.get(Invoice, invoice_id, with_for_update=True)
        if invoice is None or invoice.commitment_number is None:
            return None
        counted, invoice.commitment_counted = invoice.commitment_counted, None
        return None if counted is None else (invoice.commitment_number, counted)

    def _add_change(
        self,
        invoice: Invoice,
        sequence: int,
        status: str,
        actor: str,
        at: datetime,
        reason: str | None,
        comment: str | None,
        code: str | None,
        event_type: str,
    ) -> None:
        if event_type == "invoice.status_changed":
            self.session.add(
                InvoiceStatusChange(
                    invoice_id=invoice.id,
                    sequence=sequence,
                    status=status,
                    actor=actor,
                    reason=reason,
                    comment=comment,
                    at=at,
                )
            )
        self.session.add(
            InvoiceEvent(
                invoice_id=invoice.id,
                sequence=sequence,
                type=event_type,
                status=status,
                lifecycle_code=code,
                seller_key=invoice.seller_key,
                buyer_siret=invoice.buyer_siret,
                occurred_at=at,
                payload={
                    "number": invoice.number,
                    "reason": reason,
                    "comment": comment,
                    "due_at": invoice.due_at.isoformat() if invoice.due_at else None,
                },
            )
        )

    async def mandate(self, invoice_id: str, number: str, amount: Decimal) -> str:
        """The invoice's mandate number, issuing it if it has none (one per invoice)."""
        existing = await self.session.scalar(
            select(Mandate.number).where(Mandate.invoice_id == invoice_id)
        )
        if existing is not None:
            return existing
        self.session.add(Mandate(invoice_id=invoice_id, number=number, amount=amount))
        await self.session.flush()
        return number

    async def live_with_number(
        self, seller_key: str, number: str, year: int | None, excluding: str
    ) -> str | None:
        """The id of a non-rejected invoice of this seller, number and year, other than one."""
        return await self.session.scalar(
            select(Invoice.id)
            .where(
                Invoice.seller_key == seller_key,
                Invoice.number == number,
                Invoice.issue_year == year,
                Invoice.status != "REJETEE",
                Invoice.id != excluding,
            )
            .limit(1)
        )

    async def credited_by(self, seller_key: str, number: str, excluding: str) -> str | None:
        """The id of the seller's live invoice a credit note names (BT-25), latest first."""
        return await self.session.scalar(
            select(Invoice.id)
            .where(
                Invoice.seller_key == seller_key,
                Invoice.number == number,
                Invoice.status != "REJETEE",
                Invoice.id != excluding,
            )
            .order_by(Invoice.deposited_at.desc())
            .limit(1)
        )

    async def credit_notes_of(self, invoice_id: str) -> list[str]:
        """The ids of the live credit notes and corrections that name this invoice."""
        rows = await self.session.scalars(
            select(Invoice.id)
            .where(Invoice.credited_invoice_id == invoice_id, Invoice.status != "REJETEE")
            .order_by(Invoice.deposited_at)
        )
        return list(rows)

    async def supplier_history(self, seller_key: str, excluding: str) -> list[Invoice]:
        """The seller's other live invoices, newest first (the last 200 are enough)."""
        rows = await self.session.scalars(
            select(Invoice)
            .where(
                Invoice.seller_key == seller_key,
                Invoice.id != excluding,
                Invoice.status != "REJETEE",
            )
            .order_by(Invoice.deposited_at.desc())
            .limit(200)
        )
        return list(rows)

    async def history(self, invoice_id: str) -> list[InvoiceStatusChange]:
        """Every status the invoice reached, oldest first."""
        rows = await self.session.scalars(
            select(InvoiceStatusChange)
            .where(InvoiceStatusChange.invoice_id == invoice_id)
            .order_by(InvoiceStatusChange.sequence)
        )
        return list(rows)

    # --- operators: the projection compared with the workflows that own it ---------------

    async def waiting_since(
        self,
        statuses: Collection[str],
        before: datetime,
        *,
        structure: str | None = None,
        supplier: str | None = None,
        limit: int = 200,
    ) -> list[Invoice]:
        """Invoices in one of `statuses` since earlier than `before`, longest waiting first."""
        query = select(Invoice).where(Invoice.status.in_(statuses), Invoice.status_at < before)
        if structure is not None:
            query = query.where(Invoice.buyer_siret == structure)
        if supplier is not None:
            query = query.where(Invoice.seller_key == supplier)
        rows = await self.session.scalars(
            query.order_by(Invoice.status_at, Invoice.id).limit(limit)
        )
        return list(rows)

    async def of_runs(self, runs: Collection[tuple[str, str]]) -> dict[tuple[str, str], Invoice]:
        """The invoices recorded by these workflow runs (workflow id, run id)."""
        if not runs:
            return {}
        rows = await self.session.scalars(
            select(Invoice).where(Invoice.workflow_id.in_({workflow for workflow, _ in runs}))
        )
        wanted = set(runs)
        return {
            (row.workflow_id, row.run_id): row
            for row in rows
            if (row.workflow_id, row.run_id) in wanted
        }

    async def repair_status(self, invoice_id: str, status: str, fallback_at: datetime) -> None:
        """Set the projected status back to the workflow's; its date is when the history
        last recorded that status (`fallback_at` if it never did)."""
        invoice = await self.session.get(Invoice, invoice_id, with_for_update=True)
        if invoice is None:
            raise LookupError(f"no invoice {invoice_id}")
        reached = await self.session.scalar(
            select(InvoiceStatusChange.at)
            .where(
                InvoiceStatusChange.invoice_id == invoice_id, InvoiceStatusChange.status == status
            )
            .order_by(InvoiceStatusChange.sequence.desc())
            .limit(1)
        )
        invoice.status = status
        invoice.status_at = reached or fallback_at
