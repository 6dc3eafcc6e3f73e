"""Activities that read and write invoice records (queue `chaine`)."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from core.principals import Role
from directory.identifiers import IdentifierScheme
from directory.records import ServiceRecord, StructureCategory, StructureRecord
from invoicing.commitments import RELEASING_STATUSES, commitment_charge
from invoicing.control_plan import PastInvoice, RiskFacts
from invoicing.lifecycle_codes import lifecycle_code
from invoicing.platform_rules import (
    CommitmentFacts,
    DirectoryFacts,
    InvoiceFacts,
    check_platform_rules,
)
from invoicing.statuses import InvoiceStatus
from store.clients import ClientRepository
from store.commitments import CommitmentRepository
from store.database import transaction
from store.directory import DirectoryRepository
from store.invoices import InvoiceRepository
from store.models import Commitment, Invoice
from store.notifications import NotificationRepository
from workflows.deposits import PlatformCheck, RecordDeposit, RoutingKeys
from workflows.invoice_actions import (
    MandateRequest,
    PlatformOutcome,
    RerouteCheck,
    RiskQuery,
    TransitionRecord,
)

INVOICE_REFUSED = "invoice.refused"
# Refusals after intake (intake refusals are answered to the deposit itself).
REFUSALS = frozenset({InvoiceStatus.REJETEE, InvoiceStatus.REFUSEE_PREMIER_VALIDEUR})


def mandate_number(invoice_id: str) -> str:
    """The mandate's number: the whole invoice id, so two invoices never share one (a prefix
    of it would collide by chance among a few ten thousand invoices)."""
    return f"MDT-{invoice_id.replace('-', '').upper()}"


def _decimal(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


class InvoiceStoreActivities:
    """Invoice activities that need the database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @activity.defn(name="check_platform_rules")
    async def check_platform_rules(self, check: PlatformCheck) -> PlatformOutcome:
        """Stage (e): the platform rules, as report findings, and what routing needs: the
        buyer's category (its payment deadline) and the commitment's flags."""
        keys = check.keys
        async with self.sessions() as session:
            directory = DirectoryRepository(session)
            structure = (
                await self._structure(directory, keys.buyer_siret) if keys.buyer_siret else None
            )
            invoices = InvoiceRepository(session)
            duplicate = await invoices.live_with_number(
                check.seller_key,
                keys.number,
                keys.issue_date.year if keys.issue_date else None,
                excluding=check.invoice_id,
            )
            credited = (
                await invoices.credited_by(
                    check.seller_key, keys.preceding_number, excluding=check.invoice_id
                )
                if keys.preceding_number
                else None
            )
            commitment = (
                await CommitmentRepository(session).get(keys.commitment_number)
                if keys.commitment_number
                else None
            )
        findings = check_platform_rules(
            InvoiceFacts(
                keys.seller_siret,
                keys.buyer_siret,
                keys.service_code,
                keys.commitment_number,
                keys.iban,
                keys.type_code,
                keys.preceding_number,
                _decimal(keys.total_without_vat),
            ),
            DirectoryFacts(structure, duplicate, credited, _commitment_facts(commitment)),
        )
        return PlatformOutcome(
            findings=[
                {
                    "rule": f.rule.value,
                    "severity": f.severity.value,
                    "location": f.location,
                    "message": f.message,
                    "stage": "PLATFORM",
                }
                for f in findings
            ],
            category=structure.category.value if structure else None,
            works=bool(commitment and commitment.works),
            service_done_presumed=bool(commitment and commitment.service_done_presumed),
        )

    @activity.defn(name="record_deposit")
    async def record_deposit(self, record: RecordDeposit) -> bool:
        """Persist the deposit and its statuses, and count an accepted invoice against its
        commitment in the same transaction; a retry writes (and counts) nothing twice."""
        request = record.request
        rejected = record.status == InvoiceStatus.REJETEE
        keys = record.keys
        invoice = Invoice(
            id=record.invoice_id,
            workflow_id=record.workflow_id,
            run_id=record.run_id,
            seller_key=record.seller_key,
            number=record.number,
            **(_key_columns(keys) if keys else {}),
            commitment_counted=(
                commitment_charge(keys.type_code, _decimal(keys.total_without_vat))
                if keys and keys.commitment_number and not rejected
                else None
            ),
            syntax=record.report.get("syntax"),
            profile=record.report.get("profile"),
            status=record.status,
            status_at=request.received_at,
            depositor=request.depositor,
            channel=request.channel,
            flow_id=request.flow_id,
            original_sha256=request.original_sha256,
            original_media_type=request.media_type,
            original_size=request.original_size,
            original_filename=request.filename,
            canonical_sha256=record.canonical_sha256,
            attachments=[asdict(attachment) for attachment in request.attachments],
            report=record.report,
            deposited_at=request.received_at,
            structure_category=record.category,
            due_at=record.due_at,
            works=record.works,
            service_done_presumed=record.service_done_presumed,
        )
        statuses = []
        for status in record.statuses:
            code = lifecycle_code(InvoiceStatus(status), rejected_at_intake=rejected)
            statuses.append((status, code.value if code else None))
        async with transaction(self.sessions) as session:
            preceding = keys.preceding_number if keys else None
            if preceding and not rejected:
                invoice.credited_invoice_id = await InvoiceRepository(session).credited_by(
                    record.seller_key, preceding, excluding=record.invoice_id
                )
            added = await InvoiceRepository(session).add_deposit(
                invoice,
                statuses,
                actor=request.depositor,
                at=request.received_at,
            )
            if added and invoice.commitment_number and invoice.commitment_counted is not None:
                await CommitmentRepository(session).add_consumed(
                    invoice.commitment_number, invoice.commitment_counted
                )
            return added

    @activity.defn(name="record_transition")
    async def record_transition(self, record: TransitionRecord) -> bool:
        """Persist a status change with its history row and event, once per sequence; an
        invoice ending unpaid gives back what it counted against its commitment."""
        projection = {
            "due_at": record.due_at,
            "suspended_since": record.suspended_since,
            **{
                name: value
                for name, value in (
                    ("certified_amount", record.certified_amount),
                    ("validated_amount", record.validated_amount),
                    ("paid_on", record.paid_on),
                    ("late_interest", record.late_interest),
                    ("late_compensation", record.late_compensation),
                    ("control", record.control),
                    ("buyer_siret", record.buyer_siret),
                    ("service_code", record.service_code),
                )
                if value is not None
            },
        }
        if record.attachments_added:
            projection["attachments_added"] = [asdict(a) for a in record.attachments_added]
        async with transaction(self.sessions) as session:
            invoices = InvoiceRepository(session)
            added = await invoices.add_transition(
                record.invoice_id,
                record.sequence,
                record.status,
                record.actor,
                record.at,
                record.reason,
                record.comment,
                record.lifecycle_code,
                record.event_type,
                projection,
            )
            if added and record.status in RELEASING_STATUSES:
                released = await invoices.uncount_commitment(record.invoice_id)
                if released is not None:
                    await CommitmentRepository(session).add_consumed(released[0], -released[1])
            if added and record.status in REFUSALS:
                await self._announce_refusal(session, record)
            return added

    @staticmethod
    async def _announce_refusal(session: AsyncSession, record: TransitionRecord) -> None:
        """Tell the supplier's people and clients, and the buyer's side, that the invoice was
        refused, by whom and why, in their inbox, where each marks it handled once dealt with
        (users asked for rejection notices with a handled mark and the rejecting author)."""
        invoice = await session.get(Invoice, record.invoice_id)
        if invoice is None:
            return
        clients = ClientRepository(session)
        author = await clients.active(record.actor) if record.actor else None
        recipients = await clients.acting_for(invoice.seller_key, [Role.SUPPLIER])
        if invoice.buyer_siret:
            recipients += await clients.acting_for(invoice.buyer_siret, [Role.BUYER, Role.MOE])
        for client in recipients:
            NotificationRepository(session).add(
                client.client_id,
                INVOICE_REFUSED,
                f"Facture {invoice.number} refusée ({record.reason or 'sans motif'})",
                {
                    "invoice_id": invoice.id,
                    "number": invoice.number,
                    "status": record.status,
                    "reason": record.reason,
                    "comment": record.comment,
                    "refused_by": author.name if author else record.actor,
                    "refused_at": record.at.isoformat(),
                },
            )

    @staticmethod
    async def _structure(directory: DirectoryRepository, siret: str) -> StructureRecord | None:
        """The structure with its services, as the platform rules see it."""
        row = await directory.structure(siret)
        if row is None:
            return None
        return StructureRecord(
            siret=row.siret,
            name=row.name,
            category=StructureCategory(row.category),
            active=row.active,
            service_code_required=row.service_code_required,
            commitment_required=row.commitment_required,
            payment_status_not_reported=row.payment_status_not_reported,
            commitment_ceiling_strict=row.commitment_ceiling_strict,
            services=tuple(
                ServiceRecord(s.code, s.name, s.active) for s in await directory.services(siret)
            ),
        )

    @activity.defn(name="check_reroute")
    async def check_reroute(self, check: RerouteCheck) -> list[dict[str, str]]:
        """The routing rules for a new recipient: findings, empty when it is acceptable."""
        async with self.sessions() as session:
            structure = await self._structure(DirectoryRepository(session), check.buyer_siret)
        findings = check_platform_rules(
            InvoiceFacts(None, check.buyer_siret, check.service_code, None, None),
            DirectoryFacts(structure, None),
        )
        return [
            {"rule": f.rule.value, "location": f.location, "message": f.message}
            for f in findings
            if f.rule.value.startswith(("PF-BUYER", "PF-SERVICE"))
        ]

    @activity.defn(name="gather_risk_facts")
    async def gather_risk_facts(self, query: RiskQuery) -> RiskFacts:
        """What the control plan's score needs: the supplier's other invoices, and whether
        the invoice's IBAN differs from the supplier's known account (a change, today)."""
        async with self.sessions() as session:
            history = await InvoiceRepository(session).supplier_history(
                query.seller_key, excluding=query.invoice_id
            )
            supplier = await DirectoryRepository(session).supplier(
                IdentifierScheme.SIRET, query.seller_key
            )
        changed = bool(query.iban and supplier and supplier.iban and supplier.iban != query.iban)
        return RiskFacts(
            number=query.number,
            amount_excl_vat=query.amount_excl_vat,
            issued_on=query.issued_on,
            received_on=query.received_on,
            supplier_history=tuple(
                PastInvoice(
                    row.number,
                    row.total_without_vat or Decimal(0),
                    row.issue_date or query.issued_on,
                    row.status == "PAYEE",
                )
                for row in history
            ),
            bank_account_changed_on=query.received_on if changed else None,
        )

    @activity.defn(name="issue_mandate")
    async def issue_mandate(self, request: MandateRequest) -> str:
        """The invoice's one mandate, numbered after the invoice (idempotent)."""
        number = mandate_number(request.invoice_id)
        async with transaction(self.sessions) as session:
            return await InvoiceRepository(session).mandate(
                request.invoice_id, number, request.amount
            )


def _commitment_facts(row: Commitment | None) -> CommitmentFacts | None:
    """The commitment as the platform rules see it."""
    if row is None:
        return None
    return CommitmentFacts(
        buyer_siret=row.buyer_siret,
        supplier_siret=row.supplier_siret,
        ceiling=row.ceiling,
        consumed=row.consumed,
        active=row.active,
    )


def _key_columns(keys: RoutingKeys) -> dict[str, object]:
    """The invoice columns read from the canonical invoice."""
    return {
        "issue_date": keys.issue_date,
        "issue_year": keys.issue_date.year if keys.issue_date else None,
        "type_code": keys.type_code,
        "currency": keys.currency,
        "seller_siret": keys.seller_siret,
        "seller_name": keys.seller_name,
        "buyer_siret": keys.buyer_siret,
        "buyer_name": keys.buyer_name,
        "service_code": keys.service_code,
        "commitment_number": keys.commitment_number,
        "payee_iban": keys.iban,
        "total_without_vat": _decimal(keys.total_without_vat),
        "total_vat": _decimal(keys.total_vat),
        "total_with_vat": _decimal(keys.total_with_vat),
        "amount_due": _decimal(keys.amount_due),
    }
