"""Messages of status callbacks: the relay from the outbox, and one delivery per event and
subscription. Names are derived from business references, so a retry never doubles one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

CALLBACK_WORKFLOW = "CallbackWorkflow"
RELAY_WORKFLOW = "CallbackRelayWorkflow"
RELAY_WORKFLOW_ID = "callback-relay"
RELAY_CURSOR = "callbacks"


def delivery_id(event_id: int, webhook_id: str) -> str:
    """The delivery's id, sent as the `webhook-id` header: receivers deduplicate on it, so
    it stays the same across attempts and redeliveries."""
    return f"msg_{event_id}_{webhook_id}"


def callback_workflow_id(event_id: int, webhook_id: str, redelivery: int | None = None) -> str:
    """`callback:{event}:{webhook}`, one per pair; `…:redeliver:{n}` for the n-th redelivery."""
    base = f"callback:{event_id}:{webhook_id}"
    return base if redelivery is None else f"{base}:redeliver:{redelivery}"


@dataclass(frozen=True)
class CallbackInput:
    """Deliver one recorded delivery, retrying for `retry_window`."""

    delivery_id: str
    event_id: int
    webhook_id: str
    retry_window: timedelta = timedelta(days=3)
    attempt_timeout: timedelta = timedelta(seconds=10)
    first_attempt_failed: bool = False  # the relay tried once already: back off first


@dataclass(frozen=True)
class DeliveryOutcome:
    """How a delivery ended: `DELIVERED`, `SKIPPED` or `DEAD` (see `DeliveryStatus`)."""

    status: str


@dataclass(frozen=True)
class DeadLetter:
    """Give a delivery up, with the last reason it failed."""

    delivery_id: str
    reason: str


@dataclass(frozen=True)
class RelayInput:
    """The relay's pace: read up to `batch_size` events every `interval`.

    `horizon` is carried across continue-as-new: the newest event id seen one interval
    ago (see `RelayBatch`).
    """

    interval: timedelta = timedelta(seconds=1)
    batch_size: int = 500
    iterations_per_run: int = 500
    horizon: int | None = None


@dataclass(frozen=True)
class RelayBatch:
    """Relay the events after the cursor, up to `horizon`.

    The horizon is the newest event id committed one interval earlier: an event with a
    smaller id whose transaction was still open then (PostgreSQL hands out ids before
    commit) has had that interval to commit, so the cursor never passes it by.
    """

    horizon: int | None
    limit: int


@dataclass(frozen=True)
class RelayResult:
    """What one pass did: events read, deliveries started, and the next horizon."""

    read: int
    deliveries: int
    horizon: int
