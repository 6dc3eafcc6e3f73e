"""Hostile and broken files are refused with a stable code, quickly, in bounded memory.

Everything goes through `load_document`, the one door for invoice files (XML and PDF).
"""

from __future__ import annotations

import io
import resource
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from lxml import etree
from pypdf import PdfWriter

from core.config import Settings
from core.errors import ErrorCode
from invoicing.document import load_document
from invoicing.parsing import XmlRefused, parse_xml
from invoicing.syntax import CII_NS, UBL_INVOICE_NS, Syntax

CORPUS = Settings().shared_dir / "corpus"
HARDENING = CORPUS / "xml-hardening"
CII_INVOICE = CORPUS / "invoices/cii/valid/factur-x-en16931.xml"
UBL_INVOICE = CORPUS / "invoices/ubl/valid/ubl-21-en16931.xml"
FACTURX_PDF = CORPUS / "invoices/facturx/valid/EN16931_Einfach.pdf"
MAX_RSS_GROWTH_KIB = 300 * 1024


def refusal(data: bytes, media_type: str | None = None) -> XmlRefused:
    """The refusal `load_document` answers with (the test fails if it accepts)."""
    with pytest.raises(XmlRefused) as refused:
        load_document(data, media_type)
    return refused.value


@contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """Fail if the block takes longer than `seconds` or grows peak RSS by 300 MB or more."""
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    yield
    assert time.perf_counter() - started < seconds
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < MAX_RSS_GROWTH_KIB


def pdf_with(*attachments: tuple[str, bytes]) -> bytes:
    """A one-page PDF embedding the given files."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    for name, content in attachments:
        writer.add_attachment(name, content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def handmade_pdf(catalog_entries: bytes, *more_objects: bytes) -> bytes:
    """A PDF written byte by byte (pypdf would refuse to write a hostile one).

    Objects 1 and 2 are the catalog and an empty page tree; `more_objects` are 3, 4...
    """
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_entries + b" >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
        *more_objects,
    ]
    out = io.BytesIO(b"%PDF-1.7\n")
    out.seek(0, io.SEEK_END)
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def pdf_with_zip_bombs(*inflated_sizes: int) -> bytes:
    """A PDF embedding XML files that each inflate from a few KB to the given size."""
    names, objects = [], []
    for number, size in enumerate(inflated_sizes):
        spec, stream = 3 + 2 * number, 4 + 2 * number
        names.append(b"(bomb%d.xml) %d 0 R" % (number, spec))
        packed = zlib.compress(b"<a>" + b" " * size + b"</a>", 9)
        spec_body = b"<< /Type /Filespec /F (bomb%d.xml) /EF << /F %d 0 R >> >>"
        objects.append(spec_body % (number, stream))
        objects.append(
            b"<< /Type /EmbeddedFile /Filter /FlateDecode /Length %d >>\nstream\n" % len(packed)
            + packed
            + b"\nendstream"
        )
    catalog = b"/Names << /EmbeddedFiles << /Names [" + b" ".join(names) + b"] >> >>"
    return handmade_pdf(catalog, *objects)


def renamed_root(path: Path, tag: str) -> bytes:
    """The file's content under another root element."""
    root = etree.parse(str(path)).getroot()
    renamed = etree.Element(tag, nsmap=root.nsmap)
    renamed.extend(root)
    return etree.tostring(renamed, xml_declaration=True, encoding="UTF-8")


# --- the corpus of XML attacks ------------------------------------------------------------

ATTACKS = sorted(p.name for p in HARDENING.glob("*.xml") if not p.name.startswith("simple"))
CONTROLS = sorted(p.name for p in HARDENING.glob("simple*.xml"))


def test_the_corpus_holds_eight_attacks_and_two_controls() -> None:
    assert (len(ATTACKS), len(CONTROLS)) == (8, 2)


@pytest.mark.parametrize("name", ATTACKS)
def test_every_corpus_attack_is_refused_for_its_doctype(name: str) -> None:
    with bounded(seconds=1):
        refused = refusal((HARDENING / name).read_bytes())

    assert refused.code is ErrorCode.XML_DOCTYPE_FORBIDDEN


