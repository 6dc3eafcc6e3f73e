"""Exactly one mandate per invoice also means one for every invoice: mandate numbers must
not collide. Found while checking the mandates after the worker crash: mandates were
numbered `MDT-` + the first 8 hex digits of the invoice id, unique in the table, so two
invoices shared a number by chance (about 70 % likely among 100,000 invoices, the birthday
bound) and the second one's mandate failed at every retry. The number is now the whole id.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.invoices import InvoiceStoreActivities
from store.database import transaction
from tests.faults.conftest import ON_SQLITE
from tests.store.test_invoice_queries import an_invoice_row
from workflows.invoice_actions import MandateRequest

pytestmark = ON_SQLITE


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
