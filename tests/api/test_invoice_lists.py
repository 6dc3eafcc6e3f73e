"""Invoice listings through the API: what structures received, what suppliers sent, CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from api.routes.invoice_lists import csv_chunks
from core.principals import Role
from directory.records import ServiceRecord, StructureCategory, StructureRecord
from invoicing.formats import write_invoice
from invoicing.syntax import Syntax
from store.database import transaction
from store.directory import DirectoryRepository
from store.invoice_queries import ListedInvoice
from store.models import Invoice
from tests.api.test_conventions import assert_problem
from tests.conftest import ApiServer
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET, an_invoice

CITY = "21750001600019"
WORKSHOP_LYON = "73282932001007"  # same SIREN as SELLER_SIRET
PRINTER = "44306184100047"


@dataclass
class Deposits:
    """Four invoices: three from the workshop's two establishments, one from a printer."""

    api: ApiServer
    workshop: httpx.AsyncClient
    printer: httpx.AsyncClient
    ministry: httpx.AsyncClient
    ids: dict[str, str]
    files: dict[str, bytes]

    async def numbers(self, client: httpx.AsyncClient, url: str, **params: object) -> list[str]:
        response = await client.get(url, params=params)
        assert response.status_code == 200, response.text
        return [item["number"] for item in response.json()["items"]]


async def deposit(client: httpx.AsyncClient, number: str, **fields: object) -> tuple[str, bytes]:
    body = write_invoice(an_invoice(number, **fields), Syntax.UBL)  # type: ignore[arg-type]
    response = await client.post(
        "/v1/invoices", content=body, headers={"Content-Type": "application/xml"}
    )
    assert response.status_code == 201, response.text
    return response.json()["id"], body


@pytest.fixture
async def deposits(api: ApiServer, workers: object) -> Deposits:
    async with transaction(api.sessions) as session:
        directory = DirectoryRepository(session)
        await directory.upsert_structure(
            StructureRecord(
                BUYER_SIRET,
                "Ministère des tests",
                StructureCategory.STATE,
                services=(ServiceRecord("IMMO", "Immobilier"),),
            )
        )
        await directory.upsert_structure(
            StructureRecord(CITY, "Ville de test", StructureCategory.LOCAL_AUTHORITY)
        )
    workshop = await api.as_role(Role.SUPPLIER, SELLER_SIRET, WORKSHOP_LYON)
    printer = await api.as_role(Role.SUPPLIER, PRINTER)
    deposited = {
        "F-1": await deposit(workshop, "F-1", amount="1200.00", service_code="IMMO"),
        "L-1": await deposit(workshop, "L-1", amount="500.00", seller_siret=WORKSHOP_LYON),
        "C-1": await deposit(workshop, "C-1", amount="100.00", buyer_siret=CITY),
        "P-1": await deposit(printer, "P-1", amount="2000.00", seller_siret=PRINTER),
    }
    return Deposits(
        api,
        workshop,
        printer,
        await api.as_role(Role.BUYER, BUYER_SIRET),
        ids={number: id_ for number, (id_, _) in deposited.items()},
        files={number: body for number, (_, body) in deposited.items()},
    )


async def test_a_structure_lists_its_received_invoices_newest_deposit_first(
    deposits: Deposits,
) -> None:
    response = await deposits.ministry.get("/v1/received-invoices")

    assert response.status_code == 200, response.text
    page = response.json()
    assert [item["number"] for item in page["items"]] == ["P-1", "L-1", "F-1"]
    assert page["next"] is None
    first = page["items"][2]
    assert first["id"] == deposits.ids["F-1"]
    assert (first["seller"], first["buyer_siret"]) == (SELLER_SIRET, BUYER_SIRET)
    assert first["seller_name"] == "Atelier Exemple SAS"
    assert (first["amount_due"], first["currency"]) == ("1440.00", "EUR")
    assert (first["service_code"], first["issue_date"]) == ("IMMO", "2026-01-15")
    assert first["status"] == "MISE_A_DISPOSITION"
    assert first["status_at"] and first["due_at"] and first["overdue"] is False
    assert first["links"] == {
        "self": f"/v1/invoices/{first['id']}",
        "original": f"/v1/received-invoices/{first['id']}/original",
    }


