"""Messages and notifications over plain HTTP: a supplier and a buyer talk about an invoice,
with files, each told in their inbox; the thread is hidden from everyone else."""

from __future__ import annotations

import re

import httpx

from core.principals import Role
from invoicing.formats import write_invoice
from invoicing.syntax import Syntax
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET, an_invoice
from tests.portal.conftest import Site, csrf_of

OTHER_SIRET = "21750001600019"
DELIVERY_NOTE = b"%PDF-1.4 bon de livraison"


async def an_invoice_id(site: Site, number: str = "M-2026-001") -> str:
    """An invoice of the seller to the ministry, deposited through the API."""
    client = await site.api.as_role(Role.SUPPLIER, SELLER_SIRET)
    answer = await client.post(
        "/v1/invoices",
        content=write_invoice(an_invoice(number), Syntax.UBL),
        headers={"Content-Type": "application/xml"},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def signed(site: Site, role: Role, siret: str) -> httpx.AsyncClient:
    return await site.signed_in(await site.person(role, siret))


async def start(
    client: httpx.AsyncClient, invoice_id: str, files: dict[str, object] | None = None
) -> httpx.Response:
    token = await csrf_of(client, "/messages/new")
    return await client.post(
        "/messages/new",
        data={
            "csrf_token": token,
            "invoice_id": invoice_id,
            "subject": "Date de paiement",
            "body": "Quand sera-t-elle payée ?",
        },
        files=files,
    )


async def test_a_supplier_and_a_buyer_talk_with_files_and_are_notified(site: Site) -> None:
    invoice_id = await an_invoice_id(site)
    supplier = await signed(site, Role.SUPPLIER, SELLER_SIRET)
    buyer = await signed(site, Role.BUYER, BUYER_SIRET)

    form = await supplier.get(f"/messages/new?invoice_id={invoice_id}")
    assert f'<option value="{invoice_id}" selected>M-2026-001' in form.text
    started = await start(
        supplier,
        invoice_id,
        files={"attachments": ("livraison.pdf", DELIVERY_NOTE, "application/pdf")},
    )
    assert started.status_code == 303, started.text
    thread_url = started.headers["location"]
    thread = await supplier.get(thread_url)
    assert "Message envoyé." in thread.text
    assert "Quand sera-t-elle payée ?" in thread.text and "livraison.pdf" in thread.text
    assert f'href="/supplier/invoices/{invoice_id}"' in thread.text

    inbox = await buyer.get("/notifications")
    assert "Message du fournisseur" in inbox.text and "M-2026-001" in inbox.text
    assert f'href="{thread_url}"' in inbox.text
    notification = re.search(r'hx-post="/notifications/(\d+)/read"', inbox.text)
    assert notification
    token = await csrf_of(buyer, "/notifications")
    marked = await buyer.post(
        f"/notifications/{notification[1]}/read",
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert marked.status_code == 200
    assert "<html" not in marked.text and "lue le" in marked.text
    assert "Marquer comme lue" not in marked.text
    unread = await buyer.get("/notifications?unread=true")
    assert "Aucune notification." in unread.text

    listing = await buyer.get("/messages")
    assert "Date de paiement" in listing.text and "M-2026-001" in listing.text
    seen = await buyer.get(thread_url)
    assert f'href="/buyer/invoices/{invoice_id}"' in seen.text
    file_link = re.search(
        r'href="(/messages/\d+/messages/\d+/attachments/[0-9a-f]{64})"', seen.text
    )
    assert file_link
    downloaded = await buyer.get(file_link[1])
    assert downloaded.content == DELIVERY_NOTE
    assert downloaded.headers["content-disposition"] == 'attachment; filename="livraison.pdf"'
    assert downloaded.headers["x-content-type-options"] == "nosniff"

    token = await csrf_of(buyer, thread_url)
    replied = await buyer.post(
        thread_url, data={"csrf_token": token, "body": "Le 15, par virement."}
    )
    assert replied.status_code == 303
    answer = await supplier.get(thread_url)
    assert "Le 15, par virement." in answer.text
    assert "<strong>Acheteur</strong>" in answer.text and "<strong>Vous</strong>" in answer.text
    assert "Message de l&#39;acheteur" in (await supplier.get("/notifications")).text


async def test_an_empty_reply_is_refused_with_the_apis_code(site: Site) -> None:
    invoice_id = await an_invoice_id(site)
    supplier = await signed(site, Role.SUPPLIER, SELLER_SIRET)
    thread_url = (await start(supplier, invoice_id)).headers["location"]
    token = await csrf_of(supplier, thread_url)
    refused = await supplier.post(thread_url, data={"csrf_token": token, "body": "   "})
    assert refused.status_code == 422
    assert "THREAD_MESSAGE_INVALID" in refused.text
    assert 'id="reply-body"' in refused.text


async def test_a_thread_on_an_invoice_of_others_does_not_exist(site: Site) -> None:
    invoice_id = await an_invoice_id(site)
    supplier = await signed(site, Role.SUPPLIER, SELLER_SIRET)
    thread_url = (await start(supplier, invoice_id)).headers["location"]
    stranger = await signed(site, Role.SUPPLIER, OTHER_SIRET)
    hidden = await stranger.get(thread_url)
    assert hidden.status_code == 404
    assert "THREAD_NOT_FOUND" in hidden.text
    assert "Date de paiement" not in (await stranger.get("/messages")).text
    refused = await start(stranger, invoice_id)
    assert refused.status_code == 404
    assert "INVOICE_NOT_FOUND" in refused.text


async def test_an_operator_reads_threads_without_a_reply_form(site: Site) -> None:
    invoice_id = await an_invoice_id(site)
    supplier = await signed(site, Role.SUPPLIER, SELLER_SIRET)
    thread_url = (await start(supplier, invoice_id)).headers["location"]
    operator = await site.signed_in(await site.person(Role.OPS))
    page = await operator.get(thread_url)
    assert page.status_code == 200
    assert "Quand sera-t-elle payée ?" in page.text
    assert 'id="reply-body"' not in page.text
    assert "Nouvelle conversation" not in (await operator.get("/messages")).text


async def test_a_refused_invoice_is_in_the_suppliers_inbox_to_mark_handled(site: Site) -> None:
    supplier = await signed(site, Role.SUPPLIER, SELLER_SIRET)
    invoice_id = await an_invoice_id(site, "M-2026-REJ")
    buyer = await site.api.as_role(Role.BUYER, BUYER_SIRET)
    refused = await buyer.post(
        f"/v1/invoices/{invoice_id}/actions",
        json={"action": "REJECT", "reason": "WRONG_AMOUNT", "comment": "montant erroné"},
    )
    assert refused.status_code == 200, refused.text

    inbox = await supplier.get("/notifications")
    assert "M-2026-REJ refusée par test buyer" in inbox.text
    assert "<code>WRONG_AMOUNT</code>" in inbox.text and "montant erroné" in inbox.text
    assert f'href="/supplier/invoices/{invoice_id}"' in inbox.text
    notice = re.search(r'action="/notifications/(\d+)/read"', inbox.text)
    assert notice and "Marquer comme traitée" in inbox.text
    token = await csrf_of(supplier, "/notifications")
    marked = await supplier.post(f"/notifications/{notice[1]}/read", data={"csrf_token": token})
    assert marked.status_code == 303
    assert "traitée le" in (await supplier.get("/notifications")).text
