"""The parties of an invoice talking through threads, over the real API, and a mail server
on loopback (aiosmtpd) to receive the email copies."""

from __future__ import annotations

import asyncio
import email
import email.policy
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from api.credentials import issue_token
from core.principals import Principal, Role
from store.clients import ClientRepository
from store.database import transaction
from store.models import Invoice, Notification
from tests.conftest import ApiServer, free_port
from tests.store.test_invoice_queries import CITY, MINISTRY, WORKSHOP, an_invoice_row

OTHER_SELLER = "44306184100047"
UNUSABLE_HASH = "!"  # no secret matches it: these clients hold tokens, never log in


@dataclass
class Party:
    """An API client: its id and an HTTP client holding its token."""

    client_id: str
    http: httpx.AsyncClient

    async def inbox(self) -> list[dict[str, Any]]:
        response = await self.http.get("/v1/notifications")
        assert response.status_code == 200, response.text
        return response.json()["items"]

    async def start_thread(self, invoice_id: str, subject: str, body: str) -> dict[str, Any]:
        response = await self.http.post(
            "/v1/threads", json={"invoice_id": invoice_id, "subject": subject, "body": body}
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def answer(self, thread_id: int, body: str) -> dict[str, Any]:
        response = await self.http.post(f"/v1/threads/{thread_id}/messages", json={"body": body})
        assert response.status_code == 201, response.text
        return response.json()


async def a_party(api: ApiServer, role: Role, *sirets: str, email: str | None = None) -> Party:
    """Register a client (with an email address if given) and hold a token signed with the
    API's key, as `POST /oauth/token` issues them (tested in tests/api): a party costs no
    Argon2 hashing, and a test needs seven."""
    client_id = f"cl_{uuid.uuid4().hex[:24]}"
    async with transaction(api.sessions) as session:
        await ClientRepository(session).add(
            client_id, UNUSABLE_HASH, role, list(sirets), f"test {role}", email
        )
    token = issue_token(
        Principal(client_id, role, frozenset(sirets)),
        api.settings.token_key(),
        api.settings.token_ttl,
    )
    http = api.anonymous()
    http.headers["Authorization"] = f"Bearer {token}"
    return Party(client_id, http)


async def an_invoice(api: ApiServer, number: str, seller: str = WORKSHOP) -> Invoice:
    """An invoice to the ministry, recorded as its workflow records it."""
    row = an_invoice_row(number, seller=seller, buyer=MINISTRY)
    async with transaction(api.sessions) as session:
        session.add(row)
    return row


async def notifications(api: ApiServer) -> list[Notification]:
    """Every notification, oldest first."""
    async with api.sessions() as session:
        return list(await session.scalars(select(Notification).order_by(Notification.id)))


async def eventually(check, seconds: float = 10) -> None:  # type: ignore[no-untyped-def]
    """Until `await check()` is true, or fail."""
    for _ in range(int(seconds * 20)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition never met")


@dataclass
class Parties:
    """Both sides of invoices to the ministry, and people who are not on either side."""

    supplier: Party
    supplier_colleague: Party
    buyer: Party
    accountant: Party
    other_supplier: Party
    other_buyer: Party
    ops: Party


@pytest.fixture
async def parties(api: ApiServer) -> Parties:
    return Parties(
        supplier=await a_party(api, Role.SUPPLIER, WORKSHOP),
        supplier_colleague=await a_party(api, Role.SUPPLIER, WORKSHOP),
        buyer=await a_party(api, Role.BUYER, MINISTRY),
        accountant=await a_party(api, Role.ACCOUNTANT, MINISTRY),
        other_supplier=await a_party(api, Role.SUPPLIER, OTHER_SELLER),
        other_buyer=await a_party(api, Role.BUYER, CITY),
        ops=await a_party(api, Role.OPS),
    )


@dataclass
class MailBox:
    """What a local SMTP server received."""

    port: int
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for rcpts, message in self.messages if address in rcpts]


@pytest.fixture
def mailbox() -> Iterator[MailBox]:
    """A real SMTP server on a free loopback port, for the length of the test."""
    box = MailBox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
