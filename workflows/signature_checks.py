"""Messages of the `verify_signature` activity, for the workflows that check signed files.

Procurement calls it at bid opening and on contracts; files travel as blob hashes, and
the answer carries the verdict plus the full report (a few kilobytes of JSON).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SignatureCheckRequest:
    """A stored signed file and, for a detached `.p7s`, the stored file it signs."""

    file_sha256: str
    signed_file_sha256: str | None = None


@dataclass(frozen=True)
class SignatureCheck:
    """The file's verdict (its weakest signature) and the report it rests on.

    `refusal` is set instead when the file could not be examined at all (not a signed
    file, no signature, over the limits): a business outcome, not a retryable failure.
    """

    indication: str | None
    report: dict[str, Any] = field(default_factory=dict)
    refusal_code: str | None = None
    refusal: str | None = None
