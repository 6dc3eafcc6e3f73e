"""Messages of an invoice's life after deposit: actions people take, what gets recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal


@dataclass(frozen=True)
class Deadlines:
    """The legal durations an invoice runs on, from settings (workflows read no settings)."""

    state: timedelta = timedelta(days=30)
    local_authority: timedelta = timedelta(days=30)
    hospital: timedelta = timedelta(days=50)
    other: timedelta = timedelta(days=60)
    after_interruption: timedelta = timedelta(days=30)
    moe_validation: timedelta = timedelta(days=15)


@dataclass(frozen=True)
class InvoiceProcess:
    """Where invoice workflows run and the legal durations they apply."""

    task_queue: str = "chaine"
    cpu_task_queue: str = "chaine-cpu"
    deadlines: Deadlines = field(default_factory=Deadlines)


@dataclass(frozen=True)
class ActionRequest:
    """An action a person takes on an invoice (see `invoicing.transitions.Action`)."""

    action: str
    role: str
    actor: str  # the client id, recorded as the author
    reason: str | None = None
    comment: str | None = None
    amount: Decimal | None = None  # certified amount (service done, partial)
    paid_on: date | None = None  # MARK_PAID


@dataclass(frozen=True)
class ActionOutcome:
    """The status an action led to, and the payment deadline as it now stands."""

    status: str
    sequence: int
    due_at: datetime | None


@dataclass(frozen=True)
class TransitionRecord:
    """One status change to persist with its history row and its event (idempotent).

    The projection fields given (not None) are written to the invoice row with it; the
    payment deadline (`due_at`, `suspended_since`) is always written as it now stands.
    """

    invoice_id: str
    sequence: int
    status: str
    actor: str
    at: datetime
    event_type: str = "invoice.status_changed"
    lifecycle_code: str | None = None
    reason: str | None = None
    comment: str | None = None
    due_at: datetime | None = None
    suspended_since: datetime | None = None
    certified_amount: Decimal | None = None
    validated_amount: Decimal | None = None
    paid_on: date | None = None
    late_interest: Decimal | None = None
    late_compensation: Decimal | None = None


@dataclass(frozen=True)
class MandateRequest:
    """Issue the mandate of an invoice (exactly one per invoice)."""

    invoice_id: str
    amount: Decimal


@dataclass(frozen=True)
class PlatformOutcome:
    """Stage (e) findings, and what routing learnt about the buyer and the commitment."""

    findings: list[dict[str, str]]
    category: str | None = None
    works: bool = False
    service_done_presumed: bool = False
