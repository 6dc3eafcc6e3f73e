"""`/v1/structures` and `/v1/suppliers` over real HTTP: search, reads, refusals, tenancy."""

from __future__ import annotations

import httpx
import pytest

from core.principals import Role
from directory.identifiers import IdentifierScheme
from directory.records import ServiceRecord, StructureCategory, StructureRecord, SupplierRecord
from store.database import transaction
from store.directory import DirectoryRepository
from tests.conftest import ApiServer

MINISTRY = "11000201100044"
MINISTRY_REGION = "11000201100051"  # same SIREN as MINISTRY
CITY = "21750001600019"
HOSPITAL = "26750045200011"
PAPETERIE = "78467169500087"
TRAVAUX = "55208131766522"
IBAN = "FR7630006000011234567890189"


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


async def a_directory(api: ApiServer) -> None:
    """Three structures (one with services) and two suppliers."""
    async with transaction(api.sessions) as session:
        directory = DirectoryRepository(session)
        await directory.upsert_structures(
            [
                StructureRecord(
                    siret=MINISTRY,
                    name="Ministère - administration centrale",
                    category=StructureCategory.STATE,
                    service_code_required=True,
                    services=(
                        ServiceRecord("IMMO", "Immobilier"),
                        ServiceRecord("ACHATS", "Achats", active=False),
                    ),
                ),
                StructureRecord(
                    siret=MINISTRY_REGION,
                    name="Ministère - direction régionale",
                    category=StructureCategory.STATE,
                ),
                StructureRecord(
                    siret=CITY,
                    name="Ville de démonstration",
                    category=StructureCategory.LOCAL_AUTHORITY,
                    active=False,
                ),
            ]
        )
        await directory.upsert_suppliers(
            [
                SupplierRecord(
                    IdentifierScheme.SIRET, PAPETERIE, "Papeterie", iban=IBAN, bic="AGRIFRPP"
                ),
                SupplierRecord(IdentifierScheme.SIRET, TRAVAUX, "Travaux publics"),
                SupplierRecord(IdentifierScheme.EU_VAT, "DE136695976", "Demonstration GmbH"),
            ]
        )


@pytest.fixture
async def buyer(api: ApiServer) -> httpx.AsyncClient:
    await a_directory(api)
    return await api.as_role(Role.BUYER, HOSPITAL)


# --- structures ---------------------------------------------------------------------------


async def test_any_client_searches_structures_by_part_of_their_name(api: ApiServer) -> None:
    await a_directory(api)
    supplier = await api.as_role(Role.SUPPLIER, PAPETERIE)

    response = await supplier.get("/v1/structures", params={"q": "MINISTèRE - "})

    assert response.status_code == 200, response.text
    body = response.json()
    assert [s["siret"] for s in body["items"]] == [MINISTRY, MINISTRY_REGION]
    assert body["next"] is None


async def test_search_by_siren_finds_every_establishment(buyer: httpx.AsyncClient) -> None:
    response = await buyer.get("/v1/structures", params={"siren": "110 002 011"})

    assert [s["siret"] for s in response.json()["items"]] == [MINISTRY, MINISTRY_REGION]


async def test_search_by_siret(buyer: httpx.AsyncClient) -> None:
    response = await buyer.get("/v1/structures", params={"siret": CITY, "q": "ville"})

    assert response.json()["items"] == [
        {
            "siret": CITY,
            "siren": "217500016",
            "name": "Ville de démonstration",
            "category": "LOCAL_AUTHORITY",
            "active": False,
            "service_code_required": False,
            "commitment_required": False,
            "payment_status_not_reported": False,
            "commitment_ceiling_strict": False,
        }
    ]


async def test_search_pages_follow_the_next_cursor(buyer: httpx.AsyncClient) -> None:
    first = (await buyer.get("/v1/structures", params={"limit": 2})).json()
    second = (await buyer.get("/v1/structures", params={"limit": 2, "after": first["next"]})).json()

    assert len(first["items"]) == 2 and first["next"] is not None
    assert len(second["items"]) == 1 and second["next"] is None
    sirets = {s["siret"] for s in first["items"] + second["items"]}
    assert sirets == {MINISTRY, MINISTRY_REGION, CITY}


async def test_a_structure_is_read_by_its_siret_even_spaced(buyer: httpx.AsyncClient) -> None:
    response = await buyer.get("/v1/structures/110 002 011 00044")

    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Ministère - administration centrale"
    assert response.json()["service_code_required"] is True


async def test_the_services_of_a_structure_are_listed_by_code(buyer: httpx.AsyncClient) -> None:
    response = await buyer.get(f"/v1/structures/{MINISTRY}/services")

    assert response.json() == [
        {"code": "ACHATS", "name": "Achats", "active": False},
        {"code": "IMMO", "name": "Immobilier", "active": True},
    ]
    assert (await buyer.get(f"/v1/structures/{CITY}/services")).json() == []


