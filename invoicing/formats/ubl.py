"""UBL 2.1 Invoice and CreditNote to and from the canonical invoice (EN 16931-3-2 binding).

Binding choices where UBL has no one-to-one place for a business term:
- BT-21 note subject code: in front of the note text between hash signs (`#AAI#text`).
- BT-9 due date: `cbc:DueDate` in an Invoice, `cac:PaymentMeans/cbc:PaymentDueDate` in a
  CreditNote (which has no DueDate); a credit note without payment means cannot carry it.
- BT-11 project reference: `cac:ProjectReference` in an Invoice, an additional document
  reference with type code 50 in a CreditNote (which has no ProjectReference).
- BT-18 invoiced object: an additional document reference with type code 130.
- BT-90 creditor identifier: a `PartyIdentification` with scheme `SEPA`, on the payee when
  there is one, else on the seller.
- BT-13 absent while BT-14 is present: the mandatory order reference id is `NA`.
- BG-16 payment instructions repeat one `cac:PaymentMeans` per credit transfer (BG-17);
  the card (BG-18) and the mandate (BG-19) sit in the first. A card's `cbc:NetworkID`,
  mandatory in UBL and absent from EN 16931, is written `NA`.
- BT-32 tax registration: a `PartyTaxScheme` whose scheme is not VAT (written `TAX`).
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
    parse_decimal,
    parse_indicator,
    parse_iso_date,
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
from invoicing.syntax import UBL_CAC_NS, UBL_CBC_NS, UBL_CREDIT_NOTE_NS, UBL_INVOICE_NS

NAMESPACES = (("cac", UBL_CAC_NS), ("cbc", UBL_CBC_NS))
CAC = f"{{{UBL_CAC_NS}}}"
CBC = f"{{{UBL_CBC_NS}}}"
SEPA_SCHEME = "SEPA"  # BT-90 creditor identifier as a party identification
ORDER_ID_UNKNOWN = "NA"  # cbc:OrderReference/cbc:ID when only BT-14 is known
CARD_NETWORK_UNKNOWN = "NA"
OTHER_TAX_SCHEME = "TAX"  # BT-32: any tax scheme other than VAT
OBJECT_DOCUMENT_TYPE = "130"  # UNTDID 1001: invoiced object (BT-18, BT-128)
PROJECT_DOCUMENT_TYPE = "50"  # UNTDID 1001: project reference in a CreditNote (BT-11)
_TYPED_REFERENCE = "cac:AdditionalDocumentReference[cbc:DocumentTypeCode='{}']"
_NOTE_SUBJECT = re.compile(r"#([^#\s]{1,10})#(.*)", re.DOTALL)


# --- reading ------------------------------------------------------------------------------


def read_ubl(tree: etree._ElementTree) -> Invoice:
    """Read a UBL 2.1 Invoice or CreditNote; an uninterpretable value is `InvoiceUnreadable`."""
    root = tree.getroot()
    kind = etree.QName(root)
    if (kind.namespace, kind.localname) not in (
        (UBL_INVOICE_NS, "Invoice"),
        (UBL_CREDIT_NOTE_NS, "CreditNote"),
    ):
        raise InvoiceUnreadable(f"/{kind.localname}: not a UBL 2.1 Invoice or CreditNote")
    doc = Node(root, NAMESPACES)
    credit_note = kind.localname == "CreditNote"
    seller_node = doc.required_node("cac:AccountingSupplierParty/cac:Party")
    payee_node = doc.first("cac:PayeeParty")
    seller, seller_sepa = _party(seller_node)
    payee, payee_sepa = _payee(payee_node) if payee_node is not None else (None, None)
    currency = doc.required_text("cbc:DocumentCurrencyCode")
    accounting_currency = doc.text("cbc:TaxCurrencyCode")
    objects = doc.all(_TYPED_REFERENCE.format(OBJECT_DOCUMENT_TYPE))
    project = (
        doc.text(_TYPED_REFERENCE.format(PROJECT_DOCUMENT_TYPE) + "/cbc:ID")
        if credit_note
        else doc.text("cac:ProjectReference/cbc:ID")
    )
    period = doc.first("cac:InvoicePeriod")
    tax_amount, tax_amount_accounting, vat_breakdown = _tax_totals(
        doc, currency, accounting_currency
    )
    return Invoice(
        number=doc.required_text("cbc:ID"),
        issue_date=doc.required("cbc:IssueDate", parse_iso_date),
        type_code=doc.required_text(
            "cbc:CreditNoteTypeCode" if credit_note else "cbc:InvoiceTypeCode"
        ),
        currency=currency,
        specification_id=doc.required_text("cbc:CustomizationID"),
        seller=seller,
        buyer=_party(doc.required_node("cac:AccountingCustomerParty/cac:Party"))[0],
        totals=_totals(
            doc.required_node("cac:LegalMonetaryTotal"), tax_amount, tax_amount_accounting
        ),
        lines=tuple(_line(node) for node in doc.all("cac:InvoiceLine | cac:CreditNoteLine")),
        vat_accounting_currency=accounting_currency,
        vat_point_date=doc.value("cbc:TaxPointDate", parse_iso_date),
        vat_point_date_code=period.text("cbc:DescriptionCode") if period is not None else None,
        due_date=(
            doc.value("cbc:DueDate", parse_iso_date)
            or doc.value("cac:PaymentMeans/cbc:PaymentDueDate", parse_iso_date)
        ),
        buyer_reference=doc.text("cbc:BuyerReference"),
        project_reference=project,
        contract_reference=doc.text("cac:ContractDocumentReference/cbc:ID"),
        purchase_order_reference=_purchase_order(doc),
        sales_order_reference=doc.text("cac:OrderReference/cbc:SalesOrderID"),
        receiving_advice_reference=doc.text("cac:ReceiptDocumentReference/cbc:ID"),
        despatch_advice_reference=doc.text("cac:DespatchDocumentReference/cbc:ID"),
        tender_or_lot_reference=doc.text("cac:OriginatorDocumentReference/cbc:ID"),
        invoiced_object=objects[0].identifier_at("cbc:ID") if objects else None,
        buyer_accounting_reference=doc.text("cbc:AccountingCost"),
        payment_terms=doc.joined("cac:PaymentTerms/cbc:Note"),
        notes=tuple(_note(node) for node in doc.all("cbc:Note")),
        business_process=doc.text("cbc:ProfileID"),
        preceding_invoices=tuple(
            PrecedingInvoice(
                node.required_text("cbc:ID"), node.value("cbc:IssueDate", parse_iso_date)
            )
            for node in doc.all("cac:BillingReference/cac:InvoiceDocumentReference")
        ),
        payee=payee,
        tax_representative=_tax_representative(doc.first("cac:TaxRepresentativeParty")),
        delivery=_delivery(doc.first("cac:Delivery")),
        period=_period(period),
        payment=_payment(doc, payee_sepa or seller_sepa),
        allowances_charges=tuple(
            _allowance_charge(node) for node in doc.all("cac:AllowanceCharge")
        ),
        vat_breakdown=vat_breakdown,
        supporting_documents=tuple(
            _supporting_document(node)
            for node in doc.all("cac:AdditionalDocumentReference")
            if node.text("cbc:DocumentTypeCode") != OBJECT_DOCUMENT_TYPE
            and not (credit_note and node.text("cbc:DocumentTypeCode") == PROJECT_DOCUMENT_TYPE)
        ),
    )


def _note(node: Node) -> Note:
    text = node.own_text() or ""
    subject = _NOTE_SUBJECT.fullmatch(text)
    if subject is None:
        return Note(text)
    return Note(subject.group(2).strip(), subject.group(1))


def _purchase_order(doc: Node) -> str | None:
    order_id = doc.text("cac:OrderReference/cbc:ID")
    if order_id == ORDER_ID_UNKNOWN and doc.text("cac:OrderReference/cbc:SalesOrderID"):
        return None
    return order_id


def _address(node: Node | None) -> Address | None:
    if node is None:
        return None
    return Address(
        country_code=node.required_text("cac:Country/cbc:IdentificationCode"),
        line_one=node.text("cbc:StreetName"),
        line_two=node.text("cbc:AdditionalStreetName"),
        line_three=node.text("cac:AddressLine/cbc:Line"),
        city=node.text("cbc:CityName"),
        post_code=node.text("cbc:PostalZone"),
        subdivision=node.text("cbc:CountrySubentity"),
    )


def _contact(node: Node | None) -> Contact | None:
    if node is None:
        return None
    contact = Contact(
        node.text("cbc:Name"), node.text("cbc:Telephone"), node.text("cbc:ElectronicMail")
    )
    return contact if contact != Contact() else None


def _split_sepa(node: Node) -> tuple[tuple[Identifier, ...], str | None]:
    """The party identifiers (BT-29/46/60), and apart the creditor identifier (BT-90)."""
    identifiers: list[Identifier] = []
    sepa: str | None = None
    for found in node.all("cac:PartyIdentification/cbc:ID"):
        identifier = found.identifier()
        if identifier is None:
            continue
        if identifier.scheme == SEPA_SCHEME and sepa is None:
            sepa = identifier.value
        else:
            identifiers.append(identifier)
    return tuple(identifiers), sepa


def _party(node: Node) -> tuple[Party, str | None]:
    identifiers, sepa = _split_sepa(node)
    trading_name = node.text("cac:PartyName/cbc:Name")
    name = node.text("cac:PartyLegalEntity/cbc:RegistrationName")
    if name is None:  # BT-27/BT-44 absent: the only name given is the party's name
        name, trading_name = trading_name, None
    if name is None:
        raise InvoiceUnreadable(
            f"{node.location}/cac:PartyLegalEntity/cbc:RegistrationName: missing"
        )
    party = Party(
        name=name,
        trading_name=trading_name,
        identifiers=identifiers,
        legal_registration=node.identifier_at("cac:PartyLegalEntity/cbc:CompanyID"),
        vat_id=node.text("cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID"),
        tax_registration_id=node.text(
            "cac:PartyTaxScheme[not(cac:TaxScheme/cbc:ID='VAT')]/cbc:CompanyID"
        ),
        legal_information=node.text("cac:PartyLegalEntity/cbc:CompanyLegalForm"),
        electronic_address=node.identifier_at("cbc:EndpointID"),
        address=_address(node.first("cac:PostalAddress")),
        contact=_contact(node.first("cac:Contact")),
    )
    return party, sepa


def _payee(node: Node) -> tuple[Payee, str | None]:
    identifiers, sepa = _split_sepa(node)
    payee = Payee(
        name=node.required_text("cac:PartyName/cbc:Name"),
        identifier=identifiers[0] if identifiers else None,
        legal_registration=node.identifier_at("cac:PartyLegalEntity/cbc:CompanyID"),
    )
    return payee, sepa


def _tax_representative(node: Node | None) -> TaxRepresentative | None:
    if node is None:
        return None
    return TaxRepresentative(
        name=node.required_text("cac:PartyName/cbc:Name"),
        vat_id=node.text("cac:PartyTaxScheme/cbc:CompanyID"),
        address=_address(node.first("cac:PostalAddress")),
    )


def _delivery(node: Node | None) -> Delivery | None:
    if node is None:
        return None
    delivery = Delivery(
        party_name=node.text("cac:DeliveryParty/cac:PartyName/cbc:Name"),
        location=node.identifier_at("cac:DeliveryLocation/cbc:ID"),
        actual_date=node.value("cbc:ActualDeliveryDate", parse_iso_date),
        address=_address(node.first("cac:DeliveryLocation/cac:Address")),
    )
    return delivery if delivery != Delivery() else None


def _period(node: Node | None) -> Period | None:
    if node is None:
        return None
    period = Period(
        node.value("cbc:StartDate", parse_iso_date), node.value("cbc:EndDate", parse_iso_date)
    )
    return period if period != Period() else None


def _payment(doc: Node, creditor_id: str | None) -> PaymentInstructions | None:
    means = doc.all("cac:PaymentMeans")
    if not means and creditor_id is None:
        return None
    first = means[0] if means else None
    code = first.first("cbc:PaymentMeansCode") if first is not None else None
    card = doc.first("cac:PaymentMeans/cac:CardAccount")
    mandate = doc.first("cac:PaymentMeans/cac:PaymentMandate")
    direct_debit = DirectDebit(
        mandate_reference=mandate.text("cbc:ID") if mandate is not None else None,
        creditor_id=creditor_id,
        debited_account=(
            mandate.text("cac:PayerFinancialAccount/cbc:ID") if mandate is not None else None
        ),
    )
    return PaymentInstructions(
        means_code=code.own_text() if code is not None else None,
        means_text=code.attr("name") if code is not None else None,
        remittance_information=doc.text("cac:PaymentMeans/cbc:PaymentID"),
        credit_transfers=tuple(
            CreditTransfer(
                account_id=account.required_text("cbc:ID"),
                account_name=account.text("cbc:Name"),
                bic=account.text("cac:FinancialInstitutionBranch/cbc:ID"),
            )
            for account in doc.all("cac:PaymentMeans/cac:PayeeFinancialAccount")
        ),
        card=PaymentCard(
            card.required_text("cbc:PrimaryAccountNumberID"), card.text("cbc:HolderName")
        )
        if card is not None
        else None,
        direct_debit=direct_debit if direct_debit != DirectDebit() else None,
    )


def _allowance_charge(node: Node) -> AllowanceCharge:
    return AllowanceCharge(
        is_charge=node.required("cbc:ChargeIndicator", parse_indicator),
        amount=node.required("cbc:Amount", parse_decimal),
        base_amount=node.value("cbc:BaseAmount", parse_decimal),
        percentage=node.value("cbc:MultiplierFactorNumeric", parse_decimal),
        vat_category=node.text("cac:TaxCategory/cbc:ID"),
        vat_rate=node.value("cac:TaxCategory/cbc:Percent", parse_decimal),
        reason=node.joined("cbc:AllowanceChargeReason"),
        reason_code=node.text("cbc:AllowanceChargeReasonCode"),
    )


def _tax_totals(
    doc: Node, currency: str, accounting_currency: str | None
) -> tuple[Decimal | None, Decimal | None, tuple[VatBreakdown, ...]]:
    """BT-110 and its breakdown (BG-23) in the invoice currency; BT-111 in the BT-6 one."""
    tax_totals = doc.all("cac:TaxTotal")
    main = next((t for t in tax_totals if t.first("cac:TaxSubtotal") is not None), None) or next(
        (t for t in tax_totals if _currency_of(t) == currency), None
    )
    others = [t for t in tax_totals if main is None or t.element is not main.element]
    accounting = next((t for t in others if _currency_of(t) == accounting_currency), None)
    if accounting is None and others:
        accounting = others[0]
    breakdown = tuple(
        VatBreakdown(
            taxable_amount=sub_total.required("cbc:TaxableAmount", parse_decimal),
            tax_amount=sub_total.required("cbc:TaxAmount", parse_decimal),
            category=sub_total.required_text("cac:TaxCategory/cbc:ID"),
            rate=sub_total.value("cac:TaxCategory/cbc:Percent", parse_decimal),
            exemption_reason=sub_total.joined("cac:TaxCategory/cbc:TaxExemptionReason"),
            exemption_reason_code=sub_total.text("cac:TaxCategory/cbc:TaxExemptionReasonCode"),
        )
        for sub_total in (main.all("cac:TaxSubtotal") if main is not None else [])
    )
    return (
        main.value("cbc:TaxAmount", parse_decimal) if main is not None else None,
        accounting.value("cbc:TaxAmount", parse_decimal) if accounting is not None else None,
        breakdown,
    )


def _currency_of(tax_total: Node) -> str | None:
    amount = tax_total.first("cbc:TaxAmount")
    return amount.attr("currencyID") if amount is not None else None


def _totals(
    node: Node, tax_amount: Decimal | None, tax_amount_accounting: Decimal | None
) -> Totals:
    return Totals(
        tax_exclusive_amount=node.required("cbc:TaxExclusiveAmount", parse_decimal),
        tax_inclusive_amount=node.required("cbc:TaxInclusiveAmount", parse_decimal),
        payable_amount=node.required("cbc:PayableAmount", parse_decimal),
        line_total_amount=node.value("cbc:LineExtensionAmount", parse_decimal),
        allowance_total_amount=node.value("cbc:AllowanceTotalAmount", parse_decimal),
        charge_total_amount=node.value("cbc:ChargeTotalAmount", parse_decimal),
        tax_amount=tax_amount,
        tax_amount_accounting=tax_amount_accounting,
        paid_amount=node.value("cbc:PrepaidAmount", parse_decimal),
        rounding_amount=node.value("cbc:PayableRoundingAmount", parse_decimal),
    )


def _supporting_document(node: Node) -> SupportingDocument:
    binary = node.first("cac:Attachment/cbc:EmbeddedDocumentBinaryObject")
    return SupportingDocument(
        reference=node.required_text("cbc:ID"),
        description=node.joined("cbc:DocumentDescription"),
        uri=node.text("cac:Attachment/cac:ExternalReference/cbc:URI"),
        content=binary.parsed(parse_base64) if binary is not None else None,
        mime_code=binary.attr("mimeCode") if binary is not None else None,
        filename=binary.attr("filename") if binary is not None else None,
    )


def _line(node: Node) -> InvoiceLine:
    quantity = node.required_node("cbc:InvoicedQuantity | cbc:CreditedQuantity")
    unit_code = quantity.attr("unitCode")
    if unit_code is None:
        raise InvoiceUnreadable(f"{quantity.location}/@unitCode: missing")
    item = node.required_node("cac:Item")
    price = node.required_node("cac:Price")
    base_quantity = price.first("cbc:BaseQuantity")
    return InvoiceLine(
        id=node.required_text("cbc:ID"),
        quantity=node.required("cbc:InvoicedQuantity | cbc:CreditedQuantity", parse_decimal),
        unit_code=unit_code,
        net_amount=node.required("cbc:LineExtensionAmount", parse_decimal),
        net_price=price.required("cbc:PriceAmount", parse_decimal),
        vat_category=item.required_text("cac:ClassifiedTaxCategory/cbc:ID"),
        item_name=item.required_text("cbc:Name"),
        vat_rate=item.value("cac:ClassifiedTaxCategory/cbc:Percent", parse_decimal),
        note=node.joined("cbc:Note"),
        object_identifier=node.identifier_at("cac:DocumentReference/cbc:ID"),
        order_line_reference=node.text("cac:OrderLineReference/cbc:LineID"),
        accounting_reference=node.text("cbc:AccountingCost"),
        period=_period(node.first("cac:InvoicePeriod")),
        allowances_charges=tuple(_allowance_charge(ac) for ac in node.all("cac:AllowanceCharge")),
        price_discount=price.value("cac:AllowanceCharge/cbc:Amount", parse_decimal),
        gross_price=price.value("cac:AllowanceCharge/cbc:BaseAmount", parse_decimal),
        base_quantity=base_quantity.parsed(parse_decimal) if base_quantity is not None else None,
        base_quantity_unit=base_quantity.attr("unitCode") if base_quantity is not None else None,
        item_description=item.joined("cbc:Description"),
        seller_item_id=item.text("cac:SellersItemIdentification/cbc:ID"),
        buyer_item_id=item.text("cac:BuyersItemIdentification/cbc:ID"),
        standard_item_id=item.identifier_at("cac:StandardItemIdentification/cbc:ID"),
        classifications=tuple(
            Classification(code, found.attr("listID"), found.attr("listVersionID"))
            for found in item.all("cac:CommodityClassification/cbc:ItemClassificationCode")
            if (code := found.own_text()) is not None
        ),
        origin_country=item.text("cac:OriginCountry/cbc:IdentificationCode"),
        attributes=tuple(
            ItemAttribute(prop.required_text("cbc:Name"), prop.required_text("cbc:Value"))
            for prop in item.all("cac:AdditionalItemProperty")
        ),
    )


# --- writing ------------------------------------------------------------------------------


def write_ubl(invoice: Invoice) -> bytes:
    """Write a UBL 2.1 Invoice, or a CreditNote when BT-3 is a credit note code."""
    credit_note = invoice.is_credit_note
    namespace = UBL_CREDIT_NOTE_NS if credit_note else UBL_INVOICE_NS
    root = etree.Element(
        f"{{{namespace}}}{'CreditNote' if credit_note else 'Invoice'}",
        nsmap={None: namespace, "cac": UBL_CAC_NS, "cbc": UBL_CBC_NS},
    )
    _write_header(root, invoice, credit_note)
    _write_references(root, invoice, credit_note)
    payment = invoice.payment
    creditor_id = payment.direct_debit.creditor_id if payment and payment.direct_debit else None
    _write_party(
        sub(sub(root, CAC + "AccountingSupplierParty"), CAC + "Party"),
        invoice.seller,
        creditor_id if invoice.payee is None else None,
    )
    _write_party(sub(sub(root, CAC + "AccountingCustomerParty"), CAC + "Party"), invoice.buyer)
    if invoice.payee is not None:
        _write_payee(root, invoice.payee, creditor_id)
    if invoice.tax_representative is not None:
        _write_tax_representative(root, invoice.tax_representative)
    if invoice.delivery is not None:
        _write_delivery(root, invoice.delivery)
    if payment is not None:
        _write_payment_means(root, payment, invoice.due_date if credit_note else None)
    if invoice.payment_terms is not None:
        sub(sub(root, CAC + "PaymentTerms"), CBC + "Note", invoice.payment_terms)
    for allowance_charge in invoice.allowances_charges:
        _write_allowance_charge(root, allowance_charge, invoice.currency)
    _write_tax_totals(root, invoice)
    _write_totals(root, invoice)
    for line in invoice.lines:
        _write_line(root, line, invoice.currency, credit_note)
    return serialize(root)


def _amount(parent: etree._Element, tag: str, value: Decimal | None, currency: str) -> None:
    opt(parent, CBC + tag, decimal_text(value), currencyID=currency)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _write_header(root: etree._Element, invoice: Invoice, credit_note: bool) -> None:
    opt(root, CBC + "CustomizationID", invoice.specification_id)
    opt(root, CBC + "ProfileID", invoice.business_process)
    sub(root, CBC + "ID", invoice.number)
    sub(root, CBC + "IssueDate", invoice.issue_date.isoformat())
    if credit_note:
        opt(root, CBC + "TaxPointDate", _iso(invoice.vat_point_date))
        sub(root, CBC + "CreditNoteTypeCode", invoice.type_code)
    else:
        opt(root, CBC + "DueDate", _iso(invoice.due_date))
        sub(root, CBC + "InvoiceTypeCode", invoice.type_code)
    for note in invoice.notes:
        prefix = f"#{note.subject_code}#" if note.subject_code else ""
        sub(root, CBC + "Note", prefix + note.text)
    if not credit_note:
        opt(root, CBC + "TaxPointDate", _iso(invoice.vat_point_date))
    sub(root, CBC + "DocumentCurrencyCode", invoice.currency)
    opt(root, CBC + "TaxCurrencyCode", invoice.vat_accounting_currency)
    opt(root, CBC + "AccountingCost", invoice.buyer_accounting_reference)
    opt(root, CBC + "BuyerReference", invoice.buyer_reference)
    if invoice.period is not None or invoice.vat_point_date_code is not None:
        period = sub(root, CAC + "InvoicePeriod")
        _write_period_dates(period, invoice.period)
        opt(period, CBC + "DescriptionCode", invoice.vat_point_date_code)


def _write_period_dates(parent: etree._Element, period: Period | None) -> None:
    if period is not None:
        opt(parent, CBC + "StartDate", _iso(period.start))
        opt(parent, CBC + "EndDate", _iso(period.end))


def _document_reference(parent: etree._Element, tag: str, reference: str | None) -> None:
    if reference is not None:
        sub(sub(parent, CAC + tag), CBC + "ID", reference)


def _write_references(root: etree._Element, invoice: Invoice, credit_note: bool) -> None:
    if invoice.purchase_order_reference is not None or invoice.sales_order_reference is not None:
        order = sub(root, CAC + "OrderReference")
        sub(order, CBC + "ID", invoice.purchase_order_reference or ORDER_ID_UNKNOWN)
        opt(order, CBC + "SalesOrderID", invoice.sales_order_reference)
    for preceding in invoice.preceding_invoices:
        reference = sub(sub(root, CAC + "BillingReference"), CAC + "InvoiceDocumentReference")
        sub(reference, CBC + "ID", preceding.number)
        opt(reference, CBC + "IssueDate", _iso(preceding.issue_date))
    _document_reference(root, "DespatchDocumentReference", invoice.despatch_advice_reference)
    _document_reference(root, "ReceiptDocumentReference", invoice.receiving_advice_reference)
    if not credit_note:
        _document_reference(root, "OriginatorDocumentReference", invoice.tender_or_lot_reference)
    _document_reference(root, "ContractDocumentReference", invoice.contract_reference)
    if invoice.invoiced_object is not None:
        reference = sub(root, CAC + "AdditionalDocumentReference")
        sub(
            reference,
            CBC + "ID",
            invoice.invoiced_object.value,
            schemeID=invoice.invoiced_object.scheme,
        )
        sub(reference, CBC + "DocumentTypeCode", OBJECT_DOCUMENT_TYPE)
    if credit_note and invoice.project_reference is not None:
        reference = sub(root, CAC + "AdditionalDocumentReference")
        sub(reference, CBC + "ID", invoice.project_reference)
        sub(reference, CBC + "DocumentTypeCode", PROJECT_DOCUMENT_TYPE)
    for document in invoice.supporting_documents:
        _write_supporting_document(root, document)
    if credit_note:
        _document_reference(root, "OriginatorDocumentReference", invoice.tender_or_lot_reference)
    else:
        _document_reference(root, "ProjectReference", invoice.project_reference)


def _write_supporting_document(root: etree._Element, document: SupportingDocument) -> None:
    reference = sub(root, CAC + "AdditionalDocumentReference")
    sub(reference, CBC + "ID", document.reference)
    opt(reference, CBC + "DocumentDescription", document.description)
    if document.content is None and document.uri is None:
        return
    attachment = sub(reference, CAC + "Attachment")
    if document.content is not None:
        sub(
            attachment,
            CBC + "EmbeddedDocumentBinaryObject",
            base64.b64encode(document.content).decode("ascii"),
            mimeCode=document.mime_code,
            filename=document.filename,
        )
    if document.uri is not None:
        sub(sub(attachment, CAC + "ExternalReference"), CBC + "URI", document.uri)


def _write_identification(parent: etree._Element, identifier: Identifier) -> None:
    sub(
        sub(parent, CAC + "PartyIdentification"),
        CBC + "ID",
        identifier.value,
        schemeID=identifier.scheme,
    )


def _write_address(parent: etree._Element, tag: str, address: Address | None) -> None:
    if address is None:
        return
    element = sub(parent, CAC + tag)
    opt(element, CBC + "StreetName", address.line_one)
    opt(element, CBC + "AdditionalStreetName", address.line_two)
    opt(element, CBC + "CityName", address.city)
    opt(element, CBC + "PostalZone", address.post_code)
    opt(element, CBC + "CountrySubentity", address.subdivision)
    if address.line_three is not None:
        sub(sub(element, CAC + "AddressLine"), CBC + "Line", address.line_three)
    sub(sub(element, CAC + "Country"), CBC + "IdentificationCode", address.country_code)


def _write_tax_scheme(parent: etree._Element, company_id: str, scheme: str) -> None:
    tax_scheme = sub(parent, CAC + "PartyTaxScheme")
    sub(tax_scheme, CBC + "CompanyID", company_id)
    sub(sub(tax_scheme, CAC + "TaxScheme"), CBC + "ID", scheme)


def _write_party(
    party_element: etree._Element, party: Party, creditor_id: str | None = None
) -> None:
    if party.electronic_address is not None:
        sub(
            party_element,
            CBC + "EndpointID",
            party.electronic_address.value,
            schemeID=party.electronic_address.scheme,
        )
    if creditor_id is not None:  # first: the reader takes the first SEPA identification
        _write_identification(party_element, Identifier(creditor_id, SEPA_SCHEME))
    for identifier in party.identifiers:
        _write_identification(party_element, identifier)
    if party.trading_name is not None:
        sub(sub(party_element, CAC + "PartyName"), CBC + "Name", party.trading_name)
    _write_address(party_element, "PostalAddress", party.address)
    if party.vat_id is not None:
        _write_tax_scheme(party_element, party.vat_id, "VAT")
    if party.tax_registration_id is not None:
        _write_tax_scheme(party_element, party.tax_registration_id, OTHER_TAX_SCHEME)
    legal = sub(party_element, CAC + "PartyLegalEntity")
    sub(legal, CBC + "RegistrationName", party.name)
    if party.legal_registration is not None:
        sub(
            legal,
            CBC + "CompanyID",
            party.legal_registration.value,
            schemeID=party.legal_registration.scheme,
        )
    opt(legal, CBC + "CompanyLegalForm", party.legal_information)
    if party.contact is not None:
        contact = sub(party_element, CAC + "Contact")
        opt(contact, CBC + "Name", party.contact.name)
        opt(contact, CBC + "Telephone", party.contact.telephone)
        opt(contact, CBC + "ElectronicMail", party.contact.email)


def _write_payee(root: etree._Element, payee: Payee, creditor_id: str | None) -> None:
    element = sub(root, CAC + "PayeeParty")
    if creditor_id is not None:
        _write_identification(element, Identifier(creditor_id, SEPA_SCHEME))
    if payee.identifier is not None:
        _write_identification(element, payee.identifier)
    sub(sub(element, CAC + "PartyName"), CBC + "Name", payee.name)
    if payee.legal_registration is not None:
        sub(
            sub(element, CAC + "PartyLegalEntity"),
            CBC + "CompanyID",
            payee.legal_registration.value,
            schemeID=payee.legal_registration.scheme,
        )


def _write_tax_representative(root: etree._Element, representative: TaxRepresentative) -> None:
    element = sub(root, CAC + "TaxRepresentativeParty")
    sub(sub(element, CAC + "PartyName"), CBC + "Name", representative.name)
    _write_address(element, "PostalAddress", representative.address)
    if representative.vat_id is not None:
        _write_tax_scheme(element, representative.vat_id, "VAT")


def _write_delivery(root: etree._Element, delivery: Delivery) -> None:
    element = sub(root, CAC + "Delivery")
    opt(element, CBC + "ActualDeliveryDate", _iso(delivery.actual_date))
    if delivery.location is not None or delivery.address is not None:
        location = sub(element, CAC + "DeliveryLocation")
        if delivery.location is not None:
            sub(location, CBC + "ID", delivery.location.value, schemeID=delivery.location.scheme)
        _write_address(location, "Address", delivery.address)
    if delivery.party_name is not None:
        sub(
            sub(sub(element, CAC + "DeliveryParty"), CAC + "PartyName"),
            CBC + "Name",
            delivery.party_name,
        )


def _write_payment_means(
    root: etree._Element, payment: PaymentInstructions, due_date: date | None
) -> None:
    debit = payment.direct_debit
    mandate = debit is not None and (
        debit.mandate_reference is not None or debit.debited_account is not None
    )
    if (
        payment.means_code is None
        and not payment.credit_transfers
        and payment.card is None
        and payment.remittance_information is None
        and not mandate
    ):
        return  # only a creditor identifier (BT-90), written with the party
    for index, transfer in enumerate(payment.credit_transfers or (None,)):
        means = sub(root, CAC + "PaymentMeans")
        sub(means, CBC + "PaymentMeansCode", payment.means_code or "1", name=payment.means_text)
        opt(means, CBC + "PaymentDueDate", _iso(due_date))
        opt(means, CBC + "PaymentID", payment.remittance_information)
        if index == 0 and payment.card is not None:
            card = sub(means, CAC + "CardAccount")
            sub(card, CBC + "PrimaryAccountNumberID", payment.card.account_number)
            sub(card, CBC + "NetworkID", CARD_NETWORK_UNKNOWN)
            opt(card, CBC + "HolderName", payment.card.holder_name)
        if transfer is not None:
            account = sub(means, CAC + "PayeeFinancialAccount")
            sub(account, CBC + "ID", transfer.account_id)
            opt(account, CBC + "Name", transfer.account_name)
            if transfer.bic is not None:
                sub(sub(account, CAC + "FinancialInstitutionBranch"), CBC + "ID", transfer.bic)
        if index == 0 and debit is not None and mandate:
            element = sub(means, CAC + "PaymentMandate")
            opt(element, CBC + "ID", debit.mandate_reference)
            if debit.debited_account is not None:
                sub(sub(element, CAC + "PayerFinancialAccount"), CBC + "ID", debit.debited_account)


def _write_tax_category(
    parent: etree._Element, tag: str, category: str | None, rate: Decimal | None
) -> etree._Element:
    element = sub(parent, CAC + tag)
    opt(element, CBC + "ID", category)
    opt(element, CBC + "Percent", decimal_text(rate))
    return element


def _write_allowance_charge(
    parent: etree._Element, allowance_charge: AllowanceCharge, currency: str
) -> None:
    element = sub(parent, CAC + "AllowanceCharge")
    sub(element, CBC + "ChargeIndicator", "true" if allowance_charge.is_charge else "false")
    opt(element, CBC + "AllowanceChargeReasonCode", allowance_charge.reason_code)
    opt(element, CBC + "AllowanceChargeReason", allowance_charge.reason)
    opt(element, CBC + "MultiplierFactorNumeric", decimal_text(allowance_charge.percentage))
    _amount(element, "Amount", allowance_charge.amount, currency)
    _amount(element, "BaseAmount", allowance_charge.base_amount, currency)
    if allowance_charge.vat_category is not None or allowance_charge.vat_rate is not None:
        category = _write_tax_category(
            element, "TaxCategory", allowance_charge.vat_category, allowance_charge.vat_rate
        )
        sub(sub(category, CAC + "TaxScheme"), CBC + "ID", "VAT")


def _write_tax_totals(root: etree._Element, invoice: Invoice) -> None:
    totals = invoice.totals
    if totals.tax_amount is not None or invoice.vat_breakdown:
        # BR-CO-14: BT-110 is the sum of the breakdown's tax amounts when not given
        tax_amount = totals.tax_amount
        if tax_amount is None:
            tax_amount = sum((vat.tax_amount for vat in invoice.vat_breakdown), Decimal(0))
        tax_total = sub(root, CAC + "TaxTotal")
        _amount(tax_total, "TaxAmount", tax_amount, invoice.currency)
        for vat in invoice.vat_breakdown:
            sub_total = sub(tax_total, CAC + "TaxSubtotal")
            _amount(sub_total, "TaxableAmount", vat.taxable_amount, invoice.currency)
            _amount(sub_total, "TaxAmount", vat.tax_amount, invoice.currency)
            category = _write_tax_category(sub_total, "TaxCategory", vat.category, vat.rate)
            opt(category, CBC + "TaxExemptionReasonCode", vat.exemption_reason_code)
            opt(category, CBC + "TaxExemptionReason", vat.exemption_reason)
            sub(sub(category, CAC + "TaxScheme"), CBC + "ID", "VAT")
    if totals.tax_amount_accounting is not None:
        _amount(
            sub(root, CAC + "TaxTotal"),
            "TaxAmount",
            totals.tax_amount_accounting,
            invoice.vat_accounting_currency or invoice.currency,
        )


def _write_totals(root: etree._Element, invoice: Invoice) -> None:
    totals, currency = invoice.totals, invoice.currency
    element = sub(root, CAC + "LegalMonetaryTotal")
    _amount(element, "LineExtensionAmount", totals.line_total_amount, currency)
    _amount(element, "TaxExclusiveAmount", totals.tax_exclusive_amount, currency)
    _amount(element, "TaxInclusiveAmount", totals.tax_inclusive_amount, currency)
    _amount(element, "AllowanceTotalAmount", totals.allowance_total_amount, currency)
    _amount(element, "ChargeTotalAmount", totals.charge_total_amount, currency)
    _amount(element, "PrepaidAmount", totals.paid_amount, currency)
    _amount(element, "PayableRoundingAmount", totals.rounding_amount, currency)
    _amount(element, "PayableAmount", totals.payable_amount, currency)


def _write_line(root: etree._Element, line: InvoiceLine, currency: str, credit_note: bool) -> None:
    element = sub(root, CAC + ("CreditNoteLine" if credit_note else "InvoiceLine"))
    sub(element, CBC + "ID", line.id)
    opt(element, CBC + "Note", line.note)
    sub(
        element,
        CBC + ("CreditedQuantity" if credit_note else "InvoicedQuantity"),
        decimal_text(line.quantity),
        unitCode=line.unit_code,
    )
    _amount(element, "LineExtensionAmount", line.net_amount, currency)
    opt(element, CBC + "AccountingCost", line.accounting_reference)
    if line.period is not None:
        _write_period_dates(sub(element, CAC + "InvoicePeriod"), line.period)
    if line.order_line_reference is not None:
        sub(sub(element, CAC + "OrderLineReference"), CBC + "LineID", line.order_line_reference)
    if line.object_identifier is not None:
        reference = sub(element, CAC + "DocumentReference")
        sub(
            reference,
            CBC + "ID",
            line.object_identifier.value,
            schemeID=line.object_identifier.scheme,
        )
        sub(reference, CBC + "DocumentTypeCode", OBJECT_DOCUMENT_TYPE)
    for allowance_charge in line.allowances_charges:
        _write_allowance_charge(element, allowance_charge, currency)
    _write_item(element, line)
    price = sub(element, CAC + "Price")
    _amount(price, "PriceAmount", line.net_price, currency)
    opt(
        price,
        CBC + "BaseQuantity",
        decimal_text(line.base_quantity),
        unitCode=line.base_quantity_unit,
    )
    if line.price_discount is not None or line.gross_price is not None:
        discount = sub(price, CAC + "AllowanceCharge")
        sub(discount, CBC + "ChargeIndicator", "false")
        _amount(discount, "Amount", line.price_discount or Decimal(0), currency)
        _amount(discount, "BaseAmount", line.gross_price, currency)


def _write_item(line_element: etree._Element, line: InvoiceLine) -> None:
    item = sub(line_element, CAC + "Item")
    opt(item, CBC + "Description", line.item_description)
    sub(item, CBC + "Name", line.item_name)
    if line.buyer_item_id is not None:
        sub(sub(item, CAC + "BuyersItemIdentification"), CBC + "ID", line.buyer_item_id)
    if line.seller_item_id is not None:
        sub(sub(item, CAC + "SellersItemIdentification"), CBC + "ID", line.seller_item_id)
    if line.standard_item_id is not None:
        sub(
            sub(item, CAC + "StandardItemIdentification"),
            CBC + "ID",
            line.standard_item_id.value,
            schemeID=line.standard_item_id.scheme,
        )
    if line.origin_country is not None:
        sub(sub(item, CAC + "OriginCountry"), CBC + "IdentificationCode", line.origin_country)
    for classification in line.classifications:
        sub(
            sub(item, CAC + "CommodityClassification"),
            CBC + "ItemClassificationCode",
            classification.code,
            listID=classification.scheme,
            listVersionID=classification.version,
        )
    category = _write_tax_category(item, "ClassifiedTaxCategory", line.vat_category, line.vat_rate)
    sub(sub(category, CAC + "TaxScheme"), CBC + "ID", "VAT")
    for attribute in line.attributes:
        prop = sub(item, CAC + "AdditionalItemProperty")
        sub(prop, CBC + "Name", attribute.name)
        sub(prop, CBC + "Value", attribute.value)
