"""A mixed workload at increasing rates on the whole stack, until p99 > 2 s or errors appear.

Not part of `make test`. `make bench` runs it with the other files of bench/ (about 2.5
minutes with the defaults, SQLite); `--database postgresql` is run by hand.

Starts `chaine up` on free ports in a temporary directory (SQLite, or with `--database
postgresql` a fresh database `chaine_bench_<random>` on 127.0.0.1:5432, dropped at the
end), with a buyer, `SUPPLIERS` supplier clients and a webhook receiver on loopback
subscribed for the first supplier (`CHAINE_OUTBOUND_ALLOWED_HOSTS=127.0.0.1`). After a
warm-up (a few deposits, some taken), it sends operations open-loop (at fixed times,
whatever the answers) at each rate of `--rates` for `--step-seconds`, drawn in this mix:

    deposit   25 %  POST /v1/invoices, a UBL invoice of one of the suppliers (201 expected)
    take      15 %  POST …/actions TAKE by the buyer, on the oldest invoice available
    certify   15 %  POST …/actions CERTIFY_SERVICE_DONE, on the oldest invoice taken
                    (the workflow then issues the mandate itself: 2 more activities)
    received  15 %  GET /v1/received-invoices?status=MISE_A_DISPOSITION (buyer, page of 50)
    invoices  10 %  GET /v1/invoices (a supplier, page of 50)
    events    20 %  GET /v1/events?after=<cursor> (buyer; the cursor follows `next`)

A take or certify with nothing to act on is skipped (counted, not sent). Each operation's
latency runs from its send to its answer; an error is a non-2xx answer, an unexpected
status, a transport error or a timeout. After each step the operations under way are
awaited (at most `DRAIN_SECONDS`). Webhooks are measured at the receiver: the events of
the subscribed supplier recorded in the step (from the database) against the deliveries
of those events, and the lag from the event's `occurred_at` to its arrival.

A step holds when every operation sent answered without error with p99 <= 2 s, and every
event of the step was delivered once with a lag p99 <= `WEBHOOK_LAG_LIMIT_S` (the relay
reads events one interval, 1 s, after their commit and passes every second, so a lag of
1-2 s is its design, not load). The ramp stops at the first step that does not hold; the
sustained rate of each operation is its achieved rate in the last step that held.

After each step, the CPU each process used during it (send and drain), as a share of one
CPU, and what the machine's other processes used (from /proc/stat). Then, the stack still up:
- resources: CPU seconds used during the steps and peak RSS (VmHWM) of each process of the
  `chaine up` tree (Temporal dev server, worker, API, the supervisor), read from /proc,
  with this load generator's own (it shares the CPUs) and, on PostgreSQL, its backends;
- database growth per 10,000 invoices deposited during the steps: SQLite used pages or
  `pg_database_size`, measured before and after and scaled, with the blob store and the
  dev server's temporal.db for comparison (they include the partial lives of the mix);
- the ceiling: the rate the same API answers `GET /readyz` at, 16 requests always in
  flight for `CEILING_SECONDS` (its p99 is printed beside it: under 2 s, the API sustains
  that rate). It is the cheapest route that still
  reaches both the database and Temporal, through the same process, HTTP stack and
  client: no mix of real operations can be answered faster. The ratio says which share of
  the API's bare request rate the real work leaves.

The 1-minute load average is shown at each step's end: above the CPU count, others ran too.

    .venv/bin/python bench/load.py [--database sqlite|postgresql] [--rates 5,10,15,20,30,40]
                                   [--step-seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import random
import sqlite3
import sys
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.callbacks import serve, wait_until  # noqa: E402
from bench.listing import a_siret, postgres_database  # noqa: E402
from bench.stack import Stack, running_stack  # noqa: E402
from invoicing.formats import write_invoice  # noqa: E402
from invoicing.syntax import Syntax  # noqa: E402
from store.models import Invoice, InvoiceEvent, InvoiceStatusChange  # noqa: E402
from tests.conftest import free_ports  # noqa: E402
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET, an_invoice  # noqa: E402

MIX = {"deposit": 25, "take": 15, "certify": 15, "received": 15, "invoices": 10, "events": 20}
WEBHOOK = "webhook"  # the deliveries' row: measured at the receiver, not sent by us
P99_LIMIT_S = 2.0
WEBHOOK_LAG_LIMIT_S = 4.0  # 2 s over the relay's own 1-2 s (see above)
SUPPLIERS = 4
WARM_UP_DEPOSITS = 20
DRAIN_SECONDS = 35.0  # a deposit may wait 20 s (CHAINE_DEPOSIT_WAIT) for its validation
REQUEST_TIMEOUT_S = 30.0
CEILING_CONCURRENCY = 16
CEILING_WARM_UP_S = 2.0
CEILING_SECONDS = 10.0
PER_INVOICES = 10_000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SEED = 20260


class OperationFailed(Exception):
    """An operation got an answer it should not have (counted as an error)."""


def checked(response: httpx.Response, what: str) -> dict:
    """The JSON of a 2xx answer; `OperationFailed` otherwise."""
    if not response.is_success:
        raise OperationFailed(f"{what}: {response.status_code} {response.text[:200]}")
    return response.json()


def rank(values: list[float], percent: float) -> float:
    """Nearest-rank percentile (with few samples, p99 is the worst one: conservative)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


