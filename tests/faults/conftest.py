"""What the fault scenarios share: processes to kill, workers to take over, a receiver that
holds a callback, and waits bounded in time.

Killed processes are real `chaine` subprocesses (`start_worker` of the worker crash test,
`start_api` here); the worker that takes over after a kill runs in the test process, so a
scenario pays the worker's start-up (about 12 s: Saxon and the schemas) once, not twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from core.config import Settings
from directory.records import StructureCategory, StructureRecord
from store.database import transaction
from store.directory import DirectoryRepository
from tests.callbacks.conftest import Received
from tests.conftest import free_port
from tests.e2e.conftest import chaine_env, start_up  # noqa: F401  (fixtures used here)
from tests.invoicing.builders import BUYER_SIRET
from workers.main import build_workers
from workers.registry import Registrations, registrations_from_settings

ON_POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
XML = {"Content-Type": "application/xml"}


async def eventually(
    probe: Callable[[], Awaitable[object]], seconds: float, what: str, pause: float = 0.1
) -> object:
    """Call `probe` until it returns something truthy (returned); fail naming `what`."""
    deadline = time.monotonic() + seconds
    while True:
        found = await probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds:.0f} s (last: {found!r})")
        await asyncio.sleep(pause)


async def count(sessions: async_sessionmaker[AsyncSession], statement) -> int:  # type: ignore[no-untyped-def]
    """The number a `select(func.count())...` statement answers."""
    async with sessions() as session:
        return await session.scalar(statement) or 0


async def rows(sessions: async_sessionmaker[AsyncSession], model: type) -> int:
    """How many rows the table of `model` holds."""
    return await count(sessions, select(func.count()).select_from(model))


async def a_state_buyer(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The buyer of the builders' invoices, a State service (30-day payment deadline)."""
    async with transaction(sessions) as session:
        await DirectoryRepository(session).upsert_structure(
            StructureRecord(BUYER_SIRET, "Ministère des tests", StructureCategory.STATE)
        )


# --- processes --------------------------------------------------------------------------


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL: no handler runs, nothing is flushed, connections drop as they are."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def start_api(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """`chaine api` as a real process, on the test's database, blobs, keys, port and queues."""
    env = {
        **os.environ,
        "CHAINE_TEMPORAL_ADDRESS": settings.effective_temporal_address,
        "CHAINE_DATABASE_URL": settings.effective_database_url,
        "CHAINE_VAR_DIR": str(settings.var_dir),
        "CHAINE_TASK_QUEUE": settings.task_queue,
        "CHAINE_CPU_TASK_QUEUE": settings.cpu_task_queue,
        "CHAINE_API_PORT": str(settings.api_port),
        "CHAINE_UPLOAD_MAX_BYTES": str(settings.upload_max_bytes),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "api"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def wait_for_worker(
    client: Client,
    settings: Settings,
    process: subprocess.Popen[bytes] | None = None,
    seconds: float = 60,
) -> None:
    """Until the worker `process` (or any) polls both queues (it warms its validators first).

    Pollers are told apart by identity (`pid@host`): a killed worker stays listed a while.
    """
    identity = f"{process.pid}@" if process else ""
    queues = (
        (settings.task_queue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
        (settings.cpu_task_queue, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY),
    )

    async def polling() -> bool:
        if process and process.poll() is not None:
            pytest.fail(f"worker {process.pid} exited with {process.returncode}")
        for name, kind in queues:
            described = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=client.namespace,
                    task_queue=TaskQueue(name=name),
                    task_queue_type=kind,
                )
            )
            if not any(p.identity.startswith(identity) for p in described.pollers):
                return False
        return True

    await eventually(polling, seconds, f"worker {identity or 'any'} polling", pause=0.25)


@asynccontextmanager
async def workers_taking_over(
    client: Client, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Registrations]:
    """The real workers of both queues, in this process: the restart after a kill."""
    regs = registrations_from_settings(client, settings, sessions)
    with ThreadPoolExecutor(2, thread_name_prefix="fault-cpu") as pool:
        async with AsyncExitStack() as stack:
            for worker in build_workers(
                client, regs, settings.task_queue, settings.cpu_task_queue, pool, 2
            ):
                await stack.enter_async_context(worker)
            yield regs


# --- a receiver that holds what it is sent ----------------------------------------------


@dataclass
class HoldingReceiver:
    """A webhook endpoint on loopback that keeps each request unanswered while `holding`,
    then answers 200 (to whoever is still there)."""

    port: int
    holding: threading.Event = field(default_factory=threading.Event)
    requests: list[Received] = field(default_factory=list)
    held: list[Received] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def message_ids(self) -> list[str]:
        """The `webhook-id` of every request received, in order."""
        return [r.message_id for r in self.requests]


@contextmanager
def holding_receiver() -> Iterator[HoldingReceiver]:
    """A `HoldingReceiver` on a free port, answering at once until told to hold."""
    receiver = HoldingReceiver(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            received = Received(
                self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
            )
            receiver.requests.append(received)
            if receiver.holding.is_set():
                receiver.held.append(received)
                receiver.released.wait(timeout=120)
            # The sender may be dead by now: its connection is then reset, nothing to answer.
            with suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield receiver
    finally:
        receiver.released.set()
        server.shutdown()
        server.server_close()
