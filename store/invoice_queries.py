"""Listings of invoices for their buyers and their suppliers: filters, sorts, pages, export.

Pages are keyset pages: the cursor holds the sort key and the id of the last row read, so
page 10,000 costs what page 1 costs and invoices deposited meanwhile never shift a page.
The export streams the same query through a server-side cursor, a batch at a time, so a
million rows never sit in memory. Portable SQL only: every query runs on SQLite and
PostgreSQL alike.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Select,
    Table,
    and_,
    case,
    false,
    func,
    not_,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncResult, AsyncSession

from core.errors import ErrorCode, InvalidInput
from invoicing.deadlines import PARIS
from invoicing.statuses import FINAL_STATUSES
from store.models import Invoice

DEFAULT_PAGE_SIZE = 50  # users asked for tables of 50 rows by default
MAX_PAGE_SIZE = 200
EXPORT_BATCH = 2000  # rows fetched per round trip of the export's server-side cursor
_INVOICE_ID = re.compile(r"^[0-9a-f-]{36}$")
_AMOUNT_BOUND = Decimal(10) ** 17  # amounts are NUMERIC(19, 2)
# Listings select the table's columns, not the mapped class: rows then skip the ORM's
# per-row loading, about 40 % of what fetching an export's rows costs.
_INVOICES: Table = Invoice.__table__  # type: ignore[assignment]


class InvoiceSort(StrEnum):
    """The orders a listing can be read in; a leading `-` reads it from the largest."""

    DEPOSITED_AT = "deposited_at"
    DEPOSITED_AT_DESC = "-deposited_at"
    ISSUE_DATE = "issue_date"
    ISSUE_DATE_DESC = "-issue_date"
    AMOUNT_DUE = "amount_due"
    AMOUNT_DUE_DESC = "-amount_due"
    DUE_AT = "due_at"
    DUE_AT_DESC = "-due_at"

    @property
    def field(self) -> str:
        """The column sorted on."""
        return self.value.removeprefix("-")

    @property
    def descending(self) -> bool:
        """Whether the largest values come first."""
        return self.value.startswith("-")


@dataclass(frozen=True)
class InvoiceFilter:
    """Which invoices a listing holds; every given criterion must hold (None: any).

    `buyer_sirets` and `seller_sirets` are also the caller's scope: the route always sets
    one of them to SIRETs the caller acts for. Date ranges are inclusive calendar days;
    deposit days are days in Paris, as users read them.
    """

    buyer_sirets: frozenset[str] | None = None
    seller_sirets: frozenset[str] | None = None
    seller_siren: str | None = None
    buyer_siren: str | None = None
    number: str | None = None  # a part of the invoice number, in any case
    statuses: frozenset[str] = frozenset()
    service_code: str | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    deposited_from: date | None = None
    deposited_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    overdue: bool | None = None
    downloaded: bool | None = None


@dataclass(frozen=True, slots=True)
class ListedInvoice:
    """One invoice as listings and exports show it (the columns of `_LISTED`, in order)."""

    id: str
    number: str
    seller_key: str
    seller_name: str | None
    buyer_siret: str | None
    buyer_name: str | None
    service_code: str | None
    commitment_number: str | None
    issue_date: date | None
    deposited_at: datetime
    amount_due: Decimal | None
    currency: str | None
    status: str
    status_at: datetime
    due_at: datetime | None
    paid_on: date | None
    overdue: bool


@dataclass(frozen=True)
class InvoiceListPage:
    """One page of a listing, and the cursor of the next one (None: this is the last)."""

    items: list[ListedInvoice]
    next_cursor: str | None


_SORT_COLUMNS: dict[str, tuple[Column[Any], type]] = {
    "deposited_at": (_INVOICES.c.deposited_at, datetime),
    "issue_date": (_INVOICES.c.issue_date, date),
    "amount_due": (_INVOICES.c.amount_due, Decimal),
    "due_at": (_INVOICES.c.due_at, datetime),
}


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    """Past its due date, unpaid, and its process still open: what users call overdue.

    Never NULL (an invoice without a due date is not overdue), so it can be negated.
    """
    return and_(
        _INVOICES.c.due_at.is_not(None),
        _INVOICES.c.due_at < now,
        _INVOICES.c.paid_on.is_(None),
        _INVOICES.c.status.not_in([str(status) for status in FINAL_STATUSES]),
    )


def paris_day_start(day: date) -> datetime:
    """The instant a calendar day starts in Paris."""
    return datetime.combine(day, time(), tzinfo=PARIS).astimezone(UTC)


class InvalidCursor(InvalidInput):
    """A cursor this listing did not hand out (or handed out for another sort)."""

    def __init__(self, reason: str) -> None:
        detail = f"the cursor is not one this listing returned: {reason}"
        super().__init__(
            ErrorCode.VALIDATION_FAILED,
            detail,
            errors=[{"in": "query", "parameter": "cursor", "detail": detail}],
        )


@dataclass(frozen=True)
class Cursor:
    """The position after a row: its sort key (None when the row has no value) and id."""

    sort: InvoiceSort
    key: date | datetime | Decimal | None
    id: str

    def encode(self) -> str:
        """Opaque to clients: base64url of a small JSON object, without padding."""
        key = str(self.key) if isinstance(self.key, Decimal) else self.key
        if isinstance(key, date):
            key = key.isoformat()
        raw = json.dumps({"s": self.sort.value, "k": key, "i": self.id})
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, sort: InvoiceSort) -> Cursor:
        """The cursor `encode` gave for this sort, or `InvalidCursor` (422)."""
        try:
            raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidCursor("not base64url JSON") from None
        if not isinstance(raw, dict) or set(raw) != {"s", "k", "i"}:
            raise InvalidCursor("not a cursor")
        if raw["s"] != sort.value:
            raise InvalidCursor(f"it was given for sort={raw['s']!r}, not {sort.value!r}")
        if not isinstance(raw["i"], str) or not _INVOICE_ID.match(raw["i"]):
            raise InvalidCursor("no invoice id")
        if raw["k"] is not None and not isinstance(raw["k"], str):
            raise InvalidCursor("no sort key")
        key = None if raw["k"] is None else _parse_key(raw["k"], _SORT_COLUMNS[sort.field][1])
        return cls(sort, key, raw["i"])


def _parse_key(text: str, kind: type) -> date | datetime | Decimal:
    """A sort key as the column holds it; anything else (unreadable, a naive time, a time
    or an amount the database could not compare) is refused rather than left to fail."""
    try:
        if kind is datetime:
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                raise InvalidCursor("a sort key without time zone")
            return parsed.astimezone(UTC)
        if kind is date:
            return date.fromisoformat(text)
        amount = Decimal(text)
    except (ValueError, InvalidOperation, OverflowError):
        raise InvalidCursor("an unreadable sort key") from None
    if not amount.is_finite() or abs(amount) >= _AMOUNT_BOUND:
        raise InvalidCursor("an unreadable sort key")
    return amount


class InvoiceQueries:
    """The listing queries on `invoices`, and the one fact the API writes there."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self,
        listing: InvoiceFilter,
        sort: InvoiceSort,
        now: datetime,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        after: Cursor | None = None,
    ) -> InvoiceListPage:
        """Up to `limit` invoices after the cursor, in `sort` order, ties broken by id."""
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be within 1..{MAX_PAGE_SIZE}")
        query = listing_query(listing, sort, now, after=after).limit(limit + 1)
        rows = (await self.session.execute(query)).all()
        items = [ListedInvoice(*row) for row in rows[:limit]]
        if len(rows) <= limit:
            return InvoiceListPage(items, None)
        last = items[-1]
        return InvoiceListPage(items, Cursor(sort, getattr(last, sort.field), last.id).encode())

    async def export(
        self, listing: InvoiceFilter, sort: InvoiceSort, now: datetime, *, batch: int = EXPORT_BATCH
    ) -> AsyncIterator[Sequence[ListedInvoice]]:
        """Every matching invoice in `sort` order, `batch` rows at a time.

        The query runs here, before the first batch is asked for, so a database that does
        not answer fails the request instead of truncating a file already being sent.
        """
        result = await self.session.stream(
            listing_query(listing, sort, now).execution_options(yield_per=batch)
        )
        return _batches(result)

    async def mark_downloaded(self, invoice_id: str, at: datetime) -> bool:
        """Record the first download of the invoice's file by its buyer; False if it was not
        the first.

        The workflow owns the invoice's process, but this is not process state: it is a fact
        only the API observes (someone fetched the file), so the API records it, in a
        statement that touches no other column and so cannot undo a workflow's write.
        """
        done = await self.session.execute(
            update(Invoice)
            .where(Invoice.id == invoice_id, Invoice.downloaded_at.is_(None))
            .values(downloaded_at=at)
            .execution_options(synchronize_session=False)
        )
        return bool(done.rowcount)  # type: ignore[attr-defined]


