"""A worker killed in the middle of a validation: the deposit completes after a restart."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.testing import WorkflowEnvironment

from core.config import Settings
from core.principals import Role
from directory.records import StructureCategory, StructureRecord
from invoicing.formats import write_invoice
from invoicing.syntax import Syntax
from store.database import transaction
from store.directory import DirectoryRepository
from store.models import Invoice
from tests.conftest import ApiServer
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET, a_line, an_invoice

NUMBER = "F-2026-BIG"


@pytest.fixture
def api_overrides() -> dict[str, object]:
    return {"deposit_wait": timedelta(seconds=1)}


def start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """`chaine worker` as a real process, on the test's database, blobs and queues."""
    env = {
        **os.environ,
        "CHAINE_TEMPORAL_ADDRESS": settings.effective_temporal_address,
        "CHAINE_DATABASE_URL": settings.effective_database_url,
        "CHAINE_VAR_DIR": str(settings.var_dir),
        "CHAINE_TASK_QUEUE": settings.task_queue,
        "CHAINE_CPU_TASK_QUEUE": settings.cpu_task_queue,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "worker"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def wait_for_validation_to_start(env: WorkflowEnvironment, workflow_id: str) -> None:
    handle = env.client.get_workflow_handle(workflow_id)
    for _ in range(600):
        try:
            described = await handle.describe()
        except Exception:  # not started yet
            described = None
        pending = described.raw_description.pending_activities if described else []
        if any(
            a.activity_type.name == "validate_deposit"
            and a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
            for a in pending
        ):
            return
        await asyncio.sleep(0.05)
    pytest.fail("validation never started")


@pytest.mark.slow
async def test_a_deposit_survives_its_worker_being_killed_during_validation(
    api: ApiServer, temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with transaction(api.sessions) as session:
        await DirectoryRepository(session).upsert_structure(
            StructureRecord(BUYER_SIRET, "Ministère des tests", StructureCategory.STATE)
        )
    supplier = await api.as_role(Role.SUPPLIER, SELLER_SIRET)
    # 2,000 lines take a few seconds to validate: time enough to kill the worker mid-way.
    lines = [a_line(str(n)) for n in range(1, 2001)]
    body = write_invoice(an_invoice(NUMBER, lines=lines), Syntax.UBL)
    first = start_worker(api.settings, tmp_path / "worker-1.log")
    try:
        deposit = asyncio.create_task(
            supplier.post("/v1/invoices", content=body, headers={"Content-Type": "application/xml"})
        )
        await wait_for_validation_to_start(temporal_env, f"invoice:{SELLER_SIRET}:{NUMBER}")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        response = await deposit
        assert response.status_code == 202, response.text
        location = response.headers["location"]
        assert (await supplier.get(location)).status_code == 404, "not recorded yet"
    finally:
        first.kill()
    second = start_worker(api.settings, tmp_path / "worker-2.log")
    try:
        # The killed attempt misses its heartbeat, then the retry runs on the new worker.
        for _ in range(600):
            recorded = await supplier.get(location)
            if recorded.status_code == 200:
                break
            await asyncio.sleep(0.1)
        assert recorded.status_code == 200, recorded.text
        assert recorded.json()["status"] == "MISE_A_DISPOSITION"
        assert recorded.json()["amount_due"] == "2880000.00"
        async with api.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(Invoice)) == 1
    finally:
        second.terminate()
        second.wait(timeout=20)
