"""What the invoice outbox announces: the types of events subscribers poll or receive."""

from __future__ import annotations

from enum import StrEnum


class InvoiceEventType(StrEnum):
    """The type of an invoice event; webhooks may subscribe to a subset."""

    STATUS_CHANGED = "invoice.status_changed"  # every status change, with its lifecycle code
    OVERDUE = "invoice.overdue"  # the payment deadline passed unpaid (status unchanged)
