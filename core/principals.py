"""Who acts: roles and the authenticated principal every request and action carries."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a principal may do; each principal has exactly one."""

    BUYER = "buyer"
    SUPPLIER = "supplier"
    ACCOUNTANT = "accountant"
    MOE = "moe"  # maître d'oeuvre: first validator of works-contract statements
    OPS = "ops"  # operators: see everything, fix stuck workflows


@dataclass(frozen=True)
class Principal:
    """An authenticated client, bound to a role and to the SIRETs it acts for."""

    client_id: str
    role: Role
    sirets: frozenset[str]

    def acts_for(self, siret: str) -> bool:
        """Whether this principal may see and act on records of `siret` (ops see all)."""
        return self.role is Role.OPS or siret in self.sirets
