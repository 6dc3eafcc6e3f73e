"""`InvoiceWorkflow`: one invoice from its deposit to its last status.

Named `invoice:{seller}:{number}`, so a number is one process: depositing the same file
again answers the first outcome, another file under the same number is a conflict. The
deposit is an Update, answered in the same HTTP call once the invoice is validated
(on the `chaine-cpu` queue) and recorded. A rejected invoice ends its run, so a corrected
file may be deposited under the same number; an accepted one stays, waiting for its
recipient.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.invoices import InvoiceStoreActivities
    from activities.validation import ValidationActivities
    from invoicing.statuses import FINAL_STATUSES, InvoiceStatus
    from workflows import search_attributes as sa
    from workflows.deposits import (
        DepositOutcome,
        DepositRequest,
        InvoiceInput,
        PlatformCheck,
        RecordDeposit,
        ValidateInput,
        with_platform_findings,
    )

INVOICE_IDS = uuid.UUID("5b0d1c1e-8f61-4c1e-9a53-4c6f1d3c0a11")

# Validation is retried until it answers: a failure of ours must never become a rejection.
VALIDATION_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1),
                               maximum_interval=timedelta(minutes=1))
VALIDATION_TIMEOUT = timedelta(minutes=10)  # a 20 MB invoice of many thousand lines
VALIDATION_HEARTBEAT = timedelta(seconds=10)  # a dead worker is noticed this fast
STORE_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200),
                          maximum_interval=timedelta(seconds=30))


def invoice_workflow_id(seller_key: str, number: str) -> str:
    """The id of the process of this seller's invoice number."""
    return f"invoice:{seller_key}:{number}"


def invoice_id_of(workflow_id: str, run_id: str) -> str:
    """The public id of the invoice deposited in this run (stable across retries)."""
    return str(uuid.uuid5(INVOICE_IDS, f"{workflow_id}/{run_id}"))


@workflow.defn
class InvoiceWorkflow:
    """Intake, then the life of one invoice."""

    @workflow.init
    def __init__(self, input: InvoiceInput) -> None:
        self._input = input
        self._lock = asyncio.Lock()
        self._original: str | None = None
        self._outcome: DepositOutcome | None = None
        self._status: InvoiceStatus | None = None

    @workflow.run
    async def run(self, input: InvoiceInput) -> str:
        """Wait for the deposit; a rejected invoice ends here, an accepted one waits."""
        await workflow.wait_condition(lambda: self._outcome is not None)
        if self._status is InvoiceStatus.REJETEE:
            await workflow.wait_condition(workflow.all_handlers_finished)
            return self._status.value
        # Made available to its recipient: processing by people continues from here,
        # until the invoice reaches a final status.
        await workflow.wait_condition(lambda: self._status in FINAL_STATUSES)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return str(self._status)

    @workflow.query
    def status(self) -> str | None:
        """The current status, for operators."""
        return self._status.value if self._status else None

    @workflow.update
    async def deposit(self, request: DepositRequest) -> DepositOutcome:
        """Validate and record a deposited file; replays and conflicts answer at once."""
        async with self._lock:
            if self._outcome is not None:
                if request.original_sha256 == self._original:
                    return replace(self._outcome, created=False)
                return replace(self._outcome, report={}, created=False, conflict=True)
            self._original = request.original_sha256
            self._outcome = await self._intake(request)
            return self._outcome

    async def _intake(self, request: DepositRequest) -> DepositOutcome:
        info = workflow.info()
        invoice_id = invoice_id_of(info.workflow_id, info.run_id)
        result = await workflow.execute_activity_method(
            ValidationActivities.validate_deposit,
            ValidateInput(request.original_sha256, request.media_type),
            task_queue=self._input.cpu_task_queue,
            start_to_close_timeout=VALIDATION_TIMEOUT,
            heartbeat_timeout=VALIDATION_HEARTBEAT,
            retry_policy=VALIDATION_RETRY,
        )
        report = result.report
        if result.keys is not None:
            platform = await workflow.execute_activity_method(
                InvoiceStoreActivities.check_platform_rules,
                PlatformCheck(invoice_id, self._input.seller_key, result.keys),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=STORE_RETRY,
            )
            report = with_platform_findings(report, platform)
        accepted = bool(report["valid"])
        statuses = (
            [InvoiceStatus.DEPOSEE, InvoiceStatus.MISE_A_DISPOSITION]
            if accepted
            else [InvoiceStatus.REJETEE]
        )
        await workflow.execute_activity_method(
            InvoiceStoreActivities.record_deposit,
            RecordDeposit(
                invoice_id=invoice_id,
                workflow_id=info.workflow_id,
                run_id=info.run_id,
                seller_key=self._input.seller_key,
                number=self._input.number,
                request=request,
                report=report,
                status=statuses[-1].value,
                keys=result.keys,
                canonical_sha256=result.canonical_sha256,
                statuses=[s.value for s in statuses],
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=STORE_RETRY,
        )
        self._status = statuses[-1]
        keys = result.keys
        workflow.upsert_search_attributes([
            sa.KIND.value_set("invoice"),
            sa.STATUS.value_set(self._status.value),
            sa.SUPPLIER.value_set(self._input.seller_key),
            *([sa.STRUCTURE.value_set(keys.buyer_siret)] if keys and keys.buyer_siret else []),
            *([sa.AMOUNT.value_set(float(keys.amount_due))] if keys and keys.amount_due else []),
        ])
        return DepositOutcome(invoice_id=invoice_id, status=self._status.value, report=report)
