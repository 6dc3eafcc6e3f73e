"""Messages of a bulk deposit (a flow, EDI mode)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from workflows.invoice_actions import InvoiceProcess


class FlowStatus(StrEnum):
    """Where a flow stands."""

    RECEIVED = "RECEIVED"
    IN_PROGRESS = "IN_PROGRESS"
    INTEGRATED = "INTEGRATED"  # every file became an accepted invoice
    PARTIALLY_INTEGRATED = "PARTIALLY_INTEGRATED"
    REJECTED = "REJECTED"  # no file did


@dataclass(frozen=True)
class FlowInput:
    """A stored archive to fan out into invoices, on behalf of its depositor."""

    flow_id: str
    depositor: str
    sirets: list[str]
    original_sha256: str
    received_at: datetime
    filename: str | None = None
    process: InvoiceProcess = field(default_factory=InvoiceProcess)
    max_entry_bytes: int = 20 * 1024 * 1024


@dataclass(frozen=True)
class FlowEntry:
    """One file of a flow and what became of it."""

    name: str
    sha256: str | None = None
    size: int | None = None
    media_type: str | None = None
    invoice_id: str | None = None
    status: str | None = None
    code: str | None = None
    reason: str | None = None
    fatal_rules: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """Whether this file is now an accepted invoice."""
        return self.invoice_id is not None and self.status not in (None, "REJETEE")

    @property
    def pending(self) -> bool:
        """Whether this file still waits to be deposited."""
        return self.sha256 is not None and self.code is None and self.status is None


@dataclass(frozen=True)
class FlowRecord:
    """The flow's row: its status and every entry."""

    input: FlowInput
    status: FlowStatus
    entries: list[FlowEntry]


@dataclass(frozen=True)
class FlowEntryDeposit:
    """Deposit one file of a flow."""

    input: FlowInput
    entry: FlowEntry


def flow_status(entries: list[FlowEntry]) -> FlowStatus:
    """Integrated if all files are accepted invoices, rejected if none is, partial otherwise."""
    accepted = sum(entry.accepted for entry in entries)
    if entries and accepted == len(entries):
        return FlowStatus.INTEGRATED
    return FlowStatus.PARTIALLY_INTEGRATED if accepted else FlowStatus.REJECTED
