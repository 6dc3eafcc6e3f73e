"""Exactly one mandate per invoice also means one for every invoice: mandate numbers must
not collide. Found while checking the mandates after the worker crash.

`issue_mandate` numbers a mandate `MDT-` + the first 8 hex digits of the invoice id, and the
number is unique in the table. Ids are random (uuid5 of the workflow and run ids), so two
invoices share those 32 bits by chance: about 1 % of the time among 10,000 invoices,
70 % among 100,000 (the birthday bound). The second one's mandate then fails on the unique
index at every retry, and its workflow never leaves SERVICE_FAIT.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.invoices import InvoiceStoreActivities
from store.database import transaction
from tests.faults.conftest import ON_SQLITE
from tests.store.test_invoice_queries import an_invoice_row
from workflows.invoice_actions import MandateRequest

pytestmark = ON_SQLITE


@pytest.mark.xfail(
    strict=True,
    raises=IntegrityError,
    reason="BUG: activities/invoices.py issue_mandate numbers mandates MDT-{invoice_id[:8]}, "
    "unique in the mandates table: two invoices whose ids share 8 hex digits (a birthday "
    "collision, ~70 % likely among 100,000 invoices) cannot both be mandated",
)
async def test_two_invoices_whose_ids_share_eight_hex_digits_each_get_their_mandate(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first, second = an_invoice_row("F-2026-001"), an_invoice_row("F-2026-002")
    first.id = "0123abcd-1111-5111-8111-111111111111"
    second.id = "0123abcd-2222-5222-8222-222222222222"
    async with transaction(sessions) as session:
        session.add_all([first, second])
    mandates = InvoiceStoreActivities(sessions)
    numbers = [
        await mandates.issue_mandate(MandateRequest(invoice.id, Decimal("1440.00")))
        for invoice in (first, second)
    ]
    assert len(set(numbers)) == 2, numbers
