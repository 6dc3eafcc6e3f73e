"""Hypothesis strategies: canonical invoices shaped as EN 16931 invoices are.

`invoices(syntax)` draws invoices the syntax can carry whole, so `read(write(x)) == x`
must hold. Amounts have 2 decimals, quantities and prices up to 4, text is any Unicode
letter, mark, digit, punctuation, symbol or space, stripped and never empty, without
control characters (XML 1.0 cannot hold most, and parsers turn CR into LF). Each optional
term is present or absent; each optional group has at least one term when present.

Left out for both syntaxes, because one or the other has no place for it:
- identifiers without a scheme after one with a scheme (CII writes every `ram:ID` before
  every `ram:GlobalID`): they are drawn unscoped first;
- a price discount (BT-147) without a gross price (BT-148), or the reverse (UBL has no
  gross price outside a discount, CII no discount outside a gross price);
- an attachment's MIME code and file name without its content (both are attributes of
  the embedded object), or content without them (both XSDs require them);
- a payment means text (BT-82) without a means code (BT-81), and credit transfers, a card
  or a debited account without a means code (both write them inside a payment means);
- a document-level VAT total (BT-110) absent, and the VAT accounting total (BT-111)
  without the accounting currency (BT-6) or with it equal to the invoice currency (the two
  totals are told apart by currency);
- no VAT breakdown (CII carries BT-7 and BT-8 on the breakdown only), no lines, no line
  total (BT-106): the tests also check the written XSDs, and both require lines, the
  Factur-X EN16931 one a VAT breakdown and BT-106;
- a VAT rate without a VAT category on an allowance or charge (CII nests the rate in it).
Left out for UBL only:
- a note text starting with `#` (the BT-21 subject code is written `#CODE#text`);
- a purchase order reference (BT-13) of `NA` (the placeholder when only BT-14 is known);
- an identifier under the scheme `SEPA` (it carries the creditor identifier, BT-90);
- payment instructions without a means code (UBL has no payment means without one);
- a due date (BT-9) on a credit note without payment instructions (a CreditNote carries
  it in its payment means).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TypeVar

from hypothesis import strategies as st

from invoicing.model import (
    CREDIT_NOTE_TYPE_CODES,
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
from invoicing.syntax import Syntax

T = TypeVar("T")

TYPE_CODES = ("380", "381", "384", "386", "389", "261", "396")
CURRENCIES = ("EUR", "USD", "SEK", "CHF", "GBP")
COUNTRIES = ("FR", "DE", "BE", "IT", "SE", "ES", "LU")
SCHEMES = ("0009", "0002", "0088", "0060", "0225", "0204", "0208")
VAT_CATEGORIES = ("S", "Z", "E", "AE", "K", "G", "O", "L", "M")
UNITS = ("C62", "H87", "HUR", "DAY", "KGM", "LTR", "MTR")
NOTE_SUBJECTS = ("AAI", "AAB", "PMT", "PMD", "REG", "ABL", "SUR", "TXD")
MEANS_CODES = ("30", "31", "42", "48", "49", "58", "59", "97")
SPECIFICATIONS = ("urn:cen.eu:en16931:2017", "urn:factur-x.eu:1p0:en16931")
MIME_CODES = ("application/pdf", "image/png", "image/jpeg", "text/csv")

_CHARACTERS = st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Zs"))


def texts(max_size: int = 30) -> st.SearchStrategy[str]:
    """Non-empty, stripped, XML-safe Unicode text."""
    return st.text(_CHARACTERS, min_size=1, max_size=max_size).map(str.strip).filter(bool)


def optional(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    """The value or None."""
    return st.none() | strategy


amounts = st.decimals(
    min_value=Decimal("-999999.99"),
    max_value=Decimal("999999.99"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)
quantities = st.decimals(
    min_value=Decimal("-9999"),
    max_value=Decimal("9999"),
    places=4,
    allow_nan=False,
    allow_infinity=False,
)
prices = st.decimals(
    min_value=Decimal(0),
    max_value=Decimal("99999"),
    places=4,
    allow_nan=False,
    allow_infinity=False,
)
rates = st.decimals(
    min_value=Decimal(0), max_value=Decimal(100), places=2, allow_nan=False, allow_infinity=False
)
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
codes = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=6)


@st.composite
def identifiers(draw: st.DrawFn, schemed: bool | None = None) -> Identifier:
    """An identifier, with a scheme when `schemed` (drawn when None); the scheme is never SEPA."""
    with_scheme = draw(st.booleans()) if schemed is None else schemed
    scheme = draw(st.sampled_from(SCHEMES)) if with_scheme else None
    return Identifier(draw(texts(20)), scheme)


@st.composite
def identifier_lists(draw: st.DrawFn) -> tuple[Identifier, ...]:
    """BT-29-like identifiers: those without a scheme first (CII order)."""
    plain = draw(st.lists(identifiers(schemed=False), max_size=2))
    schemed = draw(st.lists(identifiers(schemed=True), max_size=2))
    return (*plain, *schemed)


@st.composite
def addresses(draw: st.DrawFn) -> Address:
    """A postal address (BG-5 and the like)."""
    return Address(
        country_code=draw(st.sampled_from(COUNTRIES)),
        line_one=draw(optional(texts())),
        line_two=draw(optional(texts())),
        line_three=draw(optional(texts())),
        city=draw(optional(texts())),
        post_code=draw(optional(codes)),
        subdivision=draw(optional(texts())),
    )


@st.composite
def contacts(draw: st.DrawFn) -> Contact:
    """A contact with at least one term."""
    contact = Contact(draw(optional(texts())), draw(optional(texts(15))), draw(optional(texts())))
    return contact if contact != Contact() else Contact(name=draw(texts()))


@st.composite
def parties(draw: st.DrawFn) -> Party:
    """A seller or buyer (BG-4 / BG-7)."""
    return Party(
        name=draw(texts()),
        trading_name=draw(optional(texts())),
        identifiers=draw(identifier_lists()),
        legal_registration=draw(optional(identifiers())),
        vat_id=draw(optional(codes)),
        tax_registration_id=draw(optional(codes)),
        legal_information=draw(optional(texts())),
        electronic_address=draw(optional(identifiers(schemed=True))),
        address=draw(optional(addresses())),
        contact=draw(optional(contacts())),
    )


@st.composite
def periods(draw: st.DrawFn) -> Period:
    """A period with at least one end."""
    start, end = draw(optional(dates)), draw(optional(dates))
    return Period(start, end) if start or end else Period(start=draw(dates))


@st.composite
def deliveries(draw: st.DrawFn) -> Delivery:
    """BG-13 with at least one term."""
    delivery = Delivery(
        draw(optional(texts())),
        draw(optional(identifiers())),
        draw(optional(dates)),
        draw(optional(addresses())),
    )
    return delivery if delivery != Delivery() else Delivery(actual_date=draw(dates))


@st.composite
def payments(draw: st.DrawFn, syntax: Syntax) -> PaymentInstructions:
    """BG-16; in UBL always with a means code, in CII with one whenever it needs it."""
    transfers = tuple(
        draw(
            st.lists(
                st.builds(CreditTransfer, texts(34), optional(texts()), optional(codes)), max_size=3
            )
        )
    )
    card = draw(optional(st.builds(PaymentCard, codes, optional(texts()))))
    debit = draw(
        optional(st.builds(DirectDebit, optional(texts()), optional(texts()), optional(codes)))
    )
    debit = debit if debit != DirectDebit() else None
    remittance = draw(optional(texts()))
    needs_code = (
        syntax is Syntax.UBL
        or transfers
        or card is not None
        or (debit is not None and debit.debited_account is not None)
    )
    means_code = draw(
        st.sampled_from(MEANS_CODES) if needs_code else optional(st.sampled_from(MEANS_CODES))
    )
    if means_code is None and remittance is None and debit is None:
        remittance = draw(texts())
    return PaymentInstructions(
        means_code=means_code,
        means_text=draw(optional(texts())) if means_code is not None else None,
        remittance_information=remittance,
        credit_transfers=transfers,
        card=card,
        direct_debit=debit,
    )


@st.composite
def allowances_charges(draw: st.DrawFn, document_level: bool) -> AllowanceCharge:
    """BG-20/21 (with a VAT category) or BG-27/28 (without)."""
    category = draw(st.sampled_from(VAT_CATEGORIES)) if document_level else None
    return AllowanceCharge(
        is_charge=draw(st.booleans()),
        amount=draw(amounts),
        base_amount=draw(optional(amounts)),
        percentage=draw(optional(rates)),
        vat_category=category,
        vat_rate=draw(optional(rates)) if category is not None else None,
        reason=draw(optional(texts())),
        reason_code=draw(optional(codes)),
    )


@st.composite
def lines(draw: st.DrawFn, line_id: str) -> InvoiceLine:
    """BG-25 with its price, VAT and item."""
    discounted = draw(st.booleans())
    base_quantity = draw(optional(quantities))
    return InvoiceLine(
        id=line_id,
        quantity=draw(quantities),
        unit_code=draw(st.sampled_from(UNITS)),
        net_amount=draw(amounts),
        net_price=draw(prices),
        vat_category=draw(st.sampled_from(VAT_CATEGORIES)),
        item_name=draw(texts()),
        vat_rate=draw(optional(rates)),
        note=draw(optional(texts(60))),
        object_identifier=draw(optional(identifiers())),
        order_line_reference=draw(optional(codes)),
        accounting_reference=draw(optional(texts())),
        period=draw(optional(periods())),
        allowances_charges=tuple(draw(st.lists(allowances_charges(False), max_size=2))),
        price_discount=draw(prices) if discounted else None,
        gross_price=draw(prices) if discounted else None,
        base_quantity=base_quantity,
        base_quantity_unit=(
            draw(optional(st.sampled_from(UNITS))) if base_quantity is not None else None
        ),
        item_description=draw(optional(texts(60))),
        seller_item_id=draw(optional(codes)),
        buyer_item_id=draw(optional(codes)),
        standard_item_id=draw(optional(identifiers(schemed=True))),
        classifications=tuple(
            draw(
                st.lists(
                    st.builds(Classification, codes, optional(codes), optional(codes)), max_size=2
                )
            )
        ),
        origin_country=draw(optional(st.sampled_from(COUNTRIES))),
        attributes=tuple(draw(st.lists(st.builds(ItemAttribute, texts(), texts()), max_size=2))),
    )


@st.composite
def supporting_documents(draw: st.DrawFn) -> SupportingDocument:
    """BG-24: referenced, linked or embedded."""
    content = draw(optional(st.binary(min_size=1, max_size=64)))
    return SupportingDocument(
        reference=draw(texts()),
        description=draw(optional(texts())),
        uri=draw(optional(st.just("https://example.org/") | texts())),
        content=content,
        mime_code=draw(st.sampled_from(MIME_CODES)) if content is not None else None,
        filename=draw(texts()) if content is not None else None,
    )


@st.composite
def notes(draw: st.DrawFn, syntax: Syntax) -> Note:
    """BG-1; in UBL the text never starts with the subject code's hash sign."""
    text = draw(texts(60))
    if syntax is Syntax.UBL and text.startswith("#"):
        text = "note " + text
    return Note(text, draw(optional(st.sampled_from(NOTE_SUBJECTS))))


