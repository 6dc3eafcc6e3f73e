"""Invoice listings: what a structure received, what a supplier sent, and the CSV export.

Buyers, accountants and project managers list the invoices addressed to their
structures; suppliers list their own. Both read the same filters, sorts and keyset
pages; the routes only check what the caller may see and hand the rest to
`store.invoice_queries`. Unknown query parameters are refused: a misspelt filter would
otherwise silently list everything.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SessionDep, require_roles
from api.routes.directory import NO_CONTROL_CHARACTERS
from api.routes.invoices import Blobs, InvoiceId, InvoiceNotFound, get_original, visible_invoice
from api.routes.invoices import Supplier as SupplierPrincipal
from api.schemas import ResponseModel
from core.errors import InvalidInput
from core.principals import Principal, Role
from directory.identifiers import check_siren, check_siret
from invoicing.deadlines import PARIS
from invoicing.statuses import InvoiceStatus
from store.directory import StructureNotFound, SupplierNotFound
from store.invoice_queries import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Cursor,
    InvoiceFilter,
    InvoiceListPage,
    InvoiceQueries,
    InvoiceSort,
    ListedInvoice,
)

router = APIRouter(prefix="/v1", tags=["invoice listings"])

Receiver = Annotated[Principal, Depends(require_roles(Role.BUYER, Role.ACCOUNTANT, Role.MOE))]
# Far enough for any invoice, near enough that a Paris midnight never leaves datetime's range.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)
CSV_COLUMNS = (
    "id",
    "number",
    "seller",
    "seller_name",
    "buyer_siret",
    "service_code",
    "commitment_number",
    "issue_date",
    "deposited_at",
    "amount_due",
    "currency",
    "status",
    "status_at",
    "due_at",
    "paid_on",
)
# A cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection"):
# invoice numbers and names come from suppliers' files, so they are quoted as text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class InvoiceLinks(ResponseModel):
    """Where to read the invoice and fetch its file."""

    self: str
    original: str


class InvoiceSummary(ResponseModel):
    """An invoice in a listing: who, what, how much, and where it stands since when."""

    id: str
    number: str
    seller: str = Field(description="The supplier's SIRET")
    seller_name: str | None
    buyer_siret: str | None
    buyer_name: str | None
    service_code: str | None
    commitment_number: str | None
    issue_date: date | None
    deposited_at: datetime
    amount_due: str | None = Field(description="Decimal, as a string so no digit is lost")
    currency: str | None
    status: InvoiceStatus
    status_at: datetime = Field(description="When the invoice reached its current status")
    due_at: datetime | None
    paid_on: date | None
    overdue: bool = Field(description="Past its due date, unpaid, process still open")
    links: InvoiceLinks


class InvoicePage(ResponseModel):
    """A page of invoices; pass `next` as `cursor` to read the following page (null: last)."""

    items: list[InvoiceSummary]
    next: str | None


class ListingFilters(BaseModel):
    """The filters and sort both sides share."""

    model_config = ConfigDict(extra="forbid")

    status: list[InvoiceStatus] = Field(
        default_factory=list, max_length=len(InvoiceStatus), description="Repeatable."
    )
    number: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        pattern=NO_CONTROL_CHARACTERS,
        description="A part of the invoice number, in any case.",
    )
    issued_from: date | None = Field(None, ge=FIRST_DAY, le=LAST_DAY, description="Inclusive.")
    issued_to: date | None = Field(None, ge=FIRST_DAY, le=LAST_DAY, description="Inclusive.")
    deposited_from: date | None = Field(
        None, ge=FIRST_DAY, le=LAST_DAY, description="Inclusive, a day in Paris."
    )
    deposited_to: date | None = Field(
        None, ge=FIRST_DAY, le=LAST_DAY, description="Inclusive, a day in Paris."
    )
    amount_min: Decimal | None = Field(
        None, max_digits=17, decimal_places=2, description="On the amount due, inclusive."
    )
    amount_max: Decimal | None = Field(
        None, max_digits=17, decimal_places=2, description="On the amount due, inclusive."
    )
    overdue: bool | None = Field(
        None, description="true: past due, unpaid, still open; false: the others."
    )
    sort: InvoiceSort = InvoiceSort.DEPOSITED_AT_DESC


class Paging(BaseModel):
    """Which page to read."""

    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    cursor: str | None = Field(
        None, max_length=500, description="`next` of the previous page, with the same sort."
    )


class ReceivedFilters(ListingFilters):
    """A structure's filters on the invoices it received."""

    structure: str | None = Field(
        None, max_length=32, description="One of your SIRETs (default: all of them)."
    )
    supplier: str | None = Field(
        None, max_length=32, description="A SIRET, or a SIREN for all its establishments."
    )
    service: str | None = Field(
        None, max_length=100, pattern=NO_CONTROL_CHARACTERS, description="Service code."
    )
    not_downloaded: bool = Field(False, description="true: only files never downloaded.")


