"""Procurement activities: the consultation's records, bid checks, notices, letters, commitments.

Every write is idempotent under retries: rows are keyed by the workflow's ids (the
consultation id, the bid id, the commitment number, a document's hash and kind), so
running an activity twice leaves one row. Notices and checks run on the CPU queue.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.signatures import check_signed_file
from core.errors import ChaineError, ErrorCode
from directory.records import CommitmentRecord
from procurement import eforms, espd
from procurement.letters import award_letter, letter_name
from procurement.model import Address, Admissibility, Bid, BidFile, ConsultationStatus
from procurement.model import Consultation as Terms
from signatures.policy import VerificationPolicy
from signatures.seal import Sealer
from store.blobs import BlobStore
from store.commitments import CommitmentRepository
from store.consultations import ConsultationFollowers
from store.database import transaction
from store.models import (
    BidRecord,
    Commitment,
    Consultation,
    ConsultationDocument,
    Supplier,
)
from workflows.consultation_messages import (
    AwardLetters,
    AwardLettersRequest,
    AwardNoticeRequest,
    BidCheckRequest,
    BidReceipt,
    BidRecordInput,
    ConsultationRecord,
    Document,
    PublicationRequest,
)
from workflows.signature_checks import SignatureCheckRequest

PDF = "application/pdf"
# Statuses followers are told of, and how.
ANNOUNCED = {
    ConsultationStatus.AWARDED.value: "the consultation is awarded (letters are available)",
    ConsultationStatus.CANCELLED.value: "the consultation is declared sans suite",
    ConsultationStatus.UNSUCCESSFUL.value: "the consultation is unsuccessful",
    ConsultationStatus.NOTIFIED.value: "the contract is signed and notified",
}
XML = "application/xml"
TERMS = TypeAdapter(Terms)
RECEIPT = TypeAdapter(BidReceipt)


class ProcurementActivities:
    """Consultations and contracts, against the database, blobs, the policy and the seal."""

    def __init__(
        self,
        blobs: BlobStore,
        sessions: async_sessionmaker[AsyncSession],
        policy: VerificationPolicy,
        sealer: Sealer,
        schemas_dir: Path,
        public_url: str,
    ) -> None:
        self.blobs = blobs
        self.sessions = sessions
        self.policy = policy
        self.sealer = sealer
        self.schemas_dir = schemas_dir
        self.public_url = public_url.rstrip("/")

    # --- records ---------------------------------------------------------------------------

    @activity.defn(name="record_consultation")
    async def record_consultation(self, record: ConsultationRecord) -> None:
        """Project the consultation; tell its followers of an amendment or an outcome.

        Notifications go in the same transaction as the change they announce, and only
        for a change not yet recorded, so a retry announces nothing twice."""
        terms = record.consultation
        async with transaction(self.sessions) as session:
            row = await session.get(Consultation, terms.workflow_id)
            before = row.status if row is not None else None
            values: dict[str, Any] = {
                "buyer_siret": terms.buyer_siret,
                "reference": terms.reference,
                "title": terms.title,
                "procedure": terms.procedure.value,
                "cpv_main": terms.cpv_codes[0] if terms.cpv_codes else "",
                "estimated_value": terms.estimated_value,
                "submission_deadline": record.submission_deadline,
                "status": record.status,
                "published_at": record.published_at,
                "terms": TERMS.dump_python(terms, mode="json"),
                "outcome": record.outcome,
            }
            if row is None:
                session.add(Consultation(id=terms.workflow_id, **values))
                await session.flush()
            else:
                for name, value in values.items():
                    setattr(row, name, value)
            known = set(
                await session.execute(
                    select(ConsultationDocument.sha256, ConsultationDocument.kind).where(
                        ConsultationDocument.consultation_id == terms.workflow_id
                    )
                )
            )
            new = [d for d in record.documents if (d.sha256, d.kind) not in known]
            for document in new:
                session.add(
                    ConsultationDocument(
                        consultation_id=terms.workflow_id,
                        name=document.name,
                        kind=document.kind,
                        sha256=document.sha256,
                        size=document.size,
                        media_type=document.media_type,
                    )
                )
            await _announce(session, record, before, new)

    @activity.defn(name="record_bids")
    async def record_bids(self, records: list[BidRecordInput]) -> None:
        """Write bids' receipts and fates in order, in one transaction (idempotent)."""
        async with transaction(self.sessions) as session:
            await _record_bids(session, records)

    # --- opening ---------------------------------------------------------------------------

    @activity.defn(name="check_bid")
    def check_bid(self, request: BidCheckRequest) -> Admissibility:
        """Admissible unless a signature fails or the ESPD response is missing or refused."""
        bid = request.bid
        reasons = [
            reason for file in bid.files if (reason := self._signature_reason(file)) is not None
        ]
        reasons += self._espd_reasons(request.consultation, bid, request.espd_required)
        return Admissibility(bid.bid_id, admissible=not reasons, reasons=tuple(reasons))

    def _signature_reason(self, file: BidFile) -> str | None:
        """Why a file's signature makes the bid inadmissible, or None (unsigned is allowed:
        the Code asks for the contract to be signed, not every file of a bid)."""
        check = check_signed_file(self.blobs, self.policy, SignatureCheckRequest(file.sha256))
        if check.indication == "TOTAL_FAILED":
            failed = [
                f"{s.get('name')}: {s.get('sub_indication')}"
                for s in check.report.get("signatures", [])
                if s.get("indication") == "TOTAL_FAILED"
            ]
            return f"{file.name}: signature invalid ({'; '.join(failed)})"
        return None

    def _espd_reasons(self, terms: Terms, bid: Bid, required: bool) -> list[str]:
        if bid.espd_response is None:
            return ["no ESPD (DUME) response"] if required else []
        try:
            response = espd.read_response(self.blobs.read(bid.espd_response.sha256))
        except (espd.EspdRefused, ChaineError) as refusal:
            return [f"ESPD response unreadable: {refusal}"]
        return [
            f"ESPD: {reason}"
            for reason in espd.check_response(espd.request_criteria(terms), response)
        ]

    # --- notices ----------------------------------------------------------------------------

    @activity.defn(name="prepare_publication")
    def prepare_publication(self, request: PublicationRequest) -> list[Document]:
        """The contract notice (eForms 16) and the ESPD request, valid, stored as blobs."""
        terms = request.consultation
        context = self._context(terms, request.notice_id, request)
        notice = eforms.contract_notice(terms, context)
        self._valid(eforms.validate_notice(notice, self.schemas_dir), "contract notice")
        documents = [self._document(f"avis-{terms.reference}.xml", "notice", notice)]
        if terms.espd_required:
            request_xml = espd.espd_request(
                terms, uuid.UUID(request.notice_id), request.published_at
            )
            self._valid(espd.validate_espd(request_xml, self.schemas_dir), "ESPD request")
            documents.append(
                self._document(f"dume-{terms.reference}.xml", "espd-request", request_xml)
            )
        return documents

    @activity.defn(name="prepare_award_notice")
    def prepare_award_notice(self, request: AwardNoticeRequest) -> Document:
        """The contract award notice (eForms 29), valid, stored as a blob."""
        terms = request.consultation
        award = eforms.AwardResult(
            supplier_siret=request.winner_siret,
            supplier_name=request.winner_name or request.winner_siret,
            amount=request.amount,
            bids_received=request.bids_received,
            concluded_on=request.concluded_at.date(),
        )
        notice = eforms.award_notice(terms, self._context(terms, request.notice_id, request), award)
        self._valid(eforms.validate_notice(notice, self.schemas_dir), "award notice")
        return self._document(f"avis-attribution-{terms.reference}.xml", "award-notice", notice)

    def _context(self, terms: Terms, notice_id: str, request: Any) -> eforms.NoticeContext:
        issued = getattr(request, "published_at", None) or request.concluded_at
        if terms.buyer_address is None or terms.review_body is None:
            raise ChaineError("a notice needs the buyer's address and the review body")
        url = f"{self.public_url}/v1/consultations/{terms.buyer_siret}/{terms.reference}"
        review = terms.review_body
        return eforms.NoticeContext(
            notice_id=uuid.UUID(notice_id),
            issued_at=issued,
            buyer_address=_postal(terms.buyer_address),
            buyer_legal_type=terms.buyer_legal_type,
            review_body_name=review.name,
            review_body_siret=review.siret,
            review_body_address=_postal(review.address),
            documents_url=url,
            submission_url=f"{url}/bids",
        )

    @staticmethod
    def _valid(problems: list[str], what: str) -> None:
        """Our own XML must be valid: a failure is a bug, retried after a fix, never skipped."""
        if problems:
            raise NoticeInvalid(f"the generated {what} is not valid: " + "; ".join(problems[:5]))

    def _document(self, name: str, kind: str, data: bytes) -> Document:
        ref = self.blobs.put(data)
        return Document(name, kind, ref.sha256, ref.size, XML)

    # --- award ------------------------------------------------------------------------------

    @activity.defn(name="make_award_letters")
    async def make_award_letters(self, request: AwardLettersRequest) -> AwardLetters:
        """One sealed letter per candidate, stored as a blob; and the winner's name, as the
        directory knows it, for the award notice."""
        async with self.sessions() as session:
            rows = await session.execute(
                select(Supplier.identifier, Supplier.name).where(
                    Supplier.identifier.in_([b.supplier_siret for b in request.bids])
                )
            )
            names = {siret: name for siret, name in rows}
        winner = next(b for b in request.bids if b.bid_id == request.winner_bid_id)
        verdicts = {v.bid_id: v for v in request.verdicts}
        documents = []
        for bid in request.bids:
            pdf = await asyncio.to_thread(
                award_letter,
                request.consultation,
                bid,
                winner=winner,
                ranking=request.ranking,
                verdict=verdicts[bid.bid_id],
                reasons=request.reasons,
                decided_at=request.decided_at,
                standstill_end=request.standstill_end,
                supplier_names=names,
            )
            ref = self.blobs.put(await self.sealer.seal(pdf))
            documents.append(
                Document(
                    letter_name(request.consultation, bid), "letter", ref.sha256, ref.size, PDF
                )
            )
        return AwardLetters(tuple(documents), names.get(winner.supplier_siret, ""))

    # --- commitments -------------------------------------------------------------------------

    @activity.defn(name="open_commitment")
    async def open_commitment(self, record: CommitmentRecord) -> bool:
        """Record the notified contract's commitment; False if its number is another's
        (a retry finding its own row is True)."""
        async with transaction(self.sessions) as session:
            commitments = CommitmentRepository(session)
            existing = await commitments.get(record.number)
            if existing is None:
                await commitments.upsert([record])
                return True
            return (existing.buyer_siret, existing.supplier_siret, existing.ceiling) == (
                record.buyer_siret,
                record.supplier_siret,
                record.ceiling,
            )

    @activity.defn(name="close_commitment")
    async def close_commitment(self, number: str) -> None:
        async with transaction(self.sessions) as session:
            row = await session.get(Commitment, number)
            if row is not None:
                row.active = False


