"""UN/CEFACT CII (D16B, D22B; Factur-X) to and from the canonical invoice (EN 16931-3-3).

Written documents follow the Factur-X EN16931 profile of CII D16B, so they pass its XSD.
Binding choices where CII has no one-to-one place for a business term:
- BT-29/46/60/71 identifiers: `ram:ID` without a scheme, `ram:GlobalID` with one (the XSD
  puts every ID before every GlobalID, so their relative order is not kept).
- BT-7 and BT-8 sit on each VAT breakdown (`ram:ApplicableTradeTax`): read from the first
  that has them, written on each; an invoice without VAT breakdown cannot carry them.
- BT-17 tender or lot and BT-18 invoiced object: additional referenced documents with type
  codes 50 and 130; supporting documents (BG-24) have type code 916.
- BT-11 project reference: `ram:SpecifiedProcuringProject`, whose mandatory name is written
  "Project reference".
- BT-84 account: `ram:IBANID` when it has the shape of an IBAN, else `ram:ProprietaryID`.
- BT-147 without BT-148: the gross price is written as net price plus discount (BT-146 =
  BT-148 - BT-147), since CII carries the discount inside the gross price.
- BG-16 payment instructions repeat one `ram:SpecifiedTradeSettlementPaymentMeans` per credit
  transfer (BG-17); the card (BG-18) and the debited account (BT-91) sit in the first.
"""

from __future__ import annotations

import base64
import re
from datetime import date
from decimal import Decimal

from lxml import etree

from invoicing.formats.xmlbuild import decimal_text, opt, serialize, sub
from invoicing.formats.xmlread import (
    InvoiceUnreadable,
    Node,
    parse_base64,
    parse_compact_date,
    parse_decimal,
    parse_indicator,
)
from invoicing.model import (
    Address,
    AllowanceCharge,
    Classification,
    Contact,
    CreditTransfer,
    Delivery,
    DirectDebit,
    Identifier,
    Invoice,
    InvoiceLine,
    ItemAttribute,
    Note,
    Party,
    Payee,
    PaymentCard,
    PaymentInstructions,
    Period,
    PrecedingInvoice,
    SupportingDocument,
    TaxRepresentative,
    Totals,
    VatBreakdown,
)
from invoicing.syntax import CII_NS, CII_QDT_NS, CII_RAM_NS, CII_UDT_NS

NAMESPACES = (("rsm", CII_NS), ("ram", CII_RAM_NS), ("udt", CII_UDT_NS), ("qdt", CII_QDT_NS))
RSM = f"{{{CII_NS}}}"
RAM = f"{{{CII_RAM_NS}}}"
UDT = f"{{{CII_UDT_NS}}}"
QDT = f"{{{CII_QDT_NS}}}"
DATE_FORMAT = "102"  # UNTDID 2379 CCYYMMDD, the only date format of EN 16931 in CII
VAT_ID_SCHEME = "VA"  # BT-31/48/63
TAX_REGISTRATION_SCHEME = "FC"  # BT-32
TENDER_DOCUMENT_TYPE = "50"  # BT-17
OBJECT_DOCUMENT_TYPE = "130"  # BT-18, BT-128
SUPPORTING_DOCUMENT_TYPE = "916"  # BG-24
PROJECT_NAME = "Project reference"
MEANS_NOT_DEFINED = "1"  # UNTDID 4461 "instrument not defined", when BT-81 is unknown
_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")
_DATE_STRINGS = "udt:DateTimeString | udt:DateString | qdt:DateTimeString | qdt:DateString"


# --- reading ------------------------------------------------------------------------------