@pytest.mark.parametrize(
    "path", [f"/v1/structures/{HOSPITAL}", f"/v1/structures/{HOSPITAL}/services"]
)
async def test_an_unknown_structure_is_404(buyer: httpx.AsyncClient, path: str) -> None:
    assert_problem(await buyer.get(path), 404, "STRUCTURE_NOT_FOUND")


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/v1/structures/11000201100045", {}, "SIRET_INVALID"),
        ("/v1/structures/123/services", {}, "SIRET_INVALID"),
        ("/v1/structures/" + "9" * 10_000, {}, "SIRET_INVALID"),
        ("/v1/structures", {"siret": "not-a-siret"}, "SIRET_INVALID"),
        ("/v1/structures", {"siren": "110002012"}, "SIREN_INVALID"),
        ("/v1/structures", {"siren": "1" * 33}, "VALIDATION_FAILED"),
        ("/v1/structures", {"q": "x" * 201}, "VALIDATION_FAILED"),
        ("/v1/structures", {"q": "nul\x00byte"}, "VALIDATION_FAILED"),
        ("/v1/structures", {"limit": 0}, "VALIDATION_FAILED"),
        ("/v1/structures", {"limit": 201}, "VALIDATION_FAILED"),
        ("/v1/structures", {"limit": 10**30}, "VALIDATION_FAILED"),
        ("/v1/structures", {"limit": "fifty"}, "VALIDATION_FAILED"),
        ("/v1/structures", {"after": -1}, "VALIDATION_FAILED"),
        ("/v1/structures", {"after": 10**30}, "VALIDATION_FAILED"),
        ("/v1/structures", {"after": 2**62 + 1}, "VALIDATION_FAILED"),
        ("/v1/structures", {"after": "1e3"}, "VALIDATION_FAILED"),
    ],
)
async def test_bad_input_is_refused_with_422_never_500(
    buyer: httpx.AsyncClient, path: str, params: dict[str, object], code: str
) -> None:
    assert_problem(await buyer.get(path, params=params), 422, code)  # type: ignore[arg-type]


async def test_the_largest_cursor_is_accepted_and_ends_the_list(buyer: httpx.AsyncClient) -> None:
    response = await buyer.get("/v1/structures", params={"after": 2**62})

    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "next": None}


@pytest.mark.parametrize(
    "path",
    [
        "/v1/structures",
        f"/v1/structures/{MINISTRY}",
        f"/v1/structures/{MINISTRY}/services",
        f"/v1/suppliers/SIRET/{PAPETERIE}",
        "/v1/structures/123",
    ],
)
async def test_the_directory_needs_a_token(api: ApiServer, path: str) -> None:
    assert_problem(await api.anonymous().get(path), 401, "AUTH_REQUIRED")


# --- suppliers ----------------------------------------------------------------------------


async def test_a_supplier_reads_its_own_record_with_its_bank_account(api: ApiServer) -> None:
    await a_directory(api)
    supplier = await api.as_role(Role.SUPPLIER, PAPETERIE)

    response = await supplier.get(f"/v1/suppliers/SIRET/{PAPETERIE}")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "scheme": "SIRET",
        "identifier": PAPETERIE,
        "siren": "784671695",
        "name": "Papeterie",
        "iban": IBAN,
        "bic": "AGRIFRPP",
        "email": None,
    }


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/suppliers/SIRET/{TRAVAUX}",  # another tenant's SIRET
        "/v1/suppliers/SIRET/44306184100047",  # nobody's
        "/v1/suppliers/EU_VAT/DE136695976",  # a supplier's SIRETs never cover a foreign id
    ],
)
async def test_a_supplier_gets_404_for_any_other_supplier(api: ApiServer, path: str) -> None:
    await a_directory(api)
    supplier = await api.as_role(Role.SUPPLIER, PAPETERIE)

    assert_problem(await supplier.get(path), 404, "SUPPLIER_NOT_FOUND")


@pytest.mark.parametrize("role", [Role.ACCOUNTANT, Role.OPS])
async def test_accountants_and_operators_read_every_supplier(api: ApiServer, role: Role) -> None:
    await a_directory(api)
    client = await api.as_role(role, MINISTRY)  # the structure it keeps the accounts of

    travaux = await client.get(f"/v1/suppliers/SIRET/{TRAVAUX}")
    foreign = await client.get("/v1/suppliers/EU_VAT/de 136695976")

    assert travaux.json()["name"] == "Travaux publics"
    assert foreign.json()["identifier"] == "DE136695976"
    assert_problem(
        await client.get("/v1/suppliers/SIRET/44306184100047"), 404, "SUPPLIER_NOT_FOUND"
    )


@pytest.mark.parametrize("role", [Role.BUYER, Role.MOE])
async def test_buyers_and_project_managers_may_not_read_suppliers(
    api: ApiServer, role: Role
) -> None:
    await a_directory(api)
    client = await api.as_role(role, MINISTRY)

    assert_problem(await client.get(f"/v1/suppliers/SIRET/{PAPETERIE}"), 403, "FORBIDDEN_ROLE")


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/v1/suppliers/SIRET/784671695", "SIRET_INVALID"),
        ("/v1/suppliers/EU_VAT/XX123", "IDENTIFIER_INVALID"),
        ("/v1/suppliers/DUNS/123456789", "VALIDATION_FAILED"),
    ],
)
async def test_a_malformed_supplier_identifier_is_422(api: ApiServer, path: str, code: str) -> None:
    accountant = await api.as_role(Role.ACCOUNTANT, MINISTRY)

    assert_problem(await accountant.get(path), 422, code)
