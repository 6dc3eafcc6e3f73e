"""Stuck workflows: technically (an activity or the workflow's own code keeps failing) and
for business (an invoice waits on people far longer than it should)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from core.config import Settings
from core.principals import Role
from invoicing.transitions import TRANSITIONS
from ops.errors import WorkflowNotFound, query_refusals
from ops.executions import Execution, PendingActivity, bounded, inspect
from ops.visibility import INVOICE_KIND, RUNNING, ExecutionFilter, all_of
from store.invoices import InvoiceRepository
from store.models import Invoice

WAITING_ON_PEOPLE = frozenset(
    status.value
    for row in TRANSITIONS
    if any(isinstance(actor, Role) for actor in row.actors)
    for status in row.sources
)
"""Statuses an invoice leaves only when a person acts (a buyer, the supplier, the MOE, the
accountant): read from the transition table, so a new row changes it."""


class StuckReason(StrEnum):
    """Why a workflow is listed."""

    ACTIVITY_FAILING = "ACTIVITY_FAILING"  # its last attempt failed; Temporal retries it
    ACTIVITY_RETRIED = "ACTIVITY_RETRIED"  # tried `ops_stuck_attempts` times or more
    ACTIVITY_PAUSED = "ACTIVITY_PAUSED"  # an operator paused it: it waits for unpause
    WORKFLOW_TASK_FAILING = "WORKFLOW_TASK_FAILING"  # the workflow's own code fails
    WAITING_ON_PEOPLE = "WAITING_ON_PEOPLE"  # same status for longer than `ops_stuck_waiting`


@dataclass(frozen=True)
class StuckRules:
    """When an execution counts as stuck (settings `ops_stuck_attempts`, `ops_stuck_waiting`)."""

    attempts: int
    waiting: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> StuckRules:
        """The rules the settings give."""
        return cls(settings.ops_stuck_attempts, settings.ops_stuck_waiting)


@dataclass(frozen=True)
class StuckWorkflow:
    """One stuck execution, and why."""

    workflow_id: str
    run_id: str
    workflow_type: str
    kind: str | None
    status: str | None  # the business status (ChaineStatus), when the workflow has one
    reason: StuckReason
    detail: str
    since: datetime | None  # the status date, or when the activity's attempt was scheduled
    activity: PendingActivity | None = None


@dataclass(frozen=True)
class StuckReport:
    """The stuck executions found, and how many were looked at."""

    items: tuple[StuckWorkflow, ...]
    scanned: int  # running executions described, plus invoices waiting too long
    truncated: bool  # `limit` was reached: narrow the filters to see the rest


def technical_reasons(execution: Execution, rules: StuckRules) -> list[StuckWorkflow]:
    """What keeps this running execution from moving on by itself, if anything."""
    found = []

    def item(reason: StuckReason, detail: str, activity: PendingActivity | None) -> StuckWorkflow:
        return StuckWorkflow(
            workflow_id=execution.workflow_id,
            run_id=execution.run_id,
            workflow_type=execution.workflow_type,
            kind=execution.kind,
            status=execution.business_status,
            reason=reason,
            detail=detail,
            since=activity.scheduled_at if activity else None,
            activity=activity,
        )

    for activity in execution.pending_activities:
        tried = f"{activity.activity_type} (attempt {activity.attempt})"
        if activity.paused:
            found.append(item(StuckReason.ACTIVITY_PAUSED, f"{tried} is paused", activity))
        elif activity.last_failure is not None:
            found.append(
                item(StuckReason.ACTIVITY_FAILING, f"{tried}: {activity.last_failure}", activity)
            )
        elif activity.attempt >= rules.attempts:
            found.append(
                item(StuckReason.ACTIVITY_RETRIED, f"{tried} keeps being retried", activity)
            )
    task = execution.workflow_task
    if task is not None and task.attempt > 1:
        found.append(
            item(
                StuckReason.WORKFLOW_TASK_FAILING,
                f"the workflow task failed {task.attempt - 1} time(s): see its history",
                None,
            )
        )
    return found


async def _described(client: Client, workflow_id: str, run_id: str) -> Execution | None:
    """The execution, or None when it is gone (closed and past retention) since listed."""
    try:
        return await inspect(client, workflow_id, run_id)
    except WorkflowNotFound:
        return None


async def find_stuck(
    client: Client,
    session: AsyncSession,
    rules: StuckRules,
    now: datetime,
    filters: ExecutionFilter | None = None,
    limit: int = 1000,
) -> StuckReport:
    """Running executions that are stuck, technically first, then invoices waiting on people
    for longer than `rules.waiting` (their projected status date, confirmed running)."""
    filters = filters or ExecutionFilter()
    query = all_of(RUNNING, filters.clause())
    async with query_refusals(query):
        listed = [e async for e in client.list_workflows(query, limit=limit)]
    described = await bounded(listed, lambda e: _described(client, e.id, e.run_id))
    items = [item for e in described if e is not None for item in technical_reasons(e, rules)]
    waiting: list[Invoice] = []
    if filters.kind in (None, INVOICE_KIND):
        waiting = await InvoiceRepository(session).waiting_since(
            WAITING_ON_PEOPLE,
            now - rules.waiting,
            structure=filters.structure,
            supplier=filters.supplier,
            limit=limit,
        )
        confirmed = await bounded(
            waiting, lambda invoice: _described(client, invoice.workflow_id, invoice.run_id)
        )
        for invoice, execution in zip(waiting, confirmed, strict=True):
            if execution is None or not execution.running:
                continue
            days = (now - invoice.status_at).days
            items.append(
                StuckWorkflow(
                    workflow_id=invoice.workflow_id,
                    run_id=invoice.run_id,
                    workflow_type=execution.workflow_type,
                    kind=execution.kind,
                    status=execution.business_status or invoice.status,
                    reason=StuckReason.WAITING_ON_PEOPLE,
                    detail=f"{invoice.status} for {days} day(s), invoice {invoice.id}",
                    since=invoice.status_at,
                )
            )
    return StuckReport(
        items=tuple(items),
        scanned=len(listed) + len(waiting),
        truncated=len(listed) >= limit or len(waiting) >= limit,
    )
