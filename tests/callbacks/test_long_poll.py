"""`GET /v1/events?wait=`: clients that cannot receive webhooks wait for the next event."""

from __future__ import annotations

import asyncio

import pytest

from tests.api.test_conventions import assert_problem
from tests.callbacks.conftest import Supplier
from tests.conftest import ApiServer

pytestmark = pytest.mark.usefixtures("workers")


async def test_a_waiting_poll_answers_as_soon_as_an_event_arrives(
    api: ApiServer, supplier: Supplier
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(supplier.client.get("/v1/events?after=0&wait=20"))
    await asyncio.sleep(1)
    assert not poll.done()
    await supplier.deposit("F-2026-710")
    response = await poll
    assert response.status_code == 200, response.text
    assert response.json()["items"][0]["status"] == "DEPOSEE"
    assert loop.time() - started < 10


async def test_a_waiting_poll_without_events_answers_empty_after_the_wait(
    api: ApiServer, supplier: Supplier
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await supplier.client.get("/v1/events?after=0&wait=1")
    assert response.json() == {"items": [], "next": 0}
    assert 1 <= loop.time() - started < 3
    too_long = await supplier.client.get("/v1/events?wait=31")
    assert_problem(too_long, 422, "VALIDATION_FAILED")
