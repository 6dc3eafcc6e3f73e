"""Buyers' and project managers' pages over plain HTTP: the inbox and its filters, bulk
actions, one invoice and its actions, the original and the CSV export, rejections. Every
refusal is the API's, shown with its code."""

from __future__ import annotations

import asyncio
import codecs
import re
from dataclasses import dataclass
from decimal import Decimal

import httpx

from core.principals import Role
from invoicing.formats import write_invoice
from invoicing.syntax import Syntax
from store.database import transaction
from store.models import Commitment
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET, an_invoice
from tests.portal.conftest import Site, csrf_of

OTHER_BUYER = "21750001600019"


@dataclass
class Deposited:
    """An invoice a supplier deposited through the API, and that supplier's API client."""

    id: str
    number: str
    xml: bytes
    supplier: httpx.AsyncClient

    async def status(self) -> str:
        return (await self.supplier.get(f"/v1/invoices/{self.id}")).json()["status"]

    async def wait_for(self, status: str) -> None:
        for _ in range(200):
            if await self.status() == status:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{self.number} is {await self.status()}, never {status}")


async def deposit(
    site: Site,
    number: str,
    amount: str = "1200.00",
    status: str = "MISE_A_DISPOSITION",
    **fields: object,
) -> Deposited:
    """Deposit an invoice as the supplier would, through the API, and wait for its delivery."""
    supplier = await site.api.as_role(Role.SUPPLIER, SELLER_SIRET)
    xml = write_invoice(an_invoice(number, amount, **fields), Syntax.UBL)
    answer = await supplier.post(
        "/v1/invoices", content=xml, headers={"Content-Type": "application/xml"}
    )
    assert answer.status_code == 201, answer.text
    deposited = Deposited(answer.json()["id"], number, xml, supplier)
    await deposited.wait_for(status)
    return deposited


async def buyer_session(site: Site, role: Role = Role.BUYER) -> tuple[httpx.AsyncClient, str]:
    """A signed-in person of the ministry, and the CSRF token of their pages."""
    person = await site.person(role, BUYER_SIRET, name="Service des achats")
    client = await site.signed_in(person)
    return client, await csrf_of(client, "/buyer")


async def act(
    client: httpx.AsyncClient, token: str, invoice: Deposited, action: str, **fields: str
) -> httpx.Response:
    return await client.post(
        f"/buyer/invoices/{invoice.id}/actions",
        data={"csrf_token": token, "action": action, "number": invoice.number, **fields},
    )


async def test_the_inbox_lists_received_invoices_and_filters_them(site: Site) -> None:
    small = await deposit(site, "F-2026-101", amount="100.00")
    large = await deposit(site, "F-2026-102", amount="5000.00")
    client, _ = await buyer_session(site)

    everything = await client.get("/buyer")
    assert everything.status_code == 200
    assert small.number in everything.text and large.number in everything.text
    assert "6\u202f000,00\u00a0€" in everything.text  # 5,000 + 20 % VAT, as the French read it

    # Amounts typed the French way; htmx asks only for the results.
    filtered = await client.get(
        "/buyer",
        params={"amount_min": "1 000,00", "status": "MISE_A_DISPOSITION"},
        headers={"HX-Request": "true", "HX-Target": "inbox-results"},
    )
    assert filtered.status_code == 200
    assert "<html" not in filtered.text
    assert large.number in filtered.text and small.number not in filtered.text
    assert 'href="/buyer/invoices.csv?status=MISE_A_DISPOSITION&amp;amount_min=1000.00"' in (
        filtered.text
    )

    paged = await client.get("/buyer", params={"sort": "amount_due", "limit": "1"})
    assert paged.status_code == 200  # `limit` is not a filter of the page: 50 a page
    assert small.number in paged.text and large.number in paged.text

    refused = await client.get("/buyer", params={"supplier": "123456789"})
    assert refused.status_code == 422
    assert "SIREN_INVALID" in refused.text
    assert 'value="123456789"' in refused.text  # the form keeps what was typed


