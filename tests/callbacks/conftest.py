"""Receivers on loopback, the callback relay, and invoices deposited to announce events."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from core.principals import Role
from directory.records import StructureCategory, StructureRecord
from invoicing.formats import write_invoice
from invoicing.syntax import Syntax
from store.database import transaction
from store.directory import DirectoryRepository
from tests.conftest import ApiServer, free_port
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET, an_invoice
from workers.registry import Registrations
from workflows.callback_client import ensure_callback_relay
from workflows.callback_messages import RelayInput

RELAY_INTERVAL = timedelta(milliseconds=200)


@dataclass(frozen=True)
class Received:
    """One request a receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """An HTTP endpoint on loopback that fails the first `failures` requests of each
    message (with `failure_status`, and `Location` when it redirects), then answers 200."""

    port: int
    failures: int = 0
    failure_status: int = 500
    location: str | None = None
    requests: list[Received] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    _seen: Counter[str] = field(default_factory=Counter)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def answer(self, received: Received) -> int:
        self.requests.append(received)
        message = received.headers.get("webhook-id", "")
        self._seen[message] += 1
        status = self.failure_status if self._seen[message] <= self.failures else 200
        self.answered.append(status)
        return status

    def accepted(self) -> list[Received]:
        """The requests answered 2xx."""
        return [r for r, s in zip(self.requests, self.answered, strict=True) if s == 200]

    async def wait_for(self, predicate, seconds: float = 30) -> None:  # type: ignore[no-untyped-def]
        """Until `predicate(self)` holds, or fail."""
        for _ in range(int(seconds * 20)):
            if predicate(self):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"receiver on {self.port}: condition never met; got {self.answered}")


@contextmanager
def serving() -> Iterator[Receiver]:
    """A receiver listening on a free loopback port, in a thread, until the block ends."""
    receiver = Receiver(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            received = Received(
                self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
            )
            status = receiver.answer(received)
            self.send_response(status)
            if 300 <= status < 400 and receiver.location:
                self.send_header("Location", receiver.location)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The subscriber's endpoint."""
    with serving() as found:
        yield found


@pytest.fixture
def bystander() -> Iterator[Receiver]:
    """Another server on loopback, allow-listed too, that nothing should reach."""
    with serving() as found:
        yield found


@pytest.fixture
def callback_overrides() -> dict[str, object]:
    """Callback settings a test class wants (override the fixture)."""
    return {"callback_retry_window": timedelta(seconds=60)}


@pytest.fixture
def api_overrides(
    receiver: Receiver, bystander: Receiver, callback_overrides: dict[str, object]
) -> dict[str, object]:
    """The receivers are on loopback: allow-list exactly them."""
    return {"outbound_allowed_hosts": f"{receiver.host},{bystander.host}", **callback_overrides}


@pytest.fixture
async def relay(
    api: ApiServer, workers: Registrations, temporal_env: WorkflowEnvironment
) -> AsyncIterator[None]:
    """The relay, as `chaine worker` starts it, faster; its pauses are real (no skipping),
    while the deliveries it starts skip their retry backoff."""
    with temporal_env.with_time_skipping_disabled():
        await ensure_callback_relay(
            temporal_env.client, api.settings.task_queue, RelayInput(interval=RELAY_INTERVAL)
        )
    yield


@dataclass
class Supplier:
    """A supplier with a buyer to invoice, depositing through the API."""

    api: ApiServer
    client: httpx.AsyncClient

    async def deposit(self, number: str) -> str:
        """Deposit a valid invoice (two events: deposited, made available); its URL."""
        response = await self.client.post(
            "/v1/invoices",
            content=write_invoice(an_invoice(number), Syntax.UBL),
            headers={"Content-Type": "application/xml"},
        )
        assert response.status_code == 201, response.text
        return response.headers["location"]

    async def subscribe(self, url: str, **fields: object) -> dict:
        """Register a webhook; the answer (with its secret)."""
        response = await self.client.post("/v1/webhooks", json={"url": url, **fields})
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture
async def supplier(api: ApiServer) -> Supplier:
    async with transaction(api.sessions) as session:
        await DirectoryRepository(session).upsert_structure(
            StructureRecord(BUYER_SIRET, "Ministère des tests", StructureCategory.STATE)
        )
    return Supplier(api, await api.as_role(Role.SUPPLIER, SELLER_SIRET))