def read_cii(tree: etree._ElementTree) -> Invoice:
    """Read a CII CrossIndustryInvoice; an uninterpretable value is `InvoiceUnreadable`."""
    root = tree.getroot()
    kind = etree.QName(root)
    if (kind.namespace, kind.localname) != (CII_NS, "CrossIndustryInvoice"):
        raise InvoiceUnreadable(f"/{kind.localname}: not a CII CrossIndustryInvoice")
    doc = Node(root, NAMESPACES)
    exchanged = doc.required_node("rsm:ExchangedDocument")
    transaction = doc.required_node("rsm:SupplyChainTradeTransaction")
    agreement = transaction.required_node("ram:ApplicableHeaderTradeAgreement")
    delivery = transaction.first("ram:ApplicableHeaderTradeDelivery")
    settlement = transaction.required_node("ram:ApplicableHeaderTradeSettlement")
    currency = settlement.required_text("ram:InvoiceCurrencyCode")
    payee = settlement.first("ram:PayeeTradeParty")
    objects = agreement.all(
        f"ram:AdditionalReferencedDocument[ram:TypeCode='{OBJECT_DOCUMENT_TYPE}']"
    )
    return Invoice(
        number=exchanged.required_text("ram:ID"),
        issue_date=_required_date(exchanged, "ram:IssueDateTime"),
        type_code=exchanged.required_text("ram:TypeCode"),
        currency=currency,
        specification_id=doc.required_text(
            "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID"
        ),
        seller=_party(agreement.required_node("ram:SellerTradeParty")),
        buyer=_party(agreement.required_node("ram:BuyerTradeParty")),
        totals=_totals(
            settlement.required_node("ram:SpecifiedTradeSettlementHeaderMonetarySummation"),
            currency,
        ),
        lines=tuple(
            _line(node) for node in transaction.all("ram:IncludedSupplyChainTradeLineItem")
        ),
        vat_accounting_currency=settlement.text("ram:TaxCurrencyCode"),
        vat_point_date=_date(settlement, "ram:ApplicableTradeTax/ram:TaxPointDate"),
        vat_point_date_code=settlement.text("ram:ApplicableTradeTax/ram:DueDateTypeCode"),
        due_date=_date(settlement, "ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime"),
        buyer_reference=agreement.text("ram:BuyerReference"),
        project_reference=agreement.text("ram:SpecifiedProcuringProject/ram:ID"),
        contract_reference=agreement.text("ram:ContractReferencedDocument/ram:IssuerAssignedID"),
        purchase_order_reference=agreement.text(
            "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"
        ),
        sales_order_reference=agreement.text(
            "ram:SellerOrderReferencedDocument/ram:IssuerAssignedID"
        ),
        receiving_advice_reference=(
            delivery.text("ram:ReceivingAdviceReferencedDocument/ram:IssuerAssignedID")
            if delivery is not None
            else None
        ),
        despatch_advice_reference=(
            delivery.text("ram:DespatchAdviceReferencedDocument/ram:IssuerAssignedID")
            if delivery is not None
            else None
        ),
        tender_or_lot_reference=agreement.text(
            f"ram:AdditionalReferencedDocument[ram:TypeCode='{TENDER_DOCUMENT_TYPE}']"
            "/ram:IssuerAssignedID"
        ),
        invoiced_object=_referenced_object(objects[0]) if objects else None,
        buyer_accounting_reference=settlement.text(
            "ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID"
        ),
        payment_terms=settlement.joined("ram:SpecifiedTradePaymentTerms/ram:Description"),
        notes=tuple(
            Note(note.joined("ram:Content") or "", note.text("ram:SubjectCode"))
            for note in exchanged.all("ram:IncludedNote")
        ),
        business_process=doc.text(
            "rsm:ExchangedDocumentContext/ram:BusinessProcessSpecifiedDocumentContextParameter"
            "/ram:ID"
        ),
        preceding_invoices=tuple(
            PrecedingInvoice(
                node.required_text("ram:IssuerAssignedID"),
                _date(node, "ram:FormattedIssueDateTime"),
            )
            for node in settlement.all("ram:InvoiceReferencedDocument")
        ),
        payee=_payee(payee) if payee is not None else None,
        tax_representative=_tax_representative(
            agreement.first("ram:SellerTaxRepresentativeTradeParty")
        ),
        delivery=_delivery(delivery) if delivery is not None else None,
        period=_period(settlement.first("ram:BillingSpecifiedPeriod")),
        payment=_payment(settlement),
        allowances_charges=tuple(
            _allowance_charge(node) for node in settlement.all("ram:SpecifiedTradeAllowanceCharge")
        ),
        vat_breakdown=tuple(
            _vat_breakdown(node) for node in settlement.all("ram:ApplicableTradeTax")
        ),
        supporting_documents=tuple(
            _supporting_document(node)
            for node in agreement.all("ram:AdditionalReferencedDocument")
            if node.text("ram:TypeCode") not in (TENDER_DOCUMENT_TYPE, OBJECT_DOCUMENT_TYPE)
        ),
    )


def _date(node: Node, path: str) -> date | None:
    container = node.first(path)
    if container is None:
        return None
    string = container.first(_DATE_STRINGS)
    if string is None:
        raise InvoiceUnreadable(f"{container.location}/udt:DateTimeString: missing")
    if string.attr("format") not in (None, DATE_FORMAT):
        raise InvoiceUnreadable(
            f"{string.location}: date format {string.attr('format')!r}"
            f" is not {DATE_FORMAT} (YYYYMMDD)"
        )
    return string.parsed(parse_compact_date)


def _required_date(node: Node, path: str) -> date:
    value = _date(node, path)
    if value is None:
        raise InvoiceUnreadable(f"{node.location}/{path}: missing")
    return value


def _referenced_object(node: Node) -> Identifier | None:
    value = node.text("ram:IssuerAssignedID")
    return Identifier(value, node.text("ram:ReferenceTypeCode")) if value is not None else None


def _identifiers(node: Node) -> tuple[Identifier, ...]:
    return tuple(
        identifier
        for found in node.all("ram:ID | ram:GlobalID")
        if (identifier := found.identifier()) is not None
    )


def _address(node: Node | None) -> Address | None:
    if node is None:
        return None
    return Address(
        country_code=node.required_text("ram:CountryID"),
        line_one=node.text("ram:LineOne"),
        line_two=node.text("ram:LineTwo"),
        line_three=node.text("ram:LineThree"),
        city=node.text("ram:CityName"),
        post_code=node.text("ram:PostcodeCode"),
        subdivision=node.text("ram:CountrySubDivisionName"),
    )


