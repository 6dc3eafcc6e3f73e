"""Invoice listings on SQLite and PostgreSQL: scopes, filters, sorts, keyset pages, export."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.database import transaction
from store.invoice_queries import (
    Cursor,
    InvalidCursor,
    InvoiceFilter,
    InvoiceQueries,
    InvoiceSort,
    ListedInvoice,
)
from store.models import Invoice

Sessions = async_sessionmaker[AsyncSession]

MINISTRY = "11000201100044"
CITY = "21750001600019"
WORKSHOP = "73282932000074"
WORKSHOP_LYON = "73282932001007"  # same SIREN as WORKSHOP
PRINTER = "44306184100047"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TO_MINISTRY = InvoiceFilter(buyer_sirets=frozenset({MINISTRY}))


def an_invoice_row(
    number: str,
    *,
    seller: str = WORKSHOP,
    buyer: str | None = MINISTRY,
    status: str = "MISE_A_DISPOSITION",
    deposited_at: datetime = datetime(2026, 2, 1, 10, 0, tzinfo=UTC),
    amount: str | None = "1440.00",
    issue_date: date | None = date(2026, 1, 15),
    due_at: datetime | None = None,
    paid_on: date | None = None,
    service_code: str | None = None,
    downloaded_at: datetime | None = None,
) -> Invoice:
    """An invoice as the workflow records it, with every column a listing may read."""
    return Invoice(
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{seller}/{number}")),
        workflow_id=f"invoice:{seller}:{number}",
        run_id="run",
        seller_key=seller,
        number=number,
        issue_date=issue_date,
        issue_year=issue_date.year if issue_date else None,
        type_code="380",
        currency="EUR",
        seller_siret=seller,
        seller_name="Atelier Exemple SAS",
        buyer_siret=buyer,
        buyer_name="Ministère de l'Exemple",
        service_code=service_code,
        total_with_vat=Decimal(amount) if amount else None,
        amount_due=Decimal(amount) if amount else None,
        status=status,
        status_at=deposited_at,
        depositor="cl_test",
        channel="API",
        original_sha256="0" * 64,
        original_media_type="application/xml",
        original_size=1000,
        attachments=[],
        report={"valid": True},
        deposited_at=deposited_at,
        due_at=due_at,
        paid_on=paid_on,
        downloaded_at=downloaded_at,
    )


async def store(sessions: Sessions, *rows: Invoice) -> None:
    async with transaction(sessions) as session:
        session.add_all(rows)


async def numbers(
    sessions: Sessions, listing: InvoiceFilter, sort: InvoiceSort = InvoiceSort.DEPOSITED_AT
) -> list[str]:
    async with sessions() as session:
        page = await InvoiceQueries(session).page(listing, sort, NOW, limit=200)
    return [item.number for item in page.items]


def day(n: int, hour: int = 10) -> datetime:
    """February `n`, 2026, at `hour` UTC."""
    return datetime(2026, 2, n, hour, tzinfo=UTC)


async def test_a_structure_lists_only_the_invoices_addressed_to_it(sessions: Sessions) -> None:
    await store(
        sessions,
        an_invoice_row("F-1", deposited_at=day(1)),
        an_invoice_row("F-2", buyer=CITY, deposited_at=day(2)),
        an_invoice_row("F-3", deposited_at=day(3)),
    )

    assert await numbers(sessions, TO_MINISTRY, InvoiceSort.DEPOSITED_AT_DESC) == ["F-3", "F-1"]
    both = InvoiceFilter(buyer_sirets=frozenset({MINISTRY, CITY}))
    assert await numbers(sessions, both) == ["F-1", "F-2", "F-3"]
    assert await numbers(sessions, InvoiceFilter(buyer_sirets=frozenset())) == []


async def test_a_supplier_lists_the_invoices_of_its_sirets(sessions: Sessions) -> None:
    await store(
        sessions,
        an_invoice_row("F-1", deposited_at=day(1)),
        an_invoice_row("L-1", seller=WORKSHOP_LYON, deposited_at=day(2)),
        an_invoice_row("P-1", seller=PRINTER, deposited_at=day(3)),
    )

    workshop = InvoiceFilter(seller_sirets=frozenset({WORKSHOP, WORKSHOP_LYON}))
    assert await numbers(sessions, workshop) == ["F-1", "L-1"]
    assert await numbers(sessions, InvoiceFilter(seller_sirets=frozenset({PRINTER}))) == ["P-1"]


async def test_status_service_and_supplier_filters_all_hold(sessions: Sessions) -> None:
    await store(
        sessions,
        an_invoice_row("F-1", deposited_at=day(1), service_code="IMMO"),
        an_invoice_row("F-2", deposited_at=day(2), status="PRISE_EN_COMPTE"),
        an_invoice_row("L-1", seller=WORKSHOP_LYON, deposited_at=day(3), status="PAYEE"),
        an_invoice_row("P-1", seller=PRINTER, deposited_at=day(4), service_code="IMMO"),
    )

    def to_ministry(**criteria: object) -> InvoiceFilter:
        return InvoiceFilter(buyer_sirets=frozenset({MINISTRY}), **criteria)  # type: ignore[arg-type]

    open_ones = to_ministry(statuses=frozenset({"MISE_A_DISPOSITION", "PRISE_EN_COMPTE"}))
    assert await numbers(sessions, open_ones) == ["F-1", "F-2", "P-1"]
    assert await numbers(sessions, to_ministry(service_code="IMMO")) == ["F-1", "P-1"]
    one_siret = to_ministry(seller_sirets=frozenset({WORKSHOP}))
    assert await numbers(sessions, one_siret) == ["F-1", "F-2"]
    whole_siren = to_ministry(seller_siren=WORKSHOP[:9])
    assert await numbers(sessions, whole_siren) == ["F-1", "F-2", "L-1"]
    narrow = to_ministry(
        seller_siren=WORKSHOP[:9], service_code="IMMO", statuses=frozenset({"PAYEE"})
    )
    assert await numbers(sessions, narrow) == []


async def test_deposit_days_are_calendar_days_in_paris(sessions: Sessions) -> None:
    # 23:30 UTC on January 31 is already 00:30 on February 1 in Paris.
    await store(
        sessions,
        an_invoice_row("LATE", deposited_at=datetime(2026, 1, 31, 23, 30, tzinfo=UTC)),
        an_invoice_row("EARLY", deposited_at=datetime(2026, 1, 31, 22, 59, tzinfo=UTC)),
    )

    february = InvoiceFilter(buyer_sirets=frozenset({MINISTRY}), deposited_from=date(2026, 2, 1))
    january = InvoiceFilter(buyer_sirets=frozenset({MINISTRY}), deposited_to=date(2026, 1, 31))
    assert await numbers(sessions, february) == ["LATE"]
    assert await numbers(sessions, january) == ["EARLY"]


async def test_issue_dates_and_amounts_are_inclusive_ranges(sessions: Sessions) -> None:
    await store(
        sessions,
        an_invoice_row("F-1", deposited_at=day(1), issue_date=date(2026, 1, 10), amount="100.00"),
        an_invoice_row("F-2", deposited_at=day(2), issue_date=date(2026, 1, 20), amount="250.50"),
        an_invoice_row("F-3", deposited_at=day(3), issue_date=date(2026, 1, 31), amount="999.99"),
        an_invoice_row("F-4", deposited_at=day(4), issue_date=None, amount=None),
    )

    issued = InvoiceFilter(
        buyer_sirets=frozenset({MINISTRY}),
        issued_from=date(2026, 1, 10),
        issued_to=date(2026, 1, 20),
    )
    amounts = InvoiceFilter(
        buyer_sirets=frozenset({MINISTRY}),
        amount_min=Decimal("250.50"),
        amount_max=Decimal("999.99"),
    )
    assert await numbers(sessions, issued) == ["F-1", "F-2"]
    assert await numbers(sessions, amounts) == ["F-2", "F-3"]


async def test_overdue_means_past_due_unpaid_and_still_open(sessions: Sessions) -> None:
    past, future = NOW - timedelta(days=1), NOW + timedelta(days=1)
    await store(
        sessions,
        an_invoice_row("LATE", deposited_at=day(1), due_at=past),
        an_invoice_row("PAID-ON", deposited_at=day(2), due_at=past, paid_on=date(2026, 3, 1)),
        an_invoice_row("PAID", deposited_at=day(3), due_at=past, status="PAYEE"),
        an_invoice_row("REJECTED", deposited_at=day(4), due_at=past, status="REJETEE"),
        an_invoice_row("NOT-YET", deposited_at=day(5), due_at=future),
        an_invoice_row("SUSPENDED", deposited_at=day(6), due_at=None, status="SUSPENDUE"),
    )

    overdue = InvoiceFilter(buyer_sirets=frozenset({MINISTRY}), overdue=True)
    on_time = InvoiceFilter(buyer_sirets=frozenset({MINISTRY}), overdue=False)
    assert await numbers(sessions, overdue) == ["LATE"]
    assert await numbers(sessions, on_time) == [
        "PAID-ON",
        "PAID",
        "REJECTED",
        "NOT-YET",
        "SUSPENDED",
    ]
    async with sessions() as session:
        page = await InvoiceQueries(session).page(TO_MINISTRY, InvoiceSort.DEPOSITED_AT, NOW)
    assert [item.overdue for item in page.items] == [True, False, False, False, False, False]


async def test_the_first_download_is_kept_and_not_downloaded_lists_the_others(
    sessions: Sessions,
) -> None:
    await store(
        sessions,
        an_invoice_row("F-1", deposited_at=day(1)),
        an_invoice_row("F-2", deposited_at=day(2)),
    )
    first_id = an_invoice_row("F-1").id
    async with transaction(sessions) as session:
        assert await InvoiceQueries(session).mark_downloaded(first_id, NOW) is True
    async with transaction(sessions) as session:
        later = NOW + timedelta(hours=1)
        assert await InvoiceQueries(session).mark_downloaded(first_id, later) is False

    not_downloaded = InvoiceFilter(buyer_sirets=frozenset({MINISTRY}), downloaded=False)
    downloaded = InvoiceFilter(buyer_sirets=frozenset({MINISTRY}), downloaded=True)
    assert await numbers(sessions, not_downloaded) == ["F-2"]
    assert await numbers(sessions, downloaded) == ["F-1"]
    async with sessions() as session:
        stored = await session.get(Invoice, first_id)
    assert stored is not None and stored.downloaded_at == NOW


def _rows_with_ties_and_gaps() -> list[Invoice]:
    """Equal deposit times, missing amounts, issue dates and due dates: what pages must
    cross without skipping or repeating a row."""
    rows = []
    for n in range(11):
        rows.append(
            an_invoice_row(
                f"F-{n:02d}",
                deposited_at=day(1 + n // 3),  # three invoices per instant
                amount=None if n % 4 == 0 else f"{100 * (n % 3)}.50",
                issue_date=None if n % 5 == 0 else date(2026, 1, 1 + n % 2),
                due_at=None if n % 3 == 0 else day(20 + n % 2),
            )
        )
    return rows


def _expected_order(rows: list[Invoice], sort: InvoiceSort) -> list[str]:
    """NULL is the largest value; ties are broken by id in the same direction."""

    def key(row: Invoice) -> tuple[bool, object, str]:
        value = getattr(row, sort.field)
        return (value is None, value if value is not None else 0, row.id)

    ordered = sorted(rows, key=key, reverse=sort.descending)
    return [row.number for row in ordered]


@pytest.mark.parametrize("sort", list(InvoiceSort))
async def test_pages_of_two_read_every_invoice_once_in_the_order_asked(
    sessions: Sessions, sort: InvoiceSort
) -> None:
    rows = _rows_with_ties_and_gaps()
    expected = _expected_order(rows, sort)
    await store(sessions, *rows)

    read: list[str] = []
    cursor: Cursor | None = None
    async with sessions() as session:
        queries = InvoiceQueries(session)
        for _ in range(len(rows)):
            page = await queries.page(TO_MINISTRY, sort, NOW, limit=2, after=cursor)
            read.extend(item.number for item in page.items)
            if page.next_cursor is None:
                break
            cursor = Cursor.decode(page.next_cursor, sort)
    assert read == expected


@pytest.mark.parametrize(
    ("cursor", "sort"),
    [
        ("not a cursor!", InvoiceSort.DEPOSITED_AT),
        ("e30", InvoiceSort.DEPOSITED_AT),  # {}
        (Cursor(InvoiceSort.AMOUNT_DUE, Decimal(1), "0" * 36).encode(), InvoiceSort.DUE_AT),
        (Cursor(InvoiceSort.ISSUE_DATE, None, "../../etc/passwd").encode(), InvoiceSort.ISSUE_DATE),
    ],
    ids=["garbage", "empty-object", "another-sort", "bad-id"],
)
def test_a_cursor_not_handed_out_for_this_sort_is_refused(cursor: str, sort: InvoiceSort) -> None:
    with pytest.raises(InvalidCursor) as refused:
        Cursor.decode(cursor, sort)
    assert refused.value.status == 422
    assert refused.value.extra["errors"][0]["parameter"] == "cursor"


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        (InvoiceSort.DEPOSITED_AT, "2026-13-01T00:00:00+00:00"),
        (InvoiceSort.DEPOSITED_AT, "2026-02-01T10:00:00"),  # no time zone
        (InvoiceSort.DEPOSITED_AT, "0001-01-01T00:00:00+14:00"),  # before year 1 in UTC
        (InvoiceSort.ISSUE_DATE, "tomorrow"),
        (InvoiceSort.AMOUNT_DUE, "NaN"),
        (InvoiceSort.AMOUNT_DUE, "1e100000"),  # beyond what NUMERIC compares
    ],
)
def test_a_cursor_with_a_forged_key_is_refused(sort: InvoiceSort, key: str) -> None:
    raw = {"s": sort.value, "k": key, "i": "0" * 36}
    forged = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode()
    with pytest.raises(InvalidCursor):
        Cursor.decode(forged, sort)


async def test_the_export_streams_every_match_in_order_a_batch_at_a_time(
    sessions: Sessions,
) -> None:
    await store(
        sessions,
        *(an_invoice_row(f"F-{n}", deposited_at=day(1 + n)) for n in range(5)),
        an_invoice_row("CITY", buyer=CITY),
    )

    batches: list[list[ListedInvoice]] = []
    async with sessions() as session:
        export = await InvoiceQueries(session).export(
            TO_MINISTRY, InvoiceSort.DEPOSITED_AT_DESC, NOW, batch=2
        )
        async for batch in export:
            batches.append(list(batch))
    assert [len(batch) for batch in batches] == [2, 2, 1]
    assert [i.number for b in batches for i in b] == ["F-4", "F-3", "F-2", "F-1", "F-0"]
