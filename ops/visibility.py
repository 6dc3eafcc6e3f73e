"""Visibility queries over Chaîne's search attributes, built from checked values only."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import ErrorCode, InvalidInput
from workflows import search_attributes as sa

RUNNING = "ExecutionStatus = 'Running'"
INVOICE_WORKFLOW = "InvoiceWorkflow"
INVOICE_KIND = "invoice"  # the ChaineKind InvoiceWorkflow sets
# Keys of search attributes are SIRETs, other supplier identifiers and short kind names:
# anything else is refused rather than quoted, so a filter can never change the query.
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")


def literal(value: str) -> str:
    """`value` as a quoted literal of a visibility query; only key-like values are taken."""
    if not _KEY.fullmatch(value):
        raise InvalidInput(
            ErrorCode.VALIDATION_FAILED,
            f"{value!r} is not a workflow key: letters, digits and . _ : - only",
        )
    return f"'{value}'"


def all_of(*clauses: str | None) -> str:
    """The clauses that are set, each parenthesised, joined with AND."""
    return " AND ".join(f"({clause})" for clause in clauses if clause)


@dataclass(frozen=True)
class ExecutionFilter:
    """Which executions an operator looks at: kind of process, buyer, supplier."""

    kind: str | None = None
    structure: str | None = None
    supplier: str | None = None

    def clause(self) -> str:
        """The filter as a visibility query clause (empty when nothing is filtered)."""
        return all_of(
            f"{sa.KIND.name} = {literal(self.kind)}" if self.kind else None,
            f"{sa.STRUCTURE.name} = {literal(self.structure)}" if self.structure else None,
            f"{sa.SUPPLIER.name} = {literal(self.supplier)}" if self.supplier else None,
        )
