"""The canonical invoice: the EN 16931 semantic model, whatever syntax carried it.

Readers (`invoicing.formats`) turn UBL and CII into an `Invoice`; writers turn it back.
Every field names the business term (BT) or group (BG) it holds. Money and quantities are
`Decimal`, dates `datetime.date`, repeated groups tuples, so an invoice is a frozen value
that compares equal field by field. Codes stay the strings the invoice carried (UNTDID,
ISO, UN/ECE lists are long and change); `StrEnum`s name the ones Chaîne acts on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

SIRET_SCHEME = "0009"  # ISO 6523 ICD of the French SIRET (BT-29/30/46/47 scheme)


class InvoiceTypeCode(StrEnum):
    """BT-3 codes (UNTDID 1001) French public invoicing acts on; others are kept as given."""

    COMMERCIAL_INVOICE = "380"
    CREDIT_NOTE = "381"
    CORRECTED_INVOICE = "384"
    PREPAYMENT_INVOICE = "386"
    SELF_BILLED_INVOICE = "389"


# UNTDID 1001 credit note codes of the EN 16931 code list: in UBL these travel as a
# CreditNote document, every other code as an Invoice (EN 16931-3-2 syntax binding).
CREDIT_NOTE_TYPE_CODES = frozenset(
    {"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"}
)


@dataclass(frozen=True)
class Identifier:
    """An identifier and the scheme it was issued under (BT-29-1, BT-30-1...; 0009 = SIRET)."""

    value: str
    scheme: str | None = None


@dataclass(frozen=True)
class Address:
    """A postal address: BG-5 seller, BG-8 buyer, BG-12 tax representative, BG-15 deliver-to."""

    country_code: str  # BT-40 / BT-55 / BT-69 / BT-80
    line_one: str | None = None  # BT-35
    line_two: str | None = None  # BT-36
    line_three: str | None = None  # BT-162
    city: str | None = None  # BT-37
    post_code: str | None = None  # BT-38
    subdivision: str | None = None  # BT-39


@dataclass(frozen=True)
class Contact:
    """BG-6 seller contact / BG-9 buyer contact."""

    name: str | None = None  # BT-41 / BT-56
    telephone: str | None = None  # BT-42 / BT-57
    email: str | None = None  # BT-43 / BT-58


@dataclass(frozen=True)
class Party:
    """The seller (BG-4) or the buyer (BG-7); the seller-only terms stay None for a buyer."""

    name: str  # BT-27 / BT-44
    trading_name: str | None = None  # BT-28 / BT-45
    identifiers: tuple[Identifier, ...] = ()  # BT-29 / BT-46
    legal_registration: Identifier | None = None  # BT-30 / BT-47
    vat_id: str | None = None  # BT-31 / BT-48
    tax_registration_id: str | None = None  # BT-32
    legal_information: str | None = None  # BT-33
    electronic_address: Identifier | None = None  # BT-34 / BT-49
    address: Address | None = None  # BG-5 / BG-8
    contact: Contact | None = None  # BG-6 / BG-9

    @property
    def siret(self) -> str | None:
        """The SIRET: legal registration (BT-30/47) under 0009, else an identifier (BT-29/46)."""
        for identifier in (self.legal_registration, *self.identifiers):
            if identifier is not None and identifier.scheme == SIRET_SCHEME:
                return identifier.value
        return None


@dataclass(frozen=True)
class Payee:
    """BG-10: who receives the payment when it is not the seller (factoring, a head office)."""

    name: str  # BT-59
    identifier: Identifier | None = None  # BT-60
    legal_registration: Identifier | None = None  # BT-61


@dataclass(frozen=True)
class TaxRepresentative:
    """BG-11: the party accounting for VAT on the seller's behalf."""

    name: str  # BT-62
    vat_id: str | None = None  # BT-63
    address: Address | None = None  # BG-12


@dataclass(frozen=True)
class Period:
    """A period with optional ends: BG-14 invoicing period, BG-26 line period."""

    start: date | None = None  # BT-73 / BT-134
    end: date | None = None  # BT-74 / BT-135


@dataclass(frozen=True)
class Delivery:
    """BG-13: where and when goods or services were delivered."""

    party_name: str | None = None  # BT-70
    location: Identifier | None = None  # BT-71
    actual_date: date | None = None  # BT-72
    address: Address | None = None  # BG-15


@dataclass(frozen=True)
class Note:
    """BG-1: a free-text note and its UNTDID 4451 subject code."""

    text: str  # BT-22
    subject_code: str | None = None  # BT-21


@dataclass(frozen=True)
class PrecedingInvoice:
    """BG-3: the invoice a credit note or a corrective invoice refers to."""

    number: str  # BT-25
    issue_date: date | None = None  # BT-26