# --- one step ---------------------------------------------------------------------------


@dataclass
class OpStats:
    """What one operation did in one step."""

    sent: int = 0
    skipped: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    last_done: float = 0.0  # monotonic

    def achieved(self, started: float, seconds: float) -> float:
        """Successful answers per second over the step (longer if answers came late)."""
        return len(self.latencies) / max(seconds, self.last_done - started)


@dataclass
class Step:
    """One rate's results."""

    rate: float
    seconds: float
    started: float  # monotonic
    ops: dict[str, OpStats]
    hooks: OpStats
    load_average: float = 0.0

    @property
    def failures(self) -> list[str]:
        """Why the step did not hold (empty: it held)."""
        found = [
            f"{name}: {stats.errors} errors" for name, stats in self.ops.items() if stats.errors
        ]
        found += [
            f"{name} p99 {rank(stats.latencies, 99):.1f} s > {P99_LIMIT_S:.0f} s"
            for name, stats in self.ops.items()
            if stats.latencies and rank(stats.latencies, 99) > P99_LIMIT_S
        ]
        if self.hooks.errors:
            found.append(f"webhook: {self.hooks.errors} missing or twice")
        if self.hooks.latencies and rank(self.hooks.latencies, 99) > WEBHOOK_LAG_LIMIT_S:
            lag = rank(self.hooks.latencies, 99)
            found.append(f"webhook lag p99 {lag:.1f} s > {WEBHOOK_LAG_LIMIT_S:.0f} s")
        return found

    @property
    def held(self) -> bool:
        return not self.failures

    def achieved(self, name: str) -> float:
        stats = self.hooks if name == WEBHOOK else self.ops[name]
        return stats.achieved(self.started, self.seconds)

    @property
    def total(self) -> float:
        """Operations answered per second, all of ours (deliveries are the platform's)."""
        return sum(self.achieved(name) for name in self.ops)


# --- the webhook receiver ---------------------------------------------------------------


