"""Latency of a filtered page of received invoices, and the rate of the CSV export.

Fills a fresh PostgreSQL database (`chaine_bench_<random>` on 127.0.0.1:5432, COPY through
psycopg, dropped at the end) and a temporary SQLite file (executemany), both migrated, with
invoices spread like production's: about 2,000 buyers of very unequal size, 50,000
suppliers, deposits over two years, old invoices mostly paid and recent ones in process.

Then, for each database:
- p95 of one page of 50 (a buyer, one status, a three-month deposit range, newest first)
  over 200 queries on 20 different buyers after a warm-up, through `InvoiceQueries` the way
  the API calls it (a session per request), and through the HTTP API on loopback;
- the ceiling: the same SELECT ... WHERE ... ORDER BY ... LIMIT 50 written by hand and sent
  through the same driver (psycopg, aiosqlite) with no ORM;
- the CSV export of the biggest buyer, rows per second, in process and over HTTP;
- on PostgreSQL, EXPLAIN ANALYZE of the page and of a following page (cursor), to check
  that they read the listing index instead of sorting.

    .venv/bin/python bench/listing.py [--rows-pg 1000000] [--rows-sqlite 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from pathlib import Path

import aiosqlite
import httpx
import psycopg
import uvicorn
from psycopg.types.json import Json
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from api.app import create_app  # noqa: E402
from api.credentials import register_client  # noqa: E402
from api.routes.invoice_lists import csv_chunks  # noqa: E402
from core.config import Settings  # noqa: E402
from core.principals import Role  # noqa: E402
from invoicing.deadlines import PARIS  # noqa: E402
from invoicing.statuses import FINAL_STATUSES  # noqa: E402
from store.database import make_async_engine, make_sessionmaker, make_sync_engine  # noqa: E402
from store.invoice_queries import (  # noqa: E402
    Cursor,
    InvoiceFilter,
    InvoiceQueries,
    InvoiceSort,
    listing_query,
    paris_day_start,
)
from store.migrate import upgrade  # noqa: E402
from store.models import Invoice  # noqa: E402
from tests.conftest import free_port  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGET_P95_MS = 100.0
TARGET_EXPORT_RATE = 20_000.0  # rows/s
BUYERS, SUPPLIERS = 2_000, 50_000
HISTORY_DAYS = 730
PAGE = 50
BUYERS_QUERIED = 20
INBOX_STATUSES = ("MISE_A_DISPOSITION", "PRISE_EN_COMPTE", "SERVICE_FAIT", "SUSPENDUE")
# Where invoices stand by age: recent ones are in process, old ones closed.
RECENT_STATUSES = {
    "MISE_A_DISPOSITION": 25,
    "PRISE_EN_COMPTE": 20,
    "SERVICE_FAIT": 10,
    "MANDATEE": 8,
    "MISE_A_DISPOSITION_COMPTABLE": 6,
    "COMPTABILISEE": 5,
    "MISE_EN_PAIEMENT": 5,
    "PAYEE": 8,
    "SUSPENDUE": 4,
    "COMPLETEE": 2,
    "A_RECYCLER": 1,
    "REJETEE": 5,
    "ANNULEE": 1,
}
OLD_STATUSES = {"PAYEE": 88, "REJETEE": 6, "ANNULEE": 2, "REFUSEE_PREMIER_VALIDEUR": 1}
OLD_STATUSES |= {"MISE_EN_PAIEMENT": 2, "SUSPENDUE": 1}
COLUMNS = (
    "id",
    "workflow_id",
    "run_id",
    "seller_key",
    "number",
    "issue_date",
    "issue_year",
    "type_code",
    "currency",
    "seller_siret",
    "seller_name",
    "buyer_siret",
    "buyer_name",
    "service_code",
    "total_with_vat",
    "amount_due",
    "status",
    "status_at",
    "depositor",
    "channel",
    "original_sha256",
    "original_media_type",
    "original_size",
    "attachments",
    "report",
    "deposited_at",
    "works",
    "service_done_presumed",
    "due_at",
    "paid_on",
    "downloaded_at",
    "created_at",
    "updated_at",
)
JSON_COLUMNS = ("attachments", "report")
LISTED = (
    "id, number, seller_key, seller_name, buyer_siret, buyer_name, service_code, "
    "commitment_number, issue_date, deposited_at, amount_due, currency, status, status_at, "
    "due_at, paid_on"
)
FINAL = ", ".join(f"'{status}'" for status in sorted(FINAL_STATUSES))
# The page as one would write it by hand: the ceiling an ORM can approach, not beat
# (built from constants only).
BARE_PAGE = f"""
SELECT {LISTED},
       CASE WHEN due_at IS NOT NULL AND due_at < {{now}} AND paid_on IS NULL
                 AND status NOT IN ({FINAL}) THEN 1 ELSE 0 END AS overdue
