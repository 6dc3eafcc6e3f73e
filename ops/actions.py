"""Operator actions on one workflow: retry, pause or unpause an activity, reset, signal,
terminate. Each refuses clearly when it cannot apply and answers what it did."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    PauseActivityRequest,
    ResetActivityRequest,
    ResetWorkflowExecutionRequest,
    UnpauseActivityRequest,
)
from temporalio.client import Client

from ops.errors import ActionRefused, refusals
from ops.executions import Execution, PendingActivity, inspect
from ops.history import first_task, last_good_task, read_history
from ops.visibility import INVOICE_WORKFLOW


class OpsAction(StrEnum):
    """What an operator can do, as recorded in the audit trail."""

    RETRY = "retry"
    PAUSE = "pause"
    UNPAUSE = "unpause"
    RESET = "reset"
    SIGNAL = "signal"
    TERMINATE = "terminate"
    RECONCILE = "reconcile"


class ResetPoint(StrEnum):
    """Where a reset goes back to, when no event id is given."""

    LAST_GOOD = "last-good"  # the last completed workflow task before the first failure
    FIRST = "first"  # the first workflow task: the run starts over with its input


# Workflows whose runs must never be reset, and why (a reset starts a new run).
RESET_REFUSED = {
    INVOICE_WORKFLOW: (
        "an invoice's record follows its first run, and reconciliation matches records to "
        "runs, so a reset run would drift out of the operator tools' sight; retry the "
        "failing activity, or terminate"
    ),
}


@dataclass(frozen=True)
class ActionResult:
    """What an action did, on which run."""

    action: OpsAction
    workflow_id: str
    run_id: str
    detail: str
    activity_id: str | None = None
    new_run_id: str | None = None  # reset: the run that carries on

    def outcome(self) -> dict[str, Any]:
        """As the audit trail keeps it."""
        return {"ok": True, **asdict(self)}


def _execution(workflow_id: str, run_id: str) -> WorkflowExecution:
    return WorkflowExecution(workflow_id=workflow_id, run_id=run_id)


async def running(client: Client, workflow_id: str) -> Execution:
    """The latest run, refused (409) unless it is still running."""
    execution = await inspect(client, workflow_id)
    if not execution.running:
        raise ActionRefused(f"{workflow_id} is {execution.status}, not running")
    return execution


def pending_activity(execution: Execution, activity_id: str | None) -> PendingActivity:
    """The activity named, or the only (failing) one when none is named."""
    pending = execution.pending_activities
    if activity_id is not None:
        for activity in pending:
            if activity.activity_id == activity_id:
                return activity
        raise ActionRefused(
            f"{execution.workflow_id} has no pending activity {activity_id!r}; pending: "
            + (", ".join(f"{a.activity_id} ({a.activity_type})" for a in pending) or "none")
        )
    failing = [a for a in pending if a.last_failure is not None or a.paused]
    candidates = failing or list(pending)
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise ActionRefused(f"{execution.workflow_id} has no pending activity")
    raise ActionRefused(
        f"{execution.workflow_id} has {len(candidates)} pending activities: name one with "
        "activity_id ("
        + ", ".join(f"{a.activity_id} ({a.activity_type})" for a in candidates)
        + ")"
    )


async def retry_activity(
    client: Client, workflow_id: str, activity_id: str | None, identity: str
) -> ActionResult:
    """Run a failing activity again now, its attempts counted from 1 (ResetActivity); a
    paused one is unpaused the same way."""
    execution = await running(client, workflow_id)
    activity = pending_activity(execution, activity_id)
    target = _execution(workflow_id, execution.run_id)
    async with refusals(workflow_id):
        if activity.paused:
            await client.workflow_service.unpause_activity(
                UnpauseActivityRequest(
                    namespace=client.namespace,
                    execution=target,
                    identity=identity,
                    id=activity.activity_id,
                    reset_attempts=True,
                )
            )
        else:
            await client.workflow_service.reset_activity(
                ResetActivityRequest(
                    namespace=client.namespace,
                    execution=target,
                    identity=identity,
                    id=activity.activity_id,
                )
            )
    return ActionResult(
        OpsAction.RETRY,
        workflow_id,
        execution.run_id,
        f"{activity.activity_type} runs again now (was at attempt {activity.attempt})",
        activity_id=activity.activity_id,
    )


async def pause_activity(
    client: Client, workflow_id: str, activity_id: str | None, identity: str, reason: str
) -> ActionResult:
    """Stop retrying an activity until it is unpaused (the workflow keeps waiting for it)."""
    execution = await running(client, workflow_id)
    activity = pending_activity(execution, activity_id)
    if activity.paused:
        raise ActionRefused(f"{activity.activity_type} of {workflow_id} is already paused")
    async with refusals(workflow_id):
        await client.workflow_service.pause_activity(
            PauseActivityRequest(
                namespace=client.namespace,
                execution=_execution(workflow_id, execution.run_id),
                identity=identity,
                id=activity.activity_id,
                reason=reason,
                request_id=str(uuid.uuid4()),
            )
        )
    return ActionResult(
        OpsAction.PAUSE,
        workflow_id,
        execution.run_id,
        f"{activity.activity_type} is paused at attempt {activity.attempt}",
        activity_id=activity.activity_id,
    )


async def unpause_activity(
    client: Client, workflow_id: str, activity_id: str | None, identity: str
) -> ActionResult:
    """Let a paused activity be retried again, where its attempts stood."""
    execution = await running(client, workflow_id)
    activity = pending_activity(execution, activity_id)
    if not activity.paused:
        raise ActionRefused(f"{activity.activity_type} of {workflow_id} is not paused")
    async with refusals(workflow_id):
        await client.workflow_service.unpause_activity(
            UnpauseActivityRequest(
                namespace=client.namespace,
                execution=_execution(workflow_id, execution.run_id),
                identity=identity,
                id=activity.activity_id,
            )
        )
    return ActionResult(
        OpsAction.UNPAUSE,
        workflow_id,
        execution.run_id,
        f"{activity.activity_type} is retried again",
        activity_id=activity.activity_id,
    )


async def reset_workflow(
    client: Client, workflow_id: str, to: ResetPoint | int, identity: str, reason: str
) -> ActionResult:
    """Start a new run from a completed workflow task of the latest one: by default the last
    before its first failure. Signals and updates received after that point are reapplied."""
    execution = await inspect(client, workflow_id)
    refused = RESET_REFUSED.get(execution.workflow_type)
    if refused:
        raise ActionRefused(f"{workflow_id} cannot be reset: {refused}")
    if isinstance(to, ResetPoint):  # a named point: find it in the history
        events = await read_history(client, workflow_id, execution.run_id)
        event_id = last_good_task(events) if to is ResetPoint.LAST_GOOD else first_task(events)
    else:
        event_id = to
    if event_id is None:
        raise ActionRefused(f"{workflow_id} has no completed workflow task to reset to")
    async with refusals(workflow_id):
        answer = await client.workflow_service.reset_workflow_execution(
            ResetWorkflowExecutionRequest(
                namespace=client.namespace,
                workflow_execution=_execution(workflow_id, execution.run_id),
                reason=reason,
                workflow_task_finish_event_id=event_id,
                request_id=str(uuid.uuid4()),
                identity=identity,
            )
        )
    return ActionResult(
        OpsAction.RESET,
        workflow_id,
        execution.run_id,
        f"reset to event {event_id}; the new run is {answer.run_id}",
        new_run_id=answer.run_id,
    )


async def signal_workflow(
    client: Client, workflow_id: str, name: str, args: list[Any]
) -> ActionResult:
    """Send a signal to the running workflow (Temporal accepts any name; the workflow
    ignores one it has no handler for)."""
    execution = await running(client, workflow_id)
    handle = client.get_workflow_handle(workflow_id, run_id=execution.run_id)
    async with refusals(workflow_id):
        await handle.signal(name, args=args)
    return ActionResult(OpsAction.SIGNAL, workflow_id, execution.run_id, f"signal {name} sent")


async def terminate_workflow(
    client: Client, workflow_id: str, identity: str, reason: str
) -> ActionResult:
    """End the running workflow at once; nothing of it runs again (no compensation)."""
    execution = await running(client, workflow_id)
    handle = client.get_workflow_handle(workflow_id, run_id=execution.run_id)
    async with refusals(workflow_id):
        await handle.terminate(reason=f"{reason} ({identity})")
    return ActionResult(OpsAction.TERMINATE, workflow_id, execution.run_id, f"terminated: {reason}")
