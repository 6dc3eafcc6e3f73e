"""Fixtures of the operator tools' tests: an operator, and probe workflows on a worker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.principals import Role
from tests.conftest import ApiServer, end_workflows_of
from tests.ops.probe import OpsProbeWorkflow, ProbeInput, probe_step

T = TypeVar("T")

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
"""For tests of Temporal-side behaviour whose database writes (the audit) other tests check on
both databases: once is enough, and keeps the suite fast."""


@pytest.fixture
async def operator(api: ApiServer) -> httpx.AsyncClient:
    """An API client of role `ops`."""
    return await api.as_role(Role.OPS)


async def eventually(check: Callable[[], Awaitable[T | None]], within: float = 20) -> T:
    """The first truthy answer of `check`, polled for `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        answer = await check()
        if answer:
            return answer
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never happened in {within} s (last answer {answer!r})")
        await asyncio.sleep(0.1)


@dataclass
class Probes:
    """Starts probe workflows on a queue of their own, and fixes (unblocks) them."""

    client: Client
    env: WorkflowEnvironment
    queue: str
    directory: Path

    async def start(self, name: str, *, released: bool = False) -> WorkflowHandle[Any, Any]:
        """A running probe whose step fails (once released) until `unblock`."""
        blocker = self.directory / name
        blocker.write_text("blocked")
        # Real clocks: with time skipping, retry backoffs would be skipped and the step
        # retried hundreds of times a second.
        with self.env.with_time_skipping_disabled():
            handle = await self.client.start_workflow(
                OpsProbeWorkflow.run,
                ProbeInput(str(blocker)),
                id=f"probe:{self.queue}:{name}",
                task_queue=self.queue,
            )
        if released:
            await handle.signal(OpsProbeWorkflow.release)
        return handle

    def unblock(self, name: str) -> None:
        """Fix the cause of the step's failure."""
        (self.directory / name).unlink()

    def query(self) -> str:
        """A visibility query matching this test's probes only."""
        return f"TaskQueue = '{self.queue}'"


@pytest.fixture
async def probes(
    temporal_env: WorkflowEnvironment, task_queue: str, tmp_path: Path
) -> AsyncIterator[Probes]:
    """Probe workflows with their worker; the ones left running are terminated after."""
    queue = f"{task_queue}-probe-{uuid.uuid4().hex[:6]}"
    directory = tmp_path / "blockers"
    directory.mkdir()
    client = temporal_env.client
    async with Worker(
        client, task_queue=queue, workflows=[OpsProbeWorkflow], activities=[probe_step]
    ):
        yield Probes(client, temporal_env, queue, directory)
        await end_workflows_of(client, queue)
