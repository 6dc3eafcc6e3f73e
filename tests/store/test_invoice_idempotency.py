"""A retried activity (after a worker crash) writes nothing twice: one event, one mandate,
one count against a commitment."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.invoices import InvoiceStoreActivities
from store.database import transaction
from store.models import Commitment, InvoiceEvent, InvoiceStatusChange, Mandate
from workflows.deposits import DepositRequest, RecordDeposit, RoutingKeys
from workflows.invoice_actions import MandateRequest, TransitionRecord

INVOICE = "0b8e5a4e-1111-5222-8333-944455556666"
AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def a_deposit() -> RecordDeposit:
    return RecordDeposit(
        invoice_id=INVOICE,
        workflow_id="invoice:73282932000074:F-1",
        run_id="run-1",
        seller_key="73282932000074",
        number="F-1",
        request=DepositRequest("a" * 64, 10, "application/xml", "cl_x", AT),
        report={"valid": True, "syntax": "UBL", "profile": None, "findings": []},
        status="MISE_A_DISPOSITION",
        statuses=["DEPOSEE", "MISE_A_DISPOSITION"],
    )


async def consumed(sessions: async_sessionmaker[AsyncSession], number: str) -> Decimal:
    """The consumed amount of the commitment with this number."""
    async with sessions() as session:
        commitment = await session.get(Commitment, number)
        assert commitment is not None
        return commitment.consumed


async def count(sessions: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_a_deposit_recorded_twice_is_recorded_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    activities = InvoiceStoreActivities(sessions)
    assert await activities.record_deposit(a_deposit()) is True
    assert await activities.record_deposit(a_deposit()) is False
    assert await count(sessions, InvoiceEvent) == 2
    assert await count(sessions, InvoiceStatusChange) == 2


async def test_a_transition_retried_writes_one_event_and_one_history_row(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    activities = InvoiceStoreActivities(sessions)
    await activities.record_deposit(a_deposit())
    take = TransitionRecord(INVOICE, 3, "PRISE_EN_COMPTE", "cl_buyer", AT, lifecycle_code="204")
    assert await activities.record_transition(take) is True
    assert await activities.record_transition(take) is False
    assert await count(sessions, InvoiceEvent) == 3
    assert await count(sessions, InvoiceStatusChange) == 3


async def test_a_mandate_issued_twice_is_one_mandate(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    activities = InvoiceStoreActivities(sessions)
    await activities.record_deposit(a_deposit())
    first = await activities.issue_mandate(MandateRequest(INVOICE, Decimal("1440.00")))
    second = await activities.issue_mandate(MandateRequest(INVOICE, Decimal("1440.00")))
    assert first == second == "MDT-0B8E5A4E111152228333944455556666"
    assert await count(sessions, Mandate) == 1


async def test_a_deposit_and_its_rejection_retried_count_against_the_commitment_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with transaction(sessions) as session:
        session.add(
            Commitment(
                number="EJ-1",
                buyer_siret="11000201100044",
                supplier_siret="73282932000074",
                ceiling=Decimal("5000.00"),
            )
        )
    keys = RoutingKeys(
        number="F-1",
        issue_date=date(2026, 3, 1),
        type_code="380",
        currency="EUR",
        seller_siret="73282932000074",
        seller_name="Fournisseur",
        buyer_siret="11000201100044",
        buyer_name="Ministère",
        service_code=None,
        commitment_number="EJ-1",
        iban=None,
        total_without_vat="1200.00",
        total_vat="240.00",
        total_with_vat="1440.00",
        amount_due="1440.00",
    )
    deposit = replace(a_deposit(), keys=keys)
    activities = InvoiceStoreActivities(sessions)
    await activities.record_deposit(deposit)
    await activities.record_deposit(deposit)
    assert await consumed(sessions, "EJ-1") == Decimal("1200.00")
    reject = TransitionRecord(INVOICE, 3, "REJETEE", "cl_buyer", AT, reason="WRONG_AMOUNT")
    await activities.record_transition(reject)
    await activities.record_transition(reject)
    assert await consumed(sessions, "EJ-1") == Decimal("0.00")
