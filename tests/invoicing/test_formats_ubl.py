"""UBL 2.1: every valid corpus file reads, known files give their known values, and what
Chaîne writes (Invoice or CreditNote) passes the UBL XSD."""

from __future__ import annotations

import base64
import contextlib
import copy
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from core.errors import ErrorCode
from invoicing.formats import InvoiceUnreadable, read_invoice
from invoicing.formats.cii import read_cii
from invoicing.formats.ubl import read_ubl, write_ubl
from invoicing.model import Identifier, InvoiceTypeCode, Note
from invoicing.parsing import parse_xml
from invoicing.syntax import UBL_CREDIT_NOTE_NS, UBL_INVOICE_NS, Syntax
from tests.invoicing.builders import BUYER_SIRET, IBAN, SELLER_SIRET, a_credit_note, an_invoice
from tests.invoicing.corpus import (
    CII_VALID,
    UBL_CREDIT_NOTE_XSD,
    UBL_INVOICE_XSD,
    UBL_VALID,
    WITHOUT_LINES,
    assert_consistent,
    assert_schema_valid,
    named,
    tree_of,
)


def _name(path: Path) -> str:
    return path.name


@pytest.mark.parametrize("path", UBL_VALID, ids=_name)
def test_every_valid_corpus_file_reads_and_its_totals_add_up(path: Path) -> None:
    assert_consistent(read_ubl(tree_of(path)))


def test_the_corpus_holds_the_46_valid_ubl_files() -> None:
    assert len(UBL_VALID) == 46


def test_peppol_maximum_invoice_gives_every_term() -> None:
    invoice = read_ubl(tree_of(named(UBL_VALID, "Invoice-Max_content.xml")))

    assert (invoice.number, invoice.issue_date, invoice.due_date) == (
        "2018210",
        date(2018, 2, 8),
        date(2018, 3, 7),
    )
    assert (invoice.currency, invoice.vat_accounting_currency) == ("SEK", "EUR")
    assert invoice.total_due == Decimal("12500")
    assert invoice.totals.tax_amount_accounting == Decimal("249")
    assert invoice.seller.vat_id == "SE123456789001"
    assert invoice.seller.legal_registration == Identifier("1234567890", "0007")
    assert invoice.seller.tax_registration_id == "Godkänd för F-skatt"
    assert invoice.buyer_reference == "Buyer reference"
    assert invoice.commitment_number == "20180117"
    assert (
        invoice.sales_order_reference,
        invoice.contract_reference,
        invoice.project_reference,
    ) == ("INK/0117/JM", "2017-123", "Project 99")
    assert invoice.invoiced_object == Identifier("ABC123", "VT")
    assert invoice.notes == (Note("Document level Note\nLine break should be respected here."),)
    assert [p.number for p in invoice.preceding_invoices] == [
        "Preceding invoice no.1",
        "Preceding invoice no.2",
    ]
    assert invoice.iban == "SE1212341234123412341234"
    assert invoice.payment is not None and len(invoice.payment.credit_transfers) == 4
    assert len(invoice.lines) == 2
    first = invoice.lines[0]
    assert (first.quantity, first.unit_code, first.net_price) == (Decimal(500), "MTR", Decimal(20))
    assert (first.price_discount, first.gross_price) == (Decimal("0.50"), Decimal("20.50"))
    referenced, embedded, linked = invoice.supporting_documents
    assert (referenced.reference, referenced.description) == (
        "MT123",
        "Contracted maintenance plan",
    )
    assert (embedded.filename, embedded.mime_code) == ("testfilnamn.abc", "text/csv")
    assert embedded.content == base64.b64decode("01234567")
    assert linked.uri == "http://www.example.com/index.html"


def test_credit_note_reads_credited_quantities_and_its_project_reference() -> None:
    invoice = read_ubl(tree_of(named(UBL_VALID, "CreditNote-Max_content.xml")))

    assert invoice.type_code == InvoiceTypeCode.CREDIT_NOTE
    assert invoice.is_credit_note
    assert invoice.project_reference == "11111111"  # an additional document of type 50
    assert [line.quantity for line in invoice.lines] == [Decimal(500), Decimal(10000)]


def test_italian_invoice_gives_its_embedded_pdf_as_bytes() -> None:
    invoice = read_ubl(
        tree_of(named(UBL_VALID, "FT G2G_TD01 con Allegato, Bonifico e Split Payment.xml"))
    )

    assert invoice.number == "1316/85"
    assert invoice.total_due == Decimal("1246.00")
    assert invoice.totals.paid_amount == Decimal("274.12")
    assert invoice.iban == "IT64W0100003245243300306301"
    (attachment,) = invoice.supporting_documents
    assert (attachment.filename, attachment.mime_code) == (
        "mappatura_ubl_sdi.pdf",
        "application/pdf",
    )
    assert attachment.content is not None
    assert len(attachment.content) == 2_464_230
    assert attachment.content.startswith(b"%PDF-1.4")


