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
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from invoicing.formats import write_invoice  # noqa: E402
from invoicing.syntax import Syntax  # noqa: E402
from invoicing.validation.pipeline import validate, warm_up  # noqa: E402
from tests.conftest import free_ports  # noqa: E402
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET, an_invoice  # noqa: E402

TARGET_RATE = 10.0  # invoices/s: 3x the national average of about 3.2/s


def chaine(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout


def invoice(number: int) -> bytes:
    return write_invoice(an_invoice(f"BENCH-{number:07d}"), Syntax.UBL)


async def wait_ready(url: str, deadline: float) -> None:
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise SystemExit("the stack did not become ready")


async def deposit_load(
    url: str, token: str, seconds: float, concurrency: int, numbers: Iterator[int]
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
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/xml"},
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

    with tempfile.TemporaryDirectory() as var:
        api_port, temporal_port, ui_port = free_ports(3)
        env = {
            **os.environ,
            "CHAINE_VAR_DIR": var,
            "CHAINE_API_PORT": str(api_port),
            "CHAINE_TEMPORAL_PORT": str(temporal_port),
            "CHAINE_TEMPORAL_UI_PORT": str(ui_port),
            "CHAINE_LOG_LEVEL": "WARNING",
            "CHAINE_RATE_LIMIT_PER_SECOND": "10000",
            "CHAINE_RATE_LIMIT_BURST": "10000",
        }
        env.pop("CHAINE_DATABASE_URL", None)
        structures = Path(var) / "structures.csv"
        structures.write_text(
            "siret,name,category,active,service_code_required,commitment_required,"
            f"payment_status_not_reported\n{BUYER_SIRET},Ministère du banc,STATE,1,0,0,0\n"
        )
        chaine(env, "directory", "import", str(structures))
        credentials = json.loads(
            chaine(
                env, "clients", "create", "--role", "supplier", "--siret", SELLER_SIRET, "--json"
            )
        )
        stack = subprocess.Popen(  # noqa: ASYNC220 (started once, before the measure)
            [sys.executable, "-m", "cli.main", "up"],
            env=env,
            cwd=REPO,
            stdout=(Path(var) / "stack.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{api_port}"
        try:
            await wait_ready(url, time.monotonic() + 90)
            async with httpx.AsyncClient(base_url=url) as client:
                token = (
                    await client.post(
                        "/oauth/token",
                        data={
                            "grant_type": "client_credentials",
                            "client_id": credentials["client_id"],
                            "client_secret": credentials["client_secret"],
                        },
                    )
                ).json()["access_token"]
            numbers = itertools.count()  # one sequence: no number is deposited twice
            await deposit_load(url, token, 10, args.concurrency, numbers)  # warm-up
            started = time.monotonic()
            latencies, errors, sent = await deposit_load(
                url, token, args.seconds, args.concurrency, numbers
            )
            elapsed = time.monotonic() - started
        finally:
            os.killpg(stack.pid, signal.SIGINT)
            stack.wait(timeout=60)
            errors_logged = [
                line
                for line in (Path(var) / "stack.log").read_text().splitlines()
                if '"level": "ERROR"' in line
            ]
            print(f"stack log: {len(errors_logged)} error lines", *errors_logged[:5], sep="\n")

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
