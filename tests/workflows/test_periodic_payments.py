"""Periodic payment orders: a commitment paid every month by the payment runs, no invoice."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.principals import Role
from directory.records import IdentifierScheme, SupplierRecord
from invoicing.payments.periodic import add_months
from store.database import transaction
from store.directory import DirectoryRepository
from store.models import Commitment, Payment
from tests.api.test_conventions import assert_problem
from tests.conftest import ApiServer
from tests.invoicing.builders import BUYER_SIRET, IBAN, SELLER_SIRET
from tests.workflows.test_payment_runs import camt054, run_payments

pytestmark = pytest.mark.usefixtures("workers")
ORDER = "/v1/commitments/EJ-LOYER-2026/periodic-payment"


async def test_a_monthly_order_pays_each_due_date_once_and_stops_while_paused(
    api: ApiServer,
) -> None:
    async with transaction(api.sessions) as session:
        session.add(
            Commitment(
                number="EJ-LOYER-2026",
                buyer_siret=BUYER_SIRET,
                supplier_siret=SELLER_SIRET,
                ceiling=Decimal(100000),
            )
        )
        await DirectoryRepository(session).upsert_supplier(
            SupplierRecord(IdentifierScheme.SIRET, SELLER_SIRET, "Bailleur", IBAN)
        )
    accountant = await api.as_role(Role.ACCOUNTANT, BUYER_SIRET)
    today = date.today()
    start = add_months(today, -2)
    order = {"amount": "500.00", "every_months": 1, "start": start.isoformat()}
    created = await accountant.put(ORDER, json=order)
    assert created.status_code == 200, created.text

    first = await run_payments(accountant)
    assert [(t["kind"], t["count"], t["amount"]) for t in first["totals"]] == [
        ("PERIODIC", 3, "1500.00")
    ]
    assert (await run_payments(accountant))["totals"] == []  # nothing due twice

    paused = await accountant.post(f"{ORDER}/pause")
    assert paused.json()["paused"] is True
    earlier = {**order, "start": add_months(today, -3).isoformat()}  # one more date due
    assert (await accountant.put(ORDER, json=earlier)).status_code == 200
    assert (await run_payments(accountant))["totals"] == []
    await accountant.post(f"{ORDER}/resume")
    caught_up = await run_payments(accountant)
    assert [(t["kind"], t["count"]) for t in caught_up["totals"]] == [("PERIODIC", 1)]

    view = (await accountant.get(ORDER)).json()
    periods = [p["period"] for p in view["payments"]]
    assert periods == sorted(periods) and len(periods) == len(set(periods)) == 4
    async with api.sessions() as session:
        payment = await session.scalar(
            select(Payment).where(Payment.period == add_months(today, -3))
        )
    # Due dates make the same end-to-end ids in every test run: the comment makes this
    # file this test's own (a statement is applied once per file, by its hash).
    statement = camt054([(payment.end_to_end_id, Decimal("500.00"), today)])
    statement += f"<!-- {api.settings.task_queue} -->".encode()
    booked = await accountant.post(
        "/v1/bank-statements", content=statement, headers={"Content-Type": "application/xml"}
    )
    assert booked.status_code == 201 and booked.json()["unmatched"] == 0, booked.text
    for _ in range(100):
        async with api.sessions() as session:
            settled = await session.get(Payment, payment.end_to_end_id)
        if settled.status == "CONFIRMED":
            break
        await asyncio.sleep(0.1)
    assert (settled.status, settled.paid_on, settled.invoice_id) == ("CONFIRMED", today, None)


async def test_orders_belong_to_the_commitments_buyer_and_are_checked(api: ApiServer) -> None:
    async with transaction(api.sessions) as session:
        session.add(
            Commitment(
                number="EJ-LOYER-2026",
                buyer_siret=BUYER_SIRET,
                supplier_siret=SELLER_SIRET,
                ceiling=Decimal(1000),
            )
        )
    stranger = await api.as_role(Role.ACCOUNTANT, "21750001600019")
    order = {"amount": "10.00", "every_months": 1, "start": "2026-01-01"}
    assert_problem(await stranger.put(ORDER, json=order), 404, "NOT_FOUND")
    accountant = await api.as_role(Role.ACCOUNTANT, BUYER_SIRET)
    assert_problem(await accountant.get(ORDER), 404, "NOT_FOUND")  # no order yet
    bad = await accountant.put(ORDER, json={**order, "every_months": 5})
    assert_problem(bad, 422, "VALIDATION_FAILED")
    backwards = await accountant.put(ORDER, json={**order, "end": "2025-01-01"})
    assert_problem(backwards, 422, "VALIDATION_FAILED")
