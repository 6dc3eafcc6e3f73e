"""The children of `chaine up`: started in order, watched, stopped in reverse order.

Children stay in the supervisor's process group, so Ctrl-C in a terminal reaches them all,
and on Linux each asks the kernel for SIGTERM when the supervisor dies, even by SIGKILL,
so none lingers holding a port or a database lock.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import TypeVar

from core.errors import ChaineError, ErrorCode

log = logging.getLogger(__name__)

T = TypeVar("T")

STOP_GRACE_SECONDS = 10.0
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class ChildFailed(ChaineError):
    """A supervised process ended, or never became ready, while nobody asked it to stop."""

    code = ErrorCode.SERVICE_UNAVAILABLE
    status = 503


class StopRequested(Exception):
    """SIGINT or SIGTERM reached the supervisor: the normal way a run ends."""


@dataclass(frozen=True)
class Child:
    """A running child and the task that resolves to its exit status."""

    name: str
    process: asyncio.subprocess.Process
    exited: asyncio.Task[int]


def _die_with_parent() -> Callable[[], None] | None:
    """A pre-exec hook making Linux send the child SIGTERM when its parent dies.

    The kernel watches the thread that forked, so children must be started from the
    supervisor's main thread (the event loop's), which lives as long as the process.
    """
    if sys.platform != "linux":
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded before fork: the hook only calls it
    parent = os.getpid()

    def hook() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return hook


class Supervisor:
    """Children run until a stop signal or the first unexpected exit, then all are stopped.

    Created inside the running loop: it takes over SIGINT and SIGTERM, so a signal becomes
    `StopRequested` in whatever the supervisor is waiting for.
    """

    def __init__(self) -> None:
        self._children: list[Child] = []
        self._stop = asyncio.Event()
        self._preexec = _die_with_parent()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self._stop.set)

    async def start(
        self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None
    ) -> None:
        """Start a child with the supervisor's stdout and stderr, and no stdin."""
        log.info("starting %s", name, extra={"argv": list(argv)})
        process = await asyncio.create_subprocess_exec(
            *argv,
            env=env,
            stdin=subprocess.DEVNULL,
            preexec_fn=self._preexec,
        )
        self._children.append(Child(name, process, asyncio.create_task(process.wait())))

    async def run_until(self, work: Awaitable[T]) -> T:
        """The result of `work`, unless a stop signal or a child's exit comes first.

        Raises `StopRequested` on a signal and `ChildFailed` naming the child that exited.
        """
        task = asyncio.ensure_future(work)
        stopping = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait(
                [task, stopping, *(child.exited for child in self._children)],
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            stopping.cancel()
            if not task.done():
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
        if self._stop.is_set():
            raise StopRequested
        for child in self._children:
            if child.exited.done():
                raise ChildFailed(
                    f"{child.name} exited unexpectedly (exit status {child.exited.result()}): "
                    "stopped everything else",
                    child=child.name,
                )
        return task.result()

    async def run_forever(self) -> None:
        """Wait for a stop signal (`StopRequested`) or a child's exit (`ChildFailed`)."""
        await self.run_until(asyncio.get_running_loop().create_future())

    async def stop_all(self) -> None:
        """Stop the children, last started first: SIGTERM, then SIGKILL after a grace period."""
        for child in reversed(self._children):
            if child.exited.done():
                continue
            with suppress(ProcessLookupError):
                child.process.terminate()
            try:
                await asyncio.wait_for(asyncio.shield(child.exited), STOP_GRACE_SECONDS)
            except TimeoutError:
                log.warning(
                    "%s ignored SIGTERM for %ss: killing it", child.name, STOP_GRACE_SECONDS
                )
                with suppress(ProcessLookupError):
                    child.process.kill()
                await child.exited
            log.info("%s stopped", child.name, extra={"exit_status": child.exited.result()})
