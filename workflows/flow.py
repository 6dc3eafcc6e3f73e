"""`FlowWorkflow`: a bulk deposit fanned out into invoice workflows, with a per-file report.

Each file goes to its own `InvoiceWorkflow` through update-with-start from an activity,
not as a child workflow: an invoice outlives the flow that brought it, and answers its
deposit synchronously, exactly as through the API.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.flows import FlowActivities
    from workflows.flows import (
        FlowEntry,
        FlowEntryDeposit,
        FlowInput,
        FlowRecord,
        FlowStatus,
        flow_status,
    )
    from workflows.invoice import STORE_RETRY

PARALLEL_DEPOSITS = 8


@workflow.defn
class FlowWorkflow:
    """Unpack, record, deposit each file, record the outcome."""

    @workflow.init
    def __init__(self, input: FlowInput) -> None:
        self._entries: list[FlowEntry] | None = None

    @workflow.update
    async def received(self) -> list[FlowEntry]:
        """The files found in the flow (and those refused), once the flow is recorded."""
        await workflow.wait_condition(lambda: self._entries is not None)
        return list(self._entries or [])

    @workflow.run
    async def run(self, input: FlowInput) -> str:
        entries = await workflow.execute_activity_method(
            FlowActivities.unpack_flow,
            input,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=STORE_RETRY,
        )
        await self._record(input, FlowStatus.IN_PROGRESS, entries)
        self._entries = entries
        slots = asyncio.Semaphore(PARALLEL_DEPOSITS)

        async def deposit(entry: FlowEntry) -> FlowEntry:
            if not entry.pending:
                return entry
            async with slots:
                return await workflow.execute_activity_method(
                    FlowActivities.deposit_flow_entry,
                    FlowEntryDeposit(input, entry),
                    start_to_close_timeout=timedelta(minutes=10),
                    retry_policy=STORE_RETRY,
                )

        done = list(await asyncio.gather(*(deposit(e) for e in entries)))
        status = flow_status(done)
        await self._record(input, status, done)
        self._entries = done
        await workflow.wait_condition(workflow.all_handlers_finished)
        return status.value

    async def _record(self, input: FlowInput, status: FlowStatus, entries: list[FlowEntry]) -> None:
        await workflow.execute_activity_method(
            FlowActivities.record_flow,
            FlowRecord(input, status, entries),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=STORE_RETRY,
        )