_LISTED = (
    _INVOICES.c.id,
    _INVOICES.c.number,
    _INVOICES.c.seller_key,
    _INVOICES.c.seller_name,
    _INVOICES.c.buyer_siret,
    _INVOICES.c.buyer_name,
    _INVOICES.c.service_code,
    _INVOICES.c.commitment_number,
    _INVOICES.c.issue_date,
    _INVOICES.c.deposited_at,
    _INVOICES.c.amount_due,
    _INVOICES.c.currency,
    _INVOICES.c.status,
    _INVOICES.c.status_at,
    _INVOICES.c.due_at,
    _INVOICES.c.paid_on,
)


def listing_query(
    listing: InvoiceFilter, sort: InvoiceSort, now: datetime, *, after: Cursor | None = None
) -> Select[Any]:
    """The listing's query in `sort` order, from after the cursor, without a limit: pages
    add theirs, the export has none (and benchmarks EXPLAIN it)."""
    overdue = overdue_condition(now)
    query = select(*_LISTED, case((overdue, true()), else_=false()).label("overdue")).where(
        *_criteria(listing, overdue)
    )
    if after is not None:
        query = query.where(_after(sort, after))
    column, _ = _SORT_COLUMNS[sort.field]
    if sort.descending:
        # NULL sorts as the largest value, as PostgreSQL does natively (indexes agree).
        key = column.desc().nulls_first() if column.nullable else column.desc()
        return query.order_by(key, _INVOICES.c.id.desc())
    key = column.asc().nulls_last() if column.nullable else column.asc()
    return query.order_by(key, _INVOICES.c.id.asc())