class Receiver:
    """An ASGI endpoint answering 204, noting each delivery's event, arrival and lag."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[str, float, datetime]] = []  # (webhook-id, lag s, occurred)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        arrived = datetime.now(UTC)
        webhook_id = dict(scope["headers"]).get(b"webhook-id", b"").decode()
        if webhook_id:
            occurred = datetime.fromisoformat(json.loads(body)["data"]["occurred_at"])
            lag = (arrived - occurred).total_seconds()
            self.arrivals.append((webhook_id, lag, occurred))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def between(self, start: datetime, end: datetime) -> list[tuple[str, float, datetime]]:
        """Deliveries of the events that occurred in [start, end)."""
        return [a for a in list(self.arrivals) if start <= a[2] < end]


# --- the workload -----------------------------------------------------------------------


@dataclass
class Workload:
    """The operations, and the invoices they act on (each popped by one operation only)."""

    client: httpx.AsyncClient
    buyer: dict[str, str]
    suppliers: list[tuple[str, dict[str, str]]]  # (SIRET, header)
    rng: random.Random
    numbers: itertools.count = field(default_factory=itertools.count)
    available: deque[str] = field(default_factory=deque)  # MISE_A_DISPOSITION: to take
    taken: deque[str] = field(default_factory=deque)  # PRISE_EN_COMPTE: to certify
    cursor: int = 0
    pending: int = 0  # deposits answered 202 (validation still running after 20 s)

    def prepare(self, name: str) -> Callable[[], Awaitable[None]] | None:
        """The call `name` makes now, or None when there is nothing to act on."""
        if name == "deposit":
            siret, header = self.suppliers[self.rng.randrange(len(self.suppliers))]
            return lambda: self.deposit(siret, header, next(self.numbers))
        if name == "take":
            if not self.available:
                return None
            location = self.available.popleft()
            return lambda: self.act(location, "TAKE", "PRISE_EN_COMPTE", self.taken)
        if name == "certify":
            if not self.taken:
                return None
            location = self.taken.popleft()
            return lambda: self.act(location, "CERTIFY_SERVICE_DONE", "SERVICE_FAIT", None)
        if name == "received":
            return self.received
        if name == "invoices":
            header = self.suppliers[self.rng.randrange(len(self.suppliers))][1]
            return lambda: self.own_invoices(header)
        return self.events

    async def deposit(self, siret: str, header: dict[str, str], number: int) -> None:
        body = write_invoice(an_invoice(f"LOAD-{number:07d}", seller_siret=siret), Syntax.UBL)
        response = await self.client.post(
            "/v1/invoices", content=body, headers={**header, "Content-Type": "application/xml"}
        )
        checked(response, "deposit")
        if response.status_code == 202:
            self.pending += 1
            raise OperationFailed("deposit: 202, still validating after the deposit wait")
        if response.status_code != 201:
            raise OperationFailed(f"deposit: {response.status_code}, not 201")
        self.available.append(response.headers["location"])

    async def act(self, location: str, action: str, status: str, then: deque[str] | None) -> None:
        response = await self.client.post(
            f"{location}/actions", json={"action": action}, headers=self.buyer
        )
        got = checked(response, action)["status"]
        if got != status:
            raise OperationFailed(f"{action}: status {got}, not {status}")
        if then is not None:
            then.append(location)

    async def received(self) -> None:
        response = await self.client.get(
            "/v1/received-invoices",
            params={"status": "MISE_A_DISPOSITION", "limit": 50},
            headers=self.buyer,
        )
        checked(response, "received-invoices")

    async def own_invoices(self, header: dict[str, str]) -> None:
        checked(await self.client.get("/v1/invoices", params={"limit": 50}, headers=header), "")

    async def events(self) -> None:
        response = await self.client.get(
            "/v1/events", params={"after": self.cursor, "limit": 100}, headers=self.buyer
        )
        self.cursor = max(self.cursor, checked(response, "events")["next"])


async def timed(call: Callable[[], Awaitable[None]], stats: OpStats, errors: list[str]) -> None:
    began = time.monotonic()
    try:
        await call()
    except (OperationFailed, httpx.HTTPError) as error:
        stats.errors += 1
        errors.append(f"{type(error).__name__}: {str(error)[:200]}")
        return
    except asyncio.CancelledError:  # unanswered when the step's drain ran out
        stats.errors += 1
        errors.append(f"no answer after the step's {DRAIN_SECONDS:.0f} s drain")
        raise
    stats.last_done = time.monotonic()
    stats.latencies.append(stats.last_done - began)


def sqlite_used_bytes(execute: Callable[[str], Any]) -> int:
    """Bytes of the pages a SQLite database uses, WAL included, free pages left out."""
    pages = {
        name: execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("page_count", "freelist_count", "page_size")
    }
    return (pages["page_count"] - pages["freelist_count"]) * pages["page_size"]


def temporal_used_bytes(var_dir: Path) -> int:
    """What the dev server's own SQLite database uses (read-only, beside the server)."""
    with closing(sqlite3.connect(f"file:{var_dir / 'temporal.db'}?mode=ro", uri=True)) as db:
        return sqlite_used_bytes(db.execute)