@pytest.mark.parametrize("name", CONTROLS)
def test_harmless_corpus_xml_is_parsed_but_is_no_invoice(name: str) -> None:
    data = (HARDENING / name).read_bytes()

    tree = parse_xml(data)
    refused = refusal(data)

    assert etree.QName(tree.getroot()).localname == "root"
    assert refused.code is ErrorCode.INVOICE_SYNTAX_UNKNOWN
    assert "root" in refused.detail


# --- XML attacks of our own ---------------------------------------------------------------


def test_external_file_entity_is_refused_without_reading_the_file() -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE Invoice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<Invoice xmlns="' + UBL_INVOICE_NS.encode() + b'"><ID>&xxe;</ID></Invoice>'
    )

    refused = refusal(xxe)

    assert refused.code is ErrorCode.XML_DOCTYPE_FORBIDDEN
    assert "root:" not in refused.detail


def test_billion_laughs_is_refused_at_once() -> None:
    entities = [b'<!ENTITY l0 "ha">'] + [
        b'<!ENTITY l%d "%s">' % (level, b"&l%d;" % (level - 1) * 10) for level in range(1, 10)
    ]
    bomb = b"<!DOCTYPE lolz [" + b"".join(entities) + b"]><Invoice>&l9;</Invoice>"

    with bounded(seconds=1):
        refused = refusal(bomb)

    assert refused.code is ErrorCode.XML_DOCTYPE_FORBIDDEN


def test_external_dtd_is_refused_without_fetching_it() -> None:
    data = b'<!DOCTYPE Invoice SYSTEM "http://127.0.0.1:9/invoice.dtd"><Invoice/>'

    assert refusal(data).code is ErrorCode.XML_DOCTYPE_FORBIDDEN


def test_doctype_hidden_by_a_utf16_encoding_is_still_refused() -> None:
    data = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'

    assert refusal(data.encode("utf-16")).code is ErrorCode.XML_DOCTYPE_FORBIDDEN


def test_nesting_100k_deep_is_refused_as_too_deep() -> None:
    with bounded(seconds=2):
        refused = refusal(b"<a>" * 100_000 + b"</a>" * 100_000)

    assert refused.code is ErrorCode.XML_TOO_DEEP


def test_nesting_just_deeper_than_any_invoice_is_refused_as_too_deep() -> None:
    assert refusal(b"<a>" * 65 + b"</a>" * 65).code is ErrorCode.XML_TOO_DEEP


def test_50_mb_invoice_is_refused_as_too_large_before_parsing() -> None:
    head = UBL_INVOICE.read_bytes().split(b"</Invoice>")[0]
    huge = head + b"<!-- " + b"x" * (50 * 1024 * 1024) + b" --></Invoice>"

    with bounded(seconds=1):
        refused = refusal(huge)

    assert refused.code is ErrorCode.XML_TOO_LARGE


def test_not_well_formed_xml_is_refused() -> None:
    assert refusal(b"<Invoice><ID>1</Invoice>").code is ErrorCode.XML_NOT_WELL_FORMED


# --- syntax detection -------------------------------------------------------------------------


def test_invoice_in_an_unknown_namespace_is_refused_naming_its_root() -> None:
    refused = refusal(b'<Invoice xmlns="urn:example:invoice"><ID>1</ID></Invoice>')

    assert refused.code is ErrorCode.INVOICE_SYNTAX_UNKNOWN
    assert "{urn:example:invoice}Invoice" in refused.detail


def test_invoice_without_namespace_is_refused() -> None:
    assert refusal(b"<Invoice><ID>1</ID></Invoice>").code is ErrorCode.INVOICE_SYNTAX_UNKNOWN


def test_cii_content_under_a_cii_root_in_the_ubl_namespace_is_refused() -> None:
    data = renamed_root(CII_INVOICE, f"{{{UBL_INVOICE_NS}}}CrossIndustryInvoice")

    refused = refusal(data)

    assert refused.code is ErrorCode.INVOICE_SYNTAX_UNKNOWN
    assert f"{{{UBL_INVOICE_NS}}}CrossIndustryInvoice" in refused.detail


def test_ubl_content_under_an_invoice_root_in_the_cii_namespace_is_refused() -> None:
    data = renamed_root(UBL_INVOICE, f"{{{CII_NS}}}Invoice")

    assert refusal(data).code is ErrorCode.INVOICE_SYNTAX_UNKNOWN


