"""One entry point for every signed file: recognise its kind, verify, report.

Callers (the API, the `verify_signature` activity, procurement at bid opening) do not
need to know whether a bid came as a signed PDF, an XML file or a `.p7s` beside a file.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum

from core.errors import ErrorCode, InvalidInput
from signatures.cades import verify_cms
from signatures.pades import verify_pdf
from signatures.policy import VerificationPolicy
from signatures.report import VerificationReport
from signatures.xades import verify_xml


class SignedFileKind(StrEnum):
    PDF = "pdf"
    XML = "xml"
    CMS = "cms"


def kind_of(data: bytes) -> SignedFileKind:
    """Recognise a signed file by its first bytes (names and media types can lie)."""
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"%PDF-"):
        return SignedFileKind.PDF
    if head.startswith(b"<"):
        return SignedFileKind.XML
    if head.startswith((b"\x30", b"-----BEGIN")):
        return SignedFileKind.CMS
    raise InvalidInput(
        ErrorCode.SIGNATURE_INPUT_INVALID,
        "The file is neither a PDF, an XML document nor a CMS (.p7s) signature.",
    )


async def verify(
    data: bytes,
    policy: VerificationPolicy,
    *,
    signed_file: bytes | None = None,
    at: datetime | None = None,
) -> VerificationReport:
    """Verify every signature of `data` (with `signed_file` for a detached CMS)."""
    kind = kind_of(data)
    if signed_file is not None and kind is not SignedFileKind.CMS:
        raise InvalidInput(
            ErrorCode.SIGNATURE_INPUT_INVALID,
            f"A {kind.value.upper()} file carries its signatures: send it without a signed file.",
        )
    if kind is SignedFileKind.PDF:
        signatures = await verify_pdf(data, policy, at)
    elif kind is SignedFileKind.XML:
        signatures = await verify_xml(data, policy, at)
    else:
        signatures = await verify_cms(data, signed_file, policy, at)
    return VerificationReport(
        sha256=hashlib.sha256(data).hexdigest(),
        signatures=signatures,
        policy=policy.name,
        validation_time=at or datetime.now(UTC),
    )
