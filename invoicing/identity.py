"""Who issued an invoice and under which number: read before validation, to name its process.

Only two values are read, with tolerant XPaths, so even an invoice that later fails its
schema can be attributed to its seller and recorded with its report.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from core.errors import ChaineError, ErrorCode
from invoicing.document import load_document
from invoicing.model import SIRET_SCHEME
from invoicing.syntax import CII_NS, CII_RAM_NS, UBL_CAC_NS, UBL_CBC_NS

_NS = {"cac": UBL_CAC_NS, "cbc": UBL_CBC_NS, "rsm": CII_NS, "ram": CII_RAM_NS}

_UBL_NUMBER = etree.XPath("/*/cbc:ID/text()", namespaces=_NS)
_UBL_SELLER_IDS = etree.XPath(
    "/*/cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID"
    " | /*/cac:AccountingSupplierParty/cac:Party/cac:PartyIdentification/cbc:ID",
    namespaces=_NS,
)
_CII_NUMBER = etree.XPath(
    "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID/text()", namespaces=_NS
)
_CII_SELLER_IDS = etree.XPath(
    "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
    "/ram:SellerTradeParty/ram:SpecifiedLegalOrganization/ram:ID"
    " | /rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction"
    "/ram:ApplicableHeaderTradeAgreement/ram:SellerTradeParty/ram:ID",
    namespaces=_NS,
)


@dataclass(frozen=True)
class InvoiceIdentity:
    """The invoice number (BT-1) and the seller's SIRET (BT-30 or BT-29, scheme 0009)."""

    number: str | None
    seller_siret: str | None


def _first_text(values: list[str]) -> str | None:
    for value in values:
        if value.strip():
            return value.strip()
    return None


def _siret_among(elements: list[etree._Element]) -> str | None:
    for element in elements:
        if element.get("schemeID") == SIRET_SCHEME and (element.text or "").strip():
            return (element.text or "").strip().replace(" ", "")
    return None


def identify(tree: etree._ElementTree) -> InvoiceIdentity:
    """Read BT-1 and the seller's SIRET from a UBL or CII tree, whatever else is wrong."""
    if etree.QName(tree.getroot()).namespace == CII_NS:
        return InvoiceIdentity(_first_text(_CII_NUMBER(tree)), _siret_among(_CII_SELLER_IDS(tree)))
    return InvoiceIdentity(_first_text(_UBL_NUMBER(tree)), _siret_among(_UBL_SELLER_IDS(tree)))


class SellerNotYours(ChaineError):
    """The invoice's seller is not a SIRET the depositor acts for."""

    code = ErrorCode.INVOICE_SELLER_NOT_YOURS
    status = 403


class Unattributable(ChaineError):
    """The file names no seller SIRET and the depositor acts for several."""

    code = ErrorCode.INVOICE_INVALID
    status = 422


def process_name(
    identity: InvoiceIdentity | None, depositor_sirets: frozenset[str], sha256: str
) -> tuple[str, str]:
    """The seller and number a deposit's process is named after.

    The seller is the invoice's SIRET, which must be one of the depositor's; when the file
    names none (or cannot be read), the depositor's only SIRET, so the rejection is still
    recorded for them. A file without a readable number is named after its content.
    """
    seller = identity.seller_siret if identity else None
    if seller is not None and seller not in depositor_sirets:
        raise SellerNotYours(f"the seller SIRET {seller} of this invoice is not one you act for")
    if seller is None:
        if len(depositor_sirets) != 1:
            raise Unattributable(
                "the invoice names no seller SIRET (BT-30, scheme 0009) and you act for "
                "several SIRETs: add the seller SIRET to the invoice"
            )
        (seller,) = depositor_sirets
    number = identity.number if identity and identity.number else f"unreadable-{sha256[:16]}"
    return seller, number


def identify_file(data: bytes, media_type: str | None) -> InvoiceIdentity | None:
    """Seller and number of a file, if it can be read at all (its report will say if not)."""
    try:
        return identify(load_document(data, media_type).tree)
    except ChaineError:
        return None
