"""Search attributes that Chaîne workflows set, so operators can find executions by business key.

The embedded dev server registers them at every start (`chaine up`; registration is
idempotent on the persistent database). On a real cluster an operator registers them once
with `temporal operator search-attribute create --name ChaineStatus --type Keyword` and so on.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeIndexedValueType, SearchAttributeKey

STATUS = SearchAttributeKey.for_keyword("ChaineStatus")
"""Business status of the process (invoice status, consultation phase)."""

STRUCTURE = SearchAttributeKey.for_keyword("ChaineStructure")
"""SIRET of the buying structure."""

SUPPLIER = SearchAttributeKey.for_keyword("ChaineSupplier")
"""Identifier of the supplier."""

AMOUNT = SearchAttributeKey.for_float("ChaineAmount")
"""Amount in euros, for range filters only: the record of truth stays in SQL, in cents."""

KIND = SearchAttributeKey.for_keyword("ChaineKind")
"""What the execution handles: `invoice`, `consultation`, `contract`..."""

ALL: tuple[SearchAttributeKey[Any], ...] = (STATUS, STRUCTURE, SUPPLIER, AMOUNT, KIND)

# The type names `temporal server start-dev --search-attribute` accepts.
_CLI_TYPE_NAMES = {
    SearchAttributeIndexedValueType.TEXT: "Text",
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.INT: "Int",
    SearchAttributeIndexedValueType.DOUBLE: "Double",
    SearchAttributeIndexedValueType.BOOL: "Bool",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}


def cli_declarations() -> list[str]:
    """`Name=Type` strings, one per attribute, for the dev server's `--search-attribute` flag."""
    return [f"{key.name}={_CLI_TYPE_NAMES[key.indexed_value_type]}" for key in ALL]