def _contact(node: Node | None) -> Contact | None:
    if node is None:
        return None
    contact = Contact(
        node.text("ram:PersonName") or node.text("ram:DepartmentName"),
        node.text("ram:TelephoneUniversalCommunication/ram:CompleteNumber"),
        node.text("ram:EmailURIUniversalCommunication/ram:URIID"),
    )
    return contact if contact != Contact() else None


def _party(node: Node) -> Party:
    return Party(
        name=node.required_text("ram:Name"),
        trading_name=node.text("ram:SpecifiedLegalOrganization/ram:TradingBusinessName"),
        identifiers=_identifiers(node),
        legal_registration=node.identifier_at("ram:SpecifiedLegalOrganization/ram:ID"),
        vat_id=node.text(f"ram:SpecifiedTaxRegistration/ram:ID[@schemeID='{VAT_ID_SCHEME}']"),
        tax_registration_id=node.text(
            f"ram:SpecifiedTaxRegistration/ram:ID[@schemeID='{TAX_REGISTRATION_SCHEME}']"
        ),
        legal_information=node.text("ram:Description"),
        electronic_address=node.identifier_at("ram:URIUniversalCommunication/ram:URIID"),
        address=_address(node.first("ram:PostalTradeAddress")),
        contact=_contact(node.first("ram:DefinedTradeContact")),
    )


def _payee(node: Node) -> Payee:
    identifiers = _identifiers(node)
    return Payee(
        name=node.required_text("ram:Name"),
        identifier=identifiers[0] if identifiers else None,
        legal_registration=node.identifier_at("ram:SpecifiedLegalOrganization/ram:ID"),
    )


def _tax_representative(node: Node | None) -> TaxRepresentative | None:
    if node is None:
        return None
    return TaxRepresentative(
        name=node.required_text("ram:Name"),
        vat_id=node.text(f"ram:SpecifiedTaxRegistration/ram:ID[@schemeID='{VAT_ID_SCHEME}']"),
        address=_address(node.first("ram:PostalTradeAddress")),
    )


def _delivery(node: Node) -> Delivery | None:
    ship_to = node.first("ram:ShipToTradeParty")
    locations = _identifiers(ship_to) if ship_to is not None else ()
    delivery = Delivery(
        party_name=ship_to.text("ram:Name") if ship_to is not None else None,
        location=locations[0] if locations else None,
        actual_date=_date(node, "ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime"),
        address=_address(ship_to.first("ram:PostalTradeAddress")) if ship_to is not None else None,
    )
    return delivery if delivery != Delivery() else None


def _period(node: Node | None) -> Period | None:
    if node is None:
        return None
    period = Period(_date(node, "ram:StartDateTime"), _date(node, "ram:EndDateTime"))
    return period if period != Period() else None


def _payment(settlement: Node) -> PaymentInstructions | None:
    means = settlement.all("ram:SpecifiedTradeSettlementPaymentMeans")
    direct_debit = DirectDebit(
        mandate_reference=settlement.text(
            "ram:SpecifiedTradePaymentTerms/ram:DirectDebitMandateID"
        ),
        creditor_id=settlement.text("ram:CreditorReferenceID"),
        debited_account=settlement.text(
            "ram:SpecifiedTradeSettlementPaymentMeans/ram:PayerPartyDebtorFinancialAccount/ram:IBANID"
        ),
    )
    remittance = settlement.text("ram:PaymentReference")
    if not means and remittance is None and direct_debit == DirectDebit():
        return None
    card = settlement.first(
        "ram:SpecifiedTradeSettlementPaymentMeans/ram:ApplicableTradeSettlementFinancialCard"
    )
    return PaymentInstructions(
        means_code=means[0].text("ram:TypeCode") if means else None,
        means_text=means[0].text("ram:Information") if means else None,
        remittance_information=remittance,
        credit_transfers=tuple(
            CreditTransfer(
                account_id=(
                    account.text("ram:IBANID") or account.required_text("ram:ProprietaryID")
                ),
                account_name=account.text("ram:AccountName"),
                bic=node.text("ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID"),
            )
            for node in means
            if (account := node.first("ram:PayeePartyCreditorFinancialAccount")) is not None
        ),
        card=PaymentCard(card.required_text("ram:ID"), card.text("ram:CardholderName"))
        if card is not None
        else None,
        direct_debit=direct_debit if direct_debit != DirectDebit() else None,
    )


def _allowance_charge(node: Node) -> AllowanceCharge:
    return AllowanceCharge(
        is_charge=node.required("ram:ChargeIndicator/udt:Indicator", parse_indicator),
        amount=node.required("ram:ActualAmount", parse_decimal),
        base_amount=node.value("ram:BasisAmount", parse_decimal),
        percentage=node.value("ram:CalculationPercent", parse_decimal),
        vat_category=node.text("ram:CategoryTradeTax/ram:CategoryCode"),
        vat_rate=node.value("ram:CategoryTradeTax/ram:RateApplicablePercent", parse_decimal),
        reason=node.text("ram:Reason"),
        reason_code=node.text("ram:ReasonCode"),
    )