@dataclass(frozen=True)
class CreditTransfer:
    """BG-17: an account to pay into."""

    account_id: str  # BT-84, an IBAN for SEPA transfers
    account_name: str | None = None  # BT-85
    bic: str | None = None  # BT-86


@dataclass(frozen=True)
class PaymentCard:
    """BG-18: the card the buyer pays with."""

    account_number: str  # BT-87, the last digits only
    holder_name: str | None = None  # BT-88


@dataclass(frozen=True)
class DirectDebit:
    """BG-19: a SEPA direct debit of the buyer's account."""

    mandate_reference: str | None = None  # BT-89
    creditor_id: str | None = None  # BT-90
    debited_account: str | None = None  # BT-91


@dataclass(frozen=True)
class PaymentInstructions:
    """BG-16: how the seller expects to be paid."""

    means_code: str | None = None  # BT-81 (UNTDID 4461: 30 transfer, 58 SEPA transfer...)
    means_text: str | None = None  # BT-82
    remittance_information: str | None = None  # BT-83
    credit_transfers: tuple[CreditTransfer, ...] = ()  # BG-17
    card: PaymentCard | None = None  # BG-18
    direct_debit: DirectDebit | None = None  # BG-19


@dataclass(frozen=True)
class AllowanceCharge:
    """An allowance or a charge: BG-20/BG-21 on the document, BG-27/BG-28 on a line.

    Line allowances and charges carry no VAT category (their line's applies).
    """

    is_charge: bool
    amount: Decimal  # BT-92 / BT-99 / BT-136 / BT-141
    base_amount: Decimal | None = None  # BT-93 / BT-100 / BT-137 / BT-142
    percentage: Decimal | None = None  # BT-94 / BT-101 / BT-138 / BT-143
    vat_category: str | None = None  # BT-95 / BT-102
    vat_rate: Decimal | None = None  # BT-96 / BT-103
    reason: str | None = None  # BT-97 / BT-104 / BT-139 / BT-144
    reason_code: str | None = None  # BT-98 / BT-105 / BT-140 / BT-145


@dataclass(frozen=True)
class VatBreakdown:
    """BG-23: the VAT of one category and rate."""

    taxable_amount: Decimal  # BT-116
    tax_amount: Decimal  # BT-117
    category: str  # BT-118 (UNCL 5305: S standard, Z zero, E exempt, AE reverse charge...)
    rate: Decimal | None = None  # BT-119, percent
    exemption_reason: str | None = None  # BT-120
    exemption_reason_code: str | None = None  # BT-121


@dataclass(frozen=True)
class Totals:
    """BG-22: the document totals, in the invoice currency except BT-111."""

    tax_exclusive_amount: Decimal  # BT-109
    tax_inclusive_amount: Decimal  # BT-112
    payable_amount: Decimal  # BT-115
    line_total_amount: Decimal | None = None  # BT-106 (absent from Factur-X MINIMUM)
    allowance_total_amount: Decimal | None = None  # BT-107
    charge_total_amount: Decimal | None = None  # BT-108
    tax_amount: Decimal | None = None  # BT-110
    tax_amount_accounting: Decimal | None = None  # BT-111, in the BT-6 currency
    paid_amount: Decimal | None = None  # BT-113
    rounding_amount: Decimal | None = None  # BT-114


@dataclass(frozen=True)
class SupportingDocument:
    """BG-24: a document backing the invoice, referenced or embedded.

    The embedded content is kept as bytes; the caller stores it as a blob.
    """

    reference: str  # BT-122
    description: str | None = None  # BT-123
    uri: str | None = None  # BT-124
    content: bytes | None = None  # BT-125
    mime_code: str | None = None  # BT-125-1
    filename: str | None = None  # BT-125-2


@dataclass(frozen=True)
class Classification:
    """BT-158: an item classification code, its list (BT-158-1) and list version (BT-158-2)."""

    code: str
    scheme: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class ItemAttribute:
    """BG-32: one named attribute of an item."""

    name: str  # BT-160
    value: str  # BT-161


@dataclass(frozen=True)
class InvoiceLine:
    """BG-25: one invoice line, its price (BG-29), VAT (BG-30) and item (BG-31)."""

    id: str  # BT-126
    quantity: Decimal  # BT-129
    unit_code: str  # BT-130 (UN/ECE rec. 20: C62 one, HUR hour, DAY...)
    net_amount: Decimal  # BT-131
    net_price: Decimal  # BT-146
    vat_category: str  # BT-151
    item_name: str  # BT-153
    vat_rate: Decimal | None = None  # BT-152
    note: str | None = None  # BT-127
    object_identifier: Identifier | None = None  # BT-128
    order_line_reference: str | None = None  # BT-132
    accounting_reference: str | None = None  # BT-133
    period: Period | None = None  # BG-26
    allowances_charges: tuple[AllowanceCharge, ...] = ()  # BG-27 / BG-28
    price_discount: Decimal | None = None  # BT-147
    gross_price: Decimal | None = None  # BT-148
    base_quantity: Decimal | None = None  # BT-149
    base_quantity_unit: str | None = None  # BT-150
    item_description: str | None = None  # BT-154
    seller_item_id: str | None = None  # BT-155
    buyer_item_id: str | None = None  # BT-156
    standard_item_id: Identifier | None = None  # BT-157
    classifications: tuple[Classification, ...] = ()  # BT-158
    origin_country: str | None = None  # BT-159
    attributes: tuple[ItemAttribute, ...] = ()  # BG-32


