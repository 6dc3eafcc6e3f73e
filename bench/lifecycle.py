"""Invoices/s taken through their whole life, against the raw ceiling of the same Temporal.

Starts `chaine up` on free ports in a temporary directory, loads a structure and three
clients (the supplier, and a buyer and an accountant of the buyer's SIRET), then runs
`--concurrency` loops for a 10 s warm-up and `--seconds` of measure. Each loop takes one
distinct invoice from its deposit to MISE_EN_PAIEMENT through the API: deposit (201), TAKE,
CERTIFY_SERVICE_DONE, wait for the workflow's own mandate (MANDATEE, polled), then
MAKE_AVAILABLE_TO_ACCOUNTANT, ACCOUNT and PAYMENT_ISSUED. It reports the invoices whose
life ended inside the measured window per second, the errors (any non-2xx, or a mandate
that never came) and p50/p99 of the whole life, with the 1-minute load average as each
window ends (the machine may be shared: a load above its CPU count means others ran too).

The ceiling, measured next in the same run against the same Temporal dev server (the stack
still up), is a trivial workflow shaped like an invoice's life with no work in it: an
update-with-start running 3 no-op activities (the deposit: validation, platform rules,
record), then 5 updates of 1 no-op activity each (the 5 people's actions), the workflow
running 2 no-op activities of its own between the second and third (the mandate and its
transition): 10 activities, 1 start and 6 updates, as `workflows/invoice.py` does. It runs
with its own worker (sandboxed, on a task queue of its own) in this process, at the same
concurrency, for the same warm-up and duration. The stack cannot beat it; the target is
half of it.

    .venv/bin/python bench/lifecycle.py [--seconds 60] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import itertools
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow

REPO = Path(__file__).parent.parent  # absolute: no I/O, which the sandbox would refuse
if __name__ == "__main__":  # run as a script: make the repository (and `bench`) importable
    sys.path.insert(0, str(REPO))

# The workflow sandbox re-imports this module for each run of `TrivialLife`: everything it
# does not need is shared with it as it is.
with workflow.unsafe.imports_passed_through():
    import httpx
    from temporalio.client import Client, WithStartWorkflowOperation
    from temporalio.common import WorkflowIDConflictPolicy
    from temporalio.worker import Worker

    from bench.stack import running_stack
    from invoicing.formats import write_invoice
    from invoicing.syntax import Syntax
    from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET, an_invoice
    from workflows.data_converter import DATA_CONVERTER

TARGET_RATIO = 0.5
WARM_UP_SECONDS = 10.0
MANDATE_PATIENCE_SECONDS = 30.0  # the workflow issues the mandate on its own, soon
POLL_PAUSE_SECONDS = 0.05
BUYER_ACTIONS = [("TAKE", "PRISE_EN_COMPTE"), ("CERTIFY_SERVICE_DONE", "SERVICE_FAIT")]
ACCOUNTANT_ACTIONS = [
    ("MAKE_AVAILABLE_TO_ACCOUNTANT", "MISE_A_DISPOSITION_COMPTABLE"),
    ("ACCOUNT", "COMPTABILISEE"),
    ("PAYMENT_ISSUED", "MISE_EN_PAIEMENT"),
]

# --- the ceiling: an invoice's life with no work in it -----------------------------------

DEPOSIT_ACTIVITIES = 3  # validate_deposit, check_platform_rules, record_deposit
MANDATE_ACTIVITIES = 2  # issue_mandate, then record_transition (MANDATEE)
ACTIONS = [action for action, _ in BUYER_ACTIONS + ACCOUNTANT_ACTIONS]  # 1 activity each
ACTIVITIES_PER_LIFE = DEPOSIT_ACTIVITIES + MANDATE_ACTIVITIES + len(ACTIONS)  # 10
STEP_TIMEOUT = timedelta(seconds=30)


@activity.defn(name="bench_lifecycle_step")
async def step(name: str) -> str:
    """Nothing: what an activity costs Temporal and the worker, bare."""
    return name


@workflow.defn(name="BenchTrivialLife")
class TrivialLife:
    """An invoice's life shaped in updates and activities, without any of its work."""

    def __init__(self) -> None:
        self._actions: list[str] = []
        self._mandated = False

    @workflow.run
    async def run(self) -> int:
        """Issue the 'mandate' once certified, then end after the last action."""
        await workflow.wait_condition(lambda: ACTIONS[1] in self._actions)
        for _ in range(MANDATE_ACTIVITIES):
            await self._step("mandate")
        self._mandated = True
        await workflow.wait_condition(lambda: len(self._actions) == len(ACTIONS))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return len(self._actions)

    @workflow.update
    async def deposit(self) -> str:
        """The deposit's three activities."""
        for _ in range(DEPOSIT_ACTIVITIES):
            await self._step("deposit")
        return "MISE_A_DISPOSITION"

    @workflow.update
    async def act(self, action: str) -> str:
        """One action, one activity; the accountant's wait for the mandate."""
        if ACTIONS.index(action) >= 2:
            await workflow.wait_condition(lambda: self._mandated)
        await self._step(action)
        self._actions.append(action)
        return action

    async def _step(self, name: str) -> None:
        await workflow.execute_activity(step, name, start_to_close_timeout=STEP_TIMEOUT)