def test_ubl_and_cii_are_recognised_by_their_root() -> None:
    assert load_document(UBL_INVOICE.read_bytes()).syntax is Syntax.UBL
    assert load_document(CII_INVOICE.read_bytes()).syntax is Syntax.CII


# --- PDF --------------------------------------------------------------------------------------


def test_pdf_without_xml_is_refused() -> None:
    assert refusal(pdf_with()).code is ErrorCode.PDF_NO_INVOICE_XML


def test_pdf_whose_only_xml_is_not_cii_is_refused() -> None:
    data = pdf_with(("factur-x.xml", UBL_INVOICE.read_bytes()))

    assert refusal(data).code is ErrorCode.PDF_NO_INVOICE_XML


def test_pdf_with_two_invoice_xmls_is_refused() -> None:
    cii = CII_INVOICE.read_bytes()

    refused = refusal(pdf_with(("factur-x.xml", cii), ("zugferd-invoice.xml", cii)))

    assert refused.code is ErrorCode.PDF_SEVERAL_INVOICE_XML
    assert "factur-x.xml" in refused.detail
    assert "zugferd-invoice.xml" in refused.detail


def test_pdf_with_one_invoice_among_other_attachments_is_read() -> None:
    data = pdf_with(("notes.txt", b"hello"), ("factur-x.xml", CII_INVOICE.read_bytes()))

    document = load_document(data)

    assert document.syntax is Syntax.FACTURX
    assert document.embedded_filename == "factur-x.xml"
    assert document.xml == CII_INVOICE.read_bytes()


def test_xml_embedded_in_a_pdf_goes_through_the_hardened_parser() -> None:
    data = pdf_with(("factur-x.xml", (HARDENING / "xmlbomb.xml").read_bytes()))

    refused = refusal(data)

    assert refused.code is ErrorCode.XML_DOCTYPE_FORBIDDEN
    assert "factur-x.xml" in refused.detail


def test_truncated_pdf_is_refused_as_invalid() -> None:
    whole = FACTURX_PDF.read_bytes()

    assert refusal(whole[: len(whole) // 2]).code is ErrorCode.PDF_INVALID


def test_garbage_after_a_pdf_header_is_refused_as_invalid() -> None:
    assert refusal(b"%PDF-1.7\n" + bytes(range(256)) * 64).code is ErrorCode.PDF_INVALID


def test_xml_sent_as_a_pdf_is_refused_as_invalid_pdf() -> None:
    refused = refusal(CII_INVOICE.read_bytes(), media_type="application/pdf")

    assert refused.code is ErrorCode.PDF_INVALID


def test_deeply_nested_pdf_objects_are_refused_without_recursion_error() -> None:
    depth = 100_000
    nested = b"/Names << /EmbeddedFiles << /Names " + b"[" * depth + b"]" * depth + b" >> >>"

    with bounded(seconds=5):
        refused = refusal(handmade_pdf(nested))

    assert refused.code is ErrorCode.PDF_INVALID


def test_embedded_xml_inflating_past_the_xml_limit_is_refused_as_too_large() -> None:
    bomb = pdf_with_zip_bombs(30 * 1024 * 1024)

    with bounded(seconds=5):
        refused = refusal(bomb)

    assert len(bomb) < 100_000
    assert refused.code is ErrorCode.PDF_TOO_LARGE
    assert "decompressing" in refused.detail  # pypdf stopped inflating at our limit


def test_several_embedded_xml_bombs_are_refused_on_their_total_size() -> None:
    bombs = pdf_with_zip_bombs(*[8 * 1024 * 1024] * 4)

    with bounded(seconds=5):
        refused = refusal(bombs)

    assert refused.code is ErrorCode.PDF_TOO_LARGE
    assert "XML files embedded in the PDF exceed" in refused.detail


def test_50_mb_pdf_is_refused_as_too_large_before_parsing() -> None:
    huge = FACTURX_PDF.read_bytes() + b"%" + b"x" * (50 * 1024 * 1024)

    with bounded(seconds=1):
        refused = refusal(huge)

    assert refused.code is ErrorCode.PDF_TOO_LARGE