def _vat_breakdown(node: Node) -> VatBreakdown:
    return VatBreakdown(
        taxable_amount=node.required("ram:BasisAmount", parse_decimal),
        tax_amount=node.required("ram:CalculatedAmount", parse_decimal),
        category=node.required_text("ram:CategoryCode"),
        rate=node.value("ram:RateApplicablePercent", parse_decimal),
        exemption_reason=node.text("ram:ExemptionReason"),
        exemption_reason_code=node.text("ram:ExemptionReasonCode"),
    )


def _totals(node: Node, currency: str) -> Totals:
    """BG-22; of the two VAT totals, the one in the invoice currency is BT-110, the other BT-111."""
    tax_totals = node.all("ram:TaxTotalAmount")
    main = next((t for t in tax_totals if t.attr("currencyID") in (None, currency)), None)
    others = [t for t in tax_totals if main is None or t.element is not main.element]
    return Totals(
        tax_exclusive_amount=node.required("ram:TaxBasisTotalAmount", parse_decimal),
        tax_inclusive_amount=node.required("ram:GrandTotalAmount", parse_decimal),
        payable_amount=node.required("ram:DuePayableAmount", parse_decimal),
        line_total_amount=node.value("ram:LineTotalAmount", parse_decimal),
        allowance_total_amount=node.value("ram:AllowanceTotalAmount", parse_decimal),
        charge_total_amount=node.value("ram:ChargeTotalAmount", parse_decimal),
        tax_amount=main.parsed(parse_decimal) if main is not None else None,
        tax_amount_accounting=others[0].parsed(parse_decimal) if others else None,
        paid_amount=node.value("ram:TotalPrepaidAmount", parse_decimal),
        rounding_amount=node.value("ram:RoundingAmount", parse_decimal),
    )


def _supporting_document(node: Node) -> SupportingDocument:
    binary = node.first("ram:AttachmentBinaryObject")
    return SupportingDocument(
        reference=node.required_text("ram:IssuerAssignedID"),
        description=node.text("ram:Name"),
        uri=node.text("ram:URIID"),
        content=binary.parsed(parse_base64) if binary is not None else None,
        mime_code=binary.attr("mimeCode") if binary is not None else None,
        filename=binary.attr("filename") if binary is not None else None,
    )


def _line(node: Node) -> InvoiceLine:
    document = node.required_node("ram:AssociatedDocumentLineDocument")
    product = node.required_node("ram:SpecifiedTradeProduct")
    agreement = node.required_node("ram:SpecifiedLineTradeAgreement")
    settlement = node.required_node("ram:SpecifiedLineTradeSettlement")
    quantity = node.required_node("ram:SpecifiedLineTradeDelivery/ram:BilledQuantity")
    unit_code = quantity.attr("unitCode")
    if unit_code is None:
        raise InvoiceUnreadable(f"{quantity.location}/@unitCode: missing")
    net = agreement.required_node("ram:NetPriceProductTradePrice")
    gross = agreement.first("ram:GrossPriceProductTradePrice")
    base_quantity = net.first("ram:BasisQuantity")
    if base_quantity is None and gross is not None:
        base_quantity = gross.first("ram:BasisQuantity")
    line_object = settlement.first("ram:AdditionalReferencedDocument")
    return InvoiceLine(
        id=document.required_text("ram:LineID"),
        quantity=node.required("ram:SpecifiedLineTradeDelivery/ram:BilledQuantity", parse_decimal),
        unit_code=unit_code,
        net_amount=settlement.required(
            "ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount", parse_decimal
        ),
        net_price=net.required("ram:ChargeAmount", parse_decimal),
        vat_category=settlement.required_text("ram:ApplicableTradeTax/ram:CategoryCode"),
        item_name=product.required_text("ram:Name"),
        vat_rate=settlement.value(
            "ram:ApplicableTradeTax/ram:RateApplicablePercent", parse_decimal
        ),
        note=document.joined("ram:IncludedNote/ram:Content"),
        object_identifier=_referenced_object(line_object) if line_object is not None else None,
        order_line_reference=agreement.text("ram:BuyerOrderReferencedDocument/ram:LineID"),
        accounting_reference=settlement.text(
            "ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID"
        ),
        period=_period(settlement.first("ram:BillingSpecifiedPeriod")),
        allowances_charges=tuple(
            _allowance_charge(ac) for ac in settlement.all("ram:SpecifiedTradeAllowanceCharge")
        ),
        price_discount=(
            gross.value("ram:AppliedTradeAllowanceCharge/ram:ActualAmount", parse_decimal)
            if gross is not None
            else None
        ),
        gross_price=gross.value("ram:ChargeAmount", parse_decimal) if gross is not None else None,
        base_quantity=base_quantity.parsed(parse_decimal) if base_quantity is not None else None,
        base_quantity_unit=base_quantity.attr("unitCode") if base_quantity is not None else None,
        item_description=product.joined("ram:Description"),
        seller_item_id=product.text("ram:SellerAssignedID"),
        buyer_item_id=product.text("ram:BuyerAssignedID"),
        standard_item_id=product.identifier_at("ram:GlobalID"),
        classifications=tuple(
            Classification(code, found.attr("listID"), found.attr("listVersionID"))
            for found in product.all("ram:DesignatedProductClassification/ram:ClassCode")
            if (code := found.own_text()) is not None
        ),
        origin_country=product.text("ram:OriginTradeCountry/ram:ID"),
        attributes=tuple(
            ItemAttribute(prop.required_text("ram:Description"), prop.required_text("ram:Value"))
            for prop in product.all("ram:ApplicableProductCharacteristic")
        ),
    )