class ReceivedPageQuery(Paging, ReceivedFilters):
    """A page of received invoices."""


class SupplierPageQuery(Paging, ListingFilters):
    """A page of a supplier's own invoices."""

    seller: str | None = Field(
        None, max_length=32, description="One of your SIRETs (default: all of them)."
    )
    siren: str | None = Field(
        None, max_length=32, description="Your SIRETs of this SIREN (default: all)."
    )
    buyer: str | None = Field(
        None, max_length=32, description="The buyer's SIRET, or a SIREN for all its structures."
    )


@router.get(
    "/received-invoices",
    response_model=InvoicePage,
    summary="Invoices addressed to your structures",
    responses={404: {"description": "`structure` is not one you act for"}},
)
async def list_received(
    principal: Receiver, session: SessionDep, query: Annotated[ReceivedPageQuery, Query()]
) -> InvoicePage:
    """Newest deposit first by default, 50 a page; every filter given must hold."""
    page = await InvoiceQueries(session).page(
        _received(principal, query),
        query.sort,
        datetime.now(UTC),
        limit=query.limit,
        after=Cursor.decode(query.cursor, query.sort) if query.cursor else None,
    )
    return _page(page, _received_links)


@router.get(
    "/received-invoices.csv",
    response_class=StreamingResponse,
    summary="Invoices addressed to your structures, as a CSV file",
    responses={200: {"content": {"text/csv": {}}}, 404: {"description": "see the listing"}},
)
async def export_received(
    principal: Receiver, session: SessionDep, query: Annotated[ReceivedFilters, Query()]
) -> StreamingResponse:
    """Every invoice the same filters list, streamed: `;`-separated, UTF-8 with a BOM,
    decimal commas and Paris times, as French spreadsheets open it."""
    now = datetime.now(UTC)
    batches = await InvoiceQueries(session).export(_received(principal, query), query.sort, now)
    filename = f"received-invoices-{now.astimezone(PARIS):%Y-%m-%d}.csv"
    return StreamingResponse(
        csv_chunks(batches),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/received-invoices/{invoice_id}/original",
    response_class=StreamingResponse,
    summary="Download a received invoice's file (marks it downloaded)",
    responses={404: {"description": "not an invoice addressed to your structures"}},
)
async def download_received(
    invoice_id: InvoiceId, principal: Receiver, session: SessionDep, blobs: Blobs
) -> StreamingResponse:
    """The deposited bytes, as `/v1/invoices/{id}/original`; the first download is recorded
    so `not_downloaded=true` lists what nobody has fetched yet."""
    invoice = await visible_invoice(session, principal, invoice_id)
    if invoice.buyer_siret is None or invoice.buyer_siret not in principal.sirets:
        raise InvoiceNotFound(f"no invoice {invoice_id}")
    await InvoiceQueries(session).mark_downloaded(invoice_id, datetime.now(UTC))
    await session.commit()
    return await get_original(invoice_id, principal, session, blobs)


@router.get("/invoices", response_model=InvoicePage, summary="Your invoices, as their supplier")
async def list_sent(
    principal: SupplierPrincipal,
    session: SessionDep,
    query: Annotated[SupplierPageQuery, Query()],
) -> InvoicePage:
    """Every invoice of your SIRETs, with its status and the date it reached it."""
    sirets = principal.sirets
    if query.seller is not None:
        seller = _checked(check_siret, query.seller, "seller")
        if seller not in sirets:
            raise SupplierNotFound(f"you do not act for the SIRET {query.seller}")
        sirets = frozenset({seller})
    if query.siren is not None:
        siren = _checked(check_siren, query.siren, "siren")
        if not any(siret.startswith(siren) for siret in principal.sirets):
            raise SupplierNotFound(f"you act for no SIRET of the SIREN {query.siren}")
        sirets = frozenset(siret for siret in sirets if siret.startswith(siren))
    buyers, buyer_siren = _one_or_all(query.buyer, "buyer")
    page = await InvoiceQueries(session).page(
        InvoiceFilter(
            seller_sirets=sirets, buyer_sirets=buyers, buyer_siren=buyer_siren, **_shared(query)
        ),
        query.sort,
        datetime.now(UTC),
        limit=query.limit,
        after=Cursor.decode(query.cursor, query.sort) if query.cursor else None,
    )
    return _page(page, _sent_links)


