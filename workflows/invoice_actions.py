"""Messages of an invoice's life after deposit: actions people take, what gets recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from invoicing.control_plan import ControlDecision


@dataclass(frozen=True)
class Attachment:
    """A supporting file sent with an invoice or an action, stored as a blob."""

    sha256: str
    size: int
    media_type: str
    filename: str | None = None


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
class ControlSettings:
    """The control plan of presumed services: random share, its seed, score threshold."""

    share: Decimal = Decimal("0.05")
    seed: str = "chaine"
    threshold: int = 50


@dataclass(frozen=True)
class InvoiceProcess:
    """Where invoice workflows run and the legal durations and plans they apply."""

    task_queue: str = "chaine"
    cpu_task_queue: str = "chaine-cpu"
    deadlines: Deadlines = field(default_factory=Deadlines)
    control: ControlSettings = field(default_factory=ControlSettings)


@dataclass(frozen=True)
class RiskQuery:
    """Gather what the control plan's risk score needs about one invoice."""

    invoice_id: str
    seller_key: str
    number: str
    amount_excl_vat: Decimal
    issued_on: date
    received_on: date
    iban: str | None = None


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
    buyer_siret: str | None = None  # REROUTE: the structure the invoice goes to
    service_code: str | None = None  # REROUTE: the service it goes to
    attachments: list[Attachment] = field(default_factory=list)  # COMPLETE: what was missing


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
    control: dict[str, Any] | None = None
    buyer_siret: str | None = None
    service_code: str | None = None
    attachments_added: list[Attachment] = field(default_factory=list)


@dataclass(frozen=True)
class RerouteCheck:
    """Check that an invoice may be rerouted to this structure and service."""

    buyer_siret: str
    service_code: str | None


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


def control_record(decision: ControlDecision) -> dict[str, Any]:
    """The control plan's decision as recorded with the invoice, with every reason."""
    return {
        "selected": decision.selected,
        "by_draw": decision.by_draw,
        "score": decision.score.total,
        "reasons": [
            {"rule": r.rule.value, "weight": r.weight, "explanation": r.explanation}
            for r in decision.score.reasons
        ],
    }