FROM invoices
WHERE buyer_siret = {{buyer}} AND status = {{status}}
  AND deposited_at >= {{start}} AND deposited_at < {{end}}
ORDER BY deposited_at DESC, id DESC
LIMIT {PAGE}
"""  # noqa: S608


def with_luhn(digits: str) -> str:
    """`digits` followed by the Luhn check digit SIREN and SIRET carry."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (1 if position % 2 else 2)
        total += value - 9 if value > 9 else value
    return digits + str(-total % 10)


def a_siret(rng: random.Random) -> str:
    siren = with_luhn(f"{rng.randrange(10**8):08d}")
    return with_luhn(f"{siren}{rng.randrange(1, 10**4):04d}")


@dataclass(frozen=True)
class Population:
    """Buyers by decreasing size (Zipf: the first is the biggest), and suppliers."""

    buyers: list[str]
    buyer_weights: list[float]
    suppliers: list[str]

    @classmethod
    def drawn(cls, rng: random.Random) -> Population:
        buyers = list(dict.fromkeys(a_siret(rng) for _ in range(BUYERS)))
        suppliers = list(dict.fromkeys(a_siret(rng) for _ in range(SUPPLIERS)))
        weights = list(accumulate(1 / rank for rank in range(1, len(buyers) + 1)))
        return cls(buyers, weights, suppliers)


def invoices(count: int, population: Population, now: datetime, seed: int) -> Iterator[dict]:
    """`count` invoices as the workflow records them, every required column set."""
    rng = random.Random(seed)
    recent = (list(RECENT_STATUSES), list(accumulate(RECENT_STATUSES.values())))
    old = (list(OLD_STATUSES), list(accumulate(OLD_STATUSES.values())))
    buyers = rng.choices(population.buyers, cum_weights=population.buyer_weights, k=count)
    for n, buyer in enumerate(buyers):
        seller = population.suppliers[int(len(population.suppliers) * rng.random() ** 2)]
        age = timedelta(seconds=rng.randrange(HISTORY_DAYS * 86_400))
        deposited = now - age
        names, weights = recent if age.days < 90 else old
        status = rng.choices(names, cum_weights=weights)[0]
        issued = (deposited - timedelta(days=rng.randrange(15))).date()
        amount = Decimal(f"{rng.lognormvariate(7, 1.5):.2f}") + Decimal("0.01")
        closed_without_payment = status in ("REJETEE", "ANNULEE", "REFUSEE_PREMIER_VALIDEUR")
        due = None
        if not closed_without_payment and status != "SUSPENDUE":
            due = deposited + timedelta(days=30 if rng.random() < 0.9 else 60)
        number = f"F{n:09d}"
        yield {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "workflow_id": f"invoice:{seller}:{number}",
            "run_id": "bench",
            "seller_key": seller,
            "number": number,
            "issue_date": issued,
            "issue_year": issued.year,
            "type_code": "380",
            "currency": "EUR",
            "seller_siret": seller,
            "seller_name": f"Fournisseur {seller[:9]}",
            "buyer_siret": buyer,
            "buyer_name": f"Structure {buyer}",
            "service_code": f"SRV-{rng.randrange(20):02d}" if rng.random() < 0.3 else None,
            "total_with_vat": amount,
            "amount_due": amount,
            "status": status,
            "status_at": deposited + (now - deposited) * rng.random(),
            "depositor": "cl_bench",
            "channel": "API",
            "original_sha256": f"{rng.getrandbits(256):064x}",
            "original_media_type": "application/xml",
            "original_size": rng.randrange(5_000, 200_000),
            "attachments": [],
            "report": {"valid": status != "REJETEE"},
            "deposited_at": deposited,
            "works": False,
            "service_done_presumed": False,
            "due_at": due,
            "paid_on": (deposited + timedelta(days=rng.randrange(10, 50))).date()
            if status == "PAYEE"
            else None,
            "downloaded_at": deposited + timedelta(hours=rng.randrange(1, 72))
            if not closed_without_payment and rng.random() < 0.8
            else None,
            "created_at": deposited,
            "updated_at": deposited,
        }


