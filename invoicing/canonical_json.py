"""The canonical invoice as JSON: what `GET /v1/invoices/{id}` returns, whatever the syntax.

Decimals become strings (never floats), dates ISO 8601, embedded files a reference to
the blob that holds them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any


def to_json(value: Any, store_bytes: Callable[[bytes], dict[str, Any]]) -> Any:
    """Turn a domain value into JSON-ready data; bytes go through `store_bytes`."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_json(getattr(value, f.name), store_bytes) for f in dataclasses.fields(value)
        }
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return store_bytes(value)
    if isinstance(value, tuple | list):
        return [to_json(v, store_bytes) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v, store_bytes) for k, v in value.items()}
    return value
