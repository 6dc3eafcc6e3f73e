"""`chaine ops ...`: the installed command once, for its wiring and its one-line refusals,
then the same command object in this process (the command imports the whole stack, which
costs seconds per process on a small machine)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from typer.testing import CliRunner

from cli.main import app
from core.principals import Role
from tests.cli.test_edi_and_flows import chaine
from tests.conftest import ApiServer
from tests.ops.conftest import SQLITE_ONLY, Probes, eventually


@SQLITE_ONLY
async def test_operators_use_the_command_line(api: ApiServer, probes: Probes) -> None:
    client_id, secret = await api.credentials(Role.OPS)
    env = {
        "CHAINE_CLIENT_ID": client_id,
        "CHAINE_CLIENT_SECRET": secret,
        "CHAINE_LOG_LEVEL": "WARNING",
    }
    handle = await probes.start("c1", released=True)
    await eventually(lambda: _failing(handle.id, probes))
    cli = ("--api", api.url)

    unexplained = await chaine({**os.environ, **env}, "ops", "terminate", handle.id, *cli)
    assert unexplained.returncode == 1
    assert unexplained.stderr.strip().splitlines() == [
        "error [OPS_REASON_REQUIRED]: say why in `reason`: every operator action is audited"
    ]

    async def run(*args: str) -> str:
        with kept_logging():  # the command configures logging for its process: this one
            result = await asyncio.to_thread(CliRunner().invoke, app, ["ops", *args, *cli], env=env)
        assert result.exit_code == 0, (result.output, result.exception)
        return result.stdout

    body = json.loads(await run("describe", handle.id, "--json"))
    assert body["execution_status"] == "RUNNING"
    assert body["pending_activities"][0]["last_failure"] == "RuntimeError: blocked by c1"
    stuck = await run("stuck")
    assert handle.id in stuck
    assert "ACTIVITY_FAILING" in stuck
    dry = await run(
        "batch", "terminate", "--query", probes.query(), "--dry-run", "--reason", "what would go"
    )
    assert "1 matched, would be" in dry
    assert (await handle.describe()).status.name == "RUNNING"

    done = await run("terminate", handle.id, "--reason", "from the CLI")
    assert done.startswith(f"terminate {handle.id}: terminated: from the CLI")
    assert (await handle.describe()).status.name == "TERMINATED"
    [entry] = json.loads(await run("audit", "--action", "terminate", "--json"))["items"]
    assert (entry["target"], entry["reason"]) == (handle.id, "from the CLI")


@contextmanager
def kept_logging() -> Iterator[None]:
    """Put back the loggers a command reconfigures, for the tests that follow."""
    known = logging.root.manager.loggerDict.values()
    loggers = [logging.getLogger(), *(lg for lg in known if isinstance(lg, logging.Logger))]
    saved = [(logger, logger.handlers[:], logger.level) for logger in loggers]
    try:
        yield
    finally:
        for logger, handlers, level in saved:
            logger.handlers[:] = handlers
            logger.setLevel(level)


async def _failing(workflow_id: str, probes: Probes) -> bool:
    description = await probes.client.get_workflow_handle(workflow_id).describe()
    pending = description.raw_description.pending_activities
    return bool(pending) and pending[0].HasField("last_failure")
