"""Where the shared corpus of public invoices lives (read only: never edit it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Settings


@pytest.fixture(scope="session")
def invoices_dir() -> Path:
    """`corpus/invoices/` of the shared folder (see its MANIFEST.md)."""
    return Settings().shared_dir / "corpus" / "invoices"
