"""PostgreSQL stopped (immediate: a crash) and started again under a stream of deposits and
listings: no request hangs, what was accepted is kept whole, and what was refused is
accepted when sent again.

The cluster is the test's own (`initdb` in a temporary directory, on a free port, run as
the `postgres` user), never the machine's shared one, which other tests use.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.principals import Role
from invoicing.formats import write_invoice
from invoicing.syntax import Syntax
from store.blobs import BlobStore
from store.migrate import upgrade
from store.models import Invoice, InvoiceEvent, InvoiceStatusChange
from tests.conftest import ApiServer, free_port
from tests.faults.conftest import XML, a_state_buyer, eventually, rows
from tests.invoicing.builders import SELLER_SIRET, an_invoice
from workers.registry import Registrations

pytestmark = pytest.mark.slow

PG_BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
AS_POSTGRES = ["runuser", "-u", "postgres", "--"]
REQUEST_SECONDS = 20  # a request still unanswered after this is hung
OUTAGE_SECONDS = 4.0
CLEAN_CODE = "SERVICE_UNAVAILABLE"


class AnsweredServerError(AssertionError):
    """A request made while the database was down was answered 5xx other than a clean 503."""


@dataclass
class Cluster:
    """A private PostgreSQL cluster: where it lives, how to stop and start it."""

    root: Path
    port: int
    bin: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/chaine"

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*AS_POSTGRES, str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self.pg_ctl("start", "-w", "-l", str(self.root / "server.log"), "-o", options)

    def crash(self) -> None:
        """Stop at once, as a crash would: no checkpoint, clients cut off."""
        self.pg_ctl("stop", "-m", "immediate", "-w")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    if not PG_BINARIES or os.geteuid() != 0 or not shutil.which("runuser"):
        pytest.skip("needs Debian's PostgreSQL binaries and root (to run them as postgres)")
    root = Path(tempfile.mkdtemp(prefix="chaine-pg-"))
    shutil.chown(root, "postgres", "postgres")
    found = Cluster(root, free_port(), PG_BINARIES[-1])
    subprocess.run(
        [
            *AS_POSTGRES,
            *(str(found.bin / "initdb"), "-D", str(root / "data"), "-U", "postgres"),
            *("--auth=trust", "--encoding=UTF8", "--no-sync"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    found.start()
    admin = create_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:{found.port}/postgres",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE chaine"))
    admin.dispose()
    upgrade(found.url)
    yield found
    with suppress(subprocess.CalledProcessError):  # already down if the test failed there
        found.crash()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def database_url(cluster: Cluster) -> str:
    """The API, its workers and the test's sessions all use the private cluster."""
    return cluster.url


@pytest.fixture
def api_overrides() -> dict[str, object]:
    """Deposits waiting on the database answer 202 soon, so the stream keeps flowing."""
    return {"deposit_wait": timedelta(seconds=3)}


@dataclass
class Answer:
    """What one request got, and when."""

    kind: str  # deposit, listing
    number: str | None
    keyed: bool  # a deposit sent with an Idempotency-Key
    status: int | None  # None: no answer (`error` says why)
    code: str | None
    retry_after: str | None
    seconds: float
    during_outage: bool
    error: str | None = None


@dataclass
class Load:
    """Deposits (with and without `Idempotency-Key`) and listings sent until `stop`."""

    client: httpx.AsyncClient
    answers: list[Answer] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    outage: bool = False
    numbers: Iterator[int] = field(default_factory=lambda: iter(range(1, 10_000)))

    async def deposit(self, number: str, keyed: bool) -> httpx.Response:
        """Deposit invoice `number`; `keyed`: with an `Idempotency-Key` named after it."""
        headers = {**XML, "Idempotency-Key": f"key-{number}"} if keyed else XML
        body = write_invoice(an_invoice(number), Syntax.UBL)
        return await self.client.post("/v1/invoices", content=body, headers=headers)

    async def send(self, kind: str, number: str | None = None, keyed: bool = False) -> None:
        during = self.outage
        started = time.monotonic()
        try:
            if number is None:
                response = await self.client.get("/v1/invoices", params={"limit": 20})
            else:
                response = await self.deposit(number, keyed)
        except httpx.TransportError as exc:
            status = code = retry_after = None
            error = repr(exc)
        else:
            error = None
            status, retry_after = response.status_code, response.headers.get("retry-after")
            code = response.json().get("code") if status >= 400 else None
        seconds = time.monotonic() - started
        self.answers.append(
            Answer(
                kind,
                number,
                keyed,
                status,
                code,
                retry_after,
                seconds,
                during or self.outage,
                error,
            )
        )

    async def depositing(self, keyed: bool) -> None:
        while not self.stop.is_set():
            await self.send("deposit", f"F-DB-{next(self.numbers):04d}", keyed)
            if self.answers[-1].status not in (200, 201, 202):
                await asyncio.sleep(0.5)  # as a client would, rather than hammer

    async def listing(self) -> None:
        while not self.stop.is_set():
            await self.send("listing")
            await asyncio.sleep(0.2)