# --- load -------------------------------------------------------------------------------


class LifeFailed(Exception):
    """One invoice's life stopped on an error (counted, then the loop goes on)."""


@dataclass
class Load:
    """Lives completed in the measured window, their durations, and the errors."""

    seconds: float
    lives: list[float] = field(default_factory=list)
    errors: int = 0  # in the measured window
    errors_total: int = 0  # warm-up included
    started: int = 0
    load_average: float = 0.0  # 1-minute, as the window ends: others sharing the machine show

    @property
    def rate(self) -> float:
        return len(self.lives) / self.seconds

    def quantile_ms(self, percent: int) -> float:
        if len(self.lives) < 2:
            return float("nan")
        return statistics.quantiles(self.lives, n=100)[percent - 1] * 1000


async def run_load(
    life: Callable[[int], Awaitable[None]],
    numbers: Iterator[int],
    concurrency: int,
    warm_up: float,
    seconds: float,
) -> Load:
    """`concurrency` loops of lives for `warm_up + seconds`; the window is the last part.

    A life counts when it ends inside the window; loops start no life after it, and the
    lives under way then are finished and left out.
    """
    load = Load(seconds)
    window_start = time.monotonic() + warm_up
    window_end = window_start + seconds

    async def loop() -> None:
        while time.monotonic() < window_end:
            load.started += 1
            began = time.monotonic()
            try:
                await life(next(numbers))
            except Exception as error:  # any failure is counted, not fatal
                now = time.monotonic()
                load.errors_total += 1
                load.errors += window_start <= now < window_end
                if load.errors_total <= 5:
                    print("error:", str(error)[:300], file=sys.stderr)
                continue
            ended = time.monotonic()
            if window_start <= ended < window_end:
                load.lives.append(ended - began)

    async def note_load_average() -> None:
        await asyncio.sleep(max(0.0, window_end - time.monotonic()))
        load.load_average = os.getloadavg()[0]

    await asyncio.gather(note_load_average(), *(loop() for _ in range(concurrency)))
    return load


