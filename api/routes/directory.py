"""`/v1/structures` and `/v1/suppliers`: the directory.

Public structures are public knowledge (any authenticated client may read them, to
address invoices); suppliers are tenant data (bank accounts), shown to the supplier
itself, to accountants who pay them, and to operators.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import Field

from api.deps import CurrentPrincipal, SessionDep, require_json, require_roles
from api.schemas import RequestModel, ResponseModel
from core.principals import Principal, Role
from directory.identifiers import IdentifierScheme, check_identifier, check_siren, check_siret
from directory.records import ServiceRecord, StructureCategory, StructureRecord
from store.directory import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    DirectoryRepository,
    StructureNotFound,
    SupplierNotFound,
    UpsertOutcome,
)

router = APIRouter(prefix="/v1", tags=["directory"])

MAX_CURSOR = 2**62  # ids are 64-bit at most; a larger cursor is a client error, not a 500
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"  # PostgreSQL refuses NUL in text parameters


class StructurePublic(ResponseModel):
    """A public structure and the parameters that route invoices to it."""

    siret: str
    siren: str
    name: str
    category: StructureCategory
    active: bool
    service_code_required: bool
    commitment_required: bool
    payment_status_not_reported: bool
    commitment_ceiling_strict: bool


class StructuresPublic(ResponseModel):
    """A page of structures; pass `next` as `after` to read the following page."""

    items: list[StructurePublic]
    next: int | None


class ServicePublic(ResponseModel):
    """A service of a structure; its code goes in the invoice's buyer reference (BT-10)."""

    code: str
    name: str
    active: bool


class SupplierPublic(ResponseModel):
    """A supplier with the bank account it is paid on."""

    scheme: IdentifierScheme
    identifier: str
    siren: str | None
    name: str
    iban: str | None
    bic: str | None
    email: str | None


SupplierReader = Annotated[
    Principal, Depends(require_roles(Role.SUPPLIER, Role.ACCOUNTANT, Role.OPS))
]


@router.get("/structures", response_model=StructuresPublic, summary="Search public structures")
async def search_structures(
    _: CurrentPrincipal,
    session: SessionDep,
    siret: Annotated[str | None, Query(max_length=32, description="Exact SIRET.")] = None,
    siren: Annotated[
        str | None, Query(max_length=32, description="Every structure of this SIREN.")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=NO_CONTROL_CHARACTERS,
            description="Part of the name, any case.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_CURSOR, description="`next` of the previous page.")
    ] = None,
) -> StructuresPublic:
    """Structures matching every given filter, in a stable order, a page at a time."""
    page = await DirectoryRepository(session).search_structures(
        siret=check_siret(siret) if siret is not None else None,
        siren=check_siren(siren) if siren is not None else None,
        q=q,
        limit=limit,
        after_id=after,
    )
    return StructuresPublic(
        items=[StructurePublic.model_validate(s) for s in page.items], next=page.next_after_id
    )


@router.get(
    "/structures/{siret}",
    response_model=StructurePublic,
    summary="A public structure",
    responses={404: {"description": "no structure has this SIRET"}},
)
async def get_structure(_: CurrentPrincipal, session: SessionDep, siret: str) -> StructurePublic:
    """The structure with this SIRET (422 `SIRET_INVALID` if it is not one)."""
    structure = await DirectoryRepository(session).structure(check_siret(siret))
    if structure is None:
        raise StructureNotFound(f"no public structure has the SIRET {siret}")
    return StructurePublic.model_validate(structure)


@router.get(
    "/structures/{siret}/services",
    response_model=list[ServicePublic],
    summary="The services of a public structure",
    responses={404: {"description": "no structure has this SIRET"}},
)
async def list_services(
    _: CurrentPrincipal, session: SessionDep, siret: str
) -> list[ServicePublic]:
    """Every service of the structure, active or not, by code."""
    repository = DirectoryRepository(session)
    compact = check_siret(siret)
    if await repository.structure(compact) is None:
        raise StructureNotFound(f"no public structure has the SIRET {siret}")
    return [ServicePublic.model_validate(s) for s in await repository.services(compact)]


@router.get(
    "/suppliers/{scheme}/{identifier}",
    response_model=SupplierPublic,
    summary="A supplier and its bank account",
    responses={
        403: {"description": "buyers and project managers do not read suppliers"},
        404: {"description": "unknown, or not one of the supplier's own identifiers"},
    },
)
async def get_supplier(
    principal: SupplierReader, session: SessionDep, scheme: IdentifierScheme, identifier: str
) -> SupplierPublic:
    """A supplier sees only itself (by its SIRETs); accountants and operators see all."""
    normalised = check_identifier(scheme, identifier)
    visible = principal.role in (Role.ACCOUNTANT, Role.OPS) or (
        scheme is IdentifierScheme.SIRET and principal.acts_for(normalised)
    )
    supplier = await DirectoryRepository(session).supplier(scheme, normalised) if visible else None
    if supplier is None:
        # The same answer whether it does not exist or is not the caller's: never reveal.
        raise SupplierNotFound(f"no supplier {scheme} {identifier} is visible to this client")
    return SupplierPublic.model_validate(supplier)


class ServiceUpsert(RequestModel):
    """A service of a structure, as an operator sets it."""

    code: str = Field(min_length=1, max_length=100, pattern=NO_CONTROL_CHARACTERS)
    name: str = Field(min_length=1, max_length=200, pattern=NO_CONTROL_CHARACTERS)
    active: bool = True


class StructureUpsert(RequestModel):
    """A structure's fields and services; services not listed are left as they are."""

    name: str = Field(min_length=1, max_length=200, pattern=NO_CONTROL_CHARACTERS)
    category: StructureCategory
    active: bool = True
    service_code_required: bool = False
    commitment_required: bool = False
    payment_status_not_reported: bool = False
    commitment_ceiling_strict: bool = False  # refuse invoices over their commitment's ceiling
    services: list[ServiceUpsert] = Field(default_factory=list, max_length=1000)


@router.put(
    "/structures/{siret}",
    response_model=StructurePublic,
    summary="Create or update a public structure (operators)",
    dependencies=[Depends(require_json)],
    responses={201: {"description": "created"}, 200: {"description": "updated or unchanged"}},
)
async def put_structure(
    _: Annotated[Principal, Depends(require_roles(Role.OPS))],
    session: SessionDep,
    siret: str,
    body: StructureUpsert,
) -> JSONResponse:
    """Upsert one structure by SIRET, as a directory import line would."""
    record = StructureRecord(
        siret=check_siret(siret),
        name=body.name,
        category=body.category,
        active=body.active,
        service_code_required=body.service_code_required,
        commitment_required=body.commitment_required,
        payment_status_not_reported=body.payment_status_not_reported,
        commitment_ceiling_strict=body.commitment_ceiling_strict,
        services=tuple(ServiceRecord(s.code, s.name, s.active) for s in body.services),
    )
    repository = DirectoryRepository(session)
    outcome = await repository.upsert_structure(record)
    await session.commit()
    stored = await repository.structure(record.siret)
    return JSONResponse(
        StructurePublic.model_validate(stored).model_dump(mode="json"),
        status_code=201 if outcome is UpsertOutcome.CREATED else 200,
    )
