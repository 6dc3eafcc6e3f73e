"""Payment activities: plan a run, build its files, issue its payments, apply bank returns.

Each is idempotent under retries and restarts (see `store.payments`): the plan is one
transaction guarded by a unique index, a file is kept once built, and an invoice is moved
only from the status the step expects.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import astuple
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from invoicing.payments.pain001 import validate_pain001, write_pain001
from invoicing.payments.transfers import Debtor, Transfer
from invoicing.reasons import BankReturnReason
from invoicing.transitions import SYSTEM, Action
from store.blobs import BlobStore
from store.database import transaction
from store.invoices import InvoiceRepository
from store.models import Invoice, Payment, PaymentFile
from store.payments import CONFIRMED, INVOICE, REJECTED, PaymentRepository
from workflows.invoice_actions import ActionRequest
from workflows.payments import (
    Applied,
    FilesRequest,
    Issued,
    IssuePage,
    Planned,
    PlanRequest,
    StatementInput,
)

# Invoice statuses at or past each step: an update finding one of these was already applied.
PAID_OR_LATER = {"PAYEE"}
ISSUED_OR_LATER = {"MISE_EN_PAIEMENT", "PAYEE"}


class PaymentActivities:
    """Payment runs and bank statements, against the database, blobs and invoice workflows."""

    def __init__(
        self, client: Client, blobs: BlobStore, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        self.client = client
        self.blobs = blobs
        self.sessions = sessions

    @activity.defn(name="plan_payment_run")
    async def plan_payment_run(self, request: PlanRequest) -> Planned:
        async with transaction(self.sessions) as session:
            payments = PaymentRepository(session)
            run = await payments.open_run(
                request.run_id, request.requested_by, request.pain_version, request.execution_date
            )
            if run.status == "PLANNED" and not await payments.files(run.id):
                accounts = {service: a.iban for service, a in request.accounts.items()}
                skipped = await payments.plan(run, request.debtor.iban, accounts)
                run.skipped = skipped
            count = sum(row["count"] for row in await payments.summary(run.id))
            return Planned(transfers=count, skipped=list(run.skipped or []))

    @activity.defn(name="build_payment_files")
    async def build_payment_files(self, request: FilesRequest) -> list[str]:
        """One validated pain.001 per paying account; an account already filed is kept.

        The file is written in a thread while this loop feeds it transfers a page at a
        time from the database: 100,000 transfers never sit in memory at once.
        """
        async with self.sessions() as session:
            payments = PaymentRepository(session)
            run = await payments.run(request.run_id)
            assert run is not None, "planned first"
            accounts = await payments.accounts_without_file(run.id)
            version, execution_date = run.pain_version, run.execution_date
        for debtor_iban in accounts:
            file_id = f"{request.run_id}:{debtor_iban}"
            async with self.sessions() as session:
                count, total = await PaymentRepository(session).totals(request.run_id, debtor_iban)
            with tempfile.TemporaryFile() as out:
                header = await asyncio.to_thread(
                    write_pain001,
                    out,
                    Debtor(*astuple(request.account(debtor_iban))),
                    self._transfers(asyncio.get_running_loop(), request.run_id, debtor_iban),
                    version=version,
                    message_id="CHAINE-" + hashlib.sha256(file_id.encode()).hexdigest()[:28],
                    created_at=datetime.now(UTC),
                    execution_date=execution_date,
                    count=count,
                    control_sum=total,
                )
                out.seek(0)
                await asyncio.to_thread(validate_pain001, out, version)
                out.seek(0)
                blob = self.blobs.put_chunks(iter(lambda: out.read(1 << 20), b""), 1 << 40)
            async with transaction(self.sessions) as session:
                payments = PaymentRepository(session)
                await payments.add_file(
                    PaymentFile(
                        id=file_id,
                        run_id=request.run_id,
                        debtor_iban=debtor_iban,
                        pain_version=version,
                        message_id=header.message_id,
                        sha256=blob.sha256,
                        size=blob.size,
                        transactions=header.number_of_transactions,
                        control_sum=header.control_sum,
                    )
                )
        async with transaction(self.sessions) as session:
            payments = PaymentRepository(session)
            run = await payments.run(request.run_id)
            assert run is not None
            run.status = "FILES_BUILT"
            return [f.id for f in await payments.files(request.run_id)]

    def _transfers(
        self, loop: asyncio.AbstractEventLoop, run_id: str, debtor_iban: str
    ) -> Iterator[Transfer]:
        """The account's transfers for the writer's thread, fetched page by page on `loop`."""
        after = ""
        while True:
            page = asyncio.run_coroutine_threadsafe(
                self._page(run_id, debtor_iban, after), loop
            ).result()
            if not page:
                return
            yield from page
            after = page[-1].end_to_end_id

    async def _page(self, run_id: str, debtor_iban: str, after: str) -> list[Transfer]:
        activity.heartbeat(after)
        async with self.sessions() as session:
            rows = await PaymentRepository(session).page(run_id, debtor_iban, after, 1000)
            return [_transfer(payment) for payment in rows]

    @activity.defn(name="issue_payments")
    async def issue_payments(self, page: IssuePage) -> Issued:
        """PAYMENT_ISSUED on one page of the run's invoices, by the system."""
        async with self.sessions() as session:
            payments = await PaymentRepository(session).invoice_payments(
                page.run_id, page.after, page.limit
            )
            invoices = InvoiceRepository(session)
            targets = [(p, await invoices.get(p.invoice_id)) for p in payments]
        issued = 0
        for payment, invoice in targets:
            if invoice is None:
                continue
            request = ActionRequest(
                action=Action.PAYMENT_ISSUED.value,
                role=SYSTEM.value,
                actor=f"payment-run:{page.run_id}",
                comment=f"transfer {payment.end_to_end_id}",
            )
            if await self._act(invoice, request, done_if=ISSUED_OR_LATER):
                issued += 1
            activity.heartbeat(payment.end_to_end_id)
        next_after = payments[-1].end_to_end_id if len(payments) == page.limit else None
        return Issued(issued, next_after)

    @activity.defn(name="apply_bank_statement")
    async def apply_bank_statement(self, input: StatementInput) -> Applied:
        """Confirmed transfers: invoice PAYEE on the booking date; rejected ones: back to
        the accountant with the bank's reason; the interest transfer is only recorded."""
        async with self.sessions() as session:
            statement = await PaymentRepository(session).statement(input.statement_id)
            assert statement is not None, "stored by the API first"
            entries = [e for e in statement.entries if e["matched"]]
        counts = {"confirmed": 0, "rejected": 0, "unchanged": 0}
        for entry in entries:
            outcome = await self._apply(entry)
            counts[outcome] += 1
            activity.heartbeat(entry["end_to_end_id"])
        return Applied(**counts)

    async def _apply(self, entry: dict[str, Any]) -> str:
        # A transfer booked back (returned) ends like one rejected up front.
        status = {"RETURNED": REJECTED}.get(entry["status"], entry["status"])
        if status not in (CONFIRMED, REJECTED):
            return "unchanged"
        booked = date.fromisoformat(entry["date"]) if entry.get("date") else None
        async with transaction(self.sessions) as session:
            payments = PaymentRepository(session)
            payment = await payments.payment(entry["end_to_end_id"])
            assert payment is not None
            reason = entry.get("reason")
            await payments.settle(payment, status, booked, reason)
            invoice = (
                await InvoiceRepository(session).get(payment.invoice_id)
                if payment.invoice_id
                else None
            )
        if payment.kind != INVOICE or invoice is None:
            return status.lower()  # interest: the payment row is the record
        if status == CONFIRMED:
            request = ActionRequest(
                action=Action.MARK_PAID.value,
                role=SYSTEM.value,
                actor="bank",
                paid_on=booked or datetime.now(UTC).date(),
                comment=f"transfer {payment.end_to_end_id} booked",
            )
            await self._act(invoice, request, done_if=PAID_OR_LATER)
            return "confirmed"
        code = reason if reason in BankReturnReason.__members__ else BankReturnReason.NARR.value
        request = ActionRequest(
            action=Action.PAYMENT_REJECTED.value,
            role=SYSTEM.value,
            actor="bank",
            reason=code,
            comment=f"transfer {payment.end_to_end_id} rejected: {entry['reason_text'] or reason}",
        )
        await self._act(invoice, request, done_if={"COMPTABILISEE", "PAYEE"})
        return "rejected"

    async def _act(self, invoice: Invoice, request: ActionRequest, done_if: set[str]) -> bool:
        """Send the action; True if it moved the invoice, False if it had already moved
        (a retried activity, a statement sent twice, a workflow already closed)."""
        if invoice.status in done_if:
            return False
        handle = self.client.get_workflow_handle(
            invoice.workflow_id, first_execution_run_id=invoice.run_id
        )
        try:
            await handle.execute_update("act", request)
        except WorkflowUpdateFailedError as error:
            details = getattr(error.cause, "details", None) or ()
            first = details[0] if details and isinstance(details[0], dict) else {}
            if first.get("invoice_status") in done_if:
                return False
            raise
        except RPCError:
            async with self.sessions() as session:
                now = await InvoiceRepository(session).get(invoice.id)
            if now is not None and now.status in done_if:
                return False
            raise
        return True


def _transfer(payment: Payment) -> Transfer:
    return Transfer(
        end_to_end_id=payment.end_to_end_id,
        amount=payment.amount,
        currency=payment.currency,
        creditor_name=payment.creditor_name,
        creditor_iban=payment.creditor_iban,
        creditor_bic=payment.creditor_bic,
        remittance=payment.remittance,
        invoice_reference=payment.invoice_id or payment.commitment_number or "",
    )
