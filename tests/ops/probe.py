"""A tiny workflow for the operator tools' tests: its one activity fails while a file exists.

The operator tools act on any workflow; this one lets tests pause, signal, reset and
terminate executions without depositing invoices. Real Chaîne workflows are used wherever
the behaviour is Chaîne's own (a failing mandate, a drifted projection).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

STEP_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=2)
)


@dataclass(frozen=True)
class ProbeInput:
    """Where the blocking file is: while it exists, the step fails."""

    blocker: str


@activity.defn(name="probe_step")
async def probe_step(blocker: str) -> str:
    """Fail while the blocker exists, as an activity whose cause an operator must fix."""
    if await asyncio.to_thread(Path(blocker).exists):
        raise RuntimeError(f"blocked by {Path(blocker).name}")
    return "done"


@workflow.defn(name="OpsProbeWorkflow")
class OpsProbeWorkflow:
    """Waits for `release`, then runs its step until it succeeds."""

    def __init__(self) -> None:
        self._released = False

    @workflow.run
    async def run(self, input: ProbeInput) -> str:
        """The step's result once released."""
        await workflow.wait_condition(lambda: self._released)
        return await workflow.execute_activity(
            probe_step,
            input.blocker,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=STEP_RETRY,
        )

    @workflow.signal
    def release(self) -> None:
        """Let the step run."""
        self._released = True

    @workflow.signal
    def crash(self) -> None:
        """A bug in the workflow's own code: its workflow task fails until the code changes."""
        raise RuntimeError("a bug in the probe's code")

    @workflow.query
    def released(self) -> bool:
        """Whether `release` was received."""
        return self._released
