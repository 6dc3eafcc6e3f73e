"""The whole stack for benchmarks: `chaine up` on free ports in a temporary directory.

A buyer structure is imported and one API client per requested role is created before the
stack starts; the benchmark gets the API URL, the Temporal address and each role's
`Authorization` header. On exit the stack is stopped and its error lines are printed.

By default the stack keeps its records in SQLite in the temporary directory; given a
`database_url` (an empty PostgreSQL database, say) it uses that instead. `named_clients`
adds clients keyed by a name of their own, for several clients of one role.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import free_ports
from tests.invoicing.builders import BUYER_SIRET

REPO = Path(__file__).resolve().parent.parent
READY_SECONDS = 90


@dataclass(frozen=True)
class Stack:
    """A running stack: where to reach it, and each role's credentials."""

    url: str
    temporal_address: str
    auth: dict[str, dict[str, str]]  # role (or client name) -> Authorization header
    database_url: str
    pid: int = 0  # the `chaine up` process: its children are the dev server, worker and API
    var_dir: str = ""  # CHAINE_VAR_DIR: blobs, the dev server's temporal.db, the log


def chaine(env: dict[str, str], *args: str) -> str:
    """Run a short `chaine` command; its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout


async def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + READY_SECONDS
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise SystemExit("the stack did not become ready")


async def _header(client: httpx.AsyncClient, credentials: dict[str, str]) -> dict[str, str]:
    response = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
        },
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _print_errors(log: Path) -> None:
    errors = [line for line in log.read_text().splitlines() if '"level": "ERROR"' in line]
    print(f"stack log: {len(errors)} error lines", *errors[:5], sep="\n")


@asynccontextmanager
async def running_stack(
    clients: list[tuple[str, str]],
    extra_env: dict[str, str] | None = None,
    *,
    database_url: str | None = None,
    named_clients: dict[str, tuple[str, str]] | None = None,
) -> AsyncIterator[Stack]:
    """`chaine up` with one client per (role, SIRET), rate limits out of the way.

    `named_clients` maps a name to a (role, SIRET): its header is in `auth` under that name.
    """
    with tempfile.TemporaryDirectory() as var:
        api_port, temporal_port, ui_port = free_ports(3)
        env = {
            **os.environ,
            "CHAINE_VAR_DIR": var,
            "CHAINE_API_PORT": str(api_port),
            "CHAINE_TEMPORAL_PORT": str(temporal_port),
            "CHAINE_TEMPORAL_UI_PORT": str(ui_port),
            "CHAINE_LOG_LEVEL": "WARNING",
            "CHAINE_RATE_LIMIT_PER_SECOND": "10000",
            "CHAINE_RATE_LIMIT_BURST": "10000",
            **(extra_env or {}),
        }
        env.pop("CHAINE_DATABASE_URL", None)
        if database_url is not None:
            env["CHAINE_DATABASE_URL"] = database_url
        env.pop("CHAINE_TEMPORAL_ADDRESS", None)
        structures = Path(var) / "structures.csv"
        structures.write_text(
            "siret,name,category,active,service_code_required,commitment_required,"
            f"payment_status_not_reported\n{BUYER_SIRET},Ministère du banc,STATE,1,0,0,0\n"
        )
        chaine(env, "directory", "import", str(structures))
        wanted = {role: (role, siret) for role, siret in clients} | (named_clients or {})
        credentials = {
            name: json.loads(
                chaine(env, "clients", "create", "--role", role, "--siret", siret, "--json")
            )
            for name, (role, siret) in wanted.items()
        }
        log = Path(var) / "stack.log"
        stack = subprocess.Popen(  # noqa: ASYNC220 (started once, before any measure)
            [sys.executable, "-m", "cli.main", "up"],
            env=env,
            cwd=REPO,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{api_port}"
        try:
            await _wait_ready(url)
            async with httpx.AsyncClient(base_url=url) as client:
                auth = {role: await _header(client, c) for role, c in credentials.items()}
            database = database_url or f"sqlite:///{Path(var) / 'chaine.db'}"
            yield Stack(url, f"127.0.0.1:{temporal_port}", auth, database, stack.pid, var)
        finally:
            os.killpg(stack.pid, signal.SIGINT)
            stack.wait(timeout=60)
            _print_errors(log)
