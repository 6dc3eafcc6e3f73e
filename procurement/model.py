"""A consultation (tender) and its bids: the buyer's terms, checked before they are published.

Pure values and rules, no I/O: the `ConsultationWorkflow` holds a `Consultation` and calls
these functions; the API and the notices (eForms, ESPD) read the same values. Money is
`Decimal`, instants are aware `datetime`s in UTC, repeated groups are tuples.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from invoicing.deadlines import later_in_paris


class Procedure(StrEnum):
    """Procedure types of the Code de la commande publique that Chaîne runs."""

    OPEN = "open"  # appel d'offres ouvert
    RESTRICTED = "restricted"  # appel d'offres restreint
    ADAPTED = "adapted"  # procédure adaptée (MAPA), below the EU thresholds
    NEGOTIATED = "negotiated"  # procédure avec négociation


class CriterionKind(StrEnum):
    """What an award criterion weighs; eForms `award-criterion-type` codes."""

    PRICE = "price"
    COST = "cost"
    QUALITY = "quality"


class ConsultationStatus(StrEnum):
    """Where a consultation stands; the workflow moves it forward only."""

    DRAFT = "draft"
    PUBLISHED = "published"  # bids, questions and amendments accepted
    CLOSED = "closed"  # deadline passed, bids sealed until opening
    OPENED = "opened"  # bids readable by the buyer, admissibility decided
    AWARDED = "awarded"  # decision sent to every candidate, standstill running
    SIGNED = "signed"  # contract signed by both parties
    NOTIFIED = "notified"  # contract notified to the supplier: commitment created
    CANCELLED = "cancelled"  # déclarée sans suite, with a reason
    UNSUCCESSFUL = "unsuccessful"  # infructueuse: no admissible bid


FINAL_STATUSES = frozenset(
    {ConsultationStatus.NOTIFIED, ConsultationStatus.CANCELLED, ConsultationStatus.UNSUCCESSFUL}
)

# A CPV code: 8 digits, a dash and the check digit (Regulation (EC) 213/2008).
_CPV = re.compile(r"^\d{8}-\d$")
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


@dataclass(frozen=True)
class Lot:
    """One lot: bids, evaluation and award are per consultation here, lots describe scope."""

    number: int
    title: str
    estimated_value: Decimal  # euros excluding VAT
    cpv_codes: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Criterion:
    """An award criterion and its weight in percent; the weights sum to 100."""

    name: str
    weight: int
    kind: CriterionKind = CriterionKind.QUALITY


@dataclass(frozen=True)
class BuyerContact:
    """Who answers candidates for the buyer."""

    name: str
    email: str
    phone: str = ""


@dataclass(frozen=True)
class Address:
    """A postal address as notices publish it (NUTS 3 region, e.g. FR101 for Paris)."""

    street: str
    city: str
    postal_code: str
    nuts: str


@dataclass(frozen=True)
class ReviewBody:
    """The tribunal administratif hearing appeals against the award (référés)."""

    name: str
    siret: str
    address: Address


@dataclass(frozen=True)
class Consultation:
    """The buyer's terms, as published; amendments replace documents, not these terms."""

    buyer_siret: str
    reference: str
    title: str
    description: str
    procedure: Procedure
    cpv_codes: tuple[str, ...]  # main code first
    lots: tuple[Lot, ...]
    criteria: tuple[Criterion, ...]
    questions_deadline: datetime
    submission_deadline: datetime
    contact: BuyerContact
    buyer_name: str = ""
    place_of_performance: str = "FR"  # NUTS code
    espd_required: bool = True
    buyer_address: Address | None = None  # required to publish: the notice names it
    buyer_legal_type: str = "la"  # eForms `buyer-legal-type`: "cga" State, "la" local...
    review_body: ReviewBody | None = None  # required to publish

    @property
    def estimated_value(self) -> Decimal:
        """The sum of the lots' estimated values (euros excluding VAT)."""
        return sum((lot.estimated_value for lot in self.lots), Decimal(0))

    @property
    def workflow_id(self) -> str:
        """The id of the consultation's workflow, unique per buyer and reference."""
        return consultation_workflow_id(self.buyer_siret, self.reference)


def consultation_workflow_id(buyer_siret: str, reference: str) -> str:
    """`consultation:{buyer_siret}:{reference}`: one workflow per consultation, ever."""
    return f"consultation:{buyer_siret}:{reference}"


@dataclass(frozen=True)
class MinimumPeriods:
    """Shortest time from publication to the submission deadline, by procedure (settings).

    The defaults are the Code's electronic minima (R2161-2 s.); MAPA has no fixed minimum
    ("délai raisonnable"), so its default is zero and a buyer sets its own.
    """

    open: timedelta = timedelta(days=30)
    restricted: timedelta = timedelta(days=25)
    adapted: timedelta = timedelta(0)
    negotiated: timedelta = timedelta(days=25)

    def for_procedure(self, procedure: Procedure) -> timedelta:
        """The minimum for `procedure`."""
        return getattr(self, procedure.value)


@dataclass(frozen=True)
class Problem:
    """One broken rule of a consultation: the field it concerns and why, in words."""

    field: str
    message: str


