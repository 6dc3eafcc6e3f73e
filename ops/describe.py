"""One workflow in detail: its status in the database and in Temporal, what it waits for,
its last events, and a link to the Temporal UI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError

from ops.executions import Execution, inspect
from ops.history import Event, PendingTimer, pending_timers, read_history, summarise
from ops.temporal_ui import workflow_url
from ops.visibility import INVOICE_WORKFLOW
from store.invoices import InvoiceRepository
from workflows.invoice import InvoiceWorkflow

QUERY_TIMEOUT = timedelta(seconds=5)  # a query needs a worker: do not wait long for one


@dataclass(frozen=True)
class Projection:
    """What the database says of the invoice this run recorded."""

    invoice_id: str
    status: str
    status_at: datetime
    due_at: datetime | None
    suspended_since: datetime | None


@dataclass(frozen=True)
class WorkflowDescription:
    """Everything an operator needs to decide what to do with one workflow."""

    execution: Execution
    projection: Projection | None
    search_attribute_status: str | None  # ChaineStatus, as Temporal's visibility has it
    queried_status: str | None  # the workflow's own answer, when it has a status query
    query_error: str | None  # why the query did not answer (no worker...)
    timers: tuple[PendingTimer, ...]
    events: tuple[Event, ...]  # the last ones, oldest first
    history_length: int
    ui_url: str | None

    @property
    def statuses_agree(self) -> bool | None:
        """Whether every known status is the same (None when there is nothing to compare)."""
        known = {
            s
            for s in (
                self.projection.status if self.projection else None,
                self.search_attribute_status,
                self.queried_status,
            )
            if s is not None
        }
        return None if not known else len(known) == 1


async def queried_status(
    client: Client, workflow_id: str, run_id: str
) -> tuple[str | None, str | None]:
    """The invoice workflow's own `status` query answer, or why there is none (no worker
    polls its queue, the run cannot be replayed...)."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    try:
        return await handle.query(InvoiceWorkflow.status, rpc_timeout=QUERY_TIMEOUT), None
    except (WorkflowQueryFailedError, RPCError) as exc:
        return None, str(exc) or type(exc).__name__


async def describe_workflow(
    client: Client,
    session: AsyncSession,
    workflow_id: str,
    *,
    ui_base: str | None,
    last_events: int = 20,
) -> WorkflowDescription:
    """Describe the latest run of `workflow_id` (404 `WORKFLOW_NOT_FOUND` if none)."""
    execution = await inspect(client, workflow_id)
    events = await read_history(client, workflow_id, execution.run_id)
    recorded = await InvoiceRepository(session).of_runs({(workflow_id, execution.run_id)})
    invoice = recorded.get((workflow_id, execution.run_id))
    queried, query_error = (
        await queried_status(client, workflow_id, execution.run_id)
        if execution.workflow_type == INVOICE_WORKFLOW
        else (None, None)
    )
    return WorkflowDescription(
        execution=execution,
        projection=(
            Projection(
                invoice.id,
                invoice.status,
                invoice.status_at,
                invoice.due_at,
                invoice.suspended_since,
            )
            if invoice
            else None
        ),
        search_attribute_status=execution.business_status,
        queried_status=queried,
        query_error=query_error,
        timers=tuple(pending_timers(events)) if execution.running else (),
        events=tuple(summarise(e) for e in events[-last_events:]) if last_events else (),
        history_length=len(events),
        ui_url=workflow_url(ui_base, client.namespace, workflow_id),
    )