async def test_filters_narrow_the_received_invoices(deposits: Deposits) -> None:
    received = "/v1/received-invoices"
    ministry = deposits.ministry

    assert await deposits.numbers(ministry, received, supplier=SELLER_SIRET[:9]) == [
        "L-1",
        "F-1",
    ]
    assert await deposits.numbers(ministry, received, supplier=WORKSHOP_LYON) == ["L-1"]
    assert await deposits.numbers(ministry, received, service="IMMO") == ["F-1"]
    assert await deposits.numbers(ministry, received, number="p-1") == ["P-1"]
    amounts = {"amount_min": "600.00", "amount_max": "1440"}
    assert await deposits.numbers(ministry, received, **amounts) == ["L-1", "F-1"]
    assert await deposits.numbers(ministry, received, sort="amount_due") == ["L-1", "F-1", "P-1"]
    assert await deposits.numbers(ministry, received, overdue="true") == []
    statuses = [("status", "MISE_A_DISPOSITION"), ("status", "SUSPENDUE"), ("limit", "2")]
    two_open = (await ministry.get(received, params=statuses)).json()["items"]
    assert [item["number"] for item in two_open] == ["P-1", "L-1"]


async def test_a_listing_shows_the_status_an_action_led_to_and_since_when(
    deposits: Deposits,
) -> None:
    taken = await deposits.ministry.post(
        f"/v1/invoices/{deposits.ids['F-1']}/actions", json={"action": "TAKE"}
    )
    assert taken.status_code == 200, taken.text

    response = await deposits.ministry.get(
        "/v1/received-invoices", params={"status": "PRISE_EN_COMPTE"}
    )
    (item,) = response.json()["items"]
    assert (item["number"], item["status"]) == ("F-1", "PRISE_EN_COMPTE")
    assert item["status_at"] > item["deposited_at"]


async def test_pages_of_one_read_every_received_invoice_once(deposits: Deposits) -> None:
    read, cursor = [], None
    for _ in range(5):
        params = {"limit": 1, "sort": "-amount_due"} | ({"cursor": cursor} if cursor else {})
        page = (await deposits.ministry.get("/v1/received-invoices", params=params)).json()
        read += [item["number"] for item in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert read == ["P-1", "F-1", "L-1"]


async def test_a_buyer_of_several_structures_sees_all_or_the_one_it_names(
    api: ApiServer, deposits: Deposits
) -> None:
    both = await api.as_role(Role.ACCOUNTANT, BUYER_SIRET, CITY)
    received = "/v1/received-invoices"

    assert await deposits.numbers(both, received) == ["P-1", "C-1", "L-1", "F-1"]
    assert await deposits.numbers(both, received, structure=CITY) == ["C-1"]
    stranger = await both.get(received, params={"structure": "26750045200011"})
    assert_problem(stranger, 404, "STRUCTURE_NOT_FOUND")


async def test_the_csv_export_opens_in_a_french_spreadsheet(deposits: Deposits) -> None:
    response = await deposits.ministry.get(
        "/v1/received-invoices.csv", params={"sort": "deposited_at"}
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="received-invoices-'
    )
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
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
    ]
    assert [row[1] for row in rows[1:]] == ["F-1", "L-1", "P-1"]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert (first["id"], first["seller"]) == (deposits.ids["F-1"], SELLER_SIRET)
    assert (first["amount_due"], first["service_code"]) == ("1440,00", "IMMO")
    assert first["issue_date"] == "2026-01-15"
    assert len(first["deposited_at"]) == len("2026-11-23 17:24:00")
    assert first["paid_on"] == ""


async def test_cells_a_spreadsheet_would_run_as_formulas_are_quoted_as_text() -> None:
    hostile = ListedInvoice(
        id="0" * 36,
        number="-2+3",
        seller_key=SELLER_SIRET,
        seller_name='=HYPERLINK("http://evil.example","Payez ici")',
        buyer_siret=BUYER_SIRET,
        buyer_name=None,
        service_code="@SUM(A1)",
        commitment_number=None,
        issue_date=date(2026, 1, 15),
        deposited_at=datetime(2026, 1, 31, 23, 30, tzinfo=UTC),
        amount_due=Decimal("-12.50"),
        currency="EUR",
        status="MISE_A_DISPOSITION",
        status_at=datetime(2026, 7, 1, 8, 0, tzinfo=UTC),
        due_at=None,
        paid_on=None,
        overdue=False,
    )

    async def one_batch() -> AsyncIterator[list[ListedInvoice]]:
        yield [hostile]

    body = b"".join([chunk async for chunk in csv_chunks(one_batch())]).decode("utf-8-sig")
    row = next(csv.DictReader(io.StringIO(body), delimiter=";"))
    assert row["number"] == "'-2+3"
    assert row["seller_name"].startswith("'=HYPERLINK(")
    assert row["service_code"] == "'@SUM(A1)"
    assert row["amount_due"] == "-12,50"  # our own number, left a number
    assert row["deposited_at"] == "2026-02-01 00:30:00"  # Paris, winter time
    assert row["status_at"] == "2026-07-01 10:00:00"  # Paris, summer time