async def _record_bids(session: AsyncSession, records: list[BidRecordInput]) -> None:
    """Bids' receipts, or their new status and outcome, in order, with one read."""
    ids = {record.receipt.bid_id for record in records}
    rows = {
        row.id: row for row in await session.scalars(select(BidRecord).where(BidRecord.id.in_(ids)))
    }
    for record in records:
        receipt = record.receipt
        row = rows.get(receipt.bid_id)
        if row is None:
            rows[receipt.bid_id] = BidRecord(
                id=receipt.bid_id,
                consultation_id=receipt.consultation_id,
                supplier_siret=receipt.supplier_siret,
                version=receipt.version,
                received_at=receipt.received_at,
                status=record.status,
                receipt=RECEIPT.dump_python(receipt, mode="json"),
                outcome=record.outcome,
            )
            session.add(rows[receipt.bid_id])
        else:
            row.status = record.status
            row.outcome = record.outcome if record.outcome is not None else row.outcome


async def _announce(
    session: AsyncSession, record: ConsultationRecord, before: str | None, new: list[Document]
) -> None:
    """Followers hear of amendments and of the consultation's outcome."""
    terms = record.consultation
    followers = ConsultationFollowers(session, terms.workflow_id)
    deadline = record.submission_deadline.isoformat()
    if any(d.kind == "amendment" for d in new):
        await followers.notify(
            "consultation.amended",
            f"{terms.reference}: documents amended (deadline {deadline})",
            {"documents": [d.name for d in new], "submission_deadline": deadline},
        )
    if record.status != before and record.status in ANNOUNCED:
        await followers.notify(
            f"consultation.{record.status}",
            f"{terms.reference}: {ANNOUNCED[record.status]}",
            {"status": record.status, "outcome": record.outcome},
        )


class NoticeInvalid(ChaineError):
    """A notice or ESPD request Chaîne generated fails the official schema."""

    code = ErrorCode.NOTICE_INVALID


def _postal(address: Address) -> eforms.PostalAddress:
    return eforms.PostalAddress(address.city, address.postal_code, address.nuts, address.street)