def _received(principal: Principal, query: ReceivedFilters) -> InvoiceFilter:
    """The filter of a structure's listing, scoped to the SIRETs the caller acts for."""
    structures = principal.sirets
    if query.structure is not None:
        structure = _checked(check_siret, query.structure, "structure")
        if structure not in structures:
            # The same answer whether it exists or not: never reveal.
            raise StructureNotFound(f"you do not act for the structure {query.structure}")
        structures = frozenset({structure})
    sellers, siren = _one_or_all(query.supplier, "supplier")
    return InvoiceFilter(
        buyer_sirets=structures,
        seller_sirets=sellers,
        seller_siren=siren,
        service_code=query.service,
        downloaded=False if query.not_downloaded else None,
        **_shared(query),
    )


def _one_or_all(value: str | None, parameter: str) -> tuple[frozenset[str] | None, str | None]:
    """A party given as a SIRET (that establishment) or a SIREN (all of them)."""
    if value is None:
        return None, None
    if len(value.replace(" ", "")) == 9:
        return None, _checked(check_siren, value, parameter)
    return frozenset({_checked(check_siret, value, parameter)}), None


def _shared(query: ListingFilters) -> dict[str, object]:
    return {
        "number": query.number,
        "statuses": frozenset(query.status),
        "issued_from": query.issued_from,
        "issued_to": query.issued_to,
        "deposited_from": query.deposited_from,
        "deposited_to": query.deposited_to,
        "amount_min": query.amount_min,
        "amount_max": query.amount_max,
        "overdue": query.overdue,
    }


def _checked(check: Callable[[str], str], value: str, parameter: str) -> str:
    """`check(value)`, its refusal naming the query parameter like other 422s do."""
    try:
        return check(value)
    except InvalidInput as refused:
        raise InvalidInput(
            refused.code,
            refused.detail,
            errors=[{"in": "query", "parameter": parameter, "detail": refused.detail}],
        ) from None


def _received_links(invoice_id: str) -> InvoiceLinks:
    return InvoiceLinks(
        self=f"/v1/invoices/{invoice_id}", original=f"/v1/received-invoices/{invoice_id}/original"
    )


def _sent_links(invoice_id: str) -> InvoiceLinks:
    return InvoiceLinks(
        self=f"/v1/invoices/{invoice_id}", original=f"/v1/invoices/{invoice_id}/original"
    )


def _page(page: InvoiceListPage, links: Callable[[str], InvoiceLinks]) -> InvoicePage:
    return InvoicePage(
        items=[
            InvoiceSummary(
                id=item.id,
                number=item.number,
                seller=item.seller_key,
                seller_name=item.seller_name,
                buyer_siret=item.buyer_siret,
                buyer_name=item.buyer_name,
                service_code=item.service_code,
                commitment_number=item.commitment_number,
                issue_date=item.issue_date,
                deposited_at=item.deposited_at,
                amount_due=None if item.amount_due is None else str(item.amount_due),
                currency=item.currency,
                status=InvoiceStatus(item.status),
                status_at=item.status_at,
                due_at=item.due_at,
                paid_on=item.paid_on,
                overdue=item.overdue,
                links=links(item.id),
            )
            for item in page.items
        ],
        next=page.next_cursor,
    )


async def csv_chunks(batches: AsyncIterator[Sequence[ListedInvoice]]) -> AsyncIterator[bytes]:
    """The header, then one chunk per batch of rows (CRLF line ends, as RFC 4180 says)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(CSV_COLUMNS)
    yield codecs.BOM_UTF8 + buffer.getvalue().encode()
    async for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(_csv_row(invoice) for invoice in batch)
        yield buffer.getvalue().encode()


def _csv_row(invoice: ListedInvoice) -> tuple[str, ...]:
    """One invoice as CSV cells, in `CSV_COLUMNS` order."""
    return (
        invoice.id,
        _text(invoice.number),
        invoice.seller_key,
        _text(invoice.seller_name),
        invoice.buyer_siret or "",
        _text(invoice.service_code),
        _text(invoice.commitment_number),
        _day(invoice.issue_date),
        _paris(invoice.deposited_at),
        "" if invoice.amount_due is None else str(invoice.amount_due).replace(".", ","),
        invoice.currency or "",
        invoice.status,
        _paris(invoice.status_at),
        _paris(invoice.due_at),
        _day(invoice.paid_on),
    )


def _text(value: str | None) -> str:
    if value is None:
        return ""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def _paris(value: datetime | None) -> str:
    """A time on the Paris wall clock, in the form spreadsheets read as a date and time."""
    # isoformat, cut before the offset, is three times faster than strftime per cell.
    return "" if value is None else value.astimezone(PARIS).isoformat(" ", "seconds")[:19]
