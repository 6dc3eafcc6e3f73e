"""Bids in the last minute before one deadline: receipt latency, none lost, none late.

Starts `chaine up` on free ports (bench/stack.py) with a buyer client, registers
`--suppliers` supplier clients sharing `--bids` distinct valid SIRETs (a client of several
SIRETs names the one it bids for in `supplier_siret`), creates and publishes a MAPA
consultation, then sends one bid of one small file per SIRET at times spread at random
(seeded) over the last `--window` seconds before the deadline, the last one `--margin`
seconds before it, with at most `--concurrency` requests in flight (a wait for a free slot
is counted apart). Each bid's latency is measured in the client, from its request to the
201 carrying the sealed receipt; the receipt's `received_at` (when the API had the files
stored) and the consultation's history split it: the upload, the way to the workflow and
the Update's completion (the `bids` table is written after, in batches), and the way back
(the outcome to the API, the seal, the answer).

Once the deadline has passed, `--late` bids of suppliers who already bid must all be
refused `BID_LATE`. Then every accepted receipt must be in the workflow's state (`GET
…/state`, the buyer) and in the `bids` table (`GET /v1/bids`, each supplier), received
before the deadline, with its seal over exactly its JSON; nothing may be lost.

The ceiling, measured next in the same run on the same dev server (the stack still up):
a bare Temporal Update round trip, a trivial workflow whose handler returns at once, with
a worker of its own in this process, driven by the same schedule at the same concurrency.
The value is the bids' p99 in ms: a latency, lower is better, so the ratio value/ceiling
is at least 1 and lower is better. The target is p99 < 1 s.

    .venv/bin/python bench/bids.py [--bids 1000] [--window 60] [--concurrency 200] [--short]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import importlib
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio import workflow

REPO = Path(__file__).parent.parent  # absolute: no I/O, which the sandbox would refuse
if __name__ == "__main__":  # run as a script: make the repository (and `bench`) importable
    sys.path.insert(0, str(REPO))

# The workflow sandbox re-imports this module for each run of `BidBox`: everything it does
# not need is shared with it as it is.
with workflow.unsafe.imports_passed_through():
    import httpx
    from asn1crypto import cms
    from stdnum import luhn
    from temporalio.client import Client
    from temporalio.worker import Worker

    from api.credentials import register_client
    from bench.stack import Stack, _header, running_stack
    from core.principals import Role
    from directory.identifiers import check_siret
    from store.database import make_async_engine, make_sessionmaker, transaction
    from tests.invoicing.builders import BUYER_SIRET
    from workflows.data_converter import DATA_CONVERTER

TARGET_P99_MS = 1000.0
WARM_UP_BIDS = 5  # before the window, from SIRETs of their own: first-use costs left out
LATE_SPACING_SECONDS = 0.05  # late bids go at deadline + 0.05 s, + 0.10 s, …
CLOSE_PATIENCE_SECONDS = 30.0
CEILING_LEAD_SECONDS = 2.0
SLOT_WAIT_NOTED_SECONDS = 0.1
ADDRESS = {
    "street": "1 place de l'Hôtel de Ville",
    "city": "Paris",
    "postal_code": "75004",
    "nuts": "FR101",
}

# --- the ceiling: a bare Update round trip --------------------------------------------------


@workflow.defn(name="BenchBidBox")
class BidBox:
    """One workflow taking every update at once, as a consultation takes every bid."""

    def __init__(self) -> None:
        self._count = 0
        self._closed = False

    @workflow.run
    async def run(self) -> int:
        """Take updates until closed."""
        await workflow.wait_condition(lambda: self._closed)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._count

    @workflow.update
    def submit(self, number: int) -> int:
        """Nothing: what an Update costs Temporal and the worker, bare."""
        self._count += 1
        return number

    @workflow.signal
    def close(self) -> None:
        """No more updates."""
        self._closed = True


# --- load -----------------------------------------------------------------------------------


@dataclass
class Sent:
    """One request of the load: when it went, how long it took, what came back."""

    number: int
    sent_at: float = 0.0  # wall clock (time.time()), comparable with the server's times
    slot_wait: float = 0.0  # seconds spent waiting for a free slot under `--concurrency`
    latency: float = 0.0
    status: int = 0
    body: dict = field(default_factory=dict)
    error: str = ""


def schedule(count: int, window: float, seed: int) -> list[float]:
    """`count` sorted offsets in [0, window], uniformly random but the same on every run."""
    rng = random.Random(seed)
    return sorted(rng.uniform(0, window) for _ in range(count))


async def run_schedule(
    offsets: list[float],
    start_at: float,
    concurrency: int,
    send: Callable[[int, Sent], Awaitable[None]],
) -> list[Sent]:
    """Send request `n` at wall time `start_at + offsets[n]`, `concurrency` at most at once."""
    slots = asyncio.Semaphore(concurrency)
    results = [Sent(n) for n in range(len(offsets))]

    async def one(sent: Sent, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.time()))
        async with slots:
            sent.sent_at = time.time()
            sent.slot_wait = max(0.0, sent.sent_at - at)
            started = time.perf_counter()
            try:
                await send(sent.number, sent)
            except Exception as error:  # any failure is counted and shown, not fatal
                sent.error = f"{type(error).__name__}: {error}"[:300]
            sent.latency = time.perf_counter() - started

    await asyncio.gather(*(one(s, start_at + o) for s, o in zip(results, offsets, strict=True)))
    return results


def quantile_ms(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return float("nan")
    return statistics.quantiles(values, n=100)[percent - 1] * 1000


def describe(latencies: list[float]) -> str:
    if not latencies:
        return "none"
    return (
        f"p50 {quantile_ms(latencies, 50):.0f} ms, p99 {quantile_ms(latencies, 99):.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms"
    )


async def ceiling_load(
    address: str, offsets: list[float], lead: float, concurrency: int
) -> list[Sent]:
    """Bare Update round trips on one trivial workflow, with a worker of its own, on the
    same schedule as the bids (starting `lead` seconds from now)."""
    client = await Client.connect(address, data_converter=DATA_CONVERTER)
    queue = f"bench-bids-{uuid.uuid4().hex[:12]}"
    async with Worker(client, task_queue=queue, workflows=[BidBox]):
        handle = await client.start_workflow(BidBox.run, id=queue, task_queue=queue)
        for number in range(WARM_UP_BIDS):
            await handle.execute_update(BidBox.submit, -1 - number)

        async def send(number: int, sent: Sent) -> None:
            await handle.execute_update(BidBox.submit, number)
            sent.status = 200

        sent = await run_schedule(offsets, time.time() + lead, concurrency, send)
        await handle.signal(BidBox.close)
        await handle.result()
    return sent


# --- the stack: suppliers, a consultation, bids -----------------------------------------------


def sirets(count: int) -> list[str]:
    """`count` distinct valid SIRETs: a Luhn-checked SIREN, then a Luhn-checked NIC."""
    found = []
    for number in range(count):
        siren = f"{81_000_000 + number:08d}"
        siren += luhn.calc_check_digit(siren)
        nic = f"{(number % 9000) + 10:04d}"
        found.append(check_siret(siren + nic + luhn.calc_check_digit(siren + nic)))
    return found


async def register_suppliers(database_url: str, groups: list[list[str]]) -> list[dict[str, str]]:
    """One supplier client per group of SIRETs, straight into the stack's database."""
    engine = make_async_engine(database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            registered = [
                await register_client(session, Role.SUPPLIER, group, f"bench supplier {n}")
                for n, group in enumerate(groups)
            ]
    finally:
        await engine.dispose()
    return [{"client_id": cid, "client_secret": secret} for cid, secret in registered]


def terms(reference: str, deadline: datetime) -> dict:
    """A MAPA (no minimum tender period), questions closing a minute before bids."""
    return {
        "buyer_siret": BUYER_SIRET,
        "reference": reference,
        "title": "Entretien des espaces verts",
        "description": "Tonte, taille et désherbage des parcs (banc d'essai des offres).",
        "procedure": "adapted",
        "cpv_codes": ["77310000-6"],
        "lots": [{"number": 1, "title": "Parcs", "estimated_value": "90000.00"}],
        "criteria": [
            {"name": "Prix", "weight": 60, "kind": "price"},
            {"name": "Valeur technique", "weight": 40, "kind": "quality"},
        ],
        "questions_deadline": (deadline - timedelta(seconds=1)).isoformat(),
        "submission_deadline": deadline.isoformat(),
        "contact": {"name": "Service achats", "email": "achats@ville.example"},
        "buyer_name": "Ministère du banc",
        "espd_required": False,
        "buyer_address": ADDRESS,
        "review_body": {
            "name": "Tribunal administratif de Paris",
            "siret": "17750111100005",
            "address": {**ADDRESS, "street": "7 rue de Jouy"},
        },
    }


def offer(siret: str, attempt: str) -> bytes:
    """A small, distinct bid file."""
    return f"%PDF-1.4 offre de {siret} ({attempt})\n".encode() + b"x" * 2048


@dataclass
class Tender:
    """The consultation under load and who bids in it."""

    base: str
    deadline: datetime
    buyer: dict[str, str]
    suppliers: list[dict[str, str]]  # Authorization headers
    supplier_of: dict[str, int]  # SIRET -> index in `suppliers`


async def bid(api: httpx.AsyncClient, tender: Tender, siret: str, attempt: str, sent: Sent) -> None:
    """One bid of one file for `siret`; the answer goes into `sent`."""
    response = await api.post(
        f"{tender.base}/bids",
        files=[("files", ("offre.pdf", offer(siret, attempt), "application/pdf"))],
        data={"supplier_siret": siret},
        # The query too: the route's dependency resolves the SIRET before the form is read,
        # and refuses a client of several SIRETs that names none there.
        params={"supplier_siret": siret},
        headers=tender.suppliers[tender.supplier_of[siret]],
    )
    sent.status = response.status_code
    try:
        sent.body = response.json()
    except ValueError:
        sent.error = response.text[:300]


def seal_covers(answer: dict) -> bool:
    """Whether the receipt's seal is a CMS signature over exactly `receipt_json`, which is
    the receipt answered."""
    data = answer["receipt_json"].encode()
    if json.loads(data) != answer["receipt"]:
        return False
    signed = cms.ContentInfo.load(base64.b64decode(answer["seal"]))["content"]
    digests = [
        attribute["values"][0].native
        for attribute in signed["signer_infos"][0]["signed_attrs"]
        if attribute["type"].native == "message_digest"
    ]
    return digests == [hashlib.sha256(data).digest()]


def received_at(answer: dict) -> float:
    return datetime.fromisoformat(answer["receipt"]["received_at"]).timestamp()


@dataclass
class Checks:
    """What the workflow and the database hold after the deadline, against the answers."""

    status: str = ""
    in_state: int = 0
    lost_from_state: int = 0
    lost_from_table: int = 0
    late_in_state: int = 0
    late_in_table: int = 0
    late_rows: int = 0
    bad_seals: int = 0
    problems: list[str] = field(default_factory=list)


async def check_after_deadline(
    api: httpx.AsyncClient, tender: Tender, accepted: list[Sent], refused_late: int
) -> Checks:
    """Every accepted receipt in the workflow's state and the `bids` table, none late."""
    checks = Checks()
    deadline = tender.deadline
    give_up = time.monotonic() + CLOSE_PATIENCE_SECONDS
    while True:  # the deadline's timer closes the consultation
        state = (await api.get(f"{tender.base}/state", headers=tender.buyer)).json()
        if state["status"] != "published" or time.monotonic() > give_up:
            break
        await asyncio.sleep(0.2)
    checks.status = state["status"]
    held = {r["supplier_siret"]: r for r in state["bids"]}
    checks.in_state = len(held)
    checks.late_in_state = sum(
        datetime.fromisoformat(r["received_at"]) >= deadline for r in held.values()
    )
    rows: dict[str, dict] = {}
    for headers in tender.suppliers:
        listed = (await api.get("/v1/bids", headers=headers)).json()
        if len(listed) >= 500:
            checks.problems.append("a supplier's GET /v1/bids is capped at 500 rows")
        rows |= {r["bid_id"]: r for r in listed if r["consultation_id"] == state_id(tender)}
    received = {i: r for i, r in rows.items() if r["status"] == "received"}
    checks.late_in_table = sum(
        datetime.fromisoformat(r["received_at"]) >= deadline for r in received.values()
    )
    checks.late_rows = sum(r["status"] == "late" for r in rows.values())
    for sent in accepted:
        receipt = sent.body["receipt"]
        kept = held.get(receipt["supplier_siret"])
        checks.lost_from_state += kept is None or kept["bid_id"] != receipt["bid_id"]
        checks.lost_from_table += receipt["bid_id"] not in received
        checks.bad_seals += not seal_covers(sent.body)
    if checks.late_rows != refused_late:
        checks.problems.append(
            f"{refused_late} bids refused BID_LATE but {checks.late_rows} `late` rows"
        )
    return checks


def state_id(tender: Tender) -> str:
    _, _, buyer, reference = tender.base.rsplit("/", 3)
    return f"consultation:{buyer}:{reference}"


async def open_tender(
    api: httpx.AsyncClient,
    buyer: dict[str, str],
    groups: list[list[str]],
    credentials: list[dict[str, str]],
    deadline: datetime,
) -> Tender:
    """Tokens for the suppliers; the consultation created and published."""
    suppliers = [await _header(api, c) for c in credentials]
    reference = f"BENCH-BIDS-{uuid.uuid4().hex[:8]}"
    created = await api.post("/v1/consultations", json=terms(reference, deadline), headers=buyer)
    if created.status_code != 201:
        raise SystemExit(f"consultation not created: {created.status_code} {created.text}")
    base = created.headers["location"]
    published = await api.post(f"{base}/publish", headers=buyer)
    if published.status_code != 200:
        raise SystemExit(f"consultation not published: {published.status_code} {published.text}")
    supplier_of = {siret: n for n, group in enumerate(groups) for siret in group}
    return Tender(base, deadline, buyer, suppliers, supplier_of)


async def legs(address: str, workflow_id: str, accepted: list[Sent]) -> dict[str, list[float]]:
    """Each accepted bid's latency split along the consultation's history: the upload until
    its files are stored (the receipt's `received_at` is the API's arrival time), the way
    to the workflow and its task completing the Update, and the answer's way back (the
    outcome to the API, the seal, HTTP)."""
    client = await Client.connect(address, data_converter=DATA_CONVERTER)
    completed: dict[str, float] = {}
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.HasField("workflow_execution_update_completed_event_attributes"):
            outcome = event.workflow_execution_update_completed_event_attributes.outcome
            if outcome.HasField("success") and outcome.success.payloads:
                answer = json.loads(outcome.success.payloads[0].data)
                if isinstance(answer, dict) and "bid_id" in answer:
                    completed[answer["bid_id"]] = event.event_time.ToDatetime(
                        tzinfo=UTC
                    ).timestamp()
    split: dict[str, list[float]] = {
        "request -> files stored (received_at)": [],
        "received_at -> Update completed": [],
        "Update completed -> sealed answer": [],
    }
    for sent in accepted:
        bid_id = sent.body["receipt"]["bid_id"]
        if bid_id not in completed:
            continue
        times = [
            sent.sent_at,
            received_at(sent.body),
            completed[bid_id],
            sent.sent_at + sent.latency,
        ]
        for leg, begin, end in zip(split.values(), times, times[1:], strict=False):
            leg.append(end - begin)
    return split


@dataclass
class Outcome:
    """The bids under load, the late ones, and the checks."""

    sent: list[Sent]
    late: list[Sent]
    checks: Checks
    warm_up: int
    legs: dict[str, list[float]]


async def stack_load(stack: Stack, args: argparse.Namespace, offsets: list[float]) -> Outcome:
    """The bids through the whole stack, the late ones, then the checks."""
    numbers = sirets(args.bids + WARM_UP_BIDS)
    warm_sirets, bid_sirets = numbers[:WARM_UP_BIDS], numbers[WARM_UP_BIDS:]
    groups = [numbers[n :: args.suppliers] for n in range(args.suppliers)]
    credentials = await register_suppliers(stack.database_url, groups)
    deadline = datetime.now(UTC).replace(microsecond=0) + timedelta(
        seconds=args.lead + args.window + args.margin
    )
    first_bid_at = deadline.timestamp() - args.margin - args.window
    async with httpx.AsyncClient(
        base_url=stack.url,
        timeout=120,
        limits=httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=None),
    ) as api:
        tender = await open_tender(api, stack.auth["buyer"], groups, credentials, deadline)
        warm = 0
        for siret in warm_sirets:
            got = Sent(-1)
            await bid(api, tender, siret, "warm-up", got)
            warm += got.status == 201
        if time.time() > first_bid_at:
            raise SystemExit(f"set-up ran past the first bid: raise --lead ({args.lead} s)")
        print(
            f"consultation {tender.base}: deadline {deadline.isoformat()}; {args.bids} bids "
            f"over the {args.window:.0f} s before {args.margin:.1f} s ahead of it"
        )

        async def send(number: int, sent: Sent) -> None:
            await bid(api, tender, bid_sirets[number], "offre", sent)

        sent = await run_schedule(offsets, first_bid_at, args.concurrency, send)

        async def send_late(number: int, sent: Sent) -> None:
            await bid(api, tender, bid_sirets[number], "late", sent)

        late_offsets = [LATE_SPACING_SECONDS * (n + 1) for n in range(args.late)]
        late = await run_schedule(late_offsets, deadline.timestamp(), args.concurrency, send_late)
        refused = sum(_code(s) == "BID_LATE" for s in [*sent, *late])
        accepted = [s for s in [*sent, *late] if s.status == 201]
        checks = await check_after_deadline(api, tender, accepted, refused)
    checks.problems += [
        f"answered received_at {s.body['receipt']['received_at']} >= the deadline"
        for s in accepted
        if received_at(s.body) >= deadline.timestamp()
    ]
    split = await legs(stack.temporal_address, state_id(tender), accepted)
    return Outcome(sent, late, checks, warm, split)


