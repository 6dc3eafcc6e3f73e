"""A `chaine worker` killed with SIGKILL in the middle of issuing mandates and of posting
callbacks: after a restart each invoice has exactly one mandate, and each event reaches the
subscriber, twice at most, under one `webhook-id`.

Two invoices reach service done together and their workflows issue their mandates; the
test holds both in PostgreSQL, with triggers waiting on an advisory lock it holds, at the
two places a crash hurts:

- invoice A's insert waits before its row is written: the worker dies with nothing of its
  transaction kept, so A has no mandate;
- invoice B's insert is done and its COMMIT waits in a deferred trigger: the worker dies
  while committing, the commit goes through once the lock is released, and Temporal never
  hears that the activity finished.

Meanwhile the relay of the same worker posts the new events to a receiver that keeps the
requests unanswered. Then the worker is killed, and another takes over: the mandate
activities time out (30 s) and are retried (A's is issued, B's is found), the relay's pass
misses its heartbeat (one minute) and is retried, posting again what it had not recorded.
One kill serves both cases, so the suite waits the minute once. PostgreSQL only: SQLite
cannot hold one row's insert or commit apart.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection
from standardwebhooks import Webhook as SigningKey
from temporalio.testing import WorkflowEnvironment

from activities.invoices import mandate_number
from core.principals import Role
from store.database import make_sync_engine
from store.models import InvoiceEvent, InvoiceStatusChange, Mandate
from tests.callbacks.conftest import Supplier
from tests.conftest import ApiServer
from tests.faults.conftest import (
    ON_POSTGRESQL,
    HoldingReceiver,
    a_state_buyer,
    count,
    eventually,
    holding_receiver,
    kill,
    rows,
    wait_for_worker,
    workers_taking_over,
)
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET
from tests.workflows.test_worker_crash import start_worker

pytestmark = [pytest.mark.slow, ON_POSTGRESQL]

HOLD = 7_310_001  # the advisory lock both held mandates wait on
RELAY_HEARTBEAT_SECONDS = 60  # workflows/callbacks.py: a dead relay pass is noticed then
EXPECTED = ["DEPOSEE", "MISE_A_DISPOSITION", "PRISE_EN_COMPTE", "SERVICE_FAIT", "MANDATEE"]


@pytest.fixture
def receiver() -> Iterator[HoldingReceiver]:
    with holding_receiver() as found:
        yield found


@pytest.fixture
def api_overrides(receiver: HoldingReceiver) -> dict[str, object]:
    return {"outbound_allowed_hosts": receiver.host}


def hold_mandates(conn: Connection, before_insert: str, at_commit: str) -> None:
    """The mandate of `before_insert` waits before its row is written, that of `at_commit`
    when its transaction commits; both until `HOLD` (taken here) is released."""
    conn.execute(
        text(
            "CREATE FUNCTION fault_hold() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN PERFORM pg_advisory_xact_lock({HOLD}); RETURN NEW; END $$"
        )
    )
    conn.execute(
        text(
            "CREATE TRIGGER fault_hold_insert BEFORE INSERT ON mandates FOR EACH ROW "
            f"WHEN (NEW.invoice_id = '{before_insert}') EXECUTE FUNCTION fault_hold()"
        )
    )
    conn.execute(
        text(
            "CREATE CONSTRAINT TRIGGER fault_hold_commit AFTER INSERT ON mandates "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
            f"WHEN (NEW.invoice_id = '{at_commit}') EXECUTE FUNCTION fault_hold()"
        )
    )
    conn.execute(text(f"SELECT pg_advisory_lock({HOLD})"))


def drop_holds(conn: Connection) -> None:
    conn.execute(text("SELECT pg_advisory_unlock_all()"))
    conn.execute(text("DROP TRIGGER IF EXISTS fault_hold_insert ON mandates"))
    conn.execute(text("DROP TRIGGER IF EXISTS fault_hold_commit ON mandates"))
    conn.execute(text("DROP FUNCTION IF EXISTS fault_hold()"))


def held_statements(conn: Connection) -> list[str]:
    """The statements of this database waiting on the advisory lock, in order."""
    return list(
        conn.execute(
            text(
                "SELECT left(query, 20) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event = 'advisory' ORDER BY 1"
            )
        ).scalars()
    )


async def test_a_worker_killed_mid_mandate_and_mid_callback_does_each_exactly_once(
    api: ApiServer,
    temporal_env: WorkflowEnvironment,
    receiver: HoldingReceiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHAINE_OUTBOUND_ALLOWED_HOSTS", receiver.host)  # the worker posts
    monkeypatch.setenv("CHAINE_CALLBACK_TIMEOUT", "PT60S")  # held posts outlast the test's wait
    first = start_worker(api.settings, tmp_path / "worker-1.log")  # warms up meanwhile
    await a_state_buyer(api.sessions)
    supplier = Supplier(api, await api.as_role(Role.SUPPLIER, SELLER_SIRET))
    buyer = await api.as_role(Role.BUYER, BUYER_SIRET)
    webhook = await supplier.subscribe(receiver.url)
    deliveries = f"/v1/webhooks/{webhook['id']}/deliveries"
    engine = make_sync_engine(api.settings.effective_database_url)
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        await wait_for_worker(temporal_env.client, api.settings, first)
        urls = {name: await supplier.deposit(f"F-KILL-{name}") for name in ("A", "B")}
        for url in urls.values():
            taken = await buyer.post(f"{url}/actions", json={"action": "TAKE"})
            assert taken.status_code == 200, taken.text
        ids = {name: url.rsplit("/", 1)[1] for name, url in urls.items()}

        hold_mandates(conn, before_insert=ids["A"], at_commit=ids["B"])
        receiver.holding.set()
        # Answered once SERVICE_FAIT is recorded, which may wait for the new worker: the
        # mandate runs beside that record, and B's held one locks B's row (foreign key).
        patient = httpx.AsyncClient(base_url=api.url, headers=buyer.headers, timeout=150)
        api.clients.append(patient)
        certified = [
            asyncio.create_task(
                patient.post(f"{url}/actions", json={"action": "CERTIFY_SERVICE_DONE"})
            )
            for url in urls.values()
        ]

        async def both_held() -> bool:
            statements = await asyncio.to_thread(held_statements, conn)
            return statements == ["COMMIT", "INSERT INTO mandates"] and bool(receiver.held)

        await eventually(both_held, 20, "A's mandate before its insert, B's at its commit")
        kill(first)
    finally:
        first.kill()
        conn.execute(text(f"SELECT pg_advisory_unlock({HOLD})"))
        receiver.holding.clear()
        receiver.released.set()  # the held answers go to a dead process
    held = {r.message_id for r in receiver.held}

    try:
        # B's COMMIT, sent before the kill, goes through; A's transaction dies with its client.
        async def only_b_committed() -> bool:
            async with api.sessions() as session:
                return list(await session.scalars(select(Mandate.invoice_id))) == [ids["B"]]

        await eventually(only_b_committed, 20, "B's mandate committed after its worker died")
        await eventually(
            lambda: asyncio.to_thread(lambda: held_statements(conn) == []), 20, "holds gone"
        )
    finally:
        drop_holds(conn)
        conn.close()
        engine.dispose()
    for url in urls.values():  # nothing told the workflows
        assert (await supplier.client.get(url)).json()["status"] != "MANDATEE"
    pending = {d["id"]: d for d in (await supplier.client.get(deliveries)).json()["items"]}
    assert all(pending[m]["status"] != "DELIVERED" for m in held), pending

    async with workers_taking_over(temporal_env.client, api.settings, api.sessions):
        # Time skipping stops while an activity is in flight: the timeouts pass for real.
        async def all_delivered() -> list[dict] | None:
            statuses = [(await supplier.client.get(url)).json()["status"] for url in urls.values()]
            found = (await supplier.client.get(deliveries)).json()["items"]
            done = statuses == ["MANDATEE"] * 2 and len(found) == 2 * len(EXPECTED)
            return found if done and all(d["status"] == "DELIVERED" for d in found) else None

        delivered = await eventually(
            all_delivered, RELAY_HEARTBEAT_SECONDS + 40, "mandates and callbacks", pause=0.5
        )
        answers = await asyncio.gather(*certified)
    assert [a.json()["status"] for a in answers] == ["SERVICE_FAIT"] * 2, answers

    async with api.sessions() as session:
        mandates = dict((await session.execute(select(Mandate.invoice_id, Mandate.number))).all())
    assert mandates == {i: mandate_number(i) for i in ids.values()}
    assert await rows(api.sessions, Mandate) == 2
    for name, url in urls.items():
        invoice = (await supplier.client.get(url)).json()
        assert [h["status"] for h in invoice["history"]] == EXPECTED, name
        assert invoice["history"][-1]["comment"] == f"mandate {mandates[ids[name]]}"
    for model in (InvoiceStatusChange, InvoiceEvent):
        issued = select(func.count()).select_from(model).where(model.status == "MANDATEE")
        assert await count(api.sessions, issued) == 2, model.__name__

    # Every event delivered, by one recorded attempt (the killed one never was); the held
    # ones were posted twice, under the same webhook-id, with the same event.
    events = (await supplier.client.get("/v1/events")).json()["items"]
    expected = {f"msg_{e['id']}_{webhook['id']}" for e in events}
    assert len(expected) == 2 * len(EXPECTED) and held <= expected
    assert {d["id"] for d in delivered} == expected  # type: ignore[union-attr]
    for delivery in delivered:  # type: ignore[union-attr]
        assert [a["status_code"] for a in delivery["attempts"]] == [200], delivery
    assert Counter(receiver.message_ids()) == {m: 2 if m in held else 1 for m in expected}
    signing = SigningKey(webhook["secret"])
    events_by_message: dict[str, set[int]] = {}
    for received in receiver.requests:
        event = signing.verify(received.body, received.headers)
        events_by_message.setdefault(received.message_id, set()).add(event["id"])
    assert all(len(events) == 1 for events in events_by_message.values()), events_by_message