# --- writing ------------------------------------------------------------------------------


def write_cii(invoice: Invoice) -> bytes:
    """Write a CII D16B CrossIndustryInvoice as the Factur-X EN16931 profile lays it out."""
    root = etree.Element(
        RSM + "CrossIndustryInvoice",
        nsmap={"rsm": CII_NS, "qdt": CII_QDT_NS, "ram": CII_RAM_NS, "udt": CII_UDT_NS},
    )
    context = sub(root, RSM + "ExchangedDocumentContext")
    if invoice.business_process is not None:
        sub(
            sub(context, RAM + "BusinessProcessSpecifiedDocumentContextParameter"),
            RAM + "ID",
            invoice.business_process,
        )
    sub(
        sub(context, RAM + "GuidelineSpecifiedDocumentContextParameter"),
        RAM + "ID",
        invoice.specification_id,
    )
    document = sub(root, RSM + "ExchangedDocument")
    sub(document, RAM + "ID", invoice.number)
    sub(document, RAM + "TypeCode", invoice.type_code)
    _write_date(document, "IssueDateTime", invoice.issue_date)
    for note in invoice.notes:
        included = sub(document, RAM + "IncludedNote")
        sub(included, RAM + "Content", note.text)
        opt(included, RAM + "SubjectCode", note.subject_code)
    transaction = sub(root, RSM + "SupplyChainTradeTransaction")
    for line in invoice.lines:
        _write_line(transaction, line)
    _write_agreement(sub(transaction, RAM + "ApplicableHeaderTradeAgreement"), invoice)
    _write_delivery(sub(transaction, RAM + "ApplicableHeaderTradeDelivery"), invoice)
    _write_settlement(sub(transaction, RAM + "ApplicableHeaderTradeSettlement"), invoice)
    return serialize(root)


def _write_date(
    parent: etree._Element, tag: str, value: date | None, string_tag: str = UDT + "DateTimeString"
) -> None:
    if value is not None:
        sub(sub(parent, RAM + tag), string_tag, value.strftime("%Y%m%d"), format=DATE_FORMAT)


def _write_identifiers(parent: etree._Element, identifiers: tuple[Identifier, ...]) -> None:
    for identifier in identifiers:
        if identifier.scheme is None:
            sub(parent, RAM + "ID", identifier.value)
    for identifier in identifiers:
        if identifier.scheme is not None:
            sub(parent, RAM + "GlobalID", identifier.value, schemeID=identifier.scheme)


def _write_address(parent: etree._Element, address: Address | None) -> None:
    if address is None:
        return
    element = sub(parent, RAM + "PostalTradeAddress")
    opt(element, RAM + "PostcodeCode", address.post_code)
    opt(element, RAM + "LineOne", address.line_one)
    opt(element, RAM + "LineTwo", address.line_two)
    opt(element, RAM + "LineThree", address.line_three)
    opt(element, RAM + "CityName", address.city)
    sub(element, RAM + "CountryID", address.country_code)
    opt(element, RAM + "CountrySubDivisionName", address.subdivision)


def _write_legal_organization(
    parent: etree._Element, registration: Identifier | None, trading_name: str | None = None
) -> None:
    if registration is None and trading_name is None:
        return
    element = sub(parent, RAM + "SpecifiedLegalOrganization")
    if registration is not None:
        sub(element, RAM + "ID", registration.value, schemeID=registration.scheme)
    opt(element, RAM + "TradingBusinessName", trading_name)


def _write_tax_registration(parent: etree._Element, value: str | None, scheme: str) -> None:
    if value is not None:
        sub(sub(parent, RAM + "SpecifiedTaxRegistration"), RAM + "ID", value, schemeID=scheme)


def _write_party(parent: etree._Element, tag: str, party: Party) -> None:
    element = sub(parent, RAM + tag)
    _write_identifiers(element, party.identifiers)
    sub(element, RAM + "Name", party.name)
    opt(element, RAM + "Description", party.legal_information)
    _write_legal_organization(element, party.legal_registration, party.trading_name)
    if party.contact is not None:
        contact = sub(element, RAM + "DefinedTradeContact")
        opt(contact, RAM + "PersonName", party.contact.name)
        if party.contact.telephone is not None:
            sub(
                sub(contact, RAM + "TelephoneUniversalCommunication"),
                RAM + "CompleteNumber",
                party.contact.telephone,
            )
        if party.contact.email is not None:
            sub(
                sub(contact, RAM + "EmailURIUniversalCommunication"),
                RAM + "URIID",
                party.contact.email,
            )
    _write_address(element, party.address)
    if party.electronic_address is not None:
        sub(
            sub(element, RAM + "URIUniversalCommunication"),
            RAM + "URIID",
            party.electronic_address.value,
            schemeID=party.electronic_address.scheme,
        )
    _write_tax_registration(element, party.vat_id, VAT_ID_SCHEME)
    _write_tax_registration(element, party.tax_registration_id, TAX_REGISTRATION_SCHEME)


