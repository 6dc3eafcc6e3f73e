"""Writing then reading gives back the same invoice: nothing the model holds is lost.

For generated invoices (`strategies.invoices`, which leaves out what a syntax cannot carry)
and for every valid corpus file within its own syntax, read(write(x)) == x; the written
documents also pass their XSD.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from invoicing.formats import read_invoice, write_invoice
from invoicing.model import Invoice
from invoicing.parsing import parse_xml
from invoicing.syntax import Syntax
from tests.invoicing.corpus import (
    CII_VALID,
    FACTURX_EN16931_XSD,
    UBL_CREDIT_NOTE_XSD,
    UBL_INVOICE_XSD,
    UBL_VALID,
    assert_schema_valid,
    tree_of,
)
from tests.invoicing.strategies import invoices

ROUND_TRIPS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _round_trip(invoice: Invoice, syntax: Syntax) -> Invoice:
    return read_invoice(parse_xml(write_invoice(invoice, syntax)), syntax)


@ROUND_TRIPS
@given(invoices(Syntax.UBL))
def test_any_invoice_written_to_ubl_reads_back_unchanged(invoice: Invoice) -> None:
    data = write_invoice(invoice, Syntax.UBL)

    assert read_invoice(parse_xml(data), Syntax.UBL) == invoice
    assert_schema_valid(data, UBL_CREDIT_NOTE_XSD if invoice.is_credit_note else UBL_INVOICE_XSD)


@ROUND_TRIPS
@given(invoices(Syntax.CII))
def test_any_invoice_written_to_cii_reads_back_unchanged(invoice: Invoice) -> None:
    data = write_invoice(invoice, Syntax.CII)

    assert read_invoice(parse_xml(data), Syntax.CII) == invoice
    assert_schema_valid(data, FACTURX_EN16931_XSD)


@pytest.mark.parametrize("path", UBL_VALID, ids=lambda path: path.name)
def test_ubl_corpus_file_survives_a_rewrite_unchanged(path: Path) -> None:
    read = read_invoice(tree_of(path), Syntax.UBL)

    assert _round_trip(read, Syntax.UBL) == read


@pytest.mark.parametrize("path", CII_VALID, ids=lambda path: path.name)
def test_cii_corpus_file_survives_a_rewrite_unchanged(path: Path) -> None:
    read = read_invoice(tree_of(path), Syntax.CII)

    assert _round_trip(read, Syntax.CII) == read