async def test_the_export_takes_the_listing_filters(deposits: Deposits) -> None:
    response = await deposits.ministry.get(
        "/v1/received-invoices.csv", params={"supplier": PRINTER}
    )
    lines = response.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and lines[1].split(";")[1] == "P-1"


async def test_downloading_a_received_file_marks_it_downloaded_once(
    api: ApiServer, deposits: Deposits
) -> None:
    received, ministry = "/v1/received-invoices", deposits.ministry
    not_downloaded = {"not_downloaded": "true"}
    assert await deposits.numbers(ministry, received, **not_downloaded) == ["P-1", "L-1", "F-1"]

    first = await ministry.get(f"{received}/{deposits.ids['F-1']}/original")
    assert first.status_code == 200, first.text
    assert first.content == deposits.files["F-1"]
    assert await deposits.numbers(ministry, received, **not_downloaded) == ["P-1", "L-1"]
    async with api.sessions() as session:
        marked = await session.scalar(
            select(Invoice.downloaded_at).where(Invoice.id == deposits.ids["F-1"])
        )
    await ministry.get(f"{received}/{deposits.ids['F-1']}/original")
    async with api.sessions() as session:
        again = await session.scalar(
            select(Invoice.downloaded_at).where(Invoice.id == deposits.ids["F-1"])
        )
    assert marked is not None and again == marked


async def test_only_the_buyer_may_download_through_received_invoices(
    deposits: Deposits,
) -> None:
    city_invoice = f"/v1/received-invoices/{deposits.ids['C-1']}/original"
    assert_problem(await deposits.ministry.get(city_invoice), 404, "INVOICE_NOT_FOUND")
    assert_problem(await deposits.workshop.get(city_invoice), 403, "FORBIDDEN_ROLE")


async def test_a_supplier_lists_its_own_invoices_across_its_sirets(deposits: Deposits) -> None:
    workshop = deposits.workshop

    assert await deposits.numbers(workshop, "/v1/invoices") == ["C-1", "L-1", "F-1"]
    assert await deposits.numbers(workshop, "/v1/invoices", seller=WORKSHOP_LYON) == ["L-1"]
    by_siren = await deposits.numbers(workshop, "/v1/invoices", siren=SELLER_SIRET[:9])
    assert by_siren == ["C-1", "L-1", "F-1"]
    assert await deposits.numbers(deposits.printer, "/v1/invoices") == ["P-1"]
    item = (await workshop.get("/v1/invoices", params={"seller": WORKSHOP_LYON})).json()
    (lyon,) = item["items"]
    assert (lyon["status"], lyon["amount_due"]) == ("MISE_A_DISPOSITION", "600.00")
    assert lyon["status_at"] is not None
    assert lyon["links"]["original"] == f"/v1/invoices/{lyon['id']}/original"
    # A part of the number, in any case; the buyer by SIRET or by SIREN.
    assert await deposits.numbers(workshop, "/v1/invoices", number="l-") == ["L-1"]
    assert await deposits.numbers(workshop, "/v1/invoices", buyer=CITY) == ["C-1"]
    by_buyer_siren = await deposits.numbers(workshop, "/v1/invoices", buyer=BUYER_SIRET[:9])
    assert by_buyer_siren == ["L-1", "F-1"]
    assert await deposits.numbers(workshop, "/v1/invoices", number="%") == []


async def test_a_supplier_naming_a_siret_it_does_not_act_for_gets_404(
    deposits: Deposits,
) -> None:
    other = await deposits.workshop.get("/v1/invoices", params={"seller": PRINTER})
    assert_problem(other, 404, "SUPPLIER_NOT_FOUND")
    other_siren = await deposits.workshop.get("/v1/invoices", params={"siren": PRINTER[:9]})
    assert_problem(other_siren, 404, "SUPPLIER_NOT_FOUND")


