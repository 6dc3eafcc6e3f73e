"""Messages of a consultation's workflow: what people send it and what it records.

Plain frozen dataclasses (shared with the workflow sandbox as they are): the terms travel
as `procurement.model` values, times are stamped by the workflow, never by callers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from procurement.model import (
    Admissibility,
    Bid,
    BidFile,
    Consultation,
    MinimumPeriods,
    Ranked,
    StandstillPeriods,
)


@dataclass(frozen=True)
class ProcurementProcess:
    """Where procurement workflows run and the legal periods they apply (from settings)."""

    task_queue: str = "chaine"
    cpu_task_queue: str = "chaine-cpu"
    minimum_periods: MinimumPeriods = field(default_factory=MinimumPeriods)
    standstill: StandstillPeriods = field(default_factory=StandstillPeriods)
    amendment_notice: timedelta = timedelta(days=6)


@dataclass(frozen=True)
class ConsultationInput:
    """Start of a consultation's workflow: its draft terms and the process settings."""

    consultation: Consultation
    process: ProcurementProcess


@dataclass(frozen=True)
class Document:
    """A consultation document stored as a blob (DCE file, amendment, notice, letter)."""

    name: str
    kind: str
    sha256: str
    size: int
    media_type: str


@dataclass(frozen=True)
class AmendRequest:
    """New or replaced consultation documents; may push the submission deadline."""

    actor: str
    documents: tuple[Document, ...]
    comment: str = ""


@dataclass(frozen=True)
class BidRequest:
    """A supplier submits or replaces its bid (files already stored as blobs)."""

    supplier_siret: str
    actor: str
    files: tuple[BidFile, ...]
    espd_response: BidFile | None = None
    arrived_at: datetime | None = None  # when the API received it (see `_arrival`)


@dataclass(frozen=True)
class BidReceipt:
    """What the supplier keeps as proof: the bid, its files' hashes, the server time."""

    bid_id: str
    consultation_id: str
    supplier_siret: str
    version: int
    received_at: datetime
    files: tuple[BidFile, ...]
    espd_response: BidFile | None
    status: str = "received"


@dataclass(frozen=True)
class WithdrawRequest:
    """A supplier withdraws its bid before the deadline."""

    supplier_siret: str
    actor: str


@dataclass(frozen=True)
class BidRecordInput:
    """A bid's receipt or fate, written to the `bids` table."""

    receipt: BidReceipt
    status: str
    outcome: dict[str, object] | None = None


@dataclass(frozen=True)
class BidCheckRequest:
    """Check one bid at opening: its signatures and its ESPD response against the request."""

    consultation: Consultation
    bid: Bid
    espd_required: bool


@dataclass(frozen=True)
class ScoreRequest:
    """The buyer's scores (out of 100) per criterion name, for each admissible bid."""

    actor: str
    scores: dict[str, dict[str, Decimal]]


@dataclass(frozen=True)
class AwardRequest:
    """The buyer awards to one bid; rejected bidders are told why."""

    actor: str
    bid_id: str
    amount: Decimal
    electronic: bool = True
    reasons: str = ""


@dataclass(frozen=True)
class AwardLettersRequest:
    """Make and seal the award letter of every candidate."""

    consultation: Consultation
    winner_bid_id: str
    bids: tuple[Bid, ...]
    ranking: tuple[Ranked, ...]
    verdicts: tuple[Admissibility, ...]
    reasons: str
    decided_at: datetime
    standstill_end: datetime | None


@dataclass(frozen=True)
class AwardLetters:
    """The sealed letters, and the awarded supplier's name for the award notice."""

    documents: tuple[Document, ...]
    winner_name: str


@dataclass(frozen=True)
class ContractSignatureRequest:
    """The contract PDF, signed by the supplier and the buyer, stored as a blob."""

    actor: str
    contract: Document


@dataclass(frozen=True)
class NotifyRequest:
    """The buyer notifies the signed contract with the commitment it opens; the buyer and
    the supplier are the consultation's own (the awarded one)."""

    actor: str
    number: str
    ceiling: Decimal
    service_done_presumed: bool = False
    works: bool = False
    paying_service: str | None = None


@dataclass(frozen=True)
class CancelRequest:
    """Déclarée sans suite: the buyer stops the consultation, with a reason."""

    actor: str
    reason: str


@dataclass(frozen=True)
class PublicationRequest:
    """Make and validate the contract notice and the ESPD request, then store them."""

    consultation: Consultation
    notice_id: str
    published_at: datetime


@dataclass(frozen=True)
class AwardNoticeRequest:
    """Make and validate the contract award notice once the contract is notified."""

    consultation: Consultation
    notice_id: str
    winner_siret: str
    amount: Decimal
    bids_received: int
    concluded_at: datetime
    winner_name: str = ""


@dataclass(frozen=True)
class ConsultationRecord:
    """The consultation's row as the public and the parties list it."""

    consultation: Consultation
    status: str
    published_at: datetime | None
    submission_deadline: datetime
    outcome: dict[str, object] | None = None
    documents: tuple[Document, ...] = ()


@dataclass(frozen=True)
class ConsultationState:
    """A consultation as its workflow holds it, for the API (bids as receipts only)."""

    status: str
    submission_deadline: datetime
    published_at: datetime | None
    bids: tuple[BidReceipt, ...]
    verdicts: tuple[Admissibility, ...]
    ranking: tuple[Ranked, ...]
    winner_bid_id: str | None
    standstill_end: datetime | None
    contract: Document | None
    commitment_number: str | None
    letters: tuple[Document, ...]
    outcome: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ContractClosure:
    """The buyer ends a contract (completed, terminated): its commitment is deactivated."""

    actor: str
    reason: str
