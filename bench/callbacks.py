"""Signed webhook deliveries per second through the whole path, against a bare POST loop.

The stack runs (`chaine up`) with a receiver on loopback allow-listed. A supplier registers
a webhook, deposits one invoice, and `--events` more status events of that invoice are
written to the outbox in one transaction (the outbox is the delivery path's input: the
invoice path that normally writes it is measured by bench/lifecycle.py). Then the clock
runs from the first delivery to the last: relay pass → first attempt from the relay's
activity (guarded, signed HTTP POST, answers recorded in batches) → 2xx; a failed attempt
would go on in a `CallbackWorkflow`. The receiver counts each `webhook-id`: every event must
arrive, and none twice.

Ceiling, in the same run: one httpx client POSTing bodies of the same size to the same
receiver, one after the other, as fast as it can.

Run: `.venv/bin/python bench/callbacks.py [--events N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.stack import running_stack  # noqa: E402
from invoicing.formats import write_invoice  # noqa: E402
from invoicing.syntax import Syntax  # noqa: E402
from store.models import Invoice, InvoiceEvent, WebhookAttempt  # noqa: E402
from tests.conftest import free_ports  # noqa: E402
from tests.invoicing.builders import SELLER_SIRET, an_invoice  # noqa: E402

TARGET_RATIO = 0.3


class Receiver:
    """A minimal ASGI endpoint answering 204, counting webhook-ids and arrival times."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.first: float | None = None
        self.last: float = 0.0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        headers = dict(scope["headers"])
        webhook_id = headers.get(b"webhook-id", b"").decode()
        now = time.perf_counter()
        if webhook_id:
            self.seen[webhook_id] += 1
            self.first = self.first or now
            self.last = now
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def serve(receiver: Receiver, port: int) -> uvicorn.Server:
    config = uvicorn.Config(receiver, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server


def write_events(database_url: str, invoice_id: str, count: int) -> None:
    """`count` status events of the invoice, appended to its outbox in one transaction."""
    engine = create_engine(database_url)
    with Session(engine) as session, session.begin():
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        last = session.scalar(
            select(InvoiceEvent.sequence)
            .where(InvoiceEvent.invoice_id == invoice_id)
            .order_by(InvoiceEvent.sequence.desc())
        )
        now = datetime.now(UTC)
        session.add_all(
            InvoiceEvent(
                invoice_id=invoice_id,
                sequence=(last or 0) + n,
                type="invoice.status_changed",
                status="MISE_A_DISPOSITION",
                lifecycle_code="203",
                seller_key=invoice.seller_key,
                buyer_siret=invoice.buyer_siret,
                payload={"number": invoice.number, "reason": None, "comment": f"bench {n}"},
                occurred_at=now,
            )
            for n in range(1, count + 1)
        )
    engine.dispose()


def attempts_of(database_url: str, delivery_ids: list[str]) -> list[tuple]:
    """What the platform recorded of these deliveries' attempts (to explain a duplicate)."""
    engine = create_engine(database_url)
    with Session(engine) as session:
        rows = session.execute(
            select(
                WebhookAttempt.delivery_id,
                WebhookAttempt.status_code,
                WebhookAttempt.error,
                WebhookAttempt.attempted_at,
            ).where(WebhookAttempt.delivery_id.in_(delivery_ids))
        )
        found = [tuple(row) for row in rows]
    engine.dispose()
    return found


async def wait_until(condition: Callable[[], bool], seconds: float) -> None:
    """Poll `condition` (the receiver runs in another thread) until true or out of time."""
    for _ in range(int(seconds / 0.2)):
        if condition():
            return
        await asyncio.sleep(0.2)


async def bare_loop(url: str, count: int, body: bytes) -> float:
    """POSTs/s of one client sending `count` bodies in a row."""
    async with httpx.AsyncClient() as client:
        started = time.perf_counter()
        for n in range(count):
            response = await client.post(
                url, content=body, headers={"Content-Type": "application/json", "n": str(n)}
            )
            response.raise_for_status()
        return count / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    receiver = Receiver()
    (port,) = free_ports(1)
    server = serve(receiver, port)
    hook = f"http://127.0.0.1:{port}/hook"
    async with running_stack(
        [("supplier", SELLER_SIRET)], {"CHAINE_OUTBOUND_ALLOWED_HOSTS": f"127.0.0.1:{port}"}
    ) as stack:
        async with httpx.AsyncClient(base_url=stack.url, timeout=60) as api:
            auth = stack.auth["supplier"]
            created = await api.post("/v1/webhooks", json={"url": hook}, headers=auth)
            created.raise_for_status()
            deposit = await api.post(
                "/v1/invoices",
                content=write_invoice(an_invoice("BENCH-CB-1"), Syntax.UBL),
                headers={**auth, "Content-Type": "application/xml"},
            )
            deposit.raise_for_status()
            await wait_until(lambda: len(receiver.seen) >= 2, 60)  # DEPOSEE, then available
            before = len(receiver.seen)
            receiver.first = None
            write_events(stack.database_url, deposit.json()["id"], args.events)
            expected = before + args.events
            await wait_until(lambda: len(receiver.seen) >= expected, args.timeout)
            delivered = len(receiver.seen) - before
            seconds = receiver.last - (receiver.first or receiver.last)
            twice = [webhook_id for webhook_id, n in receiver.seen.items() if n > 1]
            if twice:
                print("delivered twice:", twice[:5], attempts_of(stack.database_url, twice[:5]))
            body = json.dumps(
                {"id": 1, "type": "invoice.status_changed", "data": {"comment": "x" * 200}}
            ).encode()
            ceiling = await bare_loop(hook, args.events, body)
    server.should_exit = True

    value = delivered / seconds if seconds else 0.0
    print(f"{args.events} events written to the outbox at once; {delivered} delivered")
    print(f"  through relay and signed POSTs:            {value:8.1f} deliveries/s")
    print(f"  bare httpx POST loop (ceiling):           {ceiling:8.1f} POSTs/s")
    print(f"  delivered twice: {len(twice)}; missing: {args.events - delivered}")
    print(f"ratio {value / ceiling:.3f} (target >= {TARGET_RATIO})")
    print(
        f"BENCH callbacks value={value:.2f} unit=deliveries/s ceiling={ceiling:.2f} "
        f"ratio={value / ceiling:.3f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