@dataclass(frozen=True)
class Database:
    """What the load reads of the stack's database, between steps."""

    engine: Engine
    supplier: str  # the subscribed one

    def events_between(self, start: datetime, end: datetime) -> int:
        with self.engine.connect() as connection:
            return connection.scalar(
                select(func.count())
                .select_from(InvoiceEvent)
                .where(
                    InvoiceEvent.seller_key == self.supplier,
                    InvoiceEvent.occurred_at >= start,
                    InvoiceEvent.occurred_at < end,
                )
            )

    def size(self) -> tuple[int, int, int]:
        """(bytes used, invoices, status changes)."""
        with self.engine.connect() as connection:
            if self.engine.dialect.name == "postgresql":
                used = connection.scalar(text("SELECT pg_database_size(current_database())"))
            else:
                used = sqlite_used_bytes(connection.exec_driver_sql)
            invoices = connection.scalar(select(func.count()).select_from(Invoice))
            changes = connection.scalar(select(func.count()).select_from(InvoiceStatusChange))
        return used, invoices, changes

    def backends(self) -> list[int]:
        """PostgreSQL server processes serving this database (none on SQLite)."""
        if self.engine.dialect.name != "postgresql":
            return []
        with self.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            return [row[0] for row in rows]


async def run_step(
    work: Workload,
    database: Database,
    receiver: Receiver,
    rate: float,
    seconds: float,
    errors: list[str],
) -> Step:
    """Send the mix at `rate` for `seconds`, wait for the answers and the deliveries."""
    names, weights = list(MIX), list(MIX.values())
    step = Step(rate, seconds, time.monotonic(), {n: OpStats() for n in names}, OpStats())
    wall_start = datetime.now(UTC)
    tasks: list[asyncio.Task] = []
    for n in itertools.count():
        due = step.started + n / rate
        if due >= step.started + seconds:
            break
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        name = work.rng.choices(names, weights)[0]
        call = work.prepare(name)
        if call is None:
            step.ops[name].skipped += 1
            continue
        step.ops[name].sent += 1
        tasks.append(asyncio.create_task(timed(call, step.ops[name], errors)))
    step.load_average = os.getloadavg()[0]
    wall_end = datetime.now(UTC)
    if tasks:
        _, late = await asyncio.wait(tasks, timeout=DRAIN_SECONDS)
        for task in late:  # still unanswered: counted as an error by `timed`
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
    # Deliveries: every event of the step, arrived once, within the lag limit of its end.
    expected = await asyncio.to_thread(database.events_between, wall_start, wall_end)
    await wait_until(
        lambda: len(receiver.between(wall_start, wall_end)) >= expected, WEBHOOK_LAG_LIMIT_S
    )
    delivered = receiver.between(wall_start, wall_end)
    twice = sum(n - 1 for n in Counter(a[0] for a in delivered).values())
    step.hooks.sent = expected
    step.hooks.latencies = [lag for _, lag, _ in delivered]
    step.hooks.errors = twice + max(0, expected - len({a[0] for a in delivered}))
    return step