def test_french_ctc_invoice_gives_its_routing_keys() -> None:
    invoice = read_ubl(tree_of(named(UBL_VALID, "ubl-21-extended-ctc-fr.xml")))

    assert invoice.number == "F124212"
    assert invoice.seller_siret == "99999999800019"  # BT-29: BT-30 is the SIREN (0002)
    assert invoice.buyer_siret == "78787878400018"
    assert invoice.service_code == "120943"
    assert invoice.commitment_number == "PO1242"
    assert invoice.iban == "FR2012421242124212421242124"
    assert invoice.total_due == Decimal("208.03")
    assert invoice.notes[0] == Note("Ceci est une information générale", "AAI")
    assert invoice.payment is not None and invoice.payment.direct_debit is not None
    assert invoice.payment.direct_debit.creditor_id == "Au bon moulin SARL"  # scheme SEPA
    assert Identifier("Au bon moulin SARL", "SEPA") not in invoice.seller.identifiers
    assert invoice.delivery_date == date(2026, 6, 14)


def test_builder_invoice_is_written_as_a_schema_valid_ubl_invoice() -> None:
    data = write_ubl(an_invoice(service_code="SERV-01", commitment_number="EJ-2026-42"))

    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert etree.QName(parse_xml(data).getroot()) == etree.QName(UBL_INVOICE_NS, "Invoice")
    assert_schema_valid(data, UBL_INVOICE_XSD)
    invoice = read_invoice(parse_xml(data), Syntax.UBL)
    assert (invoice.seller_siret, invoice.buyer_siret, invoice.iban) == (
        SELLER_SIRET,
        BUYER_SIRET,
        IBAN,
    )
    assert (invoice.service_code, invoice.commitment_number) == ("SERV-01", "EJ-2026-42")
    assert invoice.total_due == Decimal("1440.00")


def test_credit_note_is_written_as_a_schema_valid_ubl_credit_note() -> None:
    data = write_ubl(a_credit_note())

    root = parse_xml(data).getroot()
    assert etree.QName(root) == etree.QName(UBL_CREDIT_NOTE_NS, "CreditNote")
    assert_schema_valid(data, UBL_CREDIT_NOTE_XSD)
    assert read_ubl(parse_xml(data)).due_date == date(2026, 2, 14)  # in the payment means


@pytest.mark.parametrize("path", [p for p in CII_VALID if p.name not in WITHOUT_LINES], ids=_name)
def test_cii_corpus_file_rewritten_as_ubl_passes_the_ubl_xsd(path: Path) -> None:
    invoice = read_cii(tree_of(path))

    xsd = UBL_CREDIT_NOTE_XSD if invoice.is_credit_note else UBL_INVOICE_XSD
    assert_schema_valid(write_ubl(invoice), xsd)


def _written_with(old: bytes, new: bytes) -> etree._ElementTree:
    data = write_ubl(an_invoice())
    assert old in data
    return parse_xml(data.replace(old, new, 1))


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (
            b'<cbc:PayableAmount currencyID="EUR">1440.00<',
            b'<cbc:PayableAmount currencyID="EUR">1 440,00<',
            "/Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount",
        ),
        (b"<cbc:IssueDate>2026-01-15<", b"<cbc:IssueDate>2026-02-30<", "/Invoice/cbc:IssueDate"),
        (
            b'<cbc:InvoicedQuantity unitCode="C62">1<',
            b'<cbc:InvoicedQuantity unitCode="C62">NaN<',
            "/Invoice/cac:InvoiceLine/cbc:InvoicedQuantity",
        ),
        (b"<cbc:ID>F-2026-001</cbc:ID>", b"<cbc:ID> </cbc:ID>", "/Invoice/cbc:ID: missing"),
    ],
)
def test_a_value_that_cannot_be_interpreted_is_refused_with_its_path(
    old: bytes, new: bytes, where: str
) -> None:
    with pytest.raises(InvoiceUnreadable) as refused:
        read_invoice(_written_with(old, new), Syntax.UBL)

    assert refused.value.code == ErrorCode.INVOICE_UNREADABLE
    assert where in refused.value.detail


def test_a_cii_document_is_not_read_as_ubl() -> None:
    with pytest.raises(InvoiceUnreadable, match=r"not a UBL 2\.1 Invoice or CreditNote"):
        read_ubl(tree_of(named(CII_VALID, "factur-x-en16931.xml")))


def test_garbage_in_any_element_is_refused_or_ignored_never_a_crash() -> None:
    original = tree_of(named(UBL_VALID, "Invoice-Max_content.xml"))
    garbage = ("", "n/a", "1e3", "-", "٢٠٢٦")
    for index, _ in enumerate(_leaves(original)):
        tree = copy.deepcopy(original)
        _leaves(tree)[index].text = garbage[index % len(garbage)]
        with contextlib.suppress(InvoiceUnreadable):
            read_ubl(tree)


def _leaves(tree: etree._ElementTree) -> list[etree._Element]:
    return [element for element in tree.iter(etree.Element) if len(element) == 0]
