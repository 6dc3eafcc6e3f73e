"""Questions and answers on a consultation, and suppliers following it.

Candidates ask until the questions deadline; the buyer's answer is published to all with
the question, never with who asked (equal treatment). Questions and interest are records,
not workflow steps: they change no legal clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import select

from api.consultation_access import BuyerConsultation, SupplierConsultation
from api.consultation_schemas import AnswerBody, QuestionBody
from api.deps import SessionDep, require_json
from api.routes.consultations import public_row
from core.errors import ChaineError, ErrorCode, NotFound
from procurement.model import ConsultationStatus
from store.consultations import ConsultationFollowers
from store.models import ConsultationInterest, ConsultationQuestion

router = APIRouter(prefix="/v1", tags=["consultations"])


class QuestionsClosed(ChaineError):
    code = ErrorCode.QUESTIONS_CLOSED
    status = 409


@router.post(
    "/consultations/{buyer_siret}/{reference}/questions",
    status_code=201,
    dependencies=[Depends(require_json)],
    summary="Ask the buyer a question",
)
async def ask_question(
    target: SupplierConsultation, body: QuestionBody, session: SessionDep
) -> JSONResponse:
    """Until the questions deadline; the answer is published to every candidate."""
    row = await public_row(session, target.buyer_siret, target.reference)
    deadline = datetime.fromisoformat(row.terms["questions_deadline"])
    if row.status != ConsultationStatus.PUBLISHED or datetime.now(UTC) >= deadline:
        raise QuestionsClosed(f"questions were taken until {deadline.isoformat()}")
    question = ConsultationQuestion(
        consultation_id=row.id, supplier_siret=target.supplier_siret, question=body.question
    )
    session.add(question)
    await session.commit()
    return JSONResponse({"id": question.id, "question": body.question}, status_code=201)


@router.get("/consultations/{buyer_siret}/{reference}/questions", summary="Questions (buyer)")
async def buyer_questions(target: BuyerConsultation, session: SessionDep) -> JSONResponse:
    """Every question, answered or not, with who asked."""
    rows = await session.scalars(
        select(ConsultationQuestion)
        .where(ConsultationQuestion.consultation_id == target.id)
        .order_by(ConsultationQuestion.id)
    )
    return JSONResponse(
        [
            {
                "id": q.id,
                "supplier_siret": q.supplier_siret,
                "question": q.question,
                "asked_at": q.asked_at.isoformat(),
                "answer": q.answer,
            }
            for q in rows
        ]
    )


@router.post(
    "/consultations/{buyer_siret}/{reference}/questions/{question_id}/answer",
    dependencies=[Depends(require_json)],
    summary="Answer a question (published to all)",
)
async def answer_question(
    target: BuyerConsultation, question_id: int, body: AnswerBody, session: SessionDep
) -> JSONResponse:
    """The answer is published with the question, without who asked."""
    question = await session.get(ConsultationQuestion, question_id)
    if question is None or question.consultation_id != target.id:
        raise NotFound("no such question")
    first = question.answer is None
    question.answer = body.answer
    question.answered_at = datetime.now(UTC)
    if first:
        await ConsultationFollowers(session, target.id).notify(
            "consultation.answered",
            f"{target.reference}: a question is answered",
            {"question": question.question, "answer": body.answer},
            also=[question.supplier_siret],
        )
    await session.commit()
    return JSONResponse({"id": question_id, "answer": body.answer})


@router.post(
    "/consultations/{buyer_siret}/{reference}/interest",
    status_code=201,
    summary="Follow a consultation",
)
async def register_interest(target: SupplierConsultation, session: SessionDep) -> JSONResponse:
    """Register interest (idempotent): counted for the buyer."""
    row = await public_row(session, target.buyer_siret, target.reference)
    if await session.get(ConsultationInterest, (row.id, target.supplier_siret)) is None:
        session.add(
            ConsultationInterest(consultation_id=row.id, supplier_siret=target.supplier_siret)
        )
        await session.commit()
    return JSONResponse(
        {"consultation_id": row.id, "supplier_siret": target.supplier_siret}, status_code=201
    )
