"""Unpacking a bulk deposit (a zip of invoices) without trusting it.

Each entry is judged on its own: a bad one is refused with a code and the others go on.
Refused: names that could escape a directory (zip-slip), nested archives, entries whose
declared or actual size passes the limit or whose compression ratio betrays a bomb, and
files that are neither XML nor PDF. Reading is bounded: never more than the limit plus
one byte is inflated per entry.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from core.errors import ChaineError, ErrorCode

MAX_ENTRIES = 1000
MAX_RATIO = 200  # a real XML invoice deflates about 10:1; bombs reach 1000:1 and more
_ARCHIVE_MAGIC = (b"PK\x03\x04", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!", b"BZh")
_ARCHIVE_SUFFIXES = {".zip", ".gz", ".tgz", ".tar", ".7z", ".rar", ".bz2", ".xz", ".jar"}


class ArchiveRefused(ChaineError):
    """The archive as a whole cannot be read."""

    status = 422

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code  # type: ignore[misc]


@dataclass(frozen=True)
class FlowFile:
    """One invoice file taken from the archive."""

    name: str
    data: bytes
    media_type: str


@dataclass(frozen=True)
class FlowFileRefused:
    """One entry refused, and why."""

    name: str
    code: ErrorCode
    reason: str


def _safe_name(name: str) -> bool:
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        return False
    path = PurePosixPath(name)
    return ".." not in path.parts and not (path.parts and ":" in path.parts[0])


def _media_type(data: bytes) -> str | None:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"<"):
        return "application/xml"
    return None


def unpack(data: bytes, max_entry_bytes: int) -> Iterator[FlowFile | FlowFileRefused]:
    """Every file of a zip archive, or the reason it was refused, in archive order."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = [e for e in archive.infolist() if not e.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise ArchiveRefused(ErrorCode.FLOW_ARCHIVE_INVALID, f"not a readable zip: {exc}") from None
    if len(entries) > MAX_ENTRIES:
        raise ArchiveRefused(
            ErrorCode.FLOW_TOO_MANY_ENTRIES, f"{len(entries)} files; at most {MAX_ENTRIES}"
        )
    for entry in entries:
        yield _read_entry(archive, entry, max_entry_bytes)


def _read_entry(
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo, limit: int
) -> FlowFile | FlowFileRefused:
    name = entry.filename

    def refused(code: ErrorCode, reason: str) -> FlowFileRefused:
        return FlowFileRefused(name, code, reason)

    if not _safe_name(name):
        return refused(ErrorCode.FLOW_ENTRY_UNSAFE_NAME, "the name could escape the flow")
    if PurePosixPath(name).suffix.lower() in _ARCHIVE_SUFFIXES:
        return refused(ErrorCode.FLOW_ENTRY_NESTED_ARCHIVE, "archives inside archives are refused")
    if entry.file_size > limit:
        return refused(ErrorCode.FLOW_ENTRY_TOO_LARGE, f"{entry.file_size} bytes; limit {limit}")
    if entry.compress_size and entry.file_size / entry.compress_size > MAX_RATIO:
        return refused(ErrorCode.FLOW_ENTRY_TOO_LARGE, "compression ratio of a zip bomb")
    try:
        with archive.open(entry) as handle:
            content = handle.read(limit + 1)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, EOFError) as exc:
        return refused(ErrorCode.FLOW_ARCHIVE_INVALID, f"unreadable entry: {exc}")
    if len(content) > limit:
        return refused(ErrorCode.FLOW_ENTRY_TOO_LARGE, f"inflates past {limit} bytes")
    if content.startswith(_ARCHIVE_MAGIC):
        return refused(ErrorCode.FLOW_ENTRY_NESTED_ARCHIVE, "archives inside archives are refused")
    media_type = _media_type(content)
    if media_type is None:
        return refused(ErrorCode.FLOW_ENTRY_NOT_AN_INVOICE, "neither XML nor PDF")
    return FlowFile(name, content, media_type)