def _write_reference(parent: etree._Element, tag: str, reference: str | None) -> None:
    if reference is not None:
        sub(sub(parent, RAM + tag), RAM + "IssuerAssignedID", reference)


def _write_agreement(agreement: etree._Element, invoice: Invoice) -> None:
    opt(agreement, RAM + "BuyerReference", invoice.buyer_reference)
    _write_party(agreement, "SellerTradeParty", invoice.seller)
    _write_party(agreement, "BuyerTradeParty", invoice.buyer)
    representative = invoice.tax_representative
    if representative is not None:
        element = sub(agreement, RAM + "SellerTaxRepresentativeTradeParty")
        sub(element, RAM + "Name", representative.name)
        _write_address(element, representative.address)
        _write_tax_registration(element, representative.vat_id, VAT_ID_SCHEME)
    _write_reference(agreement, "SellerOrderReferencedDocument", invoice.sales_order_reference)
    _write_reference(agreement, "BuyerOrderReferencedDocument", invoice.purchase_order_reference)
    _write_reference(agreement, "ContractReferencedDocument", invoice.contract_reference)
    for document in invoice.supporting_documents:
        element = sub(agreement, RAM + "AdditionalReferencedDocument")
        sub(element, RAM + "IssuerAssignedID", document.reference)
        opt(element, RAM + "URIID", document.uri)
        sub(element, RAM + "TypeCode", SUPPORTING_DOCUMENT_TYPE)
        opt(element, RAM + "Name", document.description)
        if document.content is not None:
            sub(
                element,
                RAM + "AttachmentBinaryObject",
                base64.b64encode(document.content).decode("ascii"),
                mimeCode=document.mime_code,
                filename=document.filename,
            )
    if invoice.tender_or_lot_reference is not None:
        element = sub(agreement, RAM + "AdditionalReferencedDocument")
        sub(element, RAM + "IssuerAssignedID", invoice.tender_or_lot_reference)
        sub(element, RAM + "TypeCode", TENDER_DOCUMENT_TYPE)
    if invoice.invoiced_object is not None:
        _write_object(agreement, invoice.invoiced_object)
    if invoice.project_reference is not None:
        project = sub(agreement, RAM + "SpecifiedProcuringProject")
        sub(project, RAM + "ID", invoice.project_reference)
        sub(project, RAM + "Name", PROJECT_NAME)


def _write_object(parent: etree._Element, identifier: Identifier) -> None:
    element = sub(parent, RAM + "AdditionalReferencedDocument")
    sub(element, RAM + "IssuerAssignedID", identifier.value)
    sub(element, RAM + "TypeCode", OBJECT_DOCUMENT_TYPE)
    opt(element, RAM + "ReferenceTypeCode", identifier.scheme)


def _write_delivery(element: etree._Element, invoice: Invoice) -> None:
    delivery = invoice.delivery
    if delivery is not None:
        if (
            delivery.party_name is not None
            or delivery.location is not None
            or delivery.address is not None
        ):
            ship_to = sub(element, RAM + "ShipToTradeParty")
            _write_identifiers(ship_to, () if delivery.location is None else (delivery.location,))
            opt(ship_to, RAM + "Name", delivery.party_name)
            _write_address(ship_to, delivery.address)
        if delivery.actual_date is not None:
            _write_date(
                sub(element, RAM + "ActualDeliverySupplyChainEvent"),
                "OccurrenceDateTime",
                delivery.actual_date,
            )
    _write_reference(element, "DespatchAdviceReferencedDocument", invoice.despatch_advice_reference)
    _write_reference(
        element, "ReceivingAdviceReferencedDocument", invoice.receiving_advice_reference
    )


def _write_settlement(settlement: etree._Element, invoice: Invoice) -> None:
    payment = invoice.payment
    debit = payment.direct_debit if payment is not None else None
    opt(settlement, RAM + "CreditorReferenceID", debit.creditor_id if debit else None)
    opt(
        settlement,
        RAM + "PaymentReference",
        payment.remittance_information if payment is not None else None,
    )
    opt(settlement, RAM + "TaxCurrencyCode", invoice.vat_accounting_currency)
    sub(settlement, RAM + "InvoiceCurrencyCode", invoice.currency)
    if invoice.payee is not None:
        payee = sub(settlement, RAM + "PayeeTradeParty")
        identifier = invoice.payee.identifier
        _write_identifiers(payee, () if identifier is None else (identifier,))
        sub(payee, RAM + "Name", invoice.payee.name)
        _write_legal_organization(payee, invoice.payee.legal_registration)
    if payment is not None:
        _write_payment_means(settlement, payment)
    for vat in invoice.vat_breakdown:
        _write_vat_breakdown(settlement, vat, invoice)
    _write_period(settlement, invoice.period)
    for allowance_charge in invoice.allowances_charges:
        _write_allowance_charge(settlement, allowance_charge)
    mandate = debit.mandate_reference if debit is not None else None
    if invoice.payment_terms is not None or invoice.due_date is not None or mandate is not None:
        terms = sub(settlement, RAM + "SpecifiedTradePaymentTerms")
        opt(terms, RAM + "Description", invoice.payment_terms)
        _write_date(terms, "DueDateDateTime", invoice.due_date)
        opt(terms, RAM + "DirectDebitMandateID", mandate)
    _write_totals(settlement, invoice)
    for preceding in invoice.preceding_invoices:
        reference = sub(settlement, RAM + "InvoiceReferencedDocument")
        sub(reference, RAM + "IssuerAssignedID", preceding.number)
        _write_date(
            reference, "FormattedIssueDateTime", preceding.issue_date, QDT + "DateTimeString"
        )
    if invoice.buyer_accounting_reference is not None:
        sub(
            sub(settlement, RAM + "ReceivableSpecifiedTradeAccountingAccount"),
            RAM + "ID",
            invoice.buyer_accounting_reference,
        )