async def test_the_csv_export_streams_the_api_file_with_the_same_filters(site: Site) -> None:
    await deposit(site, "F-2026-111", amount="100.00")
    await deposit(site, "F-2026-112", amount="5000.00")
    client, _ = await buyer_session(site)

    export = await client.get("/buyer/invoices.csv", params={"amount_min": "1000"})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert export.headers["content-disposition"].startswith("attachment; filename=")
    assert export.content.startswith(codecs.BOM_UTF8)
    lines = export.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("id;number;seller;")
    assert len(lines) == 2 and ";F-2026-112;" in lines[1] and "6000,00" in lines[1]

    refused = await client.get("/buyer/invoices.csv", params={"issued_from": "hier"})
    assert refused.status_code == 422
    assert "VALIDATION_FAILED" in refused.text


async def test_a_bulk_action_takes_each_ticked_invoice_and_names_the_refused(site: Site) -> None:
    first = await deposit(site, "F-2026-121")
    second = await deposit(site, "F-2026-122")
    client, token = await buyer_session(site)
    assert (await act(client, token, first, "TAKE")).status_code == 303

    answer = await client.post(
        "/buyer/bulk",
        data={
            "csrf_token": token,
            "action": "TAKE",
            "query": "status=MISE_A_DISPOSITION&status=PRISE_EN_COMPTE",
            "invoice": [first.id, second.id],
            f"number.{first.id}": first.number,
            f"number.{second.id}": second.number,
        },
        headers={"HX-Request": "true", "HX-Target": "inbox-results", "X-CSRF-Token": token},
    )
    assert answer.status_code == 200
    assert "<html" not in answer.text
    assert "1 réussie(s), 1 refusée(s)" in answer.text
    assert "INVOICE_TRANSITION_REFUSED" in answer.text
    assert await second.status() == "PRISE_EN_COMPTE"

    without_token = await client.post("/buyer/bulk", data={"action": "TAKE", "invoice": second.id})
    assert without_token.status_code == 403
    assert "CSRF_FAILED" in without_token.text


async def test_the_invoice_page_offers_the_actions_of_its_status_and_shows_refusals(
    site: Site,
) -> None:
    invoice = await deposit(site, "F-2026-131")
    client, token = await buyer_session(site)

    page = await client.get(f"/buyer/invoices/{invoice.id}")
    assert page.status_code == 200
    assert page.text.index("Prendre en compte") < page.text.index("Historique")  # on top
    assert "Certifier le service fait" not in page.text
    assert "Échéance" in page.text and "data-countdown" in page.text

    taken = await act(client, token, invoice, "TAKE")
    assert taken.status_code == 303
    shown = await client.get(taken.headers["location"])
    assert "Facture F-2026-131 : Prise en compte" in shown.text  # the flash
    assert "Certifier le service fait" in shown.text and "Suspendre" in shown.text

    again = await act(client, token, invoice, "TAKE")
    assert again.status_code == 409
    assert "INVOICE_TRANSITION_REFUSED" in again.text

    no_reason = await act(client, token, invoice, "SUSPEND")
    assert no_reason.status_code == 422
    assert "INVOICE_REASON_REQUIRED" in no_reason.text

    certified = await act(client, token, invoice, "CERTIFY_SERVICE_DONE", comment="livré")
    assert certified.status_code == 303
    assert await invoice.status() in ("SERVICE_FAIT", "MANDATEE")


async def test_a_buyer_suspends_with_a_coded_reason_and_the_deadline_stops(site: Site) -> None:
    invoice = await deposit(site, "F-2026-141")
    client, token = await buyer_session(site)
    await act(client, token, invoice, "TAKE")
    suspended = await act(
        client, token, invoice, "SUSPEND", reason="MISSING_PURCHASE_ORDER", comment="BC 42"
    )
    assert suspended.status_code == 303
    page = await client.get(f"/buyer/invoices/{invoice.id}")
    assert "Bon de commande manquant" in page.text and "BC 42" in page.text
    assert "Suspendu depuis le" in page.text and "interrompue" in page.text


async def test_the_original_is_the_deposited_file_and_counts_as_downloaded(site: Site) -> None:
    invoice = await deposit(site, "F-2026-151")
    client, _ = await buyer_session(site)
    assert invoice.number in (await client.get("/buyer?not_downloaded=true")).text

    original = await client.get(f"/buyer/invoices/{invoice.id}/original")
    assert original.status_code == 200
    assert original.content == invoice.xml
    assert invoice.number not in (await client.get("/buyer?not_downloaded=true")).text


