"""Test builders: a consistent EN 16931 invoice in one call, with the terms a test cares about.

`an_invoice()` is a French public-sector invoice (seller and buyer SIRETs, VAT 20 %,
category S, a credit transfer to a French IBAN) whose totals and VAT breakdown are
computed from its lines, so it passes the EN 16931 rules once written to UBL or CII, and
the French BR-FR rules too: the seller's SIREN is its legal registration (BT-30, scheme
0002) and its SIRET an identifier (BT-29, scheme 0009), where `Invoice.seller_siret` finds it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from invoicing.model import (
    SIRET_SCHEME,
    Address,
    Contact,
    CreditTransfer,
    Delivery,
    Identifier,
    Invoice,
    InvoiceLine,
    InvoiceTypeCode,
    Note,
    Party,
    PaymentInstructions,
    PrecedingInvoice,
    Totals,
    VatBreakdown,
)

SIREN_SCHEME = "0002"
SELLER_SIRET = "73282932000074"
BUYER_SIRET = "11000201100044"
IBAN = "FR7630006000011234567890189"
EN16931 = "urn:cen.eu:en16931:2017"
SERVICES_PROCESS = "S1"  # BT-23 of the French e-invoicing frame: a services invoice
CREDIT_TRANSFER = "30"  # UNTDID 4461
STANDARD_RATE = "20"
CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    """Round to the cent, half up, as EN 16931 amounts are (BR-DEC: two decimals)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def a_line(
    id: str = "1",
    *,
    quantity: str = "1",
    unit_price: str = "1200.00",
    name: str = "Prestation de maintenance",
    vat_rate: str = STANDARD_RATE,
    unit_code: str = "C62",
    **overrides: Any,
) -> InvoiceLine:
    """One line of standard-rated services; its net amount is quantity × unit price."""
    line = InvoiceLine(
        id=id,
        quantity=Decimal(quantity),
        unit_code=unit_code,
        net_amount=money(Decimal(quantity) * Decimal(unit_price)),
        net_price=Decimal(unit_price),
        vat_category="S",
        item_name=name,
        vat_rate=Decimal(vat_rate),
    )
    return replace(line, **overrides)


def french_vat_id(siret: str) -> str:
    """The intra-community VAT number of a SIRET's SIREN: key = (12 + 3 × (SIREN mod 97)) mod 97."""
    siren = siret[:9]
    return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


def vat_breakdown(lines: Iterable[InvoiceLine]) -> tuple[VatBreakdown, ...]:
    """BG-23 from the lines: one entry per category and rate, VAT rounded per entry (BR-S-09)."""
    taxable: dict[tuple[str, Decimal], Decimal] = {}
    for line in lines:
        key = (line.vat_category, line.vat_rate or Decimal(0))
        taxable[key] = taxable.get(key, Decimal(0)) + line.net_amount
    return tuple(
        VatBreakdown(
            taxable_amount=base, tax_amount=money(base * rate / 100), category=category, rate=rate
        )
        for (category, rate), base in taxable.items()
    )


def an_invoice(
    number: str = "F-2026-001",
    amount: str = "1200.00",
    *,
    seller_siret: str | None = SELLER_SIRET,
    buyer_siret: str | None = BUYER_SIRET,
    service_code: str | None = None,
    commitment_number: str | None = None,
    iban: str | None = IBAN,
    lines: Iterable[InvoiceLine] | None = None,
    issue_date: date = date(2026, 1, 15),
    **overrides: Any,
) -> Invoice:
    """A consistent invoice; `amount` is the net amount (without VAT) of its single line.

    Given `lines`, `amount` is ignored and every total derives from them. `overrides`
    replace any other field of the invoice, after the totals are computed.
    """
    drawn = tuple(lines) if lines is not None else (a_line(unit_price=amount),)
    breakdown = vat_breakdown(drawn)
    net = sum((line.net_amount for line in drawn), Decimal(0))
    vat = sum((entry.tax_amount for entry in breakdown), Decimal(0))
    invoice = Invoice(
        number=number,
        issue_date=issue_date,
        type_code="380",
        currency="EUR",
        specification_id=EN16931,
        business_process=SERVICES_PROCESS,
        seller=_seller(seller_siret),
        buyer=_buyer(buyer_siret),
        totals=Totals(
            tax_exclusive_amount=net,
            tax_inclusive_amount=net + vat,
            payable_amount=net + vat,
            line_total_amount=net,
            tax_amount=vat,
        ),
        lines=drawn,
        due_date=issue_date + timedelta(days=30),  # R2192-10: 30 days for the State
        buyer_reference=service_code,
        purchase_order_reference=commitment_number,
        payment_terms="Paiement à 30 jours par virement",
        notes=(
            Note("Pénalités de retard : trois fois le taux d'intérêt légal.", "PMD"),
            Note("Indemnité forfaitaire pour frais de recouvrement : 40 €.", "PMT"),
            Note("Pas d'escompte pour paiement anticipé.", "AAB"),
        ),
        delivery=Delivery(actual_date=issue_date),
        payment=PaymentInstructions(
            means_code=CREDIT_TRANSFER,
            remittance_information=number,
            credit_transfers=(CreditTransfer(iban),),
        )
        if iban is not None
        else None,
        vat_breakdown=breakdown,
    )
    return replace(invoice, **overrides)


def a_credit_note(
    number: str = "A-2026-001",
    amount: str = "1200.00",
    *,
    credits: str = "F-2026-001",
    credited_on: date = date(2026, 1, 15),
    **overrides: Any,
) -> Invoice:
    """A credit note (BT-3 381) cancelling `amount` of the invoice `credits` (BG-3, BR-FR-CO-05)."""
    return an_invoice(
        number,
        amount,
        type_code=InvoiceTypeCode.CREDIT_NOTE,
        preceding_invoices=(PrecedingInvoice(credits, credited_on),),
        **overrides,
    )


def _seller(siret: str | None) -> Party:
    return Party(
        name="Atelier Exemple SAS",
        identifiers=(Identifier(siret, SIRET_SCHEME),) if siret else (),
        legal_registration=Identifier(siret[:9], SIREN_SCHEME) if siret else None,
        vat_id=french_vat_id(siret or SELLER_SIRET),
        electronic_address=Identifier(siret, SIRET_SCHEME) if siret else None,
        address=Address("FR", line_one="12 rue de la Paix", city="Paris", post_code="75002"),
        contact=Contact(email="facturation@atelier-exemple.fr"),
    )


def _buyer(siret: str | None) -> Party:
    return Party(
        name="Ministère de l'Exemple, direction des achats",
        legal_registration=Identifier(siret, SIRET_SCHEME) if siret else None,
        electronic_address=Identifier(siret, SIRET_SCHEME) if siret else None,
        address=Address("FR", line_one="20 avenue de Ségur", city="Paris", post_code="75007"),
    )
