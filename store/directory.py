"""Repository of the directory: public structures with their services, and suppliers.

Upserts are keyed by business identifiers (SIRET, scheme + identifier), so importing the
same file twice changes nothing; they report what they did so an import can say it. The
repository never commits: the request or the import batch does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from core.errors import ErrorCode, NotFound
from directory.identifiers import IdentifierScheme
from directory.records import StructureRecord, SupplierRecord
from store.models import Service, Structure, Supplier

DEFAULT_PAGE_SIZE = 50  # users asked for tables of 50 rows by default
MAX_PAGE_SIZE = 200


class StructureNotFound(NotFound):
    """No public structure has this SIRET."""

    code = ErrorCode.STRUCTURE_NOT_FOUND


class SupplierNotFound(NotFound):
    """No supplier has this identifier, or the caller may not know it exists."""

    code = ErrorCode.SUPPLIER_NOT_FOUND


class UpsertOutcome(StrEnum):
    """What an upsert did to the stored record."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class StructurePage:
    """One page of structures, and the id to pass as `after_id` for the next (None: last)."""

    items: list[Structure]
    next_after_id: int | None


class DirectoryRepository:
    """Every query on `structures`, `services` and `suppliers`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert_structure(self, record: StructureRecord) -> UpsertOutcome:
        """Insert or update one structure by SIRET, and its services by code."""
        return (await self.upsert_structures([record]))[0]

    async def upsert_structures(self, records: Sequence[StructureRecord]) -> list[UpsertOutcome]:
        """Insert or update structures by SIRET, and their services by code, in one read.

        Services a record does not list are kept as they are: a file of a few services
        never deletes the others (deactivate a service with `service_active=false`).
        """
        if not records:
            return []
        stored = {
            structure.siret: structure
            for structure in await self.session.scalars(
                select(Structure)
                .where(Structure.siret.in_([record.siret for record in records]))
                .options(selectinload(Structure.services))
            )
        }
        outcomes = []
        for record in records:
            structure = stored.get(record.siret)
            if structure is None:
                stored[record.siret] = structure = Structure(
                    siret=record.siret, siren=record.siret[:9], services=[]
                )
                self.session.add(structure)
                outcome = UpsertOutcome.CREATED
            else:
                outcome = UpsertOutcome.UNCHANGED
            changed = _assign(structure, _structure_values(record))
            by_code = {service.code: service for service in structure.services}
            for service in record.services:
                if service.code not in by_code:
                    by_code[service.code] = Service(code=service.code)
                    structure.services.append(by_code[service.code])
                changed |= _assign(
                    by_code[service.code], {"name": service.name, "active": service.active}
                )
            if changed and outcome is UpsertOutcome.UNCHANGED:
                outcome = UpsertOutcome.UPDATED
            outcomes.append(outcome)
        return outcomes

    async def upsert_supplier(self, record: SupplierRecord) -> UpsertOutcome:
        """Insert or update one supplier by (scheme, identifier)."""
        return (await self.upsert_suppliers([record]))[0]

    async def upsert_suppliers(self, records: Sequence[SupplierRecord]) -> list[UpsertOutcome]:
        """Insert or update suppliers by (scheme, identifier), in one read.

        The record replaces the stored values: an empty IBAN, BIC or email clears the
        stored one, the file being the truth.
        """
        if not records:
            return []
        stored = {
            (supplier.scheme, supplier.identifier): supplier
            for supplier in await self.session.scalars(
                select(Supplier).where(
                    Supplier.identifier.in_([record.identifier for record in records])
                )
            )
        }
        outcomes = []
        for record in records:
            key = (record.scheme.value, record.identifier)
            supplier = stored.get(key)
            if supplier is None:
                stored[key] = supplier = Supplier(
                    scheme=record.scheme.value,
                    identifier=record.identifier,
                    siren=record.identifier[:9]
                    if record.scheme is IdentifierScheme.SIRET
                    else None,
                )
                self.session.add(supplier)
                outcome = UpsertOutcome.CREATED
            else:
                outcome = UpsertOutcome.UNCHANGED
            values = {
                "name": record.name,
                "iban": record.iban,
                "bic": record.bic,
                "email": record.email,
            }
            if _assign(supplier, values) and outcome is UpsertOutcome.UNCHANGED:
                outcome = UpsertOutcome.UPDATED
            outcomes.append(outcome)
        return outcomes

    async def structure(self, siret: str) -> Structure | None:
        """The structure with this (compact, valid) SIRET, if any."""
        return await self.session.scalar(select(Structure).where(Structure.siret == siret))

    async def search_structures(
        self,
        *,
        siret: str | None = None,
        siren: str | None = None,
        q: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        after_id: int | None = None,
    ) -> StructurePage:
        """Structures matching every given filter, by id; `q` is a substring of the name.

        Case-insensitive for ASCII letters on SQLite, for all letters on PostgreSQL.
        """
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be within 1..{MAX_PAGE_SIZE}")
        query = select(Structure).order_by(Structure.id).limit(limit + 1)
        if siret is not None:
            query = query.where(Structure.siret == siret)
        if siren is not None:
            query = query.where(Structure.siren == siren)
        if q:
            query = query.where(Structure.name.ilike(f"%{_escape_like(q)}%", escape="\\"))
        if after_id is not None:
            # Bound as BIGINT: PostgreSQL would refuse a large cursor cast to the INTEGER id.
            query = query.where(Structure.id > literal(after_id, BigInteger()))
        found = list(await self.session.scalars(query))
        if len(found) > limit:
            return StructurePage(items=found[:limit], next_after_id=found[limit - 1].id)
        return StructurePage(items=found, next_after_id=None)

    async def services(self, siret: str) -> list[Service]:
        """The services of the structure with this SIRET, by code (empty if none or unknown)."""
        return list(
            await self.session.scalars(
                select(Service)
                .join(Structure)
                .where(Structure.siret == siret)
                .order_by(Service.code)
            )
        )

    async def supplier(self, scheme: IdentifierScheme, identifier: str) -> Supplier | None:
        """The supplier with this (normalised) identifier, if any."""
        return await self.session.scalar(
            select(Supplier).where(
                Supplier.scheme == scheme.value, Supplier.identifier == identifier
            )
        )


def _structure_values(record: StructureRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "category": record.category.value,
        "active": record.active,
        "service_code_required": record.service_code_required,
        "commitment_required": record.commitment_required,
        "payment_status_not_reported": record.payment_status_not_reported,
        "commitment_ceiling_strict": record.commitment_ceiling_strict,
    }


def _assign(row: Any, values: dict[str, Any]) -> bool:
    """Set the attributes that differ; whether any did (so unchanged rows are not rewritten)."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _escape_like(text: str) -> str:
    """`text` matched literally inside a LIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
