"""Messages of an invoice deposit: what the API sends the workflow, what activities return.

Frozen dataclasses with defaults on every added field, so running histories stay readable.
Amounts travel as decimal strings (Temporal's JSON has no decimal type).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from workflows.invoice_actions import Attachment, ControlSettings, Deadlines


@dataclass(frozen=True)
class InvoiceInput:
    """How an invoice workflow is started: the seller and number it is named after."""

    seller_key: str
    number: str
    cpu_task_queue: str = "chaine-cpu"
    deadlines: Deadlines = field(default_factory=Deadlines)
    control: ControlSettings = field(default_factory=ControlSettings)


@dataclass(frozen=True)
class DepositRequest:
    """A file a supplier deposited, already stored as a blob."""

    original_sha256: str
    original_size: int
    media_type: str
    depositor: str
    received_at: datetime  # when the API had the whole file: the legal clock starts here
    channel: str = "api"
    filename: str | None = None
    flow_id: str | None = None
    attachments: list[Attachment] = field(default_factory=list)


@dataclass(frozen=True)
class RoutingKeys:
    """What routing and the platform rules need from the canonical invoice."""

    number: str
    issue_date: date | None
    type_code: str | None
    currency: str | None
    seller_siret: str | None
    seller_name: str | None
    buyer_siret: str | None
    buyer_name: str | None
    service_code: str | None
    commitment_number: str | None
    iban: str | None
    total_without_vat: str | None
    total_vat: str | None
    total_with_vat: str | None
    amount_due: str | None
    preceding_number: str | None = None  # BT-25: the invoice a credit note credits


@dataclass(frozen=True)
class ValidateInput:
    """Validate the blob `original_sha256`: stages a to d (`full`) or a to c (`en16931`)."""

    original_sha256: str
    media_type: str
    level: str = "full"


@dataclass(frozen=True)
class FileValidation:
    """Validate a file without depositing it."""

    check: ValidateInput
    cpu_task_queue: str = "chaine-cpu"


@dataclass(frozen=True)
class ValidationResult:
    """The report of stages a to d and, when the invoice could be read, its keys."""

    report: dict[str, Any]
    keys: RoutingKeys | None = None
    canonical_sha256: str | None = None


@dataclass(frozen=True)
class PlatformCheck:
    """Run the platform rules (stage e) for this invoice of this run."""

    invoice_id: str
    seller_key: str
    keys: RoutingKeys


@dataclass(frozen=True)
class RecordDeposit:
    """Persist a deposit's outcome (idempotent by invoice id)."""

    invoice_id: str
    workflow_id: str
    run_id: str
    seller_key: str
    number: str
    request: DepositRequest
    report: dict[str, Any]
    status: str
    keys: RoutingKeys | None = None
    canonical_sha256: str | None = None
    statuses: list[str] = field(default_factory=list)
    category: str | None = None
    due_at: datetime | None = None
    works: bool = False
    service_done_presumed: bool = False


@dataclass(frozen=True)
class DepositOutcome:
    """The answer to a deposit: accepted or rejected, with the whole report.

    `created` is false when the same file had already been deposited (a replay);
    `conflict` is true when another file already holds this number.
    """

    invoice_id: str
    status: str
    report: dict[str, Any]
    created: bool = True
    conflict: bool = False


def with_platform_findings(
    report: dict[str, Any], findings: list[dict[str, str]]
) -> dict[str, Any]:
    """The report with stage (e) findings added; any fatal one makes it invalid."""
    fatal = any(f["severity"] == "fatal" for f in findings)
    return {
        **report,
        "valid": report["valid"] and not fatal,
        "findings": [*report["findings"], *findings],
    }
