"""One workflow execution as operators see it: Temporal's description in typed values."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.enums.v1 import PendingActivityState, PendingWorkflowTaskState
from temporalio.api.failure.v1 import Failure
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowExecutionStatus

from ops.errors import refusals
from workflows import search_attributes as sa

T = TypeVar("T")
R = TypeVar("R")
DESCRIBE_CONCURRENCY = 16  # describe calls in flight at once when scanning many executions


def timestamp(value: Any, field: str) -> datetime | None:
    """A protobuf timestamp field as an aware datetime, None when unset."""
    if not value.HasField(field):
        return None
    stamp: Timestamp = getattr(value, field)
    return stamp.ToDatetime(tzinfo=UTC)


def _enum_name(prefix: str, name: str) -> str:
    return name.removeprefix(prefix)


def failure_message(failure: Failure) -> str:
    """A failure and its causes in one line: `type: message <- cause...`."""
    parts = []
    current: Failure | None = failure
    while current is not None and (current.message or current.HasField("cause")):
        kind = (
            current.application_failure_info.type
            if current.HasField("application_failure_info")
            else ""
        )
        parts.append(f"{kind}: {current.message}" if kind else current.message)
        current = current.cause if current.HasField("cause") else None
    return " <- ".join(parts)


@dataclass(frozen=True)
class PendingActivity:
    """An activity the workflow waits for: how often it was tried, how it last failed."""

    activity_id: str
    activity_type: str
    state: str  # SCHEDULED, STARTED, CANCEL_REQUESTED, PAUSED, PAUSE_REQUESTED
    attempt: int
    maximum_attempts: int  # 0: retried until it succeeds
    paused: bool
    last_failure: str | None
    scheduled_at: datetime | None
    last_started_at: datetime | None
    next_attempt_at: datetime | None

    @classmethod
    def from_info(cls, info: PendingActivityInfo) -> PendingActivity:
        """Read Temporal's `PendingActivityInfo`."""
        return cls(
            activity_id=info.activity_id,
            activity_type=info.activity_type.name,
            state=_enum_name("PENDING_ACTIVITY_STATE_", PendingActivityState.Name(info.state)),
            attempt=info.attempt,
            maximum_attempts=info.maximum_attempts,
            paused=info.paused,
            last_failure=(
                failure_message(info.last_failure) if info.HasField("last_failure") else None
            ),
            scheduled_at=timestamp(info, "scheduled_time"),
            last_started_at=timestamp(info, "last_started_time"),
            next_attempt_at=timestamp(info, "next_attempt_schedule_time"),
        )


@dataclass(frozen=True)
class PendingWorkflowTask:
    """The workflow task waiting to run; an attempt above 1 means the code keeps failing."""

    state: str
    attempt: int
    scheduled_at: datetime | None


@dataclass(frozen=True)
class Execution:
    """One run of a workflow, with Chaîne's search attributes and what it waits for."""

    workflow_id: str
    run_id: str
    workflow_type: str
    status: str  # RUNNING, COMPLETED, FAILED, CANCELED, TERMINATED, CONTINUED_AS_NEW...
    task_queue: str
    started_at: datetime | None
    closed_at: datetime | None
    kind: str | None
    business_status: str | None  # ChaineStatus
    structure: str | None
    supplier: str | None
    pending_activities: tuple[PendingActivity, ...]
    workflow_task: PendingWorkflowTask | None

    @property
    def running(self) -> bool:
        """Whether the run is still open."""
        return self.status == WorkflowExecutionStatus.RUNNING.name

    @classmethod
    def from_description(cls, description: WorkflowExecutionDescription) -> Execution:
        """Read `WorkflowHandle.describe()`'s answer."""
        raw = description.raw_description
        attributes = description.typed_search_attributes
        task = raw.pending_workflow_task if raw.HasField("pending_workflow_task") else None
        return cls(
            workflow_id=description.id,
            run_id=description.run_id,
            workflow_type=description.workflow_type,
            status=description.status.name if description.status else "UNKNOWN",
            task_queue=description.task_queue,
            started_at=description.start_time,
            closed_at=description.close_time,
            kind=attributes.get(sa.KIND),
            business_status=attributes.get(sa.STATUS),
            structure=attributes.get(sa.STRUCTURE),
            supplier=attributes.get(sa.SUPPLIER),
            pending_activities=tuple(
                PendingActivity.from_info(info) for info in raw.pending_activities
            ),
            workflow_task=(
                PendingWorkflowTask(
                    state=_enum_name(
                        "PENDING_WORKFLOW_TASK_STATE_", PendingWorkflowTaskState.Name(task.state)
                    ),
                    attempt=task.attempt,
                    scheduled_at=timestamp(task, "scheduled_time"),
                )
                if task is not None
                else None
            ),
        )


async def inspect(client: Client, workflow_id: str, run_id: str | None = None) -> Execution:
    """Describe the execution (its latest run unless `run_id`); 404 when there is none."""
    async with refusals(workflow_id):
        description = await client.get_workflow_handle(workflow_id, run_id=run_id).describe()
    return Execution.from_description(description)


async def bounded(
    items: Iterable[T], call: Callable[[T], Awaitable[R]], limit: int = DESCRIBE_CONCURRENCY
) -> list[R]:
    """`call` on every item, at most `limit` at a time, results in the items' order."""
    gate = asyncio.Semaphore(limit)

    async def one(item: T) -> R:
        async with gate:
            return await call(item)

    return list(await asyncio.gather(*(one(item) for item in items)))
