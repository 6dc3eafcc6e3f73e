"""`chaine worker`: poll both task queues until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from core.config import Settings
from invoicing.validation.pipeline import warm_up
from store.database import make_async_engine, make_sessionmaker
from workers.connection import connect
from workers.registry import Registrations, registrations_from_settings
from workflows.callback_client import ensure_callback_relay
from workflows.payment_schedule import ensure_payment_schedule

log = logging.getLogger(__name__)
SHUTDOWN_SECONDS = 5

# Workflow messages are plain frozen dataclasses: shared with the sandbox as they are, so
# the payload converter resolves their nested types (it looks them up in `sys.modules`).
SANDBOX = SandboxRestrictions.default.with_passthrough_modules(
    "directory.records",
    "procurement.model",
    "workflows.callback_messages",
    "workflows.consultation_messages",
    "workflows.deposits",
    "workflows.flows",
    "workflows.invoice_actions",
    "workflows.payments",
    "workflows.signature_checks",
)


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, so the workers stop between tasks, not mid-way.

    Taken over only once the workers poll: before that there is nothing to finish, and the
    default action (die at once) matters when the supervisor dies while we still compile
    the validation artefacts or retry a Temporal server that went with it.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


def build_workers(
    client: Client,
    regs: Registrations,
    task_queue: str,
    cpu_task_queue: str,
    cpu_pool: ThreadPoolExecutor,
    cpu_threads: int,
) -> list[Worker]:
    """One worker per task queue: workflows and I/O activities, and CPU activities."""
    return [
        Worker(
            client,
            task_queue=task_queue,
            workflows=list(regs.workflows),
            activities=list(regs.io_activities),
            workflow_runner=SandboxedWorkflowRunner(restrictions=SANDBOX),
        ),
        Worker(
            client,
            task_queue=cpu_task_queue,
            activities=list(regs.cpu_activities),
            activity_executor=cpu_pool,
            # One activity per thread: the pool, not the poller, bounds CPU work.
            max_concurrent_activities=cpu_threads,
        ),
    ]


async def run_workers(settings: Settings) -> None:
    """Run the workers until a stop signal or a fatal worker error, then shut them down.

    Shutdown is bounded: with Temporal gone (its server stopped with us), polls would
    retry for long, and a supervisor stopping the stack should not wait for them.
    """
    client = await connect(settings)
    log.info(
        "worker connected",
        extra={"temporal": settings.effective_temporal_address, "namespace": client.namespace},
    )
    engine = make_async_engine(settings.effective_database_url)
    regs = registrations_from_settings(client, settings, make_sessionmaker(engine))
    await asyncio.to_thread(warm_up)  # compile the validation artefacts before taking tasks
    cpu_threads = os.cpu_count() or 1
    with ThreadPoolExecutor(cpu_threads, thread_name_prefix="chaine-cpu") as cpu_pool:
        workers = build_workers(
            client, regs, settings.task_queue, settings.cpu_task_queue, cpu_pool, cpu_threads
        )
        await ensure_callback_relay(client, settings.task_queue)
        await ensure_payment_schedule(client, settings)
        stop = _stop_on_signals()
        runs = [asyncio.create_task(worker.run()) for worker in workers]
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([stopping, *runs], return_when=asyncio.FIRST_COMPLETED)
        log.info("stopping workers")
        try:
            async with asyncio.timeout(SHUTDOWN_SECONDS):
                await asyncio.gather(*(w.shutdown() for w in workers), return_exceptions=True)
        except TimeoutError:
            log.warning("workers did not stop within %s s; leaving anyway", SHUTDOWN_SECONDS)
        stopping.cancel()
        failed = [run.exception() for run in runs if run.done() and not run.cancelled()]
    await engine.dispose()
    if errors := [error for error in failed if error is not None]:
        raise errors[0]
    log.info("workers stopped")