def describe_step(step: Step) -> str:
    lines = [
        f"step {step.rate:g} ops/s for {step.seconds:.0f} s: "
        f"{'held' if step.held else 'NOT held (' + '; '.join(step.failures) + ')'}; "
        f"load average {step.load_average:.1f} "
        f"on {os.cpu_count()} CPUs",
        f"  {'operation':<10} {'sent/s':>7} {'achieved/s':>10} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>6} {'skipped':>7}",
    ]
    rows = [*step.ops.items(), (WEBHOOK, step.hooks)]
    for name, stats in rows:
        lines.append(
            f"  {name:<10} {stats.sent / step.seconds:7.2f} {step.achieved(name):10.2f} "
            f"{rank(stats.latencies, 50) * 1000:8.0f} {rank(stats.latencies, 99) * 1000:8.0f} "
            f"{stats.errors:6d} {stats.skipped:7d}"
        )
    sent = sum(s.sent for s in step.ops.values()) / step.seconds
    lines.append(f"  {'all ours':<10} {sent:7.2f} {step.total:10.2f}")
    return "\n".join(lines)


# --- resources --------------------------------------------------------------------------


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (state first)."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rindex(")") + 2 :].split()


def process_tree(root: int) -> list[int]:
    """`root` and every descendant, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(int(_stat(int(entry.name))[1]), []).append(int(entry.name))
            except (OSError, ValueError):
                continue  # ended meanwhile
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def label(pid: int) -> str:
    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    if "start-dev" in command:
        return "Temporal dev server"
    for word, name in (("worker", "worker"), ("api", "API"), ("up", "chaine up (supervisor)")):
        if command.rstrip().endswith(f"cli.main {word}"):
            return name
    return Path(f"/proc/{pid}/comm").read_text().strip()


def cpu_seconds(pid: int) -> float:
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan


def processes(stack: Stack, database: Database) -> dict[str, list[int]]:
    """The processes to account for, by what they are."""
    found: dict[str, list[int]] = {}
    for pid in process_tree(stack.pid):
        found.setdefault(label(pid), []).append(pid)
    found["load generator (this process)"] = [os.getpid()]
    if backends := database.backends():
        found["PostgreSQL backends"] = backends
    return found


def cpu_by_pid(groups: dict[str, list[int]]) -> dict[int, float]:
    readings = {}
    for pid in itertools.chain(*groups.values()):
        try:
            readings[pid] = cpu_seconds(pid)
        except OSError:
            continue
    return readings


def machine_busy_seconds() -> float:
    """CPU seconds every process of the machine used since boot (idle and iowait left out)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


@dataclass(frozen=True)
class CpuReading:
    """CPU seconds of our processes and of the whole machine, at one moment."""

    at: float  # monotonic
    by_pid: dict[int, float]
    machine: float

    @classmethod
    def now(cls, groups: dict[str, list[int]]) -> CpuReading:
        return cls(time.monotonic(), cpu_by_pid(groups), machine_busy_seconds())

    def used_since(self, groups: dict[str, list[int]]) -> dict[str, float]:
        """CPU seconds each group used since this reading (processes born since: all)."""
        after = cpu_by_pid(groups)
        return {
            name: sum(after[pid] - self.by_pid.get(pid, 0.0) for pid in pids if pid in after)
            for name, pids in groups.items()
        }


def describe_cpu(reading: CpuReading, groups: dict[str, list[int]]) -> str:
    """One line: each process's CPU since `reading`, as a share of one CPU, and the others'."""
    seconds = time.monotonic() - reading.at
    used = reading.used_since(groups)
    others = machine_busy_seconds() - reading.machine - sum(used.values())
    shares = ", ".join(f"{name} {value / seconds:.0%}" for name, value in used.items())
    return (
        f"  CPU, share of one CPU over {seconds:.0f} s: {shares}; "
        f"other processes {others / seconds:.0%}"
    )


