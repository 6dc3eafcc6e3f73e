"""How callers (the API, the flow activities) hand a file to its invoice workflow."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy

from core.config import Settings
from workflows.deposits import DepositOutcome, DepositRequest, InvoiceInput
from workflows.invoice import InvoiceWorkflow, invoice_id_of, invoice_workflow_id
from workflows.invoice_actions import ControlSettings, Deadlines, InvoiceProcess


@dataclass(frozen=True)
class PendingDeposit:
    """The workflow has the deposit but did not answer in time; it will finish it."""

    invoice_id: str


def invoice_process(settings: Settings) -> InvoiceProcess:
    """Queues and legal durations of invoice workflows, from the settings."""
    return InvoiceProcess(
        task_queue=settings.task_queue,
        cpu_task_queue=settings.cpu_task_queue,
        deadlines=Deadlines(
            state=settings.payment_deadline_state,
            local_authority=settings.payment_deadline_local_authority,
            hospital=settings.payment_deadline_hospital,
            other=settings.payment_deadline_other,
            after_interruption=settings.payment_deadline_after_interruption,
            moe_validation=settings.moe_validation,
        ),
        control=ControlSettings(
            settings.control_share, settings.control_seed, settings.control_threshold
        ),
    )


async def deposit_invoice(
    client: Client,
    process: InvoiceProcess,
    seller: str,
    number: str,
    request: DepositRequest,
    wait: timedelta,
) -> DepositOutcome | PendingDeposit:
    """Update-with-start `invoice:{seller}:{number}` with the deposit; wait up to `wait`.

    The update is durable once accepted, so a caller that stops waiting loses nothing.
    """
    workflow_id = invoice_workflow_id(seller, number)
    start = WithStartWorkflowOperation(
        InvoiceWorkflow.run,
        InvoiceInput(seller, number, process.cpu_task_queue, process.deadlines, process.control),
        id=workflow_id,
        task_queue=process.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    update = await client.start_update_with_start_workflow(
        InvoiceWorkflow.deposit,
        request,
        start_workflow_operation=start,
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )
    try:
        async with asyncio.timeout(wait.total_seconds()):
            return await update.result()
    except WorkflowUpdateRPCTimeoutOrCancelledError:  # what our timeout's cancel becomes
        run_id = (await start.workflow_handle()).result_run_id or ""
        return PendingDeposit(invoice_id_of(workflow_id, run_id))