async def test_each_side_reads_only_its_own_listing(api: ApiServer) -> None:
    supplier = await api.as_role(Role.SUPPLIER, SELLER_SIRET)
    buyer = await api.as_role(Role.BUYER, BUYER_SIRET)
    assert_problem(await supplier.get("/v1/received-invoices"), 403, "FORBIDDEN_ROLE")
    assert_problem(await supplier.get("/v1/received-invoices.csv"), 403, "FORBIDDEN_ROLE")
    assert_problem(await buyer.get("/v1/invoices"), 403, "FORBIDDEN_ROLE")


BAD_RECEIVED_QUERIES = [
    ({"amount_min": "1e400"}, "VALIDATION_FAILED", "amount_min"),
    ({"amount_max": "NaN"}, "VALIDATION_FAILED", "amount_max"),
    ({"amount_min": "12.345"}, "VALIDATION_FAILED", "amount_min"),
    ({"limit": "201"}, "VALIDATION_FAILED", "limit"),
    ({"limit": "0"}, "VALIDATION_FAILED", "limit"),
    ({"limit": "9" * 40}, "VALIDATION_FAILED", "limit"),
    ({"cursor": "garbage"}, "VALIDATION_FAILED", "cursor"),
    ({"cursor": "x" * 501}, "VALIDATION_FAILED", "cursor"),
    ({"issued_from": "99999-01-01"}, "VALIDATION_FAILED", "issued_from"),
    ({"deposited_to": "0001-01-01"}, "VALIDATION_FAILED", "deposited_to"),
    ({"deposited_from": "3000-01-01"}, "VALIDATION_FAILED", "deposited_from"),
    ({"status": "PAID"}, "VALIDATION_FAILED", "status.0"),  # the first status given
    ({"sort": "name"}, "VALIDATION_FAILED", "sort"),
    ({"overdue": "maybe"}, "VALIDATION_FAILED", "overdue"),
    ({"service": "IMMO\x00"}, "VALIDATION_FAILED", "service"),
    ({"stauts": "PAYEE"}, "VALIDATION_FAILED", "stauts"),
    ({"supplier": "123"}, "SIRET_INVALID", "supplier"),
    ({"supplier": "732829321"}, "SIREN_INVALID", "supplier"),
    ({"structure": "11000201100045"}, "SIRET_INVALID", "structure"),
]


@pytest.mark.parametrize(
    ("params", "code", "parameter"),
    BAD_RECEIVED_QUERIES,
    ids=[next(iter(params)) + f"={code}" for params, code, _ in BAD_RECEIVED_QUERIES],
)
async def test_bad_listing_input_is_422_naming_the_parameter(
    api: ApiServer, params: dict[str, str], code: str, parameter: str
) -> None:
    buyer = await api.as_role(Role.BUYER, BUYER_SIRET)
    for url in ("/v1/received-invoices", "/v1/received-invoices.csv"):
        if url.endswith(".csv") and parameter in ("limit", "cursor"):
            continue  # the export has no pages: there `limit` is an unknown parameter
        body = assert_problem(await buyer.get(url, params=params), 422, code)
        assert [error["parameter"] for error in body["errors"]] == [parameter]  # type: ignore[union-attr]


async def test_a_cursor_of_another_sort_is_refused(api: ApiServer, deposits: Deposits) -> None:
    first = await deposits.ministry.get("/v1/received-invoices", params={"limit": 1})
    cursor = first.json()["next"]
    refused = await deposits.ministry.get(
        "/v1/received-invoices", params={"cursor": cursor, "sort": "due_at"}
    )
    assert_problem(refused, 422, "VALIDATION_FAILED")


@pytest.mark.parametrize(
    "params",
    [
        {"seller": "123"},
        {"siren": "12"},
        {"amount_max": "-1e400"},
        {"issued_to": "2026-02-30"},
        {"buyer": "123"},
        {"number": "F\x01"},
    ],
)
async def test_bad_supplier_listing_input_is_422(api: ApiServer, params: dict[str, str]) -> None:
    supplier = await api.as_role(Role.SUPPLIER, SELLER_SIRET)
    response = await supplier.get("/v1/invoices", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["parameter"] == next(iter(params))


async def test_the_widest_dates_and_amounts_answer_an_empty_page(api: ApiServer) -> None:
    buyer = await api.as_role(Role.BUYER, BUYER_SIRET)
    response = await buyer.get(
        "/v1/received-invoices",
        params={
            "deposited_from": "1900-01-01",
            "deposited_to": "2999-12-31",
            "issued_to": "2999-12-31",
            "amount_min": "-999999999999999.99",
            "amount_max": "999999999999999.99",
            "limit": 200,
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "next": None}