def _code(sent: Sent) -> str:
    return str(sent.body.get("code", "")) if sent.status >= 400 else ""


def failures(outcome: Outcome) -> list[str]:
    """What breaks the promise: a bid lost, accepted late, refused or failed on time."""
    checks = outcome.checks
    on_time_refused = [s for s in outcome.sent if s.status != 201]
    late_accepted = [s for s in outcome.late if s.status == 201]
    late_not_refused = [s for s in outcome.late if _code(s) != "BID_LATE"]
    found = [
        *(
            [f"{len(on_time_refused)} bids sent before the deadline not accepted"]
            if on_time_refused
            else []
        ),
        *([f"{len(late_accepted)} late bids accepted"] if late_accepted else []),
        *([f"{len(late_not_refused)} late bids not BID_LATE"] if late_not_refused else []),
        *([f"{checks.lost_from_state} lost from the state"] if checks.lost_from_state else []),
        *([f"{checks.lost_from_table} lost from the table"] if checks.lost_from_table else []),
        *([f"{checks.late_in_state} late in the state"] if checks.late_in_state else []),
        *([f"{checks.late_in_table} late in the table"] if checks.late_in_table else []),
        *([f"{checks.bad_seals} seals not over their receipt"] if checks.bad_seals else []),
        *checks.problems,
    ]
    if checks.status != "closed":
        found.append(f"the consultation is {checks.status!r} after the deadline, not closed")
    return found


