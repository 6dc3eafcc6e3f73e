"""How callers (the relay activity, the API, the worker) start callback workflows.

Workflows are named by their registered names: the relay activity, which starts
deliveries, is itself imported by the workflow module.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from core.config import Settings
from workflows.callback_messages import (
    CALLBACK_WORKFLOW,
    RELAY_WORKFLOW,
    RELAY_WORKFLOW_ID,
    CallbackInput,
    RelayInput,
    delivery_id,
)


def callback_input(settings: Settings, event_id: int, webhook_id: str) -> CallbackInput:
    """The delivery of an event to a subscription, with the retry window of the settings."""
    return CallbackInput(
        delivery_id=delivery_id(event_id, webhook_id),
        event_id=event_id,
        webhook_id=webhook_id,
        retry_window=settings.callback_retry_window,
        attempt_timeout=settings.callback_timeout,
    )


async def start_callback(
    client: Client, task_queue: str, input: CallbackInput, workflow_id: str
) -> bool:
    """Start a delivery's workflow; False if this id was already used (it runs or ran).

    Ids are never reused, even once closed: a relay pass replayed after a crash starts
    nothing twice.
    """
    try:
        await client.start_workflow(
            CALLBACK_WORKFLOW,
            input,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


async def ensure_callback_relay(
    client: Client, task_queue: str, relay: RelayInput | None = None
) -> None:
    """Start the relay unless it runs already (it is a singleton, `callback-relay`)."""
    await client.start_workflow(
        RELAY_WORKFLOW,
        relay or RelayInput(),
        id=RELAY_WORKFLOW_ID,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