async def test_another_structures_invoice_is_not_found(site: Site) -> None:
    invoice = await deposit(site, "F-2026-161")
    stranger = await site.person(Role.BUYER, OTHER_BUYER)
    client = await site.signed_in(stranger)
    for path in (f"/buyer/invoices/{invoice.id}", f"/buyer/invoices/{invoice.id}/original"):
        answer = await client.get(path)
        assert answer.status_code == 404
        assert "INVOICE_NOT_FOUND" in answer.text


async def test_other_roles_are_refused_the_buyer_pages(site: Site) -> None:
    for role in (Role.SUPPLIER, Role.ACCOUNTANT):
        client = await site.signed_in(await site.person(role, BUYER_SIRET))
        for path in ("/buyer", "/buyer/rejections", "/buyer/invoices.csv"):
            answer = await client.get(path)
            assert answer.status_code == 403, (role, path)
            assert "FORBIDDEN_ROLE" in answer.text


async def test_rejections_show_who_rejected_and_why_and_notifications_get_ticked(
    site: Site,
) -> None:
    invoice = await deposit(site, "F-2026-171")
    client, token = await buyer_session(site)
    rejected = await act(client, token, invoice, "REJECT", reason="WRONG_AMOUNT", comment="TVA")
    assert rejected.status_code == 303  # the refusal notice is the buyer's side's to tick

    page = await client.get("/buyer/rejections")
    assert page.status_code == 200
    assert invoice.number in page.text
    assert "Montant erroné" in page.text and "WRONG_AMOUNT" in page.text and "TVA" in page.text
    assert ">vous<" in page.text  # the rejecting author
    assert "Non traitée" in page.text
    (note,) = re.findall(r"/buyer/rejections/notifications/(\d+)/processed", page.text)

    ticked = await client.post(
        f"/buyer/rejections/notifications/{note}/processed", data={"csrf_token": token}
    )
    assert ticked.status_code == 303
    after = await client.get("/buyer/rejections")
    assert "Notification marquée comme traitée." in after.text
    assert "Non traitée" not in after.text and "Traitée" in after.text

    stranger = await site.signed_in(await site.person(Role.BUYER, BUYER_SIRET))
    not_theirs = await stranger.post(
        f"/buyer/rejections/notifications/{note}/processed",
        data={"csrf_token": await csrf_of(stranger, "/buyer")},
    )
    assert not_theirs.status_code == 404
    assert "NOTIFICATION_NOT_FOUND" in not_theirs.text


async def test_the_project_manager_validates_a_works_statement_first(site: Site) -> None:
    async with transaction(site.api.sessions) as session:
        session.add(
            Commitment(
                number="EJ-TRAVAUX-1",
                buyer_siret=BUYER_SIRET,
                supplier_siret=SELLER_SIRET,
                ceiling=Decimal(100000),
                works=True,
            )
        )
    statement = await deposit(
        site,
        "SIT-2026-01",
        status="MISE_A_DISPOSITION_PREMIER_VALIDEUR",
        commitment_number="EJ-TRAVAUX-1",
    )
    client, token = await buyer_session(site, Role.MOE)
    inbox = await client.get("/buyer?status=MISE_A_DISPOSITION_PREMIER_VALIDEUR")
    assert statement.number in inbox.text and "Valider" in inbox.text
    page = await client.get(f"/buyer/invoices/{statement.id}")
    assert "Valider pour un autre montant" in page.text and "Refuser" in page.text
    assert "Prendre en compte" not in page.text

    amended = await act(client, token, statement, "MOE_AMEND")  # without the amount
    assert amended.status_code in (409, 422)  # the workflow's refusal, with the API's status
    assert "VALIDATION_FAILED" in amended.text and "MOE_AMEND needs the validated amount" in (
        amended.text
    )
    accepted = await act(client, token, statement, "MOE_ACCEPT", comment="conforme")
    assert accepted.status_code == 303
    await statement.wait_for("MISE_A_DISPOSITION")