def report(args: argparse.Namespace, outcome: Outcome, ceiling: list[Sent]) -> bool:
    """Print the figures, the checks and the BENCH line; whether every check passed."""
    accepted = [s for s in outcome.sent if s.status == 201]
    latencies = [s.latency for s in accepted]
    codes = Counter(_code(s) or str(s.status) for s in outcome.sent if s.status != 201)
    errors = [s.error for s in outcome.sent if s.error]
    late_codes = Counter(_code(s) or str(s.status) for s in outcome.late)
    waited = [s for s in outcome.sent if s.slot_wait > SLOT_WAIT_NOTED_SECONDS]
    ceiling_latencies = [s.latency for s in ceiling if not s.error]
    value = quantile_ms(latencies, 99)
    bound = quantile_ms(ceiling_latencies, 99)
    ratio = value / bound if bound else float("nan")
    checks = outcome.checks
    print(
        f"{args.bids} bids over {args.window:.0f} s (the last {args.margin:.1f} s before the "
        f"deadline), {args.suppliers} supplier clients, concurrency {args.concurrency}; "
        f"{outcome.warm_up}/{WARM_UP_BIDS} warm-up bids before"
    )
    print(
        f"  accepted {len(accepted)}, not accepted {args.bids - len(accepted)} {dict(codes)}; "
        f"{len(waited)} waited > {SLOT_WAIT_NOTED_SECONDS:.1f} s for a slot"
    )
    for error in errors[:3]:
        print("  error:", error)
    for refusal in [s.body for s in outcome.sent if s.status not in (0, 201)][:3]:
        print("  refusal:", json.dumps(refusal)[:300])
    print(f"  receipt latency: {describe(latencies)} (target p99 < {TARGET_P99_MS:.0f} ms)")
    for leg, seconds in outcome.legs.items():
        print(f"    {leg + ':':40} {describe(seconds)}")
    print(
        f"  after the deadline: {len(outcome.late)} late bids answered {dict(late_codes)}; "
        f"the consultation is {checks.status}"
    )
    print(
        f"  workflow state: {checks.in_state} bids, {checks.lost_from_state} accepted ones "
        f"missing, {checks.late_in_state} received at or after the deadline"
    )
    print(
        f"  bids table (GET /v1/bids): {checks.lost_from_table} accepted ones missing, "
        f"{checks.late_in_table} received at or after the deadline, {checks.late_rows} "
        f"`late` rows; seals not over their receipt: {checks.bad_seals}"
    )
    print(
        f"ceiling: bare Update round trips on one trivial workflow, same schedule: "
        f"{describe(ceiling_latencies)}, {len(ceiling) - len(ceiling_latencies)} errors"
    )
    for error in [s.error for s in ceiling if s.error][:3]:
        print("  ceiling error:", error)
    print(
        f"ratio {ratio:.2f} (a latency: lower is better, 1 is the floor); "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    found = failures(outcome)
    print("checks:", "; ".join(found) if found else "all accepted, none lost, none late")
    print(f"BENCH bids value={value:.1f} unit=ms ceiling={bound:.1f} ratio={ratio:.3f}")
    return not found


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bids", type=int, default=1000)
    parser.add_argument("--window", type=float, default=60, help="seconds of bids")
    parser.add_argument("--margin", type=float, default=1.0, help="last bid, s before deadline")
    parser.add_argument("--concurrency", type=int, default=200, help="requests in flight, max")
    parser.add_argument("--suppliers", type=int, default=50, help="clients sharing the SIRETs")
    parser.add_argument("--late", type=int, default=10, help="bids sent after the deadline")
    parser.add_argument("--lead", type=float, default=25, help="s from creation to the window")
    parser.add_argument("--seed", type=int, default=20260)
    parser.add_argument("--short", action="store_true", help="100 bids over 10 s: a quick check")
    args = parser.parse_args()
    if args.short:
        args.bids, args.window, args.late, args.suppliers = 100, 10.0, 5, 10
    # The sandbox refuses workflows of `__main__`: the ceiling runs from the module itself.
    bench = importlib.import_module("bench.bids")

    offsets = schedule(args.bids, args.window, args.seed)
    async with running_stack([("buyer", BUYER_SIRET)]) as stack:
        outcome = await stack_load(stack, args, offsets)
        ceiling = await bench.ceiling_load(
            stack.temporal_address, offsets, CEILING_LEAD_SECONDS, args.concurrency
        )
    if not report(args, outcome, ceiling):
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
