"""`chaine up`: the dev server, a worker and the API on one machine, until Ctrl-C.

Everything that can be refused is checked before the first child starts (settings, ports,
the `temporal` binary); migrations run and the token key is made in the parent, once,
so the worker and the API never race for them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from datetime import timedelta

import httpx
import typer

from cli.db import shown_database_url
from cli.ports import WantedPort, check_ports
from cli.processes import ChildFailed, StopRequested, Supervisor
from cli.temporal_server import DEV_SERVER_IP, dev_server_command
from core.config import Settings
from store.migrate import upgrade
from workers.connection import connect

log = logging.getLogger(__name__)

READY_PATIENCE = timedelta(seconds=60)
_PROBE_PAUSE_SECONDS = 0.25
# Wildcard listen addresses are probed, and shown, through the loopback interface.
_LOOPBACK_FOR = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104


def _wanted_ports(settings: Settings, embedded: bool, ui: bool) -> list[WantedPort]:
    wanted = [WantedPort("CHAINE_API_PORT", settings.api_host, settings.api_port)]
    if embedded:
        wanted.append(WantedPort("CHAINE_TEMPORAL_PORT", DEV_SERVER_IP, settings.temporal_port))
        if ui:
            wanted.append(
                WantedPort("CHAINE_TEMPORAL_UI_PORT", DEV_SERVER_IP, settings.temporal_ui_port)
            )
    return wanted


def _local_api_url(settings: Settings) -> str:
    host = _LOOPBACK_FOR.get(settings.api_host, settings.api_host)
    return f"http://{f'[{host}]' if ':' in host else host}:{settings.api_port}"


def _chaine(command: str) -> list[str]:
    """A `chaine` subcommand run by this very Python (the venv's, with the same packages)."""
    return [sys.executable, "-m", "cli.main", command]


async def _wait_for_api(settings: Settings) -> None:
    """Return once `/healthz` answers 200; `ChildFailed` after `READY_PATIENCE`."""
    url = f"{_local_api_url(settings)}/healthz"
    try:
        async with asyncio.timeout(READY_PATIENCE.total_seconds()):
            async with httpx.AsyncClient(timeout=2.0) as http:
                while True:
                    try:
                        if (await http.get(url)).status_code == 200:
                            return
                    except httpx.TransportError:
                        pass  # not listening yet
                    await asyncio.sleep(_PROBE_PAUSE_SECONDS)
    except TimeoutError:
        raise ChildFailed(
            f"the API did not answer {url} within {READY_PATIENCE.total_seconds():.0f} s"
        ) from None


def _banner(settings: Settings, embedded: bool, ui: bool) -> str:
    lines = [
        "Chaîne is up; Ctrl-C stops everything.",
        f"  API          {settings.effective_public_url}",
        f"  API docs     {settings.effective_public_url}/docs",
        f"  Portal       {settings.effective_public_url}/login  (people: chaine users create)",
    ]
    if embedded and ui:
        lines.append(f"  Temporal UI  http://{DEV_SERVER_IP}:{settings.temporal_ui_port}")
    lines += [
        f"  Temporal     {settings.effective_temporal_address}"
        f" (namespace {settings.temporal_namespace})",
        f"  Database     {shown_database_url(settings)}",
    ]
    return "\n".join(lines)


async def _supervise(settings: Settings, ui: bool, dev_server: list[str] | None) -> None:
    supervisor = Supervisor()
    env = None  # children inherit this environment, CHAINE_* settings included
    try:
        if dev_server is not None:
            await supervisor.start("the Temporal dev server", dev_server)
            env = {**os.environ, "CHAINE_TEMPORAL_ADDRESS": settings.effective_temporal_address}
        await supervisor.run_until(connect(settings, patience=READY_PATIENCE))
        await supervisor.start("the worker", _chaine("worker"), env)
        await supervisor.start("the API", _chaine("api"), env)
        await supervisor.run_until(_wait_for_api(settings))
        typer.echo(_banner(settings, dev_server is not None, ui))
        await supervisor.run_forever()
    except StopRequested:
        log.info("stop requested: stopping every process")
    finally:
        await supervisor.stop_all()


def run_up(settings: Settings, ui: bool) -> None:
    """Run the stack until SIGINT or SIGTERM (normal end) or the first failure (`ChaineError`).

    Without `CHAINE_TEMPORAL_ADDRESS` the Temporal dev server is embedded, its state kept in
    `{var_dir}/temporal.db`; with it, the cluster there is used and only waited for.
    """
    embedded = settings.temporal_address is None
    check_ports(_wanted_ports(settings, embedded, ui))
    dev_server = dev_server_command(settings, ui) if embedded else None
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)
    settings.token_key()
    asyncio.run(_supervise(settings, ui, dev_server))