def load_postgres(url: str, rows: Iterator[dict]) -> None:
    """COPY the rows in (psycopg adapts them in C), then VACUUM ANALYZE as autovacuum would
    have done by the time a table holds this much."""
    with psycopg.connect(_libpq(url)) as conn:
        statement = f"COPY invoices ({', '.join(COLUMNS)}) FROM STDIN"
        with conn.cursor().copy(statement) as copy:
            for row in rows:
                copy.write_row([Json(row[c]) if c in JSON_COLUMNS else row[c] for c in COLUMNS])
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE invoices")


def load_sqlite(url: str, rows: Iterator[dict]) -> None:
    """Insert the rows in batches through SQLAlchemy (it stores the types), then ANALYZE."""
    engine = make_sync_engine(url)
    batch: list[dict] = []
    with engine.begin() as conn:
        for row in rows:
            batch.append(row)
            if len(batch) == 10_000:
                conn.execute(insert(Invoice), batch)
                batch.clear()
        if batch:
            conn.execute(insert(Invoice), batch)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class Case:
    """One page a buyer asks for: a status, a range of deposit days (Paris)."""

    buyer: str
    status: str
    first_day: date
    last_day: date

    def listing(self) -> InvoiceFilter:
        return InvoiceFilter(
            buyer_sirets=frozenset({self.buyer}),
            statuses=frozenset({self.status}),
            deposited_from=self.first_day,
            deposited_to=self.last_day,
        )

    def instants(self) -> tuple[datetime, datetime]:
        return paris_day_start(self.first_day), paris_day_start(self.last_day + timedelta(1))

    def params(self) -> dict[str, str]:
        return {
            "structure": self.buyer,
            "status": self.status,
            "deposited_from": self.first_day.isoformat(),
            "deposited_to": self.last_day.isoformat(),
            "limit": str(PAGE),
        }


def cases(population: Population, now: datetime, count: int, seed: int) -> list[Case]:
    """`count` pages over 20 buyers: the 5 biggest, and 15 drawn by size (as requests come)."""
    rng = random.Random(seed)
    drawn = rng.choices(population.buyers, cum_weights=population.buyer_weights, k=200)
    buyers = list(dict.fromkeys(population.buyers[:5] + drawn))[:BUYERS_QUERIED]
    today = now.astimezone(PARIS).date()
    out = []
    for n in range(count):
        ends = today - timedelta(days=rng.choice((0, 0, 0, 30, 90, 180)))
        out.append(
            Case(buyers[n % len(buyers)], rng.choice(INBOX_STATUSES), ends - timedelta(91), ends)
        )
    return out


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


async def timed(calls: list[Callable[[], Awaitable[object]]], warmup: int) -> list[float]:
    """Milliseconds of each call after the first `warmup` ones."""
    for call in calls[:warmup]:
        await call()
    samples = []
    for call in calls[warmup:]:
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


async def repository_pages(url: str, work: list[Case], now: datetime, warmup: int) -> list[float]:
    engine = make_async_engine(url)
    sessions = make_sessionmaker(engine)

    def page(case: Case) -> Callable[[], Awaitable[object]]:
        async def call() -> object:
            async with sessions() as session:
                return await InvoiceQueries(session).page(
                    case.listing(), InvoiceSort.DEPOSITED_AT_DESC, now, limit=PAGE
                )

        return call

    try:
        return await timed([page(case) for case in work], warmup)
    finally:
        await engine.dispose()


async def bare_pages(url: str, work: list[Case], now: datetime, warmup: int) -> list[float]:
    if make_url(url).get_backend_name() == "postgresql":
        sql = BARE_PAGE.format(now="%s", buyer="%s", status="%s", start="%s", end="%s")
        async with await psycopg.AsyncConnection.connect(_libpq(url), autocommit=True) as conn:

            def pg(case: Case) -> Callable[[], Awaitable[object]]:
                async def call() -> object:
                    cursor = await conn.execute(
                        sql, (now, case.buyer, case.status, *case.instants())
                    )
                    return await cursor.fetchall()

                return call

            return await timed([pg(case) for case in work], warmup)
    sql = BARE_PAGE.format(now="?", buyer="?", status="?", start="?", end="?")
    async with aiosqlite.connect(make_url(url).database) as conn:

        def lite(case: Case) -> Callable[[], Awaitable[object]]:
            async def call() -> object:
                start, end = case.instants()
                cursor = await conn.execute(
                    sql,
                    (
                        _sqlite_time(now),
                        case.buyer,
                        case.status,
                        _sqlite_time(start),
                        _sqlite_time(end),
                    ),
                )
                return await cursor.fetchall()

            return call

        return await timed([lite(case) for case in work], warmup)


