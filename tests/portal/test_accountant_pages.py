"""The accountant's pages over plain HTTP: the control plan's queue, mandates to integrate and
book, payment runs and their pain.001 files, bank statements. Every refusal is the API's."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from core.principals import Role
from invoicing.payments.pain001 import validate_pain001
from store.database import transaction
from store.models import Commitment, Payment
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET
from tests.portal.conftest import Site, csrf_of
from tests.portal.test_buyer_pages import Deposited, deposit
from tests.workflows.test_payment_runs import camt054

PRESUMED = "EJ-SFP-2026"


@pytest.fixture
def api_overrides() -> dict[str, object]:
    """Every presumed service done is drawn for control: the queue is never empty by luck."""
    return {"control_share": Decimal(1)}


async def accountant_session(site: Site) -> tuple[httpx.AsyncClient, str]:
    person = await site.person(Role.ACCOUNTANT, BUYER_SIRET, name="Comptable assignataire")
    client = await site.signed_in(person)
    return client, await csrf_of(client, "/accountant")


async def act(
    client: httpx.AsyncClient,
    token: str,
    invoice: Deposited,
    action: str,
    back: str = "/accountant",
    **fields: str,
) -> httpx.Response:
    return await client.post(
        f"/accountant/invoices/{invoice.id}/actions",
        data={"csrf_token": token, "action": action, "number": invoice.number, "back": back}
        | fields,
    )


async def certified(site: Site, number: str) -> Deposited:
    """An invoice the buyer took and certified through the API: its mandate is issued."""
    invoice = await deposit(site, number)
    buyer = await site.api.as_role(Role.BUYER, BUYER_SIRET)
    for action in ("TAKE", "CERTIFY_SERVICE_DONE"):
        answer = await buyer.post(f"/v1/invoices/{invoice.id}/actions", json={"action": action})
        assert answer.status_code == 200, answer.text
    await invoice.wait_for("MANDATEE")
    return invoice


async def accounted(site: Site, client: httpx.AsyncClient, token: str, number: str) -> Deposited:
    """An invoice integrated and booked by the accountant through the pages: ready to pay."""
    invoice = await certified(site, number)
    for action in ("MAKE_AVAILABLE_TO_ACCOUNTANT", "ACCOUNT"):
        assert (await act(client, token, invoice, action)).status_code == 303
    assert await invoice.status() == "COMPTABILISEE"
    return invoice


async def test_a_presumed_service_drawn_for_control_waits_in_the_queue(site: Site) -> None:
    async with transaction(site.api.sessions) as session:
        session.add(
            Commitment(
                number=PRESUMED,
                buyer_siret=BUYER_SIRET,
                supplier_siret=SELLER_SIRET,
                ceiling=Decimal(100000),
                service_done_presumed=True,
            )
        )
    invoice = await deposit(site, "SFP-2026-11", status="SERVICE_FAIT", commitment_number=PRESUMED)
    client, token = await accountant_session(site)

    queue = await client.get("/accountant")
    assert queue.status_code == 200
    control = queue.text[queue.text.index('id="control"') : queue.text.index('id="mandates"')]
    assert invoice.number in control
    assert "Contrôle conforme" in control and "Contrôle non conforme" in control

    approved = await act(client, token, invoice, "CONTROL_APPROVE", comment="pièces conformes")
    assert approved.status_code == 303 and approved.headers["location"] == "/accountant"
    await invoice.wait_for("MANDATEE")
    queue = await client.get("/accountant")
    mandates = queue.text[queue.text.index('id="mandates"') : queue.text.index('id="booking"')]
    assert invoice.number in mandates and "Intégrer le mandat" in mandates

    again = await act(client, token, invoice, "CONTROL_APPROVE")
    assert again.status_code == 409
    assert "INVOICE_TRANSITION_REFUSED" in again.text and "Plan de contrôle" in again.text


async def test_a_mandate_is_integrated_then_rejected_with_a_coded_reason(site: Site) -> None:
    invoice = await certified(site, "F-2026-201")
    client, token = await accountant_session(site)
    assert (await act(client, token, invoice, "MAKE_AVAILABLE_TO_ACCOUNTANT")).status_code == 303
    booking = await client.get("/accountant")
    assert "Comptabiliser" in booking.text and "Rejeter le mandat" in booking.text

    page = f"/accountant/invoices/{invoice.id}"
    no_reason = await act(client, token, invoice, "ACCOUNTANT_REJECT", back=page)
    assert no_reason.status_code == 422
    assert "INVOICE_REASON_REQUIRED" in no_reason.text
    assert "Historique" in no_reason.text  # shown on the invoice it came from

    rejected = await act(
        client, token, invoice, "ACCOUNTANT_REJECT", back=page, reason="WRONG_IMPUTATION"
    )
    assert rejected.status_code == 303 and rejected.headers["location"] == page
    shown = await client.get(page)
    assert "Imputation erronée" in shown.text
    assert await invoice.status() == "PRISE_EN_COMPTE"  # back to the buyer

    elsewhere = await act(client, token, invoice, "ACCOUNT", back="https://evil.example/")
    assert elsewhere.status_code == 409  # shown on the queue, never sent elsewhere
    assert "INVOICE_TRANSITION_REFUSED" in elsewhere.text


async def test_a_payment_run_builds_its_file_and_the_bank_statement_pays_the_invoice(
    site: Site,
) -> None:
    client, token = await accountant_session(site)
    invoice = await accounted(site, client, token, "F-2026-211")
    runs = await client.get("/accountant/payment-runs")
    assert invoice.number in runs.text and "1\u202f440,00\u00a0€" in runs.text

    started = await client.post("/accountant/payment-runs", data={"csrf_token": token})
    assert started.status_code == 303
    run_page = started.headers["location"]
    assert run_page.startswith("/accountant/payment-runs/run-")
    for _ in range(100):
        shown = await client.get(run_page)
        if "FILES_BUILT" in shown.text:
            break
        await asyncio.sleep(0.1)
    assert shown.status_code == 200 and "Fichiers prêts" in shown.text
    assert 'hx-trigger="every 2s"' not in shown.text  # nothing left to wait for
    (href,) = re.findall(r'href="(/accountant/payment-runs/[^"]+/files/[0-9a-f]{64})"', shown.text)
    pain = await client.get(href)
    assert pain.status_code == 200 and "attachment" in pain.headers["content-disposition"]
    validate_pain001(pain.content, "001.001.09")
    await invoice.wait_for("MISE_EN_PAIEMENT")

    async with site.api.sessions() as session:
        payment = await session.scalar(select(Payment).where(Payment.invoice_id == invoice.id))
    assert payment is not None
    statement = camt054([(payment.end_to_end_id, Decimal("1440.00"), date.today())])
    sent = await client.post(
        "/accountant/bank-statements",
        data={"csrf_token": token},
        files={"statement": ("camt054.xml", statement, "application/xml")},
    )
    assert sent.status_code == 303
    result = await client.get(sent.headers["location"])
    assert "Relevé reçu" in result.text and "Rapprochée" in result.text
    assert payment.end_to_end_id in result.text
    await invoice.wait_for("PAYEE")

    again = await client.post(
        "/accountant/bank-statements",
        data={"csrf_token": token},
        files={"statement": ("camt054.xml", statement, "application/xml")},
    )
    assert "Ce relevé avait déjà été reçu" in (await client.get(again.headers["location"])).text


async def test_a_file_that_is_not_a_bank_statement_is_refused_on_the_form(site: Site) -> None:
    client, token = await accountant_session(site)
    refused = await client.post(
        "/accountant/bank-statements",
        data={"csrf_token": token},
        files={"statement": ("note.xml", b"<note>bonjour</note>", "application/xml")},
    )
    assert refused.status_code == 422
    assert "BANK_FILE_UNKNOWN" in refused.text and 'class="dropzone"' in refused.text


async def test_an_unknown_run_is_looked_for_and_not_found(site: Site) -> None:
    client, _ = await accountant_session(site)
    opened = await client.get("/accountant/payment-runs", params={"run": "run-inconnue"})
    assert opened.status_code == 303
    assert opened.headers["location"] == "/accountant/payment-runs/run-inconnue"
    missing = await client.get(opened.headers["location"])
    assert missing.status_code == 404
    assert "pas (encore) enregistrée" in missing.text and 'hx-trigger="every 2s"' in missing.text


async def test_other_roles_are_refused_the_accountant_pages(site: Site) -> None:
    for role in (Role.BUYER, Role.SUPPLIER, Role.MOE):
        client = await site.signed_in(await site.person(role, BUYER_SIRET))
        for path in ("/accountant", "/accountant/payment-runs", "/accountant/bank-statements"):
            answer = await client.get(path)
            assert answer.status_code == 403, (role, path)
            assert "FORBIDDEN_ROLE" in answer.text
