"""Email copies of thread notifications, received by a real SMTP server on loopback; a dead
server never costs a message nor its notification."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from core.principals import Role
from directory.identifiers import IdentifierScheme
from directory.records import SupplierRecord
from store.database import transaction
from store.directory import DirectoryRepository
from tests.conftest import ApiServer, free_port
from tests.store.test_invoice_queries import MINISTRY, WORKSHOP
from tests.threads.conftest import MailBox, a_party, an_invoice, eventually, notifications

SUPPLIER_DESK = "compta@atelier.example.fr"  # the supplier directory's address


class TestWithAMailServer:
    @pytest.fixture
    def api_overrides(self, mailbox: MailBox) -> dict[str, object]:
        return {
            "smtp_url": f"smtp://127.0.0.1:{mailbox.port}",
            "smtp_from": "Chaîne <noreply@chaine.example.fr>",
        }

    async def test_each_notification_is_emailed_to_its_recipient(
        self, api: ApiServer, mailbox: MailBox
    ) -> None:
        async with transaction(api.sessions) as session:
            await DirectoryRepository(session).upsert_supplier(
                SupplierRecord(IdentifierScheme.SIRET, WORKSHOP, "Atelier", email=SUPPLIER_DESK)
            )
        supplier = await a_party(api, Role.SUPPLIER, WORKSHOP)  # no address: the directory's
        colleague = await a_party(api, Role.SUPPLIER, WORKSHOP, email="marie@atelier.example.fr")
        buyer = await a_party(api, Role.BUYER, MINISTRY, email="achats@ministere.example.fr")
        accountant = await a_party(api, Role.ACCOUNTANT, MINISTRY)  # no address: inbox only
        invoice = await an_invoice(api, "F-2026-042")

        thread = await supplier.start_thread(
            invoice.id, "Payment date", "Could you confirm the payment date?"
        )
        await eventually(lambda: _count(mailbox, 1))
        [mail] = mailbox.to("achats@ministere.example.fr")
        assert "F-2026-042" in mail["Subject"]
        assert "Payment date" in mail["Subject"]
        assert mail["From"] == "Chaîne <noreply@chaine.example.fr>"
        text = mail.get_content()
        assert "F-2026-042" in text
        assert "Could you confirm the payment date?" in text
        assert f"/v1/threads/{thread['id']}" in text

        await accountant.answer(thread["id"], "Paid on 12 March, transfer reference 4471.")
        await eventually(lambda: _count(mailbox, 3))
        for address in (SUPPLIER_DESK, "marie@atelier.example.fr"):
            [mail] = mailbox.to(address)
            assert "F-2026-042" in mail["Subject"]
            assert "Paid on 12 March, transfer reference 4471." in mail.get_content()

        async def all_marked() -> bool:
            sent = [n for n in await notifications(api) if n.recipient != accountant.client_id]
            return all(n.emailed_at is not None for n in sent)

        await eventually(all_marked)
        [to_accountant] = [
            n for n in await notifications(api) if n.recipient == accountant.client_id
        ]
        assert to_accountant.emailed_at is None
        assert len(await buyer.inbox()) == len(await colleague.inbox()) == 1


async def _count(mailbox: MailBox, expected: int) -> bool:
    return len(mailbox.messages) >= expected


class TestWithADeadMailServer:
    @pytest.fixture
    def api_overrides(self) -> dict[str, object]:
        return {"smtp_url": f"smtp://127.0.0.1:{free_port()}", "smtp_timeout": timedelta(seconds=2)}

    async def test_the_message_is_posted_and_the_notification_kept_unmailed(
        self, api: ApiServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.WARNING, logger="api.mailer")
        supplier = await a_party(api, Role.SUPPLIER, WORKSHOP)
        buyer = await a_party(api, Role.BUYER, MINISTRY, email="achats@ministere.example.fr")
        invoice = await an_invoice(api, "F-2026-043")

        thread = await supplier.start_thread(invoice.id, "Question", "Is the PO right?")

        async def failure_logged() -> bool:
            return any("not emailed" in record.getMessage() for record in caplog.records)

        await eventually(failure_logged)
        [notification] = await notifications(api)
        assert notification.recipient == buyer.client_id
        assert notification.emailed_at is None
        [listed] = await buyer.inbox()
        assert listed["payload"]["thread_id"] == thread["id"]
        read = (await buyer.http.get(f"/v1/threads/{thread['id']}")).json()
        assert [m["body"] for m in read["messages"]] == ["Is the PO right?"]