def _sqlite_time(at: datetime) -> str:
    """A UTC instant as SQLAlchemy stores it in SQLite (so strings compare in time order)."""
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"


async def repository_export(url: str, buyer: str, now: datetime) -> tuple[int, float]:
    """Rows of the buyer's whole CSV export, and rows per second, with no HTTP around it."""
    engine = make_async_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            start = time.perf_counter()
            batches = await InvoiceQueries(session).export(
                InvoiceFilter(buyer_sirets=frozenset({buyer})), InvoiceSort.DEPOSITED_AT_DESC, now
            )
            lines = sum([chunk.count(b"\n") async for chunk in csv_chunks(batches)]) - 1
            return lines, lines / (time.perf_counter() - start)
    finally:
        await engine.dispose()


class Api:
    """The real API on a loopback port, in a thread, for one database."""

    def __init__(self, url: str, var_dir: Path) -> None:
        self.settings = Settings(
            var_dir=var_dir,
            database_url=url,
            temporal_address="127.0.0.1:7233",  # never reached: listings do not use Temporal
            api_port=free_port(),
            rate_limit_per_second=1e6,
            rate_limit_burst=10**6,
        )
        self.server = uvicorn.Server(
            uvicorn.Config(
                create_app(self.settings),
                host="127.0.0.1",
                port=self.settings.api_port,
                log_config=None,
                access_log=False,
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    async def __aenter__(self) -> Api:
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                return self
            await asyncio.sleep(0.02)
        raise RuntimeError("the API did not start")

    async def __aexit__(self, *_: object) -> None:
        self.server.should_exit = True
        await asyncio.to_thread(self.thread.join, 10)

    async def client_for(self, buyers: list[str]) -> httpx.AsyncClient:
        engine = make_async_engine(self.settings.effective_database_url)
        async with make_sessionmaker(engine)() as session:
            client_id, secret = await register_client(session, Role.BUYER, buyers, "bench")
            await session.commit()
        await engine.dispose()
        client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.settings.api_port}")
        token = await client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        )
        client.headers["Authorization"] = (
            f"Bearer {token.raise_for_status().json()['access_token']}"
        )
        return client


async def http_figures(
    url: str, work: list[Case], big_buyer: str, warmup: int
) -> tuple[list[float], int, float]:
    """Page latencies over HTTP, and the big buyer's CSV export (rows, rows/s)."""
    with tempfile.TemporaryDirectory(prefix="chaine-bench-") as var_dir:
        async with Api(url, Path(var_dir)) as api:
            buyers = sorted({case.buyer for case in work} | {big_buyer})
            async with aclosing(await api.client_for(buyers)) as client:

                def page(case: Case) -> Callable[[], Awaitable[object]]:
                    async def call() -> object:
                        response = await client.get("/v1/received-invoices", params=case.params())
                        return response.raise_for_status()

                    return call

                samples = await timed([page(case) for case in work], warmup)
                start = time.perf_counter()
                lines = 0
                async with client.stream(
                    "GET", "/v1/received-invoices.csv", params={"structure": big_buyer}, timeout=600
                ) as response:
                    async for chunk in response.raise_for_status().aiter_bytes():
                        lines += chunk.count(b"\n")
                rows = lines - 1
                return samples, rows, rows / (time.perf_counter() - start)


