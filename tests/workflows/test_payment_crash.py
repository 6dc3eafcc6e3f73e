"""A worker killed after a run's file is built, before the invoices are moved: on restart,
one payment per invoice and one file, never two."""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from store.models import Invoice, InvoiceStatusChange, Payment, PaymentFile
from tests.conftest import ApiServer
from tests.workflows.test_payment_runs import accounted
from tests.workflows.test_worker_crash import start_worker
from workflows.payment_run import PaymentRunWorkflow

INVOICES = 8


async def count(api: ApiServer, statement) -> int:  # a select(func.count())
    async with api.sessions() as session:
        return await session.scalar(statement) or 0


@pytest.mark.slow
async def test_a_worker_killed_between_the_file_and_the_statuses_pays_each_invoice_once(
    api: ApiServer, temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    first = start_worker(api.settings, tmp_path / "worker-1.log")
    try:
        parties = [
            await accounted(api, temporal_env, f"F-2026-CRASH-{n:02d}") for n in range(INVOICES)
        ]
        started = await parties[0].accountant.post("/v1/payment-runs", json={})
        assert started.status_code == 202, started.text
        for _ in range(2000):
            if await count(api, select(func.count()).select_from(PaymentFile)):
                break
            await asyncio.sleep(0.005)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        first.kill()
    issued_before_restart = await count(
        api, select(func.count()).where(Invoice.status == "MISE_EN_PAIEMENT")
    )

    second = start_worker(api.settings, tmp_path / "worker-2.log")
    handle = temporal_env.client.get_workflow_handle_for(
        PaymentRunWorkflow.run, started.json()["workflow_id"]
    )
    try:
        await asyncio.sleep(2)
        await temporal_env.fast_forward(handle, timedelta(seconds=31))  # the dead heartbeat
        result = await asyncio.wait_for(handle.result(), timeout=120)
    finally:
        second.terminate()
        second.wait(timeout=20)

    assert issued_before_restart < INVOICES, "the kill came after every status was written"
    assert result.transfers == INVOICES
    assert await count(api, select(func.count()).select_from(PaymentFile)) == 1
    assert await count(api, select(func.count()).select_from(Payment)) == INVOICES
    assert (
        await count(api, select(func.count()).where(Invoice.status == "MISE_EN_PAIEMENT"))
        == INVOICES
    )
    issued = await count(
        api,
        select(func.count()).where(InvoiceStatusChange.status == "MISE_EN_PAIEMENT"),
    )
    assert issued == INVOICES  # one status change each: none written twice
