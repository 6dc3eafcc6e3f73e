"""Invoice syntaxes to and from the canonical invoice (`invoicing.model.Invoice`).

Factur-X carries CII: its embedded XML reads as CII, and writing for Factur-X gives the
CII XML to embed (making the PDF/A-3 is not done here).
"""

from __future__ import annotations

from lxml import etree

from invoicing.formats.cii import read_cii, write_cii
from invoicing.formats.ubl import read_ubl, write_ubl
from invoicing.formats.xmlread import InvoiceUnreadable
from invoicing.model import Invoice
from invoicing.syntax import Syntax

__all__ = ["InvoiceUnreadable", "read_invoice", "write_invoice"]


def read_invoice(tree: etree._ElementTree, syntax: Syntax) -> Invoice:
    """Read a parsed UBL, CII or Factur-X (embedded CII) invoice.

    A value that cannot be interpreted raises `InvoiceUnreadable`, naming its element.
    """
    return read_ubl(tree) if syntax is Syntax.UBL else read_cii(tree)


def write_invoice(invoice: Invoice, syntax: Syntax) -> bytes:
    """Write the invoice as UTF-8 XML in `syntax` (for Factur-X, the CII XML to embed)."""
    return write_ubl(invoice) if syntax is Syntax.UBL else write_cii(invoice)
