"""Typed records of the directory, as the rest of Chaîne sees them."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from directory.identifiers import IdentifierScheme


class StructureCategory(StrEnum):
    """The kind of public buyer; it selects the legal payment deadline (R2192-10 s.)."""

    STATE = "STATE"
    LOCAL_AUTHORITY = "LOCAL_AUTHORITY"
    HOSPITAL = "HOSPITAL"
    OTHER = "OTHER"


@dataclass(frozen=True)
class ServiceRecord:
    """A service of a structure, named by the code a supplier puts in BT-10."""

    code: str
    name: str
    active: bool = True


@dataclass(frozen=True)
class StructureRecord:
    """A public structure that receives invoices, with its routing parameters."""

    siret: str
    name: str
    category: StructureCategory
    active: bool = True
    service_code_required: bool = False
    commitment_required: bool = False
    payment_status_not_reported: bool = False
    services: tuple[ServiceRecord, ...] = field(default_factory=tuple)
    # Refuse, rather than only warn about, invoices over what remains of their commitment.
    commitment_ceiling_strict: bool = False


@dataclass(frozen=True)
class SupplierRecord:
    """A supplier, identified by SIRET or a foreign identifier, with its bank account."""

    scheme: IdentifierScheme
    identifier: str
    name: str
    iban: str | None = None
    bic: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class CommitmentRecord:
    """A legal commitment (engagement juridique) invoices reference in BT-13.

    Procurement creates commitments when contracts are notified; until then, and for
    contracts signed elsewhere, they are imported with the directory.
    """

    number: str
    buyer_siret: str
    supplier_siret: str
    ceiling: Decimal
    service_done_presumed: bool = False  # SFP: recurring expenses paid on presumed service
    works: bool = False  # works contract: statements go to the project manager first
    paying_service: str | None = None
    active: bool = True
