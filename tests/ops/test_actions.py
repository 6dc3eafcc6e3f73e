"""Operator actions on one workflow: each needs a reason, is audited, and refuses clearly."""

from __future__ import annotations

import httpx

from core.principals import Role
from tests.api.test_conventions import assert_problem
from tests.conftest import ApiServer
from tests.invoicing.builders import BUYER_SIRET
from tests.ops.conftest import SQLITE_ONLY, Probes, eventually
from tests.ops.probe import OpsProbeWorkflow


async def test_only_operators_reach_the_tools(api: ApiServer) -> None:
    buyer = await api.as_role(Role.BUYER, BUYER_SIRET)
    for method, path, body in [
        ("GET", "/v1/ops/stuck", None),
        ("GET", "/v1/ops/workflows/invoice:1:2", None),
        ("GET", "/v1/ops/audit", None),
        ("POST", "/v1/ops/workflows/invoice:1:2/terminate", {"reason": "x"}),
        ("POST", "/v1/ops/workflows/invoice:1:2/retry", {"reason": "x"}),
        ("POST", "/v1/ops/batch", {"action": "terminate", "query": "a", "reason": "x"}),
        ("POST", "/v1/ops/reconcile", {"reason": "x"}),
    ]:
        answer = await buyer.request(method, path, json=body)
        assert_problem(answer, 403, "FORBIDDEN_ROLE")
    assert_problem(await api.anonymous().get("/v1/ops/stuck"), 401, "AUTH_REQUIRED")


async def test_terminate_needs_a_reason_and_is_audited(
    operator: httpx.AsyncClient, probes: Probes
) -> None:
    handle = await probes.start("t1")
    path = f"/v1/ops/workflows/{handle.id}/terminate"
    assert_problem(await operator.post(path, json={}), 422, "OPS_REASON_REQUIRED")
    assert_problem(await operator.post(path, json={"reason": "  "}), 422, "OPS_REASON_REQUIRED")
    assert (await handle.describe()).status.name == "RUNNING"

    done = await operator.post(path, json={"reason": "started by mistake"})
    assert done.status_code == 200, done.text
    assert (await handle.describe()).status.name == "TERMINATED"
    again = await operator.post(path, json={"reason": "once more"})
    assert "TERMINATED, not running" in assert_problem(again, 409, "OPS_ACTION_REFUSED")["detail"]
    missing = await operator.post("/v1/ops/workflows/probe:none/terminate", json={"reason": "typo"})
    assert_problem(missing, 404, "WORKFLOW_NOT_FOUND")

    first = (await operator.get("/v1/ops/audit", params={"limit": 2})).json()
    assert [(e["action"], e["target"], e["outcome"]["ok"]) for e in first["items"]] == [
        ("terminate", "probe:none", False),
        ("terminate", handle.id, False),
    ]
    assert first["items"][1]["outcome"]["code"] == "OPS_ACTION_REFUSED"
    older = await operator.get("/v1/ops/audit", params={"limit": 2, "cursor": first["next"]})
    [entry] = older.json()["items"]
    assert (entry["action"], entry["reason"], entry["outcome"]["ok"]) == (
        "terminate",
        "started by mistake",
        True,
    )
    assert older.json()["next"] is None


@SQLITE_ONLY
async def test_pause_unpause_signal_and_retry_a_probe(
    operator: httpx.AsyncClient, probes: Probes
) -> None:
    handle = await probes.start("p1")
    base = f"/v1/ops/workflows/{handle.id}"
    assert_problem(
        await operator.post(f"{base}/pause", json={"reason": "nothing runs yet"}),
        409,
        "OPS_ACTION_REFUSED",
    )
    signalled = await operator.post(
        f"{base}/signal", json={"name": "release", "reason": "let it run"}
    )
    assert signalled.status_code == 200, signalled.text
    assert await handle.query(OpsProbeWorkflow.released)

    async def failing() -> dict | None:
        pending = (await operator.get(base)).json()["pending_activities"]
        return pending[0] if pending and pending[0]["last_failure"] else None

    activity = await eventually(failing)
    assert activity["last_failure"] == "RuntimeError: blocked by p1"
    paused = await operator.post(
        f"{base}/pause", json={"reason": "the blocker needs a human", "activity_id": "1"}
    )
    assert paused.status_code == 200, paused.text
    [activity] = (await operator.get(base)).json()["pending_activities"]
    assert (activity["paused"], activity["state"]) == (True, "PAUSED")
    stuck = (await operator.get("/v1/ops/stuck")).json()["items"]
    assert [s["reason"] for s in stuck if s["workflow_id"] == handle.id] == ["ACTIVITY_PAUSED"]
    assert_problem(
        await operator.post(f"{base}/pause", json={"reason": "again"}), 409, "OPS_ACTION_REFUSED"
    )
    unpaused = await operator.post(f"{base}/unpause", json={"reason": "looking at it"})
    assert unpaused.status_code == 200, unpaused.text
    [activity] = (await operator.get(base)).json()["pending_activities"]
    assert activity["paused"] is False

    probes.unblock("p1")
    retried = await operator.post(f"{base}/retry", json={"reason": "blocker removed"})
    assert retried.status_code == 200, retried.text
    assert await handle.result() == "done"
    actions = [e["action"] for e in (await operator.get("/v1/ops/audit")).json()["items"]]
    assert actions == ["retry", "unpause", "pause", "pause", "signal", "pause"]


