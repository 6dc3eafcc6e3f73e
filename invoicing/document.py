"""An invoice file read safely: its syntax, its parsed tree and the profile it claims.

Every file Chaîne receives goes through `load_document` before any rule looks at it. XML
goes through the one hardened parser (`invoicing.parsing.parse_xml`); a PDF is opened as a
Factur-X and must embed exactly one CII invoice, itself parsed by that same parser. Any
refusal is an `XmlRefused` carrying a stable code.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from enum import StrEnum

from lxml import etree
from pypdf import PdfReader, apply_configuration
from pypdf.errors import LimitReachedError

from core.errors import ErrorCode
from invoicing.parsing import MAX_XML_BYTES, XmlRefused, parse_xml
from invoicing.syntax import (
    CII_NS,
    CII_RAM_NS,
    UBL_CBC_NS,
    UBL_CREDIT_NOTE_NS,
    UBL_INVOICE_NS,
    Syntax,
)

MAX_DOCUMENT_BYTES = MAX_XML_BYTES  # one limit for an invoice file, XML or PDF

_CII_ROOT = f"{{{CII_NS}}}CrossIndustryInvoice"
_UBL_ROOTS = (f"{{{UBL_INVOICE_NS}}}Invoice", f"{{{UBL_CREDIT_NOTE_NS}}}CreditNote")
_PDF_MAGIC = b"%PDF-"
_NAME_SHOWN = 120  # attachment names are attacker-chosen: show only this much of one


class Profile(StrEnum):
    """Short names for the specification identifiers (BT-24) Chaîne recognises."""

    MINIMUM = "MINIMUM"
    BASIC_WL = "BASIC_WL"
    BASIC = "BASIC"
    EN16931 = "EN16931"
    EXTENDED = "EXTENDED"
    EXTENDED_CTC_FR = "EXTENDED_CTC_FR"
    PEPPOL_BIS3 = "PEPPOL_BIS3"
    XRECHNUNG = "XRECHNUNG"


# BT-24 values seen in the wild: Factur-X 1.0 (`urn:factur-x.eu:1p0:basicwl`), ZUGFeRD 2.0
# (`urn:zugferd.de:2p0:minimum`), the 2018 FNFE samples' colon form
# (`urn:cen.eu:en16931:2017:compliant:factur-x.eu:1p0:basic`), and the '#' form of later ones.
_PROFILES: tuple[tuple[re.Pattern[str], Profile], ...] = (
    (re.compile(r"^urn:cen\.eu:en16931:2017$"), Profile.EN16931),
    (re.compile(r"(factur-x\.eu|zugferd\.de):\dp\d:minimum$"), Profile.MINIMUM),
    (re.compile(r"(factur-x\.eu|zugferd\.de):\dp\d:basicwl$"), Profile.BASIC_WL),
    (re.compile(r"(factur-x\.eu|zugferd\.de):\dp\d:basic$"), Profile.BASIC),
    (re.compile(r"(factur-x\.eu|zugferd\.de):\dp\d:extended$"), Profile.EXTENDED),
    (re.compile(r"cpro\.gouv\.fr:1p0:extended-ctc-fr$"), Profile.EXTENDED_CTC_FR),
    (re.compile(r"peppol\.eu:2017:poacc:billing:3\.0$"), Profile.PEPPOL_BIS3),
    (re.compile(r"kosit:(standard:)?xrechnung_\d"), Profile.XRECHNUNG),
)


@dataclass(frozen=True)
class InvoiceDocument:
    """A parsed invoice, ready for validation and for reading into the canonical model."""

    syntax: Syntax
    tree: etree._ElementTree
    xml: bytes  # the invoice XML as received (for a Factur-X, as embedded in the PDF)
    profile: str | None  # a `Profile` when recognised, else the raw BT-24 value
    customization_id: str | None  # BT-24 as written: CustomizationID or guideline ID
    pdf_sha256: str | None = None  # hex digest of the PDF the XML came from, if any
    embedded_filename: str | None = None  # name of the XML inside that PDF

    @property
    def from_pdf(self) -> bool:
        """Whether the invoice was extracted from a Factur-X PDF."""
        return self.pdf_sha256 is not None


def profile_of(specification_id: str | None) -> str | None:
    """The short profile name of a BT-24 value, or the value itself when not recognised."""
    if not specification_id:
        return None
    for pattern, profile in _PROFILES:
        if pattern.search(specification_id):
            return profile
    return specification_id


def load_document(
    data: bytes, media_type: str | None = None, max_bytes: int = MAX_DOCUMENT_BYTES
) -> InvoiceDocument:
    """Read an invoice file (UBL, CII, or Factur-X PDF), or refuse it with an `XmlRefused`."""
    if data.startswith(_PDF_MAGIC) or _essence(media_type) == "application/pdf":
        return _load_facturx(data, max_bytes)
    tree = parse_xml(data, max_bytes=max_bytes)
    return _document(tree, data, _syntax_of(tree.getroot()))


def _essence(media_type: str | None) -> str | None:
    """`application/pdf` from `Application/PDF; foo=bar`."""
    return media_type.split(";", 1)[0].strip().lower() if media_type else None


def _syntax_of(root: etree._Element) -> Syntax:
    if root.tag in _UBL_ROOTS:
        return Syntax.UBL
    if root.tag == _CII_ROOT:
        return Syntax.CII
    raise XmlRefused(
        ErrorCode.INVOICE_SYNTAX_UNKNOWN,
        f"root element {root.tag} is neither a UBL 2.1 Invoice or CreditNote nor a CII "
        "CrossIndustryInvoice",
    )


def _document(
    tree: etree._ElementTree,
    xml: bytes,
    syntax: Syntax,
    pdf_sha256: str | None = None,
    embedded_filename: str | None = None,
) -> InvoiceDocument:
    root = tree.getroot()
    if syntax is Syntax.UBL:
        found = root.findtext(f"{{{UBL_CBC_NS}}}CustomizationID")
    else:
        found = root.findtext(
            f"{{{CII_NS}}}ExchangedDocumentContext"
            f"/{{{CII_RAM_NS}}}GuidelineSpecifiedDocumentContextParameter/{{{CII_RAM_NS}}}ID"
        )
    customization_id = found.strip() if found and found.strip() else None
    return InvoiceDocument(
        syntax=syntax,
        tree=tree,
        xml=xml,
        profile=profile_of(customization_id),
        customization_id=customization_id,
        pdf_sha256=pdf_sha256,
        embedded_filename=embedded_filename,
    )


def _load_facturx(data: bytes, max_bytes: int) -> InvoiceDocument:
    """The one CII invoice a Factur-X PDF embeds.

    We enumerate the attachments ourselves rather than call the `factur-x` library's
    `get_xml_from_pdf`: it keeps the first matching XML silently, where a PDF with zero or
    several invoice XMLs must be refused, and it parses that XML with a plain lxml parser,
    where every XML must go through our hardened `parse_xml`.
    """
    if len(data) > max_bytes:
        raise XmlRefused(ErrorCode.PDF_TOO_LARGE, f"PDF larger than {max_bytes} bytes")
    invoices: list[tuple[str, bytes, etree._ElementTree]] = []
    refusals: list[tuple[str, XmlRefused]] = []
    for name, content in _xml_attachments(data, max_bytes):
        try:
            tree = parse_xml(content)
        except XmlRefused as refusal:
            refusals.append((name, refusal))
            continue
        if tree.getroot().tag == _CII_ROOT:
            invoices.append((name, content, tree))
    if len(invoices) > 1:
        names = ", ".join(name for name, _, _ in invoices)
        raise XmlRefused(
            ErrorCode.PDF_SEVERAL_INVOICE_XML,
            f"the PDF embeds {len(invoices)} CII invoices ({names}); Factur-X allows one",
        )
    if invoices:
        name, content, tree = invoices[0]
        sha256 = hashlib.sha256(data).hexdigest()
        return _document(tree, content, Syntax.FACTURX, sha256, name)
    if refusals:  # the invoice is most likely the attachment we could not read: say why
        name, refusal = refusals[0]
        raise XmlRefused(refusal.code, f"{name} embedded in the PDF: {refusal.detail}")
    raise XmlRefused(
        ErrorCode.PDF_NO_INVOICE_XML,
        "the PDF embeds no CII invoice XML (a Factur-X carries factur-x.xml)",
    )


def _xml_attachments(data: bytes, max_bytes: int) -> list[tuple[str, bytes]]:
    """Name and content of every `*.xml` file embedded in the PDF, read with bounded memory."""
    limits = {  # no stream may inflate past what parse_xml would accept anyway
        "maximum_declared_stream_length": max_bytes,
        "zlib_maximum_output_length": MAX_XML_BYTES,
        "lzw_maximum_output_length": MAX_XML_BYTES,
        "run_length_maximum_output_length": MAX_XML_BYTES,
        "brotli_maximum_output_length": MAX_XML_BYTES,
    }
    found: list[tuple[str, bytes]] = []
    inflated = 0
    try:
        with apply_configuration(**limits):
            for attachment in PdfReader(io.BytesIO(data), strict=False).attachment_list:
                if not attachment.name.lower().endswith(".xml"):
                    continue
                content = attachment.content
                inflated += len(content)
                if inflated > MAX_XML_BYTES:  # a few zip bombs are as bad as one big one
                    raise XmlRefused(
                        ErrorCode.PDF_TOO_LARGE,
                        f"the XML files embedded in the PDF exceed {MAX_XML_BYTES} bytes",
                    )
                found.append((attachment.name[:_NAME_SHOWN], content))
    except XmlRefused:
        raise
    except LimitReachedError as exc:
        raise XmlRefused(ErrorCode.PDF_TOO_LARGE, f"PDF exceeds a reading limit: {exc}") from None
    except Exception as exc:
        # pypdf answers hostile or broken input with anything from PdfReadError to KeyError,
        # TypeError or RecursionError (deeply nested objects); all mean "unreadable PDF".
        raise XmlRefused(
            ErrorCode.PDF_INVALID, f"PDF not readable: {type(exc).__name__}: {exc}"
        ) from None
    return found
