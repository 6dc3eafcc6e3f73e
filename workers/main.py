"""`chaine worker`: poll both task queues until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack

from temporalio.client import Client
from temporalio.worker import Worker

from core.config import Settings
from workers.connection import connect
from workers.registry import CPU_ACTIVITIES, IO_ACTIVITIES, WORKFLOWS

log = logging.getLogger(__name__)


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, so the workers stop between tasks, not mid-way."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


def _workers(
    client: Client, settings: Settings, cpu_pool: ThreadPoolExecutor, cpu_threads: int
) -> list[Worker]:
    """One worker per task queue that has something registered (temporalio refuses empty ones)."""
    workers = []
    if WORKFLOWS or IO_ACTIVITIES:
        workers.append(
            Worker(
                client,
                task_queue=settings.task_queue,
                workflows=list(WORKFLOWS),
                activities=list(IO_ACTIVITIES),
            )
        )
    else:
        log.info("nothing registered for task queue %s: not polling it", settings.task_queue)
    if CPU_ACTIVITIES:
        workers.append(
            Worker(
                client,
                task_queue=settings.cpu_task_queue,
                activities=list(CPU_ACTIVITIES),
                activity_executor=cpu_pool,
                # One activity per thread: the pool, not the poller, bounds CPU work.
                max_concurrent_activities=cpu_threads,
            )
        )
    else:
        log.info("nothing registered for task queue %s: not polling it", settings.cpu_task_queue)
    return workers


async def run_workers(settings: Settings) -> None:
    """Run the workers until a stop signal, then shut them down before the thread pool.

    With nothing registered at all the process stays connected and idle, so `chaine up`
    still supervises a live worker. A fatal worker error ends the process with that error.
    """
    stop = _stop_on_signals()
    client = await connect(settings)
    log.info(
        "worker connected",
        extra={"temporal": settings.effective_temporal_address, "namespace": client.namespace},
    )
    cpu_threads = os.cpu_count() or 1
    with ThreadPoolExecutor(cpu_threads, thread_name_prefix="chaine-cpu") as cpu_pool:
        workers = _workers(client, settings, cpu_pool, cpu_threads)
        if not workers:
            log.info("nothing registered on any task queue: connected and idle until stopped")
        async with AsyncExitStack() as running:
            for worker in workers:
                await running.enter_async_context(worker)
            await stop.wait()
            log.info("stopping workers")
        # Leaving the stack shut the workers down, last started first; leaving the `with`
        # joins the pool's threads. The client holds no resource beyond its connection.
    log.info("workers stopped")
