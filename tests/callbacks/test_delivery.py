"""Events pushed to real receivers on loopback: signed, retried, dead-lettered, redelivered.

Deliveries are started by the relay through the test environment's client, so their
retry backoff is skipped (5 s, 10 s, 20 s... pass in about a second each); the retry
window is shortened to 60 s (20 s to give up after three attempts).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from standardwebhooks import Webhook as SigningKey
from temporalio.testing import WorkflowEnvironment

from tests.api.test_conventions import assert_problem
from tests.callbacks.conftest import Receiver, Supplier
from tests.conftest import ApiServer

pytestmark = [pytest.mark.usefixtures("relay"), pytest.mark.record_histories]
NEVER = 10**6  # failures before success: a receiver that never accepts


async def deliveries_of(client: httpx.AsyncClient, webhook_id: str) -> list[dict]:
    response = await client.get(f"/v1/webhooks/{webhook_id}/deliveries")
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def wait_for_deliveries(
    client: httpx.AsyncClient,
    webhook_id: str,
    done: Callable[[list[dict]], bool],
    seconds: float = 40,
) -> list[dict]:
    """The webhook's deliveries once `done` holds for them (and there are some)."""
    for _ in range(int(seconds * 10)):
        found = await deliveries_of(client, webhook_id)
        if found and done(found):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"deliveries never settled: {found}")


def all_in(*statuses: str) -> Callable[[list[dict]], bool]:
    return lambda found: all(d["status"] in statuses for d in found)


async def events_of(supplier: Supplier, invoice_url: str) -> list[dict]:
    invoice_id = invoice_url.rsplit("/", 1)[1]
    items = (await supplier.client.get("/v1/events")).json()["items"]
    return [e for e in items if e["invoice_id"] == invoice_id]


async def test_a_receiver_failing_three_times_gets_each_event_exactly_once(
    api: ApiServer, supplier: Supplier, receiver: Receiver
) -> None:
    receiver.failures = 3
    webhook = await supplier.subscribe(receiver.url)
    invoice = await supplier.deposit("F-2026-701")
    events = await events_of(supplier, invoice)
    assert len(events) >= 2
    found = await wait_for_deliveries(
        supplier.client,
        webhook["id"],
        lambda ds: len(ds) == len(events) and all_in("DELIVERED")(ds),
    )
    for delivery in found:
        assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 500, 200]
        assert all(a["latency_ms"] >= 0 for a in delivery["attempts"])
        assert delivery["delivered_at"] is not None
    accepted = receiver.accepted()
    assert sorted(r.message_id for r in accepted) == sorted(d["id"] for d in found)
    assert len(receiver.requests) == 4 * len(events)
    bodies = [SigningKey(webhook["secret"]).verify(r.body, r.headers) for r in accepted]
    assert sorted(b["data"]["sequence"] for b in bodies) == [e["sequence"] for e in events]
    first = min(bodies, key=lambda b: b["data"]["sequence"])
    assert first["type"] == "invoice.status_changed"
    assert first["data"]["invoice_id"] == invoice.rsplit("/", 1)[1]
    assert first["data"]["status"] == "DEPOSEE"
    assert first["id"] == events[0]["id"]


async def test_a_redirect_is_not_followed(
    api: ApiServer, supplier: Supplier, receiver: Receiver, bystander: Receiver
) -> None:
    receiver.failures, receiver.failure_status, receiver.location = NEVER, 302, bystander.url
    webhook = await supplier.subscribe(receiver.url)
    await supplier.deposit("F-2026-703")
    found = await wait_for_deliveries(
        supplier.client, webhook["id"], lambda ds: all(d["attempts"] for d in ds)
    )
    for delivery in found:
        assert delivery["attempts"][0]["status_code"] == 302
        assert "redirects are not followed" in delivery["attempts"][0]["error"]
    assert bystander.requests == []


async def test_both_secrets_sign_while_a_rotation_overlaps(
    api: ApiServer, supplier: Supplier, receiver: Receiver, temporal_env: WorkflowEnvironment
) -> None:
    webhook = await supplier.subscribe(receiver.url)
    rotated = await supplier.client.post(f"/v1/webhooks/{webhook['id']}/rotate-secret")
    new_secret = rotated.json()["secret"]
    await supplier.deposit("F-2026-704")
    await receiver.wait_for(lambda r: r.accepted())
    received = receiver.accepted()[0]
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    for secret in (webhook["secret"], new_secret):
        assert SigningKey(secret).verify(received.body, received.headers)["type"]
    retried = [  # accepted at the relay's first attempt: no workflow for retries
        execution.id
        async for execution in temporal_env.client.list_workflows(
            f"TaskQueue = '{api.settings.task_queue}' AND WorkflowType = 'CallbackWorkflow'"
        )
    ]
    assert retried == []


