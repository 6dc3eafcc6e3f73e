"""Reading a run's event history: its last events, its pending timers, its last good point."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from ops.errors import refusals
from ops.executions import failure_message

_E = EventType
# Events after which a run went wrong; a reset goes back to the workflow task before them.
FAILURE_EVENTS = frozenset(
    {
        _E.EVENT_TYPE_WORKFLOW_TASK_FAILED,
        _E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
        _E.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        _E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        _E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        _E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
    }
)


def event_type_name(event_type: int) -> str:
    """`EVENT_TYPE_ACTIVITY_TASK_FAILED` as the UI and the CLI write it: `ActivityTaskFailed`."""
    words = EventType.Name(event_type).removeprefix("EVENT_TYPE_").split("_")
    return "".join(word.capitalize() for word in words)


@dataclass(frozen=True)
class Event:
    """One history event: its number, type, time and the one detail people look for."""

    event_id: int
    type: str
    at: datetime
    detail: str | None


@dataclass(frozen=True)
class PendingTimer:
    """A durable timer started and not yet fired nor cancelled."""

    timer_id: str
    started_at: datetime
    fires_at: datetime


def _detail(event: HistoryEvent) -> str | None:
    """What the event is about: the activity, the failure, the signal or update name..."""
    kind = event.WhichOneof("attributes")
    if kind is None:
        return None
    attributes = getattr(event, kind)
    if event.event_type == _E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        return attributes.activity_type.name
    if event.event_type == _E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        return f"attempt {attributes.attempt}"
    if event.event_type == _E.EVENT_TYPE_TIMER_STARTED:
        return f"timer {attributes.timer_id}, {attributes.start_to_fire_timeout.ToTimedelta()}"
    if event.event_type == _E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        return attributes.signal_name
    if event.event_type == _E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        return attributes.accepted_request.input.name
    if event.event_type == _E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
        return attributes.reason
    if hasattr(attributes, "failure") and attributes.HasField("failure"):
        return failure_message(attributes.failure)
    return None


def summarise(event: HistoryEvent) -> Event:
    """The event in plain values."""
    return Event(
        event_id=event.event_id,
        type=event_type_name(event.event_type),
        at=event.event_time.ToDatetime(tzinfo=UTC),
        detail=_detail(event),
    )


async def read_history(client: Client, workflow_id: str, run_id: str) -> list[HistoryEvent]:
    """Every event of the run, oldest first."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    async with refusals(workflow_id):
        return [event async for event in handle.fetch_history_events()]


def pending_timers(events: list[HistoryEvent]) -> list[PendingTimer]:
    """Timers started and neither fired nor cancelled, soonest first."""
    started: dict[str, PendingTimer] = {}
    for event in events:
        if event.event_type == _E.EVENT_TYPE_TIMER_STARTED:
            attributes = event.timer_started_event_attributes
            at = event.event_time.ToDatetime(tzinfo=UTC)
            started[attributes.timer_id] = PendingTimer(
                attributes.timer_id, at, at + attributes.start_to_fire_timeout.ToTimedelta()
            )
        elif event.event_type == _E.EVENT_TYPE_TIMER_FIRED:
            started.pop(event.timer_fired_event_attributes.timer_id, None)
        elif event.event_type == _E.EVENT_TYPE_TIMER_CANCELED:
            started.pop(event.timer_canceled_event_attributes.timer_id, None)
    return sorted(started.values(), key=lambda timer: timer.fires_at)


def last_good_task(events: list[HistoryEvent]) -> int | None:
    """The last completed workflow task before the run's first failure (the last completed
    one when nothing failed): the point a reset goes back to."""
    good = None
    for event in events:
        if event.event_type in FAILURE_EVENTS:
            break
        if event.event_type == _E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            good = event.event_id
    return good


def first_task(events: list[HistoryEvent]) -> int | None:
    """The run's first completed workflow task: a reset there replays it from its start."""
    return next(
        (e.event_id for e in events if e.event_type == _E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
        None,
    )