async def explain(url: str, case: Case, now: datetime) -> list[str]:
    """EXPLAIN ANALYZE of pages as the API sends them, each with the indexes it reads and
    whether it sorts (a listing index makes the sort unnecessary)."""
    sort = InvoiceSort.DEPOSITED_AT_DESC
    every_status = InvoiceFilter(buyer_sirets=frozenset({case.buyer}))
    engine = make_async_engine(url)
    report = []
    try:
        async with make_sessionmaker(engine)() as session:
            first = await InvoiceQueries(session).page(case.listing(), sort, now)
            after = Cursor.decode(first.next_cursor, sort) if first.next_cursor else None
            for label, listing, cursor in (
                ("buyer + status + deposit range, first page", case.listing(), None),
                ("buyer + status + deposit range, next page (cursor)", case.listing(), after),
                ("buyer, every status, first page", every_status, None),
            ):
                compiled = (
                    listing_query(listing, sort, now, after=cursor)
                    .limit(PAGE)
                    .compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
                )
                connection = await session.connection()
                plan = [
                    line
                    for (line,) in await connection.exec_driver_sql(
                        f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {compiled.string}",
                        compiled.params,
                    )
                ]
                indexes = sorted(set(re.findall(r"\bix_invoices_\w+", "\n".join(plan))))
                sorts = any(line.strip().startswith(("Sort", "->  Sort")) for line in plan)
                report.append(
                    f"-- {label}: reads {', '.join(indexes) or 'no listing index'}; "
                    f"{'sorts' if sorts else 'no sort (index order)'}"
                )
                report.extend(plan)
    finally:
        await engine.dispose()
    return report


@dataclass
class Figures:
    """What one database measured."""

    rows: int
    load_s: float
    page_p95: float
    page_p50: float
    bare_p95: float
    http_p95: float
    export_rows: int
    export_rate: float
    http_export_rate: float


async def measure(url: str, rows: int, args: argparse.Namespace) -> Figures:
    now = datetime.now(UTC).replace(microsecond=0)
    population = Population.drawn(random.Random(args.seed))
    upgrade(url)
    start = time.perf_counter()
    load = load_postgres if make_url(url).get_backend_name() == "postgresql" else load_sqlite
    await asyncio.to_thread(load, url, invoices(rows, population, now, args.seed))
    load_s = time.perf_counter() - start
    work = cases(population, now, args.warmup + args.queries, args.seed)
    big_buyer = population.buyers[0]
    pages = await repository_pages(url, work, now, args.warmup)
    bare = await bare_pages(url, work, now, args.warmup)
    export_rows, export_rate = await repository_export(url, big_buyer, now)
    http_pages, _, http_export_rate = await http_figures(url, work, big_buyer, args.warmup)
    if make_url(url).get_backend_name() == "postgresql":
        print("\n".join(await explain(url, work[0], now)))
    return Figures(
        rows,
        load_s,
        p95(pages),
        statistics.median(pages),
        p95(bare),
        p95(http_pages),
        export_rows,
        export_rate,
        http_export_rate,
    )


def report(name: str, figures: Figures) -> None:
    print(
        f"{name}: {figures.rows:,} invoices loaded in {figures.load_s:.0f} s; "
        f"page of {PAGE} (buyer + status + 3-month deposit range, -deposited_at): "
        f"p50 {figures.page_p50:.1f} ms, p95 {figures.page_p95:.1f} ms "
        f"(target < {TARGET_P95_MS:.0f}); bare SQL p95 {figures.bare_p95:.1f} ms; "
        f"HTTP p95 {figures.http_p95:.1f} ms"
    )
    print(
        f"{name}: CSV export of the biggest buyer ({figures.export_rows:,} rows): "
        f"{figures.export_rate:,.0f} rows/s in process, {figures.http_export_rate:,.0f} rows/s "
        f"over HTTP (target >= {TARGET_EXPORT_RATE:,.0f})"
    )


def postgres_database() -> tuple[str, Callable[[], None]] | None:
    """A fresh database and the function that drops it, or None if PostgreSQL is not there."""
    name = f"chaine_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as error:
        print(f"PostgreSQL not reachable at {PG_ADMIN}: {error.__class__.__name__}")
        admin.dispose()
        return None

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    return url, drop


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows-pg", type=int, default=1_000_000)
    parser.add_argument("--rows-sqlite", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    results: dict[str, Figures] = {}
    database = postgres_database()
    if database is not None:
        url, drop = database
        try:
            results["postgresql"] = await measure(url, args.rows_pg, args)
        finally:
            drop()
    with tempfile.TemporaryDirectory(prefix="chaine-bench-") as directory:
        results["sqlite"] = await measure(f"sqlite:///{directory}/bench.db", args.rows_sqlite, args)
    for name, figures in results.items():
        report(name, figures)
    headline = results.get("postgresql") or results["sqlite"]
    print(
        f"BENCH listing value={headline.page_p95:.2f} unit=ms ceiling={headline.bare_p95:.2f} "
        f"ratio={headline.page_p95 / headline.bare_p95:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