def check_consultation(
    consultation: Consultation, published_at: datetime, periods: MinimumPeriods
) -> list[Problem]:
    """Every rule the consultation breaks if published at `published_at`; empty when valid."""
    c = consultation
    problems: list[Problem] = []
    if not _REFERENCE.match(c.reference):
        problems.append(Problem("reference", "1 to 40 letters, digits, '.', '_' or '-'"))
    if not c.title.strip():
        problems.append(Problem("title", "a title is required"))
    if not c.cpv_codes:
        problems.append(Problem("cpv_codes", "at least one CPV code, the main one first"))
    codes = [*c.cpv_codes, *(code for lot in c.lots for code in lot.cpv_codes)]
    problems += [
        Problem("cpv_codes", f"{code!r} is not a CPV code")
        for code in codes
        if not _CPV.match(code)
    ]
    if not c.lots:
        problems.append(Problem("lots", "at least one lot"))
    numbers = [lot.number for lot in c.lots]
    if len(set(numbers)) != len(numbers) or any(n < 1 for n in numbers):
        problems.append(Problem("lots", "lot numbers are distinct and start at 1"))
    if any(lot.estimated_value < 0 for lot in c.lots):
        problems.append(Problem("lots", "an estimated value is not negative"))
    problems += _criteria_problems(c.criteria)
    if c.buyer_address is None:
        problems.append(Problem("buyer_address", "the notice publishes the buyer's address"))
    if c.review_body is None:
        problems.append(Problem("review_body", "the notice names the body hearing appeals"))
    minimum = periods.for_procedure(c.procedure)
    if c.submission_deadline - published_at < minimum:
        problems.append(
            Problem(
                "submission_deadline",
                f"at least {minimum.days} days from publication to the submission deadline "
                f"({c.procedure.value} procedure)",
            )
        )
    if c.questions_deadline <= published_at or c.questions_deadline > c.submission_deadline:
        problems.append(
            Problem("questions_deadline", "between publication and the submission deadline")
        )
    return problems


def _criteria_problems(criteria: tuple[Criterion, ...]) -> list[Problem]:
    problems: list[Problem] = []
    if not criteria:
        return [Problem("criteria", "at least one award criterion, price included")]
    if sum(criterion.weight for criterion in criteria) != 100:
        problems.append(Problem("criteria", "the weights sum to 100"))
    if any(criterion.weight <= 0 for criterion in criteria):
        problems.append(Problem("criteria", "every weight is positive"))
    if not any(c.kind in (CriterionKind.PRICE, CriterionKind.COST) for c in criteria):
        problems.append(Problem("criteria", "price or cost is one of the criteria"))
    if len({criterion.name for criterion in criteria}) != len(criteria):
        problems.append(Problem("criteria", "criterion names are distinct"))
    return problems


def deadline_after_amendment(
    deadline: datetime, amended_at: datetime, notice: timedelta
) -> datetime:
    """The submission deadline once documents change at `amended_at`.

    Candidates keep at least `notice` to take an amendment into account: one made later
    than that before the deadline pushes the deadline to `amended_at + notice`.
    """
    return max(deadline, amended_at + notice)


@dataclass(frozen=True)
class BidFile:
    """A file of a bid, stored as a blob under its hash: the receipt's proof of content."""

    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Bid:
    """A supplier's latest bid; a replacement supersedes the earlier one entirely."""

    bid_id: str
    supplier_siret: str
    files: tuple[BidFile, ...]
    received_at: datetime
    espd_response: BidFile | None = None
    version: int = 1


def is_late(received_at: datetime, deadline: datetime) -> bool:
    """A bid received at or after the deadline instant is late, by any margin."""
    return received_at >= deadline


@dataclass(frozen=True)
class Ranked:
    """A bid's place after weighting; `tied` when another bid has the same total."""

    bid_id: str
    total: Decimal
    rank: int
    tied: bool = False


def rank(criteria: tuple[Criterion, ...], scores: dict[str, dict[str, Decimal]]) -> list[Ranked]:
    """Weighted totals (score × weight / 100, each score out of 100), best first.

    `scores` maps each bid id to its score per criterion name; a missing score is an
    error (the buyer scores every admissible bid on every criterion). Equal totals share
    a rank and are flagged, so the buyer breaks the tie knowingly.
    """
    totals: dict[str, Decimal] = {}
    for bid_id, by_name in scores.items():
        missing = [c.name for c in criteria if c.name not in by_name]
        if missing:
            raise ValueError(f"bid {bid_id} has no score for {', '.join(missing)}")
        out_of_range = [n for n, s in by_name.items() if not Decimal(0) <= s <= Decimal(100)]
        if out_of_range:
            raise ValueError(f"bid {bid_id}: scores are out of 100 ({', '.join(out_of_range)})")
        totals[bid_id] = sum(
            (by_name[c.name] * c.weight / 100 for c in criteria), Decimal(0)
        ).quantize(Decimal("0.01"))
    ordered = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    values = list(totals.values())
    return [
        Ranked(
            bid_id,
            total,
            rank=1 + sum(other > total for other in values),
            tied=values.count(total) > 1,
        )
        for bid_id, total in ordered
    ]


@dataclass(frozen=True)
class StandstillPeriods:
    """Standstill lengths (R2182-1): 11 days after an electronic notice, 16 otherwise."""

    electronic: timedelta = timedelta(days=11)
    other: timedelta = timedelta(days=16)


def standstill_end(
    procedure: Procedure, decision_sent_at: datetime, electronic: bool, periods: StandstillPeriods
) -> datetime | None:
    """When the contract may be signed: the same Paris time, 11 (or 16) calendar days after
    the decision was sent, whatever clock change falls between; None without a standstill
    (MAPA)."""
    if procedure is Procedure.ADAPTED:
        return None
    period = periods.electronic if electronic else periods.other
    return later_in_paris(decision_sent_at, period).astimezone(decision_sent_at.tzinfo)


@dataclass(frozen=True)
class Admissibility:
    """The verdict on one bid at opening, with the reasons for a refusal."""

    bid_id: str
    admissible: bool
    reasons: tuple[str, ...] = field(default=())
