"""A `chaine api` killed with SIGKILL while a large deposit streams in: nothing is recorded
nor started, and the same deposit, sent again to the restarted API, is accepted once; the
restarted API removes the partial body the killed one left in the blob store."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from core.config import Settings
from core.principals import Role
from invoicing.formats import write_invoice
from invoicing.syntax import Syntax
from store.models import Invoice, InvoiceEvent
from tests.conftest import ApiServer, free_port
from tests.faults.conftest import (
    ON_SQLITE,
    XML,
    a_state_buyer,
    count,
    eventually,
    kill,
    rows,
    start_api,
)
from tests.invoicing.builders import SELLER_SIRET, a_line, an_invoice
from workers.registry import Registrations

pytestmark = [pytest.mark.slow, ON_SQLITE]

NUMBER = "F-2026-UPLOAD"
CHUNK = 32 * 1024


async def healthy(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as probe:
            return (await probe.get(f"{url}/healthz")).status_code == 200
    except httpx.TransportError:
        return False


@dataclass(frozen=True)
class KilledUpload:
    """A deposit whose `chaine api` was killed halfway through its body."""

    settings: Settings
    url: str
    token: str
    body: bytes


@pytest.fixture
async def killed_upload(api: ApiServer, tmp_path: Path) -> KilledUpload:
    """Stream a large deposit slowly to a `chaine api`; SIGKILL it once half is sent."""
    settings = api.settings.model_copy(update={"api_port": free_port()})
    url = f"http://127.0.0.1:{settings.api_port}"
    first = start_api(settings, tmp_path / "api-1.log")
    await a_state_buyer(api.sessions)
    token = (await api.as_role(Role.SUPPLIER, SELLER_SIRET)).headers["Authorization"]
    body = write_invoice(
        an_invoice(NUMBER, lines=[a_line(str(n)) for n in range(1, 1001)]), Syntax.UBL
    )
    halfway = len(body) // 2
    sent = 0

    async def slowly() -> AsyncIterator[bytes]:
        nonlocal sent
        for start in range(0, len(body), CHUNK):
            if start >= halfway and first.poll() is None:
                await asyncio.sleep(0.3)  # the API has read what was sent
                kill(first)
            yield body[start : start + CHUNK]
            sent = start + CHUNK
            await asyncio.sleep(0.02)

    try:
        await eventually(lambda: healthy(url), 30, "chaine api answering")
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": token}) as client:
            with pytest.raises(httpx.TransportError):
                await client.post(
                    "/v1/invoices",
                    content=slowly(),
                    headers={**XML, "Content-Length": str(len(body))},
                    timeout=30,
                )
    finally:
        first.kill()
    assert first.returncode == -9 and halfway <= sent < len(body), (first.returncode, sent)
    return KilledUpload(settings, url, token, body)


@contextmanager
def restarted(upload: KilledUpload, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`chaine api` started again on the same port, stores and keys."""
    second = start_api(upload.settings, log)
    try:
        yield second
    finally:
        second.terminate()
        second.wait(timeout=20)


async def test_an_api_killed_mid_upload_records_nothing_and_accepts_the_deposit_again(
    api: ApiServer,
    workers: Registrations,
    temporal_env: WorkflowEnvironment,
    killed_upload: KilledUpload,
    tmp_path: Path,
) -> None:
    assert await rows(api.sessions, Invoice) == 0
    handle = temporal_env.client.get_workflow_handle(f"invoice:{SELLER_SIRET}:{NUMBER}")
    with pytest.raises(RPCError) as missing:
        await handle.describe()
    assert missing.value.status is RPCStatusCode.NOT_FOUND

    with restarted(killed_upload, tmp_path / "api-2.log"):
        await eventually(lambda: healthy(killed_upload.url), 30, "chaine api answering again")
        auth = {"Authorization": killed_upload.token}
        async with httpx.AsyncClient(base_url=killed_upload.url, headers=auth) as client:
            answers = [
                await client.post(
                    "/v1/invoices", content=killed_upload.body, headers=XML, timeout=60
                )
                for _ in range(2)
            ]
    assert [a.status_code for a in answers] == [201, 200], [a.text for a in answers]
    assert answers[0].json()["id"] == answers[1].json()["id"]
    assert answers[0].json()["status"] == "MISE_A_DISPOSITION"
    assert await rows(api.sessions, Invoice) == 1
    deposited = select(func.count()).where(InvoiceEvent.status == "DEPOSEE")
    assert await count(api.sessions, deposited) == 1


async def test_an_api_killed_mid_upload_leaves_no_partial_file_in_the_blob_store(
    killed_upload: KilledUpload, tmp_path: Path
) -> None:
    with restarted(killed_upload, tmp_path / "api-2.log"):
        await eventually(lambda: healthy(killed_upload.url), 30, "chaine api answering again")
    leftovers = list(killed_upload.settings.effective_blob_dir.glob(".incoming-*"))
    assert leftovers == [], [(p.name, p.stat().st_size) for p in leftovers]