def _write_payment_means(settlement: etree._Element, payment: PaymentInstructions) -> None:
    debited = payment.direct_debit.debited_account if payment.direct_debit else None
    if (
        payment.means_code is None
        and not payment.credit_transfers
        and payment.card is None
        and debited is None
    ):
        return  # only header-level terms: remittance, creditor id, mandate
    for index, transfer in enumerate(payment.credit_transfers or (None,)):
        means = sub(settlement, RAM + "SpecifiedTradeSettlementPaymentMeans")
        sub(means, RAM + "TypeCode", payment.means_code or MEANS_NOT_DEFINED)
        opt(means, RAM + "Information", payment.means_text)
        if index == 0 and payment.card is not None:
            card = sub(means, RAM + "ApplicableTradeSettlementFinancialCard")
            sub(card, RAM + "ID", payment.card.account_number)
            opt(card, RAM + "CardholderName", payment.card.holder_name)
        if index == 0 and debited is not None:
            sub(sub(means, RAM + "PayerPartyDebtorFinancialAccount"), RAM + "IBANID", debited)
        if transfer is not None:
            account = sub(means, RAM + "PayeePartyCreditorFinancialAccount")
            is_iban = _IBAN.fullmatch(transfer.account_id) is not None
            opt(account, RAM + "IBANID", transfer.account_id if is_iban else None)
            opt(account, RAM + "AccountName", transfer.account_name)
            opt(account, RAM + "ProprietaryID", None if is_iban else transfer.account_id)
            if transfer.bic is not None:
                sub(
                    sub(means, RAM + "PayeeSpecifiedCreditorFinancialInstitution"),
                    RAM + "BICID",
                    transfer.bic,
                )


def _write_vat_breakdown(settlement: etree._Element, vat: VatBreakdown, invoice: Invoice) -> None:
    element = sub(settlement, RAM + "ApplicableTradeTax")
    sub(element, RAM + "CalculatedAmount", decimal_text(vat.tax_amount))
    sub(element, RAM + "TypeCode", "VAT")
    opt(element, RAM + "ExemptionReason", vat.exemption_reason)
    sub(element, RAM + "BasisAmount", decimal_text(vat.taxable_amount))
    sub(element, RAM + "CategoryCode", vat.category)
    opt(element, RAM + "ExemptionReasonCode", vat.exemption_reason_code)
    _write_date(element, "TaxPointDate", invoice.vat_point_date, UDT + "DateString")
    opt(element, RAM + "DueDateTypeCode", invoice.vat_point_date_code)
    opt(element, RAM + "RateApplicablePercent", decimal_text(vat.rate))


def _write_period(parent: etree._Element, period: Period | None) -> None:
    if period is not None:
        element = sub(parent, RAM + "BillingSpecifiedPeriod")
        _write_date(element, "StartDateTime", period.start)
        _write_date(element, "EndDateTime", period.end)


def _write_indicator(parent: etree._Element, is_charge: bool) -> None:
    sub(sub(parent, RAM + "ChargeIndicator"), UDT + "Indicator", "true" if is_charge else "false")


def _write_allowance_charge(parent: etree._Element, allowance_charge: AllowanceCharge) -> None:
    element = sub(parent, RAM + "SpecifiedTradeAllowanceCharge")
    _write_indicator(element, allowance_charge.is_charge)
    opt(element, RAM + "CalculationPercent", decimal_text(allowance_charge.percentage))
    opt(element, RAM + "BasisAmount", decimal_text(allowance_charge.base_amount))
    sub(element, RAM + "ActualAmount", decimal_text(allowance_charge.amount))
    opt(element, RAM + "ReasonCode", allowance_charge.reason_code)
    opt(element, RAM + "Reason", allowance_charge.reason)
    if allowance_charge.vat_category is not None:
        _write_line_tax(
            element, "CategoryTradeTax", allowance_charge.vat_category, allowance_charge.vat_rate
        )


def _write_line_tax(parent: etree._Element, tag: str, category: str, rate: Decimal | None) -> None:
    element = sub(parent, RAM + tag)
    sub(element, RAM + "TypeCode", "VAT")
    sub(element, RAM + "CategoryCode", category)
    opt(element, RAM + "RateApplicablePercent", decimal_text(rate))


