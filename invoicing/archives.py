"""Unpacking a bulk deposit (a zip of invoices, or one XML file of several) without trusting it.

Each entry is judged on its own: a bad one is refused with a code and the others go on.
A multi-invoice file is an XML document whose root element (any envelope) holds UBL
Invoice / CreditNote or CII CrossIndustryInvoice documents as its children; each child
becomes a standalone file, with the namespace declarations it needs.
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

from lxml import etree

from core.errors import ChaineError, ErrorCode
from invoicing.parsing import XmlRefused, parse_xml
from invoicing.syntax import CII_NS, UBL_CREDIT_NOTE_NS, UBL_INVOICE_NS

MAX_ENTRIES = 1000
_INVOICE_ROOTS = {
    (UBL_INVOICE_NS, "Invoice"),
    (UBL_CREDIT_NOTE_NS, "CreditNote"),
    (CII_NS, "CrossIndustryInvoice"),
}
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


def flow_files(data: bytes, max_bytes: int) -> Iterator[FlowFile | FlowFileRefused]:
    """The invoices of a flow: split from one XML file, or unpacked from a zip."""
    if _media_type(data) == "application/xml":
        return split_invoices(data, max_bytes)
    return unpack(data, max_bytes)


def split_invoices(data: bytes, max_bytes: int) -> Iterator[FlowFile | FlowFileRefused]:
    """Every invoice of a multi-invoice XML file, or why a child was refused, in order.

    The file goes through the one hardened parser (no DOCTYPE, entities or network); a
    file that is itself one invoice is a flow of one.
    """
    try:
        root = parse_xml(data, max_bytes=max_bytes).getroot()
    except XmlRefused as refused:
        raise ArchiveRefused(ErrorCode.FLOW_ARCHIVE_INVALID, refused.detail) from None
    if _qualified(root) in _INVOICE_ROOTS:
        yield FlowFile(_entry_name(1, root), data, "application/xml")
        return
    children = [child for child in root if isinstance(child.tag, str)]
    if len(children) > MAX_ENTRIES:
        raise ArchiveRefused(
            ErrorCode.FLOW_TOO_MANY_ENTRIES, f"{len(children)} documents; at most {MAX_ENTRIES}"
        )
    if not children:
        raise ArchiveRefused(ErrorCode.FLOW_ARCHIVE_INVALID, "the file holds no invoice")
    for number, child in enumerate(children, start=1):
        name = _entry_name(number, child)
        if _qualified(child) not in _INVOICE_ROOTS:
            yield FlowFileRefused(
                name, ErrorCode.FLOW_ENTRY_NOT_AN_INVOICE, f"{child.tag} is not an invoice"
            )
            continue
        yield FlowFile(
            name, etree.tostring(child, xml_declaration=True, encoding="UTF-8"), "application/xml"
        )


def _qualified(element: etree._Element) -> tuple[str, str]:
    name = etree.QName(element)
    return (name.namespace or "", name.localname)


def _entry_name(number: int, element: etree._Element) -> str:
    return f"{number:04d}-{etree.QName(element).localname}.xml"