class TestDeadLetters:
    """A delivery never accepted is given up after the retry window, and kept."""

    @pytest.fixture
    def callback_overrides(self) -> dict[str, object]:
        return {"callback_retry_window": timedelta(seconds=20)}

    async def test_an_event_never_accepted_is_dead_lettered_then_redelivered(
        self,
        api: ApiServer,
        supplier: Supplier,
        receiver: Receiver,
        temporal_env: WorkflowEnvironment,
    ) -> None:
        receiver.failures = NEVER
        webhook = await supplier.subscribe(receiver.url, event_types=["invoice.status_changed"])
        invoice = await supplier.deposit("F-2026-702")
        # The invoice's later events may still be on their way: wait for its whole life
        # at intake (DEPOSEE, then available to the buyer) before counting.
        for _ in range(100):
            events = await events_of(supplier, invoice)
            if len(events) >= 2:
                break
            await asyncio.sleep(0.1)
        dead = await wait_for_deliveries(
            supplier.client, webhook["id"], lambda ds: len(ds) >= len(events) and all_in("DEAD")(ds)
        )
        assert len(dead) == len(await events_of(supplier, invoice))
        for delivery in dead:
            # 5 then 10 s apart: the next try, 20 s later, would be past the 20 s window.
            assert [a["status_code"] for a in delivery["attempts"]] == [500] * 3
            assert delivery["last_error"] == "given up after the retry window; HTTP 500: ok"
        receiver.failures = 0
        target = dead[0]
        redeliver = f"/v1/webhooks/{webhook['id']}/deliveries/{target['id']}/redeliver"
        response = await supplier.client.post(redeliver)
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "PENDING"
        found = await wait_for_deliveries(
            supplier.client,
            webhook["id"],
            lambda ds: any(d["id"] == target["id"] and d["status"] == "DELIVERED" for d in ds),
        )
        again = next(d for d in found if d["id"] == target["id"])
        assert [a["status_code"] for a in again["attempts"]] == [500, 500, 500, 200]
        assert [r.message_id for r in receiver.accepted()] == [target["id"]]  # same webhook-id
        ids = [
            execution.id
            async for execution in temporal_env.client.list_workflows(
                f"TaskQueue = '{api.settings.task_queue}' AND WorkflowType = 'CallbackWorkflow'"
            )
        ]
        assert f"callback:{target['event_id']}:{webhook['id']}:redeliver:4" in ids
        unknown = redeliver.replace(f"msg_{target['event_id']}_", "msg_999999_")
        assert_problem(await supplier.client.post(unknown), 404, "WEBHOOK_DELIVERY_NOT_FOUND")


class TestDisabling:
    """An endpoint failing for longer than `callback_disable_after` is disabled."""

    @pytest.fixture
    def callback_overrides(self) -> dict[str, object]:
        return {
            "callback_retry_window": timedelta(minutes=10),
            "callback_disable_after": timedelta(seconds=3),
        }

    async def test_a_failing_endpoint_is_disabled_and_its_owner_notified(
        self, api: ApiServer, supplier: Supplier, receiver: Receiver
    ) -> None:
        receiver.failures = NEVER
        webhook = await supplier.subscribe(receiver.url)
        location = f"/v1/webhooks/{webhook['id']}"
        await supplier.deposit("F-2026-705")
        skipped = await wait_for_deliveries(supplier.client, webhook["id"], all_in("SKIPPED"))
        shown = (await supplier.client.get(location)).json()
        assert shown["active"] is False
        assert "failing since" in shown["disabled_reason"]
        inbox = (await supplier.client.get("/v1/notifications?unread=true")).json()["items"]
        assert [(n["kind"], n["payload"]["webhook_id"]) for n in inbox] == [
            ("webhook.disabled", webhook["id"])
        ]
        read = await supplier.client.post(f"/v1/notifications/{inbox[0]['id']}/read")
        assert read.json()["read_at"] is not None
        assert (await supplier.client.get("/v1/notifications?unread=true")).json()["items"] == []
        redeliver = f"{location}/deliveries/{skipped[0]['id']}/redeliver"
        assert_problem(await supplier.client.post(redeliver), 409, "WEBHOOK_REDELIVERY_REFUSED")

        receiver.failures = 0
        enabled = (await supplier.client.post(f"{location}/enable")).json()
        assert (enabled["active"], enabled["failing_since"]) == (True, None)
        assert (await supplier.client.post(redeliver)).status_code == 202
        await wait_for_deliveries(
            supplier.client,
            webhook["id"],
            lambda ds: any(d["status"] == "DELIVERED" for d in ds),
        )