async def per_invoice(sessions: async_sessionmaker[AsyncSession], model: type) -> dict[str, int]:
    """How many rows of `model` (status changes, events) each invoice has."""
    async with sessions() as session:
        counted = select(model.invoice_id, func.count()).group_by(model.invoice_id)  # type: ignore[attr-defined]
        return dict((await session.execute(counted)).all())  # type: ignore[arg-type]


async def test_a_database_crash_under_load_fails_requests_cleanly_and_keeps_every_deposit_whole(
    api: ApiServer, workers: Registrations, cluster: Cluster
) -> None:
    await a_state_buyer(api.sessions)
    supplier = await api.as_role(Role.SUPPLIER, SELLER_SIRET)
    supplier.timeout = httpx.Timeout(REQUEST_SECONDS)
    load = Load(supplier)
    running = [asyncio.create_task(load.depositing(keyed)) for keyed in (False, True)]
    running.append(asyncio.create_task(load.listing()))

    async def some_deposits_through() -> bool:
        return sum(a.status == 201 for a in load.answers) >= 4

    await eventually(some_deposits_through, 60, "deposits before the crash")
    load.outage = True
    await asyncio.to_thread(cluster.crash)
    await asyncio.sleep(OUTAGE_SECONDS)
    await asyncio.to_thread(cluster.start)
    load.outage = False
    await asyncio.sleep(2)
    load.stop.set()
    await asyncio.gather(*running)
    outage = [a for a in load.answers if a.during_outage]
    assert {a.kind for a in outage} == {"deposit", "listing"}, outage

    # What was not accepted is sent again (the same key, if any), the database back: taken.
    deposits = {a.number: a for a in load.answers if a.kind == "deposit"}
    accepted = {n for n, a in deposits.items() if a.status in (200, 201, 202)}
    for number in sorted(set(deposits) - accepted):
        again = await load.deposit(number, deposits[number].keyed)  # type: ignore[arg-type]
        assert again.status_code in (200, 201, 202), again.text
        accepted.add(number)
    listed = await supplier.get("/v1/invoices", params={"limit": 1})
    assert listed.status_code == 200, listed.text

    # Every accepted deposit is recorded whole, nothing else: its row, its two statuses and
    # events, its file.
    async def all_recorded() -> bool:
        return await rows(api.sessions, Invoice) == len(accepted)

    await eventually(all_recorded, 60, f"the {len(accepted)} accepted deposits recorded")
    async with api.sessions() as session:
        invoices = (
            await session.execute(select(Invoice.number, Invoice.id, Invoice.original_sha256))
        ).all()
        statuses = set(await session.scalars(select(Invoice.status)))
    assert {number for number, _, _ in invoices} == accepted
    assert statuses == {"MISE_A_DISPOSITION"}
    events = await per_invoice(api.sessions, InvoiceEvent)
    changes = await per_invoice(api.sessions, InvoiceStatusChange)
    blobs = BlobStore(api.settings.effective_blob_dir)
    for number, invoice_id, sha256 in invoices:
        assert (events.get(invoice_id), changes.get(invoice_id)) == (2, 2), number
        assert blobs.exists(sha256), number

    # While it was down: answered, never hung, and nothing but a clean 503 with Retry-After.
    hung = [a for a in outage if a.seconds >= REQUEST_SECONDS]
    assert not hung, hung
    unclean = [
        a
        for a in outage
        if a.status is None  # the connection dropped
        or (a.status >= 500 and not (a.status == 503 and a.code == CLEAN_CODE and a.retry_after))
    ]
    if unclean:
        raise AnsweredServerError(unclean)