def _write_totals(settlement: etree._Element, invoice: Invoice) -> None:
    totals = invoice.totals
    element = sub(settlement, RAM + "SpecifiedTradeSettlementHeaderMonetarySummation")
    opt(element, RAM + "LineTotalAmount", decimal_text(totals.line_total_amount))
    opt(element, RAM + "ChargeTotalAmount", decimal_text(totals.charge_total_amount))
    opt(element, RAM + "AllowanceTotalAmount", decimal_text(totals.allowance_total_amount))
    sub(element, RAM + "TaxBasisTotalAmount", decimal_text(totals.tax_exclusive_amount))
    opt(
        element,
        RAM + "TaxTotalAmount",
        decimal_text(totals.tax_amount),
        currencyID=invoice.currency,
    )
    opt(
        element,
        RAM + "TaxTotalAmount",
        decimal_text(totals.tax_amount_accounting),
        currencyID=invoice.vat_accounting_currency or invoice.currency,
    )
    opt(element, RAM + "RoundingAmount", decimal_text(totals.rounding_amount))
    sub(element, RAM + "GrandTotalAmount", decimal_text(totals.tax_inclusive_amount))
    opt(element, RAM + "TotalPrepaidAmount", decimal_text(totals.paid_amount))
    sub(element, RAM + "DuePayableAmount", decimal_text(totals.payable_amount))


def _write_line(transaction: etree._Element, line: InvoiceLine) -> None:
    item = sub(transaction, RAM + "IncludedSupplyChainTradeLineItem")
    document = sub(item, RAM + "AssociatedDocumentLineDocument")
    sub(document, RAM + "LineID", line.id)
    if line.note is not None:
        sub(sub(document, RAM + "IncludedNote"), RAM + "Content", line.note)
    _write_product(sub(item, RAM + "SpecifiedTradeProduct"), line)
    _write_line_agreement(sub(item, RAM + "SpecifiedLineTradeAgreement"), line)
    sub(
        sub(item, RAM + "SpecifiedLineTradeDelivery"),
        RAM + "BilledQuantity",
        decimal_text(line.quantity),
        unitCode=line.unit_code,
    )
    settlement = sub(item, RAM + "SpecifiedLineTradeSettlement")
    _write_line_tax(settlement, "ApplicableTradeTax", line.vat_category, line.vat_rate)
    _write_period(settlement, line.period)
    for allowance_charge in line.allowances_charges:
        _write_allowance_charge(settlement, allowance_charge)
    sub(
        sub(settlement, RAM + "SpecifiedTradeSettlementLineMonetarySummation"),
        RAM + "LineTotalAmount",
        decimal_text(line.net_amount),
    )
    if line.object_identifier is not None:
        _write_object(settlement, line.object_identifier)
    if line.accounting_reference is not None:
        sub(
            sub(settlement, RAM + "ReceivableSpecifiedTradeAccountingAccount"),
            RAM + "ID",
            line.accounting_reference,
        )


def _write_product(product: etree._Element, line: InvoiceLine) -> None:
    if line.standard_item_id is not None:
        sub(
            product,
            RAM + "GlobalID",
            line.standard_item_id.value,
            schemeID=line.standard_item_id.scheme,
        )
    opt(product, RAM + "SellerAssignedID", line.seller_item_id)
    opt(product, RAM + "BuyerAssignedID", line.buyer_item_id)
    sub(product, RAM + "Name", line.item_name)
    opt(product, RAM + "Description", line.item_description)
    for attribute in line.attributes:
        characteristic = sub(product, RAM + "ApplicableProductCharacteristic")
        sub(characteristic, RAM + "Description", attribute.name)
        sub(characteristic, RAM + "Value", attribute.value)
    for classification in line.classifications:
        sub(
            sub(product, RAM + "DesignatedProductClassification"),
            RAM + "ClassCode",
            classification.code,
            listID=classification.scheme,
            listVersionID=classification.version,
        )
    if line.origin_country is not None:
        sub(sub(product, RAM + "OriginTradeCountry"), RAM + "ID", line.origin_country)


def _write_line_agreement(agreement: etree._Element, line: InvoiceLine) -> None:
    if line.order_line_reference is not None:
        sub(
            sub(agreement, RAM + "BuyerOrderReferencedDocument"),
            RAM + "LineID",
            line.order_line_reference,
        )
    gross_price = line.gross_price
    if gross_price is None and line.price_discount is not None:
        gross_price = line.net_price + line.price_discount  # BT-146 = BT-148 - BT-147
    if gross_price is not None:
        gross = sub(agreement, RAM + "GrossPriceProductTradePrice")
        sub(gross, RAM + "ChargeAmount", decimal_text(gross_price))
        opt(
            gross,
            RAM + "BasisQuantity",
            decimal_text(line.base_quantity),
            unitCode=line.base_quantity_unit,
        )
        if line.price_discount is not None:
            discount = sub(gross, RAM + "AppliedTradeAllowanceCharge")
            _write_indicator(discount, False)
            sub(discount, RAM + "ActualAmount", decimal_text(line.price_discount))
    net = sub(agreement, RAM + "NetPriceProductTradePrice")
    sub(net, RAM + "ChargeAmount", decimal_text(line.net_price))
    opt(
        net,
        RAM + "BasisQuantity",
        decimal_text(line.base_quantity),
        unitCode=line.base_quantity_unit,
    )