@SQLITE_ONLY
async def test_reset_goes_back_to_the_last_good_task_in_a_new_run(
    operator: httpx.AsyncClient, probes: Probes
) -> None:
    handle = await probes.start("r1", released=True)
    base = f"/v1/ops/workflows/{handle.id}"
    first_run = (await handle.describe()).run_id
    assert_problem(
        await operator.post(f"{base}/reset", json={"reason": "x", "to": "somewhere"}),
        422,
        "VALIDATION_FAILED",
    )
    done = await operator.post(f"{base}/reset", json={"reason": "replay the step"})
    assert done.status_code == 200, done.text
    new_run = done.json()["new_run_id"]
    assert new_run and new_run != first_run
    described = (await operator.get(base)).json()
    assert (described["run_id"], described["execution_status"]) == (new_run, "RUNNING")
    probes.unblock("r1")
    latest = probes.client.get_workflow_handle(handle.id)
    assert await latest.result() == "done"


@SQLITE_ONLY
async def test_a_workflow_whose_own_code_fails_is_stuck(
    operator: httpx.AsyncClient, probes: Probes
) -> None:
    handle = await probes.start("w1")
    await handle.signal(OpsProbeWorkflow.crash)

    async def listed() -> dict | None:
        items = (await operator.get("/v1/ops/stuck")).json()["items"]
        return next((i for i in items if i["workflow_id"] == handle.id), None)

    item = await eventually(listed)
    assert item["reason"] == "WORKFLOW_TASK_FAILING"
    described = (await operator.get(f"/v1/ops/workflows/{handle.id}")).json()
    assert described["workflow_task"]["attempt"] >= 2
    failed = [e for e in described["events"] if e["type"] == "WorkflowTaskFailed"]
    assert "a bug in the probe's code" in failed[0]["detail"]


@SQLITE_ONLY
async def test_an_invalid_query_is_refused(operator: httpx.AsyncClient) -> None:
    answer = await operator.post(
        "/v1/ops/batch",
        json={"action": "terminate", "query": "NoSuchField = 'x'", "reason": "x", "dry_run": True},
    )
    assert_problem(answer, 422, "OPS_QUERY_INVALID")


@SQLITE_ONLY
async def test_a_batch_dry_run_lists_without_acting_then_the_batch_acts(
    operator: httpx.AsyncClient, probes: Probes
) -> None:
    handles = [await probes.start(name) for name in ("b1", "b2", "b3")]
    body = {"action": "terminate", "query": probes.query(), "reason": "cleanup"}

    async def listed() -> dict | None:
        answer = (await operator.post("/v1/ops/batch", json={**body, "dry_run": True})).json()
        return answer if answer["matched"] == 3 else None

    dry = await eventually(listed)
    assert sorted(i["workflow_id"] for i in dry["items"]) == sorted(h.id for h in handles)
    assert (dry["dry_run"], dry["succeeded"]) == (True, 0)
    for handle in handles:
        assert (await handle.describe()).status.name == "RUNNING"
    too_many = await operator.post("/v1/ops/batch", json={**body, "limit": 2})
    assert_problem(too_many, 409, "OPS_ACTION_REFUSED")

    done = await operator.post("/v1/ops/batch", json=body)
    assert done.status_code == 200, done.text
    assert (done.json()["succeeded"], done.json()["failed"]) == (3, 0)
    for handle in handles:
        assert (await handle.describe()).status.name == "TERMINATED"
    trail = (await operator.get("/v1/ops/audit", params={"action": "batch-terminate"})).json()
    done_entry, refused, *dry_runs = trail["items"]
    assert (done_entry["dry_run"], done_entry["outcome"]["succeeded"]) == (False, 3)
    assert (refused["dry_run"], refused["outcome"]["code"]) == (False, "OPS_ACTION_REFUSED")
    assert dry_runs and all(e["dry_run"] and e["outcome"]["succeeded"] == 0 for e in dry_runs)
