"""The bodies of the consultation routes, and the process settings a consultation starts with.

Request bodies refuse unknown fields and turn into `procurement.model` values; times must
carry their offset and are kept in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from pydantic import Field

from api.consultation_access import Reference, Siret
from api.schemas import RequestModel, ResponseModel
from core.config import Settings
from core.errors import ErrorCode, InvalidInput
from procurement.model import (
    Address,
    BuyerContact,
    Consultation,
    Criterion,
    CriterionKind,
    Lot,
    MinimumPeriods,
    Procedure,
    ReviewBody,
    StandstillPeriods,
)
from workflows.consultation_messages import ProcurementProcess


def procurement_process(settings: Settings) -> ProcurementProcess:
    """Queues and legal periods of procurement workflows, from the settings."""
    return ProcurementProcess(
        task_queue=settings.task_queue,
        cpu_task_queue=settings.cpu_task_queue,
        minimum_periods=MinimumPeriods(
            open=settings.tender_period_open,
            restricted=settings.tender_period_restricted,
            adapted=settings.tender_period_adapted,
            negotiated=settings.tender_period_negotiated,
        ),
        standstill=StandstillPeriods(settings.standstill_electronic, settings.standstill_other),
        amendment_notice=settings.amendment_notice,
    )


class LotBody(RequestModel):
    number: int = Field(ge=1, le=999)
    title: str = Field(min_length=1, max_length=300)
    estimated_value: Decimal = Field(ge=0, max_digits=17, decimal_places=2)
    cpv_codes: list[str] = Field(default_factory=list, max_length=20)
    description: str = Field("", max_length=5000)


class CriterionBody(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    weight: int = Field(ge=1, le=100)
    kind: CriterionKind = CriterionKind.QUALITY


class ContactBody(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str = Field("", max_length=30)


class AddressBody(RequestModel):
    street: str = Field(min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postal_code: str = Field(pattern=r"^[0-9A-Z -]{3,10}$")
    nuts: str = Field(pattern=r"^[A-Z]{2}[0-9A-Z]{1,3}$", description="NUTS 3 code, e.g. FR101")

    def address(self) -> Address:
        return Address(self.street, self.city, self.postal_code, self.nuts)


class ReviewBodyBody(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    siret: Siret
    address: AddressBody


class ConsultationBody(RequestModel):
    """A consultation's terms: checked against the Code's rules when it is published."""

    buyer_siret: Siret
    reference: Reference
    title: str = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=10_000)
    procedure: Procedure
    cpv_codes: list[str] = Field(min_length=1, max_length=20)
    lots: list[LotBody] = Field(min_length=1, max_length=200)
    criteria: list[CriterionBody] = Field(min_length=1, max_length=20)
    questions_deadline: datetime
    submission_deadline: datetime
    contact: ContactBody
    buyer_name: str = Field("", max_length=200)
    place_of_performance: str = Field("FR", pattern=r"^[A-Z]{2}[0-9A-Z]{0,3}$")
    espd_required: bool = True
    buyer_address: AddressBody | None = None
    buyer_legal_type: str = Field("la", pattern=r"^[a-z-]{2,20}$")
    review_body: ReviewBodyBody | None = None

    def terms(self) -> Consultation:
        return Consultation(
            buyer_siret=self.buyer_siret,
            reference=self.reference,
            title=self.title,
            description=self.description,
            procedure=self.procedure,
            cpv_codes=tuple(self.cpv_codes),
            lots=tuple(
                Lot(
                    lot.number,
                    lot.title,
                    lot.estimated_value,
                    tuple(lot.cpv_codes),
                    lot.description,
                )
                for lot in self.lots
            ),
            criteria=tuple(Criterion(c.name, c.weight, c.kind) for c in self.criteria),
            questions_deadline=utc(self.questions_deadline),
            submission_deadline=utc(self.submission_deadline),
            contact=BuyerContact(self.contact.name, self.contact.email, self.contact.phone),
            buyer_name=self.buyer_name,
            place_of_performance=self.place_of_performance,
            espd_required=self.espd_required,
            buyer_address=self.buyer_address.address() if self.buyer_address else None,
            buyer_legal_type=self.buyer_legal_type,
            review_body=ReviewBody(
                self.review_body.name, self.review_body.siret, self.review_body.address.address()
            )
            if self.review_body
            else None,
        )


class ScoresBody(RequestModel):
    """Scores out of 100 per criterion name, for each admissible bid id."""

    scores: dict[str, dict[str, Decimal]]


class AwardBody(RequestModel):
    bid_id: str = Field(min_length=1, max_length=64)
    amount: Decimal = Field(gt=0, max_digits=17, decimal_places=2)
    electronic: bool = Field(True, description="decision sent electronically (11-day standstill)")
    reasons: str = Field("", max_length=10_000)


class CommitmentBody(RequestModel):
    number: str = Field(pattern=r"^[A-Za-z0-9._/-]{1,40}$")
    ceiling: Decimal = Field(gt=0, max_digits=17, decimal_places=2)
    service_done_presumed: bool = False
    works: bool = False
    paying_service: str | None = Field(None, max_length=100)


class CancelBody(RequestModel):
    reason: str = Field(min_length=1, max_length=2000)


class QuestionBody(RequestModel):
    question: str = Field(min_length=1, max_length=5000)


class AnswerBody(RequestModel):
    answer: str = Field(min_length=1, max_length=10_000)


class ConsultationSummary(ResponseModel):
    id: str
    buyer_siret: str
    reference: str
    title: str
    procedure: str
    cpv_main: str
    estimated_value: Decimal
    submission_deadline: datetime
    status: str
    published_at: datetime | None


def utc(moment: datetime) -> datetime:
    """An instant in UTC; a time without its offset is refused (whose midnight?)."""
    if moment.tzinfo is None:
        raise InvalidInput(ErrorCode.VALIDATION_FAILED, "times carry their offset (ISO 8601)")
    return moment.astimezone(UTC)