def describe_resources(reading: CpuReading, groups: dict[str, list[int]]) -> str:
    """CPU seconds and peak RSS of each process since `reading`, and the others' CPU."""
    seconds = time.monotonic() - reading.at
    used = reading.used_since(groups)
    others = machine_busy_seconds() - reading.machine - sum(used.values())
    lines = [f"resources over the {seconds:.0f} s of steps (CPU s; share of one CPU; peak RSS):"]
    for name, pids in groups.items():
        peaks = []
        for pid in pids:
            try:
                peaks.append(peak_rss_mib(pid))
            except OSError:
                continue
        count = f" ({len(pids)})" if len(pids) > 1 else ""
        lines.append(
            f"  {name + count:<32} {used[name]:7.1f} CPU s {used[name] / seconds:6.0%} "
            f"{max(peaks, default=math.nan):7.0f} MiB peak RSS"
        )
    lines.append(
        f"  {'other processes of the machine':<32} {others:7.1f} CPU s {others / seconds:6.0%}"
    )
    return "\n".join(lines)


def files_size(directory: Path) -> int:
    """Bytes of every file under `directory`."""
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def on_disk(stack: Stack, database: Database) -> dict[str, int]:
    used, invoices, changes = database.size()
    var = Path(stack.var_dir)
    return {
        "database": used,
        "invoices": invoices,
        "changes": changes,
        "blobs": files_size(var / "blobs"),
        "temporal": temporal_used_bytes(var),
    }


def describe_growth(before: dict[str, int], after: dict[str, int], kind: str) -> str:
    invoices = after["invoices"] - before["invoices"]
    if invoices <= 0:
        return "database growth: no invoice deposited during the steps"
    per = PER_INVOICES / invoices
    changes = (after["changes"] - before["changes"]) / invoices
    what = "pg_database_size" if kind == "postgresql" else "SQLite pages in use"
    lines = [
        f"growth per {PER_INVOICES:,} invoices ({invoices} deposited during the steps, "
        f"{changes:.2f} status changes each):"
    ]
    for key, name in (
        ("database", f"database ({what})"),
        ("blobs", "blob store (the deposited files)"),
        ("temporal", "Temporal dev server (temporal.db pages in use)"),
    ):
        grown = (after[key] - before[key]) * per / 2**20
        lines.append(f"  {name:<42} {grown:8.1f} MiB")
    return "\n".join(lines)


# --- the ceiling ------------------------------------------------------------------------


async def ceiling(client: httpx.AsyncClient) -> tuple[float, float, float, int]:
    """GET /readyz with `CEILING_CONCURRENCY` always in flight: (rate, p50, p99, errors)."""
    latencies: list[float] = []
    errors = 0
    start = time.monotonic() + CEILING_WARM_UP_S
    end = start + CEILING_SECONDS

    async def loop() -> None:
        nonlocal errors
        while (began := time.monotonic()) < end:
            try:
                response = await client.get("/readyz")
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            done = time.monotonic()
            if start <= began and done < end:
                if ok:
                    latencies.append(done - began)
                else:
                    errors += 1

    await asyncio.gather(*(loop() for _ in range(CEILING_CONCURRENCY)))
    return len(latencies) / CEILING_SECONDS, rank(latencies, 50), rank(latencies, 99), errors


# --- the run ----------------------------------------------------------------------------