async def trivial_load(address: str, concurrency: int, warm_up: float, seconds: float) -> Load:
    """Trivial lives/s on the Temporal server at `address`, with a worker of their own."""
    client = await Client.connect(address, data_converter=DATA_CONVERTER)
    queue = f"bench-lifecycle-{uuid.uuid4().hex[:12]}"

    async def life(number: int) -> None:
        start = WithStartWorkflowOperation(
            TrivialLife.run,
            id=f"{queue}-{number}",
            task_queue=queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
        await client.execute_update_with_start_workflow(
            TrivialLife.deposit, start_workflow_operation=start
        )
        handle = await start.workflow_handle()
        for action in ACTIONS:
            await handle.execute_update(TrivialLife.act, action)

    async with Worker(client, task_queue=queue, workflows=[TrivialLife], activities=[step]):
        return await run_load(life, itertools.count(), concurrency, warm_up, seconds)


# --- the stack --------------------------------------------------------------------------


def invoice(number: int) -> bytes:
    return write_invoice(an_invoice(f"LIFE-{number:07d}"), Syntax.UBL)


def checked(response: httpx.Response, step: str) -> dict:
    if not response.is_success:
        raise LifeFailed(f"{step}: {response.status_code} {response.text[:200]}")
    return response.json()


async def stack_load(
    url: str,
    auth: dict[str, dict[str, str]],
    concurrency: int,
    warm_up: float,
    seconds: float,
) -> tuple[Load, int]:
    """Invoices/s from deposit to MISE_EN_PAIEMENT; also how many deposits answered 202."""
    supplier, buyer, accountant = auth["supplier"], auth["buyer"], auth["accountant"]
    pending = 0

    async with httpx.AsyncClient(
        base_url=url, timeout=60, limits=httpx.Limits(max_connections=4 * concurrency)
    ) as client:

        async def wait_for(location: str, status: str, what: str) -> None:
            deadline = time.monotonic() + MANDATE_PATIENCE_SECONDS
            while time.monotonic() < deadline:
                got = checked(await client.get(location, headers=buyer), what)
                if got["status"] == status:
                    return
                await asyncio.sleep(POLL_PAUSE_SECONDS)
            raise LifeFailed(f"{what}: still {got['status']} after {MANDATE_PATIENCE_SECONDS} s")

        async def act(location: str, who: dict[str, str], action: str, status: str) -> None:
            response = await client.post(
                f"{location}/actions", json={"action": action}, headers=who
            )
            got = checked(response, action)["status"]
            if got != status:
                raise LifeFailed(f"{action}: status {got}, not {status}")

        async def life(number: int) -> None:
            nonlocal pending
            deposited = await client.post(
                "/v1/invoices",
                content=invoice(number),
                headers={**supplier, "Content-Type": "application/xml"},
            )
            checked(deposited, "deposit")
            location = deposited.headers["location"]
            if deposited.status_code == 202:  # still validating: the workflow finishes it
                pending += 1
                await wait_for(location, "MISE_A_DISPOSITION", "deposit")
            elif deposited.status_code != 201:
                raise LifeFailed(f"deposit: {deposited.status_code}, not 201")
            for action, status in BUYER_ACTIONS:
                await act(location, buyer, action, status)
            await wait_for(location, "MANDATEE", "mandate")
            for action, status in ACCOUNTANT_ACTIONS:
                await act(location, accountant, action, status)

        load = await run_load(life, itertools.count(), concurrency, warm_up, seconds)
    return load, pending


def describe(load: Load, what: str) -> str:
    return (
        f"{what}: {len(load.lives)} in {load.seconds:.0f} s = {load.rate:.2f}/s; "
        f"{load.errors} errors in the window ({load.errors_total} warm-up included); "
        f"life p50 {load.quantile_ms(50):.0f} ms, p99 {load.quantile_ms(99):.0f} ms; "
        f"load average {load.load_average:.1f} on {os.cpu_count()} CPUs"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    # The sandbox refuses workflows of `__main__`: the ceiling runs from the module itself.
    bench = importlib.import_module("bench.lifecycle")

    clients = [("supplier", SELLER_SIRET), ("buyer", BUYER_SIRET), ("accountant", BUYER_SIRET)]
    async with running_stack(clients) as stack:
        load, pending = await stack_load(
            stack.url, stack.auth, args.concurrency, WARM_UP_SECONDS, args.seconds
        )
        ceiling = await bench.trivial_load(
            stack.temporal_address, args.concurrency, WARM_UP_SECONDS, args.seconds
        )

    ratio = load.rate / ceiling.rate if ceiling.rate else float("nan")
    print(
        f"concurrency {args.concurrency}, {WARM_UP_SECONDS:.0f} s warm-up then "
        f"{args.seconds:.0f} s measured, each"
    )
    print(describe(load, "invoices deposit -> MISE_EN_PAIEMENT"))
    print(f"deposits answered 202 (validation still running): {pending}")
    print(
        describe(
            ceiling,
            "ceiling: trivial workflows, 1 start + 6 updates, "
            f"{ACTIVITIES_PER_LIFE} no-op activities",
        )
    )
    print(f"ratio {ratio:.3f} (target >= {TARGET_RATIO})")
    print(
        f"BENCH lifecycle value={load.rate:.2f} unit=invoices/s ceiling={ceiling.rate:.2f} "
        f"ratio={ratio:.3f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
