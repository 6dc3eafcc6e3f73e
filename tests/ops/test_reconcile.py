"""The invoice projection against its workflow: drift found and repaired, invoices waiting on
people too long listed, and a reset an invoice workflow cannot survive refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update
from temporalio.testing import WorkflowEnvironment

from store.database import transaction
from store.models import Invoice
from tests.api.test_conventions import assert_problem
from tests.conftest import ApiServer
from tests.invoicing.builders import SELLER_SIRET
from tests.workflows.test_invoice_lifecycle import Parties

pytestmark = pytest.mark.usefixtures("workers")


async def set_projection(api: ApiServer, invoice_id: str, **columns: object) -> None:
    async with transaction(api.sessions) as session:
        await session.execute(update(Invoice).where(Invoice.id == invoice_id).values(**columns))


async def projected_status(api: ApiServer, invoice_id: str) -> tuple[str, datetime]:
    async with api.sessions() as session:
        invoice = await session.get(Invoice, invoice_id)
        assert invoice is not None
        return invoice.status, invoice.status_at


async def test_reconcile_finds_a_drift_and_fix_repairs_it_from_the_workflow(
    api: ApiServer,
    operator: httpx.AsyncClient,
    temporal_env: WorkflowEnvironment,
    task_queue: str,
) -> None:
    parties = await Parties(api, temporal_env).start("F-OPS-2")
    invoice_id = parties.location.rsplit("/", 1)[1]
    reached = (await projected_status(api, invoice_id))[1]
    await set_projection(api, invoice_id, status="PAYEE", status_at=datetime.now(UTC))
    # This test's workflows only: the dev server is shared by the whole session.
    body = {"reason": "nightly check", "query": f"TaskQueue = '{task_queue}'"}

    found = await operator.post("/v1/ops/reconcile", json=body)
    assert found.status_code == 200, found.text
    [drift] = found.json()["drifts"]
    assert drift == {
        "workflow_id": f"invoice:{SELLER_SIRET}:F-OPS-2",
        "run_id": drift["run_id"],
        "invoice_id": invoice_id,
        "kind": "STATUS_DIFFERS",
        "projected_status": "PAYEE",
        "workflow_status": "MISE_A_DISPOSITION",
        "confirmed": True,
        "fixed": False,
    }
    assert (await projected_status(api, invoice_id))[0] == "PAYEE"

    fixed = await operator.post("/v1/ops/reconcile", json={**body, "fix": True})
    assert fixed.status_code == 200, fixed.text
    assert (fixed.json()["fixed"], fixed.json()["drifts"][0]["fixed"]) == (1, True)
    assert await projected_status(api, invoice_id) == ("MISE_A_DISPOSITION", reached)
    again = (await operator.post("/v1/ops/reconcile", json=body)).json()
    assert (again["drifts"], again["scanned"]) == ([], 1)

    trail = (await operator.get("/v1/ops/audit", params={"action": "reconcile"})).json()
    assert [(e["dry_run"], e["outcome"]["fixed"]) for e in trail["items"]] == [
        (True, 0),
        (False, 1),
        (True, 0),
    ]


async def test_an_invoice_waiting_on_people_too_long_is_stuck_and_cannot_be_reset(
    api: ApiServer, operator: httpx.AsyncClient, temporal_env: WorkflowEnvironment
) -> None:
    parties = await Parties(api, temporal_env).start("F-OPS-3")
    invoice_id = parties.location.rsplit("/", 1)[1]
    workflow_id = f"invoice:{SELLER_SIRET}:F-OPS-3"
    listed = (await operator.get("/v1/ops/stuck", params={"supplier": SELLER_SIRET})).json()
    assert [i for i in listed["items"] if i["workflow_id"] == workflow_id] == []

    long_ago = datetime.now(UTC) - api.settings.ops_stuck_waiting - timedelta(days=1)
    await set_projection(api, invoice_id, status_at=long_ago)
    listed = (await operator.get("/v1/ops/stuck", params={"kind": "invoice"})).json()
    [item] = [i for i in listed["items"] if i["workflow_id"] == workflow_id]
    assert (item["reason"], item["status"]) == ("WAITING_ON_PEOPLE", "MISE_A_DISPOSITION")
    waited = (api.settings.ops_stuck_waiting + timedelta(days=1)).days
    assert item["detail"].startswith(f"MISE_A_DISPOSITION for {waited} day(s)")
    other = (await operator.get("/v1/ops/stuck", params={"structure": "21750001600019"})).json()
    assert [i for i in other["items"] if i["workflow_id"] == workflow_id] == []

    refused = await operator.post(
        f"/v1/ops/workflows/{workflow_id}/reset", json={"reason": "try a reset"}
    )
    assert "first run" in assert_problem(refused, 409, "OPS_ACTION_REFUSED")["detail"]