@st.composite
def invoices(draw: st.DrawFn, syntax: Syntax) -> Invoice:
    """An invoice `syntax` carries whole (see the module docstring for what is left out)."""
    currency = draw(st.sampled_from(CURRENCIES))
    accounting_currency = draw(optional(st.sampled_from(CURRENCIES).filter(currency.__ne__)))
    type_code = draw(st.sampled_from(TYPE_CODES))
    payment = draw(optional(payments(syntax)))
    line_count = draw(st.integers(min_value=1, max_value=5))
    purchase_order = draw(optional(texts()))
    if syntax is Syntax.UBL and purchase_order == "NA":
        purchase_order = None
    due_date = draw(optional(dates))
    if syntax is Syntax.UBL and payment is None and type_code in CREDIT_NOTE_TYPE_CODES:
        due_date = None
    return Invoice(
        number=draw(texts(20)),
        issue_date=draw(dates),
        type_code=type_code,
        currency=currency,
        specification_id=draw(st.sampled_from(SPECIFICATIONS)),
        seller=draw(parties()),
        buyer=draw(parties()),
        totals=Totals(
            tax_exclusive_amount=draw(amounts),
            tax_inclusive_amount=draw(amounts),
            payable_amount=draw(amounts),
            line_total_amount=draw(amounts),
            allowance_total_amount=draw(optional(amounts)),
            charge_total_amount=draw(optional(amounts)),
            tax_amount=draw(amounts),
            tax_amount_accounting=draw(optional(amounts)) if accounting_currency else None,
            paid_amount=draw(optional(amounts)),
            rounding_amount=draw(optional(amounts)),
        ),
        lines=tuple(draw(lines(str(index + 1))) for index in range(line_count)),
        vat_accounting_currency=accounting_currency,
        vat_point_date=draw(optional(dates)),
        vat_point_date_code=draw(optional(st.sampled_from(("3", "35", "432")))),
        due_date=due_date,
        buyer_reference=draw(optional(texts())),
        project_reference=draw(optional(texts())),
        contract_reference=draw(optional(texts())),
        purchase_order_reference=purchase_order,
        sales_order_reference=draw(optional(texts())),
        receiving_advice_reference=draw(optional(texts())),
        despatch_advice_reference=draw(optional(texts())),
        tender_or_lot_reference=draw(optional(texts())),
        invoiced_object=draw(optional(identifiers())),
        buyer_accounting_reference=draw(optional(texts())),
        payment_terms=draw(optional(texts(60))),
        notes=tuple(draw(st.lists(notes(syntax), max_size=3))),
        business_process=draw(optional(st.sampled_from(("S1", "B1", "M1")))),
        preceding_invoices=tuple(
            draw(st.lists(st.builds(PrecedingInvoice, texts(20), optional(dates)), max_size=2))
        ),
        payee=draw(
            optional(st.builds(Payee, texts(), optional(identifiers()), optional(identifiers())))
        ),
        tax_representative=draw(
            optional(st.builds(TaxRepresentative, texts(), optional(codes), optional(addresses())))
        ),
        delivery=draw(optional(deliveries())),
        period=draw(optional(periods())),
        payment=payment,
        allowances_charges=tuple(draw(st.lists(allowances_charges(True), max_size=3))),
        vat_breakdown=tuple(
            draw(
                st.lists(
                    st.builds(
                        VatBreakdown,
                        amounts,
                        amounts,
                        st.sampled_from(VAT_CATEGORIES),
                        optional(rates),
                        optional(texts()),
                        optional(codes),
                    ),
                    min_size=1,
                    max_size=3,
                )
            )
        ),
        supporting_documents=tuple(draw(st.lists(supporting_documents(), max_size=2))),
    )