@dataclass(frozen=True)
class Invoice:
    """An invoice or credit note as EN 16931 defines it (BT-3 tells which)."""

    number: str  # BT-1
    issue_date: date  # BT-2
    type_code: str  # BT-3, see InvoiceTypeCode
    currency: str  # BT-5 (ISO 4217)
    specification_id: str  # BT-24: urn:cen.eu:en16931:2017, a CIUS or a Factur-X profile
    seller: Party  # BG-4
    buyer: Party  # BG-7
    totals: Totals  # BG-22
    lines: tuple[InvoiceLine, ...] = ()  # BG-25 (none in Factur-X MINIMUM and BASIC WL)
    vat_accounting_currency: str | None = None  # BT-6
    vat_point_date: date | None = None  # BT-7
    vat_point_date_code: str | None = None  # BT-8 (UNTDID 2005: 3, 35, 432)
    due_date: date | None = None  # BT-9
    buyer_reference: str | None = None  # BT-10: the service code in French public invoicing
    project_reference: str | None = None  # BT-11
    contract_reference: str | None = None  # BT-12
    purchase_order_reference: str | None = None  # BT-13: the commitment number (engagement)
    sales_order_reference: str | None = None  # BT-14
    receiving_advice_reference: str | None = None  # BT-15
    despatch_advice_reference: str | None = None  # BT-16
    tender_or_lot_reference: str | None = None  # BT-17
    invoiced_object: Identifier | None = None  # BT-18
    buyer_accounting_reference: str | None = None  # BT-19
    payment_terms: str | None = None  # BT-20
    notes: tuple[Note, ...] = ()  # BG-1
    business_process: str | None = None  # BT-23
    preceding_invoices: tuple[PrecedingInvoice, ...] = ()  # BG-3
    payee: Payee | None = None  # BG-10
    tax_representative: TaxRepresentative | None = None  # BG-11
    delivery: Delivery | None = None  # BG-13
    period: Period | None = None  # BG-14
    payment: PaymentInstructions | None = None  # BG-16
    allowances_charges: tuple[AllowanceCharge, ...] = ()  # BG-20 / BG-21, in document order
    vat_breakdown: tuple[VatBreakdown, ...] = ()  # BG-23
    supporting_documents: tuple[SupportingDocument, ...] = ()  # BG-24

    @property
    def is_credit_note(self) -> bool:
        """Whether BT-3 is a credit note code (UBL then uses the CreditNote document)."""
        return self.type_code in CREDIT_NOTE_TYPE_CODES

    @property
    def seller_siret(self) -> str | None:
        """The seller's SIRET: BT-30 under scheme 0009, else BT-29 under 0009."""
        return self.seller.siret

    @property
    def buyer_siret(self) -> str | None:
        """The buyer's SIRET, which routes the invoice: BT-47 under 0009, else BT-46 under 0009."""
        return self.buyer.siret

    @property
    def service_code(self) -> str | None:
        """The buyer's service code (BT-10), mandatory for some public structures."""
        return self.buyer_reference

    @property
    def commitment_number(self) -> str | None:
        """The legal commitment (engagement juridique) number, carried in BT-13."""
        return self.purchase_order_reference

    @property
    def iban(self) -> str | None:
        """The account to pay into: BT-84 of the first credit transfer."""
        if self.payment is None or not self.payment.credit_transfers:
            return None
        return self.payment.credit_transfers[0].account_id

    @property
    def total_due(self) -> Decimal:
        """The amount due for payment (BT-115)."""
        return self.totals.payable_amount

    @property
    def delivery_date(self) -> date | None:
        """The actual delivery date (BT-72), the service date of French invoices."""
        return self.delivery.actual_date if self.delivery is not None else None

    @property
    def allowances(self) -> tuple[AllowanceCharge, ...]:
        """The document-level allowances (BG-20)."""
        return tuple(ac for ac in self.allowances_charges if not ac.is_charge)

    @property
    def charges(self) -> tuple[AllowanceCharge, ...]:
        """The document-level charges (BG-21)."""
        return tuple(ac for ac in self.allowances_charges if ac.is_charge)
