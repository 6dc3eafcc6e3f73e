"""A real invoice whose mandate cannot be recorded: operators find it, see why, fix the cause
and retry it, and the retry is audited."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import delete
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from activities.invoices import mandate_number
from store.database import transaction
from store.models import Invoice, Mandate
from tests.conftest import ApiServer
from tests.invoicing.builders import SELLER_SIRET
from tests.ops.conftest import eventually
from tests.workflows.test_invoice_lifecycle import Parties

pytestmark = pytest.mark.usefixtures("workers")


async def squat_mandate_number(api: ApiServer, invoice_id: str) -> str:
    """Give the number the invoice's mandate will take to another invoice's mandate, so the
    workflow's `issue_mandate` activity fails on the unique number until it is removed."""
    squatter = "00000000-0000-4000-8000-000000000001"
    now = datetime.now(UTC)
    number = mandate_number(invoice_id)
    async with transaction(api.sessions) as session:
        session.add(
            Invoice(
                id=squatter,
                workflow_id="invoice:squatter:1",
                run_id="squatter",
                seller_key="00000000000000",
                number="SQUAT-1",
                status="MANDATEE",
                status_at=now,
                depositor="test",
                channel="API",
                original_sha256="0" * 64,
                original_media_type="application/xml",
                original_size=1,
                report={},
                deposited_at=now,
            )
        )
        await session.flush()
        session.add(Mandate(invoice_id=squatter, number=number, amount=1))
    return number


async def test_a_failing_mandate_is_stuck_described_fixed_and_retried(
    api: ApiServer, operator: httpx.AsyncClient, temporal_env: WorkflowEnvironment
) -> None:
    parties = await Parties(api, temporal_env).start("F-OPS-1")
    invoice_id = parties.location.rsplit("/", 1)[1]
    workflow_id = f"invoice:{SELLER_SIRET}:F-OPS-1"
    number = await squat_mandate_number(api, invoice_id)
    await parties.ok(parties.buyer, "TAKE")
    await parties.ok(parties.buyer, "CERTIFY_SERVICE_DONE")

    async def failing_mandate() -> dict | None:
        listed = (await operator.get("/v1/ops/stuck", params={"supplier": SELLER_SIRET})).json()
        return next(
            (
                item
                for item in listed["items"]
                if item["workflow_id"] == workflow_id
                and item["activity"]["attempt"] >= 3
                and item["reason"] == "ACTIVITY_FAILING"
            ),
            None,
        )

    stuck = await eventually(failing_mandate)
    assert stuck["activity"]["activity_type"] == "issue_mandate"
    assert stuck["status"] == "SERVICE_FAIT"
    assert "mandates" in stuck["detail"].lower()

    described = await operator.get(f"/v1/ops/workflows/{workflow_id}", params={"events": 8})
    assert described.status_code == 200, described.text
    body = described.json()
    assert body["status"] == {
        "database": "SERVICE_FAIT",
        "search_attribute": "SERVICE_FAIT",
        "query": "SERVICE_FAIT",
        "query_error": None,
        "agree": True,
    }
    assert body["projection"]["invoice_id"] == invoice_id
    [activity] = body["pending_activities"]
    assert activity["activity_type"] == "issue_mandate"
    assert activity["attempt"] >= 3
    assert "mandates" in activity["last_failure"].lower()
    assert activity["next_attempt_at"] is not None
    assert len(body["events"]) == 8
    assert {"type": "ActivityTaskScheduled", "detail": "issue_mandate"} in [
        {"type": e["type"], "detail": e["detail"]} for e in body["events"]
    ]
    assert body["timers"] == []  # the payment clock waits for people, not on a timer now
    assert body["ui_url"] is None  # the tests' server is a "cluster": its UI is not known
    attempts_before = activity["attempt"]

    async with transaction(api.sessions) as session:  # the cause, fixed
        await session.execute(delete(Mandate).where(Mandate.number == number))
    retried = await operator.post(
        f"/v1/ops/workflows/{workflow_id}/retry", json={"reason": "mandate number freed"}
    )
    assert retried.status_code == 200, retried.text
    assert retried.json()["activity_id"] == activity["activity_id"]
    await parties.wait_for_status("MANDATEE")

    # The successful attempt is counted from 1 again: the retry reset the activity.
    history = temporal_env.client.get_workflow_handle(workflow_id).fetch_history_events()
    started = [
        e.activity_task_started_event_attributes.attempt
        async for e in history
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]
    assert started[-1] < attempts_before

    trail = (await operator.get("/v1/ops/audit", params={"action": "retry"})).json()
    [entry] = trail["items"]
    assert (entry["target"], entry["reason"], entry["dry_run"]) == (
        workflow_id,
        "mandate number freed",
        False,
    )
    assert entry["outcome"]["ok"] is True
    assert entry["outcome"]["activity_id"] == activity["activity_id"]
