"""`chaine` run as real subprocesses: free ports, bounded waits, process trees, cleanup.

Every `chaine up` a test starts leads a process group of its own, killed whole at teardown
even when the test failed, so no dev server or API outlives the test that started it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_ports

READY_SECONDS = 60.0
COMMAND_SECONDS = 60.0


def chaine_command(*args: str) -> list[str]:
    """`chaine ARGS...` run by this Python, so the venv's packages and `temporal` are used."""
    return [sys.executable, "-m", "cli.main", *args]


def run_chaine(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run a short `chaine` command to its end (bounded), capturing its output."""
    return subprocess.run(
        chaine_command(*args),
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def run_temporal(env: dict[str, str], *args: str) -> Any:
    """Run a `temporal` CLI command against the embedded dev server; its JSON output."""
    binary = Path(sys.executable).parent / "temporal"
    address = f"127.0.0.1:{env['CHAINE_TEMPORAL_PORT']}"
    done = subprocess.run(
        [str(binary), *args, "--address", address, "--output", "json"],
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
        check=True,
    )
    return json.loads(done.stdout)


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (which may hold spaces), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()


def alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie waiting to be reaped."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def descendants(pid: int) -> set[int]:
    """Every living process below `pid`, at any depth, from the parent pids in /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return {child for child in found if alive(child)}


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll `condition` until true; fail the test naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds:.0f} s")
        time.sleep(0.2)


def wait_for_http(url: str, seconds: float, explain: Callable[[], str]) -> httpx.Response:
    """GET `url` until it answers 200; fail with `explain()` (logs) after `seconds`."""
    deadline = time.monotonic() + seconds
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=2.0)
        except httpx.TransportError as exc:
            last = repr(exc)
        else:
            if response.status_code == 200:
                return response
            last = f"{response.status_code} {response.text[:300]}"
        time.sleep(0.3)
    pytest.fail(f"{url} did not answer 200 within {seconds:.0f} s (last: {last})\n{explain()}")


@dataclass
class Stack:
    """A `chaine up` started by a test: its process, where it serves, and its output."""

    process: subprocess.Popen[bytes]
    api_url: str
    log: Path

    def output(self) -> str:
        """Everything `chaine up` and its children printed so far."""
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> None:
        """Return once `/readyz` answers 200 (database and Temporal reached)."""
        wait_for_http(f"{self.api_url}/readyz", READY_SECONDS, self.output)


@pytest.fixture
def chaine_env(tmp_path: Path) -> dict[str, str]:
    """Environment of the `chaine` commands of one test: free ports, its own var dir.

    Any Temporal address or database URL of the caller's shell is dropped, so the stack
    under test is the embedded one.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("CHAINE_TEMPORAL_ADDRESS", "CHAINE_DATABASE_URL", "CHAINE_PUBLIC_URL")
    }
    api_port, temporal_port, ui_port = free_ports(3)
    env.update(
        CHAINE_VAR_DIR=str(tmp_path / "var"),
        CHAINE_API_PORT=str(api_port),
        CHAINE_TEMPORAL_PORT=str(temporal_port),
        CHAINE_TEMPORAL_UI_PORT=str(ui_port),
        CHAINE_LOG_FORMAT="text",
    )
    return env


@pytest.fixture
def start_up(chaine_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[[], Stack]]:
    """Start `chaine up` (callable several times); each run's process group dies at teardown."""
    started: list[subprocess.Popen[bytes]] = []

    def start() -> Stack:
        log = tmp_path / f"up-{len(started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                chaine_command("up"),
                env=chaine_env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed whole below
            )
        started.append(process)
        return Stack(process, f"http://127.0.0.1:{chaine_env['CHAINE_API_PORT']}", log)

    yield start
    for process in started:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
