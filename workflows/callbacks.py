"""Status callbacks: the relay from the outbox to subscriptions, and one delivery each.

`CallbackRelayWorkflow` (a singleton, `callback-relay`) reads the invoice outbox after its
cursor, records a delivery per matching subscription and makes its first attempt at once,
from the relay's activity: most receivers answer 2xx, and a workflow per delivery would
cost the worker ten times the work. Only a delivery whose first attempt fails (or whose
endpoint is already failing) gets a `CallbackWorkflow` (`callback:{event}:{webhook}`, at
most one per pair), which retries with exponential backoff for the retry window, then
dead-letters it. Neither
ever blocks an invoice's own workflow: they only read what it recorded.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.callbacks import CallbackActivities
    from workflows.callback_messages import (
        CALLBACK_WORKFLOW,
        RELAY_WORKFLOW,
        CallbackInput,
        DeadLetter,
        DeliveryOutcome,
        RelayBatch,
        RelayInput,
    )
    from workflows.invoice import STORE_RETRY, STORE_TIMEOUT

# Standard Webhooks practice: back off exponentially, at most an hour apart; the retry
# window (schedule-to-close) bounds the whole.
CALLBACK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(hours=1),
)
ATTEMPT_MARGIN = timedelta(seconds=30)  # recording the attempt, beyond the HTTP timeout
# A pass posts first attempts: slow receivers may make it long, a dead worker must not.
RELAY_TIMEOUT = timedelta(minutes=10)
RELAY_NO_PAUSE_WHEN_FULL = "relay-full-pass-continues"  # a full pass no longer pauses
RELAY_HEARTBEAT = timedelta(minutes=1)


@workflow.defn(name=CALLBACK_WORKFLOW)
class CallbackWorkflow:
    """Deliver one event to one subscription, or dead-letter it after the retry window."""

    @workflow.run
    async def run(self, input: CallbackInput) -> DeliveryOutcome:
        retry, window = CALLBACK_RETRY, input.retry_window
        if input.first_attempt_failed:
            # The relay's attempt was the schedule's first: go on from its second, so the
            # attempts and their spacing are those of a delivery tried here from the start.
            await workflow.sleep(CALLBACK_RETRY.initial_interval)
            retry = replace(
                CALLBACK_RETRY,
                initial_interval=CALLBACK_RETRY.initial_interval
                * CALLBACK_RETRY.backoff_coefficient,
            )
            window -= CALLBACK_RETRY.initial_interval
        try:
            return await workflow.execute_activity_method(
                CallbackActivities.deliver_callback,
                input,
                start_to_close_timeout=input.attempt_timeout + ATTEMPT_MARGIN,
                schedule_to_close_timeout=window,
                retry_policy=retry,
            )
        except ActivityError as failure:
            last = failure.cause.message if isinstance(failure.cause, FailureError) else ""
            return await workflow.execute_activity_method(
                CallbackActivities.record_dead_letter,
                DeadLetter(input.delivery_id, f"given up after the retry window; {last}"),
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )


@workflow.defn(name=RELAY_WORKFLOW)
class CallbackRelayWorkflow:
    """Relay the outbox to subscriptions, forever: a pass, a pause, and so on."""

    @workflow.run
    async def run(self, input: RelayInput) -> None:
        horizon = input.horizon
        for _ in range(input.iterations_per_run):
            relayed = await workflow.execute_activity_method(
                CallbackActivities.relay_events,
                RelayBatch(horizon=horizon, limit=input.batch_size),
                start_to_close_timeout=RELAY_TIMEOUT,
                heartbeat_timeout=RELAY_HEARTBEAT,
                retry_policy=STORE_RETRY,
            )
            if relayed.read == input.batch_size and workflow.patched(RELAY_NO_PAUSE_WHEN_FULL):
                # More events below the horizon, which is one interval old already: relay
                # them at once; the horizon moves on after a pass that is not full.
                continue
            horizon = relayed.horizon
            # Pause: the horizon must be one interval old when it is used.
            await workflow.sleep(input.interval)
            if workflow.info().is_continue_as_new_suggested():
                break
        workflow.continue_as_new(replace(input, horizon=horizon))
