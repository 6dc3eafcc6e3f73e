"""The directory repository on SQLite and PostgreSQL: upserts by SIRET, search, services."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from directory.identifiers import IdentifierScheme
from directory.records import ServiceRecord, StructureCategory, StructureRecord, SupplierRecord
from store.database import transaction
from store.directory import DirectoryRepository, UpsertOutcome

Sessions = async_sessionmaker[AsyncSession]

MINISTRY = "11000201100044"
MINISTRY_REGION = "11000201100051"  # same SIREN as MINISTRY
CITY = "21750001600019"
HOSPITAL = "26750045200011"
AGENCY = "13000548100010"
SUPPLIER = "78467169500087"


def a_structure(
    siret: str = MINISTRY, *services: ServiceRecord, **fields: object
) -> StructureRecord:
    values: dict[str, object] = {"name": "Ministère de démonstration", "category": "STATE"}
    values |= fields
    return StructureRecord(
        siret=siret,
        name=str(values.pop("name")),
        category=StructureCategory(values.pop("category")),
        services=services,
        **values,  # type: ignore[arg-type]
    )


def a_supplier(identifier: str = SUPPLIER, **fields: object) -> SupplierRecord:
    values: dict[str, object] = {
        "scheme": IdentifierScheme.SIRET,
        "name": "Papeterie de démonstration",
        "iban": "FR7630006000011234567890189",
        "bic": "AGRIFRPP",
        "email": "factures@papeterie.example",
    } | fields
    return SupplierRecord(identifier=identifier, **values)  # type: ignore[arg-type]


async def upsert(sessions: Sessions, *records: StructureRecord | SupplierRecord) -> list[str]:
    """Upsert records in one transaction; the outcome of each."""
    async with transaction(sessions) as session:
        directory = DirectoryRepository(session)
        return [
            await directory.upsert_structure(record)
            if isinstance(record, StructureRecord)
            else await directory.upsert_supplier(record)
            for record in records
        ]


async def test_a_new_structure_is_created_with_its_services(sessions: Sessions) -> None:
    record = a_structure(
        MINISTRY,
        ServiceRecord("IMMO", "Immobilier"),
        ServiceRecord("ACHATS", "Achats", active=False),
        service_code_required=True,
    )

    assert await upsert(sessions, record) == [UpsertOutcome.CREATED]

    async with sessions() as session:
        directory = DirectoryRepository(session)
        structure = await directory.structure(MINISTRY)
        services = await directory.services(MINISTRY)
    assert structure is not None
    assert (structure.siren, structure.category, structure.service_code_required) == (
        "110002011",
        "STATE",
        True,
    )
    assert [(s.code, s.name, s.active) for s in services] == [
        ("ACHATS", "Achats", False),
        ("IMMO", "Immobilier", True),
    ]


async def test_reimport_is_idempotent(sessions: Sessions) -> None:
    record = a_structure(MINISTRY, ServiceRecord("ACHATS", "Achats"))
    await upsert(sessions, record, a_supplier())
    async with sessions() as session:
        before = await DirectoryRepository(session).structure(MINISTRY)

    assert await upsert(sessions, record, a_supplier()) == [UpsertOutcome.UNCHANGED] * 2

    async with sessions() as session:
        directory = DirectoryRepository(session)
        after = await directory.structure(MINISTRY)
        assert len(await directory.services(MINISTRY)) == 1
    assert before is not None and after is not None
    assert (after.id, after.updated_at) == (before.id, before.updated_at)


async def test_a_changed_structure_is_updated_and_keeps_the_services_not_listed(
    sessions: Sessions,
) -> None:
    await upsert(
        sessions,
        a_structure(MINISTRY, ServiceRecord("ACHATS", "Achats"), ServiceRecord("IMMO", "Immo")),
    )

    outcome = await upsert(
        sessions,
        a_structure(
            MINISTRY,
            ServiceRecord("ACHATS", "Achats", active=False),
            name="Ministère renommé",
            active=False,
        ),
    )

    assert outcome == [UpsertOutcome.UPDATED]
    async with sessions() as session:
        directory = DirectoryRepository(session)
        structure = await directory.structure(MINISTRY)
        services = await directory.services(MINISTRY)
    assert structure is not None
    assert (structure.name, structure.active) == ("Ministère renommé", False)
    assert [(s.code, s.active) for s in services] == [("ACHATS", False), ("IMMO", True)]


async def test_a_new_service_alone_updates_the_structure(sessions: Sessions) -> None:
    await upsert(sessions, a_structure(MINISTRY, ServiceRecord("ACHATS", "Achats")))

    outcome = await upsert(sessions, a_structure(MINISTRY, ServiceRecord("IMMO", "Immo")))

    assert outcome == [UpsertOutcome.UPDATED]
    async with sessions() as session:
        services = await DirectoryRepository(session).services(MINISTRY)
    assert [s.code for s in services] == ["ACHATS", "IMMO"]


async def test_one_batch_may_describe_a_structure_twice(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        outcomes = await DirectoryRepository(session).upsert_structures(
            [
                a_structure(MINISTRY, ServiceRecord("A", "A")),
                a_structure(CITY, category="LOCAL_AUTHORITY"),
                a_structure(MINISTRY, ServiceRecord("B", "B")),
            ]
        )

    assert outcomes == [UpsertOutcome.CREATED, UpsertOutcome.CREATED, UpsertOutcome.UPDATED]
    async with sessions() as session:
        services = await DirectoryRepository(session).services(MINISTRY)
    assert [s.code for s in services] == ["A", "B"]


async def test_a_supplier_is_updated_by_scheme_and_identifier(sessions: Sessions) -> None:
    await upsert(sessions, a_supplier())

    outcome = await upsert(sessions, a_supplier(iban=None, bic=None, name="Papeterie SAS"))

    assert outcome == [UpsertOutcome.UPDATED]
    async with sessions() as session:
        supplier = await DirectoryRepository(session).supplier(IdentifierScheme.SIRET, SUPPLIER)
    assert supplier is not None
    assert (supplier.name, supplier.iban, supplier.bic, supplier.siren) == (
        "Papeterie SAS",
        None,
        None,
        "784671695",
    )


async def test_the_same_identifier_under_two_schemes_is_two_suppliers(sessions: Sessions) -> None:
    outcomes = await upsert(
        sessions,
        a_supplier("A-1", scheme=IdentifierScheme.RIDET, name="Nouméa"),
        a_supplier("A-1", scheme=IdentifierScheme.TAHITI, name="Papeete"),
    )

    assert outcomes == [UpsertOutcome.CREATED, UpsertOutcome.CREATED]
    async with sessions() as session:
        directory = DirectoryRepository(session)
        ridet = await directory.supplier(IdentifierScheme.RIDET, "A-1")
        tahiti = await directory.supplier(IdentifierScheme.TAHITI, "A-1")
    assert ridet is not None and tahiti is not None
    assert (ridet.name, ridet.siren, tahiti.name) == ("Nouméa", None, "Papeete")


@pytest.fixture
async def five_structures(sessions: Sessions) -> Sessions:
    await upsert(
        sessions,
        a_structure(MINISTRY, name="Ministère - administration centrale"),
        a_structure(MINISTRY_REGION, name="Ministère - direction régionale"),
        a_structure(CITY, name="Ville de démonstration", category="LOCAL_AUTHORITY"),
        a_structure(HOSPITAL, name="Centre hospitalier 100%_sûr", category="HOSPITAL"),
        a_structure(AGENCY, name="Agence publique", category="OTHER"),
    )
    return sessions


async def search(sessions: Sessions, **filters: object) -> list[str]:
    async with sessions() as session:
        page = await DirectoryRepository(session).search_structures(**filters)  # type: ignore[arg-type]
    return [s.siret for s in page.items]


async def test_search_by_siren_finds_every_establishment(five_structures: Sessions) -> None:
    assert await search(five_structures, siren="110002011") == [MINISTRY, MINISTRY_REGION]


async def test_search_by_siret(five_structures: Sessions) -> None:
    assert await search(five_structures, siret=CITY) == [CITY]
    assert await search(five_structures, siret=CITY, siren="110002011") == []


async def test_search_by_name_ignores_case(five_structures: Sessions) -> None:
    assert await search(five_structures, q="- DIRECTION") == [MINISTRY_REGION]
    assert await search(five_structures, q="ville") == [CITY]


async def test_search_by_name_takes_like_wildcards_literally(five_structures: Sessions) -> None:
    assert await search(five_structures, q="100%_") == [HOSPITAL]
    assert await search(five_structures, q="%") == [HOSPITAL]
    assert await search(five_structures, q="_") == [HOSPITAL]


async def test_search_pages_by_cursor_until_the_last(five_structures: Sessions) -> None:
    seen: list[str] = []
    after: int | None = None
    pages = 0
    while True:
        async with five_structures() as session:
            page = await DirectoryRepository(session).search_structures(limit=2, after_id=after)
        seen += [s.siret for s in page.items]
        pages += 1
        if page.next_after_id is None:
            break
        after = page.next_after_id

    assert pages == 3
    assert sorted(seen) == sorted([MINISTRY, MINISTRY_REGION, CITY, HOSPITAL, AGENCY])


async def test_a_page_that_ends_exactly_has_no_next(five_structures: Sessions) -> None:
    async with five_structures() as session:
        page = await DirectoryRepository(session).search_structures(limit=5)

    assert (len(page.items), page.next_after_id) == (5, None)


async def test_a_cursor_past_the_end_finds_nothing(five_structures: Sessions) -> None:
    assert await search(five_structures, after_id=2**62) == []


async def test_services_of_an_unknown_structure_are_none(sessions: Sessions) -> None:
    async with sessions() as session:
        directory = DirectoryRepository(session)
        assert await directory.structure(MINISTRY) is None
        assert await directory.services(MINISTRY) == []


@pytest.mark.parametrize("limit", [0, 201])
async def test_a_page_size_out_of_bounds_is_a_programming_error(
    sessions: Sessions, limit: int
) -> None:
    async with sessions() as session:
        with pytest.raises(ValueError, match="limit"):
            await DirectoryRepository(session).search_structures(limit=limit)


async def test_a_structure_record_change_is_seen_field_by_field(sessions: Sessions) -> None:
    record = a_structure(CITY, category="LOCAL_AUTHORITY")
    await upsert(sessions, record)

    for changed in (
        replace(record, category=StructureCategory.OTHER),
        replace(record, commitment_required=True),
        replace(record, payment_status_not_reported=True),
    ):
        assert await upsert(sessions, changed) == [UpsertOutcome.UPDATED]
