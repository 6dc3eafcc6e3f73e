"""Deposits per second through the whole stack, and the validation capacity that bounds them.

Starts `chaine up` on free ports in a temporary directory, loads a structure and a supplier
client, then deposits distinct invoices through `POST /v1/invoices` for a fixed time at a
fixed concurrency, and reports the sustained rate, p50/p99 latency and errors. The ceiling,
measured in the same run once the stack is stopped, is what validation alone achieves on
the same invoices with as many threads as the CPU worker has: intake cannot beat it.

    .venv/bin/python bench/intake.py [--seconds 120] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.stack import running_stack  # noqa: E402
from invoicing.formats import write_invoice  # noqa: E402
from invoicing.syntax import Syntax  # noqa: E402
from invoicing.validation.pipeline import validate, warm_up  # noqa: E402
from tests.invoicing.builders import SELLER_SIRET, an_invoice  # noqa: E402

TARGET_RATE = 10.0  # invoices/s: 3x the national average of about 3.2/s


def invoice(number: int) -> bytes:
    return write_invoice(an_invoice(f"BENCH-{number:07d}"), Syntax.UBL)


async def deposit_load(
    url: str, auth: dict[str, str], seconds: float, concurrency: int, numbers: Iterator[int]
) -> tuple[list[float], int, int]:
    """Deposit distinct invoices for `seconds`; latencies of the accepted ones, counts."""
    latencies: list[float] = []
    errors = 0
    stop_at = time.monotonic() + seconds

    async def one_client() -> None:
        nonlocal errors
        async with httpx.AsyncClient(
            base_url=url,
            timeout=60,
            headers={**auth, "Content-Type": "application/xml"},
        ) as client:
            while time.monotonic() < stop_at:
                body = invoice(next(numbers))
                started = time.perf_counter()
                response = await client.post("/v1/invoices", content=body)
                if response.status_code == 201:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1
                    print("error", response.status_code, response.text[:200], file=sys.stderr)

    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return latencies, errors, len(latencies) + errors


def validation_ceiling(seconds: float, threads: int) -> float:
    """Invoices/s validated by `threads` threads on the same kind of invoice."""
    warm_up()
    bodies = [invoice(n) for n in range(200)]
    stop_at = time.monotonic() + seconds

    def run() -> int:
        done = 0
        while time.monotonic() < stop_at:
            validate(bodies[done % len(bodies)], "application/xml")
            done += 1
        return done

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(lambda _: run(), range(threads)))
    return total / (time.monotonic() - started)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    async with running_stack([("supplier", SELLER_SIRET)]) as stack:
        supplier = stack.auth["supplier"]
        numbers = itertools.count()  # one sequence: no number is deposited twice
        await deposit_load(stack.url, supplier, 10, args.concurrency, numbers)  # warm-up
        started = time.monotonic()
        latencies, errors, sent = await deposit_load(
            stack.url, supplier, args.seconds, args.concurrency, numbers
        )
        elapsed = time.monotonic() - started

    rate = len(latencies) / elapsed
    quantiles = statistics.quantiles(latencies, n=100)
    ceiling = validation_ceiling(20, os.cpu_count() or 1)
    print(
        f"deposits: {sent} sent, {len(latencies)} accepted, {errors} errors in {elapsed:.0f} s "
        f"at concurrency {args.concurrency}"
    )
    print(f"sustained: {rate:.1f} invoices/s (target {TARGET_RATE})")
    print(
        f"latency: p50 {quantiles[49] * 1000:.0f} ms, p99 {quantiles[98] * 1000:.0f} ms "
        "(target p99 < 2000 ms)"
    )
    print(f"ceiling: validation alone, {os.cpu_count()} threads: {ceiling:.1f} invoices/s")
    print(
        f"BENCH intake value={rate:.2f} unit=invoices/s ceiling={ceiling:.2f} "
        f"ratio={rate / ceiling:.3f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
