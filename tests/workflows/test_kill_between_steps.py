"""A worker killed between two steps of an invoice's life: nothing is done twice.

The buyer certifies the service done; the workflow then issues the mandate and records
MANDATEE. The worker process is killed with SIGKILL the moment the certification is
answered, so the next steps are in flight or not yet started; a new worker takes over.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from core.principals import Role
from directory.records import StructureCategory, StructureRecord
from invoicing.formats import write_invoice
from invoicing.syntax import Syntax
from store.database import transaction
from store.directory import DirectoryRepository
from store.models import InvoiceEvent, InvoiceStatusChange, Mandate
from tests.conftest import ApiServer
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET, an_invoice
from tests.workflows.test_worker_crash import start_worker

NUMBER = "F-2026-KILL"
EXPECTED = ["DEPOSEE", "MISE_A_DISPOSITION", "PRISE_EN_COMPTE", "SERVICE_FAIT", "MANDATEE"]


@pytest.mark.slow
async def test_a_worker_killed_after_service_done_issues_one_mandate_and_no_duplicate_event(
    api: ApiServer, temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with transaction(api.sessions) as session:
        await DirectoryRepository(session).upsert_structure(
            StructureRecord(BUYER_SIRET, "Ministère des tests", StructureCategory.STATE)
        )
    supplier = await api.as_role(Role.SUPPLIER, SELLER_SIRET)
    buyer = await api.as_role(Role.BUYER, BUYER_SIRET)
    first = start_worker(api.settings, tmp_path / "worker-1.log")
    try:
        deposited = await supplier.post(
            "/v1/invoices",
            content=write_invoice(an_invoice(NUMBER), Syntax.UBL),
            headers={"Content-Type": "application/xml"},
        )
        assert deposited.status_code == 201, deposited.text
        actions = f"{deposited.headers['location']}/actions"
        taken = await buyer.post(actions, json={"action": "TAKE"})
        assert taken.status_code == 200, taken.text
        certified = await buyer.post(actions, json={"action": "CERTIFY_SERVICE_DONE"})
        assert certified.json()["status"] == "SERVICE_FAIT", certified.text
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        first.kill()

    second = start_worker(api.settings, tmp_path / "worker-2.log")
    handle = temporal_env.client.get_workflow_handle(f"invoice:{SELLER_SIRET}:{NUMBER}")
    try:
        for attempt in range(300):
            invoice = (await supplier.get(deposited.headers["location"])).json()
            if invoice["status"] == "MANDATEE":
                break
            if attempt == 50:  # an activity the killed worker held: let its timeout pass
                await temporal_env.fast_forward(handle, timedelta(seconds=31))
            await asyncio.sleep(0.1)
        assert invoice["status"] == "MANDATEE", invoice
    finally:
        second.terminate()
        second.wait(timeout=20)

    assert [h["status"] for h in invoice["history"]] == EXPECTED
    async with api.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Mandate)) == 1
        events = list(
            await session.execute(
                select(InvoiceEvent.sequence, InvoiceEvent.status).order_by(InvoiceEvent.id)
            )
        )
        changes = await session.scalar(select(func.count()).select_from(InvoiceStatusChange))
    assert [status for _, status in events] == EXPECTED
    assert [sequence for sequence, _ in events] == list(range(1, len(EXPECTED) + 1))
    assert changes == len(EXPECTED)