async def warm_up(work: Workload) -> None:
    """A few invoices to act on and list, half of them taken; not measured."""
    errors: list[str] = []
    stats = OpStats()
    for _ in range(0, WARM_UP_DEPOSITS, 4):
        await asyncio.gather(*(timed(work.prepare("deposit"), stats, errors) for _ in range(4)))
    for _ in range(WARM_UP_DEPOSITS // 2):
        if call := work.prepare("take"):
            await timed(call, stats, errors)
    if errors:
        raise SystemExit(f"warm-up failed: {errors[:3]}")


async def measure(args: argparse.Namespace, database_url: str | None, kind: str) -> None:
    receiver = Receiver()
    (port,) = free_ports(1)
    server = serve(receiver, port)
    rng = random.Random(SEED)
    sirets = [SELLER_SIRET, *(a_siret(rng) for _ in range(SUPPLIERS - 1))]
    named = {f"supplier-{n}": ("supplier", siret) for n, siret in enumerate(sirets)}
    extra = {"CHAINE_OUTBOUND_ALLOWED_HOSTS": "127.0.0.1"}
    async with running_stack(
        [("buyer", BUYER_SIRET)], extra, database_url=database_url, named_clients=named
    ) as stack:
        engine = create_engine(stack.database_url, poolclass=NullPool)
        database = Database(engine, SELLER_SIRET)
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
        async with httpx.AsyncClient(
            base_url=stack.url, timeout=REQUEST_TIMEOUT_S, limits=limits
        ) as client:
            first = stack.auth["supplier-0"]
            hook = {"url": f"http://127.0.0.1:{port}/hook"}
            checked(await client.post("/v1/webhooks", json=hook, headers=first), "webhook")
            work = Workload(
                client,
                stack.auth["buyer"],
                [(siret, stack.auth[name]) for name, (_, siret) in named.items()],
                rng,
            )
            await warm_up(work)
            size_before = on_disk(stack, database)
            steps_reading = CpuReading.now(processes(stack, database))
            steps: list[Step] = []
            errors: list[str] = []
            for rate in args.rates:
                step_reading = CpuReading.now(processes(stack, database))
                step = await run_step(work, database, receiver, rate, args.step_seconds, errors)
                steps.append(step)
                print(describe_step(step))
                print(describe_cpu(step_reading, processes(stack, database)), flush=True)
                if not step.held:
                    break
            resources = describe_resources(steps_reading, processes(stack, database))
            size_after = on_disk(stack, database)
            rate, p50, p99, ceiling_errors = await ceiling(client)
        engine.dispose()
    server.should_exit = True

    for message in errors[:5]:
        print("error:", message)
    held = [step for step in steps if step.held]
    print(f"\ndatabase: {kind}; {SUPPLIERS} suppliers, 1 buyer, webhook on the first supplier")
    if held:
        last = held[-1]
        print(f"sustained (last step that held: {last.rate:g} ops/s):")
        print(f"  {'operation':<10} {'rate/s':>7} {'p50 ms':>8} {'p99 ms':>8}")
        for name, stats in [*last.ops.items(), (WEBHOOK, last.hooks)]:
            print(
                f"  {name:<10} {last.achieved(name):7.2f} "
                f"{rank(stats.latencies, 50) * 1000:8.0f} {rank(stats.latencies, 99) * 1000:8.0f}"
            )
        value = last.total
    else:
        print("sustained: no step held")
        value = 0.0
    print(f"  {'all ours':<10} {value:7.2f}")
    print(f"deposits answered 202 (validation still running): {work.pending}")
    print(resources)
    print(describe_growth(size_before, size_after, kind))
    print(
        f"ceiling: GET /readyz, {CEILING_CONCURRENCY} in flight, {CEILING_SECONDS:.0f} s: "
        f"{rate:.1f}/s, p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
        f"{ceiling_errors} errors; load average {os.getloadavg()[0]:.1f}"
    )
    ratio = value / rate if rate else math.nan
    print(f"BENCH load value={value:.2f} unit=ops/s ceiling={rate:.2f} ratio={ratio:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--rates", type=lambda v: [float(r) for r in v.split(",")], default=[5, 10, 15, 20, 30, 40]
    )
    parser.add_argument("--step-seconds", type=float, default=20.0)
    args = parser.parse_args()
    if args.database == "sqlite":
        asyncio.run(measure(args, None, "sqlite"))
        return
    made = postgres_database()
    if made is None:
        raise SystemExit("--database postgresql: no PostgreSQL at 127.0.0.1:5432")
    url, drop = made
    try:
        asyncio.run(measure(args, url, "postgresql"))
    finally:
        drop()


if __name__ == "__main__":
    main()
