"""The Temporal server killed and started again on its file: nothing accepted is lost, the
API says 503 meanwhile, and the workflows go on where they were.

The stack is `chaine up` pointed (`CHAINE_TEMPORAL_ADDRESS`) at a dev server the test runs
itself, started as `chaine up` would start it (`dev_server_command`, state in
`{var_dir}/temporal.db`), so it can be killed with SIGKILL and restarted on the same port
while the API and the worker stay up. The session's `temporal_env` is not touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import Client

from cli.temporal_server import dev_server_command
from core.config import Settings
from core.principals import Role
from invoicing.formats import write_invoice
from invoicing.syntax import Syntax
from store.database import make_async_engine, make_sessionmaker
from store.models import Invoice, InvoiceEvent, Mandate
from tests.api.test_conventions import assert_problem
from tests.conftest import ApiServer
from tests.e2e.conftest import Stack
from tests.faults.conftest import XML, a_state_buyer, count, eventually, rows, wait_for_worker
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET, an_invoice
from workflows.data_converter import DATA_CONVERTER

pytestmark = pytest.mark.slow

ANSWER_SECONDS = 20  # answered within this while Temporal is down (seen: 6 s, 10 s), never hung


@dataclass
class DevServer:
    """The Temporal dev server of one test, in a process group of its own."""

    command: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def stack_settings(chaine_env: dict[str, str]) -> Settings:
    """What `chaine up` reads from `chaine_env`, for the test's side of the stack."""
    return Settings(
        var_dir=Path(chaine_env["CHAINE_VAR_DIR"]),
        temporal_port=int(chaine_env["CHAINE_TEMPORAL_PORT"]),
        temporal_ui_port=int(chaine_env["CHAINE_TEMPORAL_UI_PORT"]),
        api_port=int(chaine_env["CHAINE_API_PORT"]),
    )


@pytest.fixture
def dev_server(
    stack_settings: Settings, chaine_env: dict[str, str], tmp_path: Path
) -> Iterator[DevServer]:
    stack_settings.var_dir.mkdir(parents=True, exist_ok=True)
    server = DevServer(dev_server_command(stack_settings, ui=False), tmp_path / "temporal.log")
    chaine_env["CHAINE_TEMPORAL_ADDRESS"] = stack_settings.effective_temporal_address
    server.start()
    yield server
    server.kill()


@pytest.fixture
async def stack(
    dev_server: DevServer, start_up: Callable[[], Stack], stack_settings: Settings
) -> AsyncIterator[tuple[Stack, ApiServer]]:
    """`chaine up` on the test's dev server, ready, and a way to call its API by role."""
    up = start_up()
    up.wait_ready()
    engine = make_async_engine(stack_settings.effective_database_url)
    api = ApiServer(up.api_url, stack_settings, make_sessionmaker(engine))
    yield up, api
    for client in api.clients:
        await client.aclose()
    await engine.dispose()


async def temporal_client(settings: Settings) -> Client:
    return await Client.connect(settings.effective_temporal_address, data_converter=DATA_CONVERTER)


async def timed(call: Callable[[], object]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await call()  # type: ignore[misc]
    return response, time.monotonic() - started


def assert_unavailable(response: httpx.Response, seconds: float) -> None:
    """503 `SERVICE_UNAVAILABLE` with `Retry-After`, answered promptly."""
    assert_problem(response, 503, "SERVICE_UNAVAILABLE")
    assert int(response.headers["retry-after"]) > 0
    assert seconds < ANSWER_SECONDS, f"answered after {seconds:.1f} s"


async def test_a_killed_temporal_server_comes_back_with_every_invoice_and_workflow(
    stack: tuple[Stack, ApiServer], dev_server: DevServer, stack_settings: Settings
) -> None:
    up, api = stack
    await wait_for_worker(await temporal_client(stack_settings), stack_settings)
    await a_state_buyer(api.sessions)
    supplier = await api.as_role(Role.SUPPLIER, SELLER_SIRET)
    buyer = await api.as_role(Role.BUYER, BUYER_SIRET)
    files = {n: write_invoice(an_invoice(f"F-TMP-{n}"), Syntax.UBL) for n in "ABC"}
    urls = {}
    for name in "AB":
        deposited = await supplier.post("/v1/invoices", content=files[name], headers=XML)
        assert deposited.status_code == 201, deposited.text
        urls[name] = deposited.headers["location"]
    taken = await buyer.post(f"{urls['A']}/actions", json={"action": "TAKE"})
    assert taken.json()["status"] == "PRISE_EN_COMPTE", taken.text

    dev_server.kill()
    refused, seconds = await timed(
        lambda: supplier.post("/v1/invoices", content=files["C"], headers=XML)
    )
    assert_unavailable(refused, seconds)
    action, seconds = await timed(
        lambda: buyer.post(f"{urls['A']}/actions", json={"action": "CERTIFY_SERVICE_DONE"})
    )
    assert_unavailable(action, seconds)
    assert_problem(await api.anonymous().get("/readyz"), 503, "SERVICE_UNAVAILABLE")
    assert await rows(api.sessions, Invoice) == 2  # the refused deposit left no record
    for name, status in (("A", "PRISE_EN_COMPTE"), ("B", "MISE_A_DISPOSITION")):
        kept = await supplier.get(urls[name])  # the records are read from the database
        assert kept.status_code == 200 and kept.json()["status"] == status, kept.text

    dev_server.start()
    up.wait_ready()
    retried = await supplier.post("/v1/invoices", content=files["C"], headers=XML)
    assert retried.status_code == 201, retried.text
    urls["C"] = retried.headers["location"]
    certified = await buyer.post(f"{urls['A']}/actions", json={"action": "CERTIFY_SERVICE_DONE"})
    assert certified.json()["status"] == "SERVICE_FAIT", certified.text
    for action_name in ("TAKE", "CERTIFY_SERVICE_DONE"):
        moved = await buyer.post(f"{urls['B']}/actions", json={"action": action_name})
        assert moved.status_code == 200, moved.text

    async def statuses() -> dict[str, str] | None:
        found = {n: (await supplier.get(u)).json()["status"] for n, u in urls.items()}
        return (
            found
            if found == {"A": "MANDATEE", "B": "MANDATEE", "C": "MISE_A_DISPOSITION"}
            else None
        )

    await eventually(statuses, 30, "the workflows going on after the restart")
    assert up.process.poll() is None, up.output()  # the worker and the API rode it out
    assert await rows(api.sessions, Invoice) == 3
    assert await rows(api.sessions, Mandate) == 2
    deposited_events = select(func.count()).where(InvoiceEvent.status == "DEPOSEE")
    assert await count(api.sessions, deposited_events) == 3
