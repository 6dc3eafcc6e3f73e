"""What an invoice counts against the legal commitment (engagement juridique) of its BT-13.

A commitment's `consumed` amount is the sum of what its live invoices count: added when an
invoice is accepted at deposit, given back when it ends without being paid. Pure: the
activities that record deposits and transitions apply these values in their transaction.
"""

from __future__ import annotations

from decimal import Decimal

from invoicing.model import CREDIT_NOTE_TYPE_CODES
from invoicing.statuses import FINAL_STATUSES, InvoiceStatus

RELEASING_STATUSES = FINAL_STATUSES - {InvoiceStatus.PAYEE}
"""Final statuses of an invoice that will never be paid (rejected, cancelled, refused by the
project manager): what it counted against its commitment is given back. A corrected
invoice deposited afterwards counts again, so nothing is counted twice."""


def commitment_charge(type_code: str | None, total_without_vat: Decimal | None) -> Decimal:
    """The amount an invoice counts against its commitment: its total without VAT (BT-109),
    the basis contract values and ceilings are set on; a credit note counts negatively."""
    amount = total_without_vat or Decimal(0)
    return -amount if type_code in CREDIT_NOTE_TYPE_CODES else amount
