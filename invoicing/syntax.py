"""The invoice syntaxes Chaîne reads and the XML namespaces that identify them."""

from __future__ import annotations

from enum import StrEnum

UBL_INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
UBL_CAC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
UBL_CBC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
CII_RAM_NS = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
CII_UDT_NS = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
CII_QDT_NS = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"


class Syntax(StrEnum):
    """How an invoice was written: UBL 2.1, UN/CEFACT CII, or CII inside a Factur-X PDF."""

    UBL = "UBL"
    CII = "CII"
    FACTURX = "FACTURX"