def _criteria(listing: InvoiceFilter, overdue: ColumnElement[bool]) -> list[ColumnElement[bool]]:
    criteria: list[ColumnElement[bool]] = []
    if listing.buyer_sirets is not None:
        criteria.append(_INVOICES.c.buyer_siret.in_(sorted(listing.buyer_sirets)))
    if listing.seller_sirets is not None:
        criteria.append(_INVOICES.c.seller_key.in_(sorted(listing.seller_sirets)))
    if listing.seller_siren is not None:
        criteria.append(_INVOICES.c.seller_key.startswith(listing.seller_siren, autoescape=True))
    if listing.buyer_siren is not None:
        criteria.append(_INVOICES.c.buyer_siret.startswith(listing.buyer_siren, autoescape=True))
    if listing.number is not None:
        criteria.append(
            func.lower(_INVOICES.c.number).contains(listing.number.lower(), autoescape=True)
        )
    if listing.statuses:
        criteria.append(_INVOICES.c.status.in_(sorted(listing.statuses)))
    if listing.service_code is not None:
        criteria.append(_INVOICES.c.service_code == listing.service_code)
    if listing.issued_from is not None:
        criteria.append(_INVOICES.c.issue_date >= listing.issued_from)
    if listing.issued_to is not None:
        criteria.append(_INVOICES.c.issue_date <= listing.issued_to)
    if listing.deposited_from is not None:
        criteria.append(_INVOICES.c.deposited_at >= paris_day_start(listing.deposited_from))
    if listing.deposited_to is not None:
        next_day = listing.deposited_to + timedelta(days=1)
        criteria.append(_INVOICES.c.deposited_at < paris_day_start(next_day))
    if listing.amount_min is not None:
        criteria.append(_INVOICES.c.amount_due >= listing.amount_min)
    if listing.amount_max is not None:
        criteria.append(_INVOICES.c.amount_due <= listing.amount_max)
    if listing.overdue is not None:
        criteria.append(overdue if listing.overdue else not_(overdue))
    if listing.downloaded is not None:
        downloaded = _INVOICES.c.downloaded_at.is_not(None)
        criteria.append(downloaded if listing.downloaded else not_(downloaded))
    return criteria


def _after(sort: InvoiceSort, cursor: Cursor) -> ColumnElement[bool]:
    """The rows that come after the cursor's row in `sort` order (NULL keys sort largest).

    Written as a row-value comparison where the key is not NULL, so PostgreSQL seeks the
    composite index straight to the position instead of filtering the rows before it.
    """
    column, _ = _SORT_COLUMNS[sort.field]
    position = tuple_(column, _INVOICES.c.id)
    if cursor.key is None:
        if sort.descending:
            return or_(column.is_not(None), and_(column.is_(None), _INVOICES.c.id < cursor.id))
        return and_(column.is_(None), _INVOICES.c.id > cursor.id)
    if sort.descending:
        return position < (cursor.key, cursor.id)
    later = position > (cursor.key, cursor.id)
    return or_(later, column.is_(None)) if column.nullable else later


async def _batches(result: AsyncResult[Any]) -> AsyncIterator[Sequence[ListedInvoice]]:
    async for partition in result.partitions():
        yield [ListedInvoice(*row) for row in partition]
