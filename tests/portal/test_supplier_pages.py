"""Supplier pages over plain HTTP: deposits by upload and by form, the list, the dashboard,
an invoice's page and its completion, and webhooks, each against the real API."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import update
from temporalio.testing import WorkflowEnvironment

from core.principals import Role
from invoicing.deadlines import PARIS
from invoicing.formats import write_invoice
from invoicing.interest import late_interest
from invoicing.syntax import Syntax
from store.database import transaction
from store.models import Invoice
from tests.callbacks.conftest import Receiver, serving
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET, an_invoice
from tests.portal.conftest import Person, Site, csrf_of
from workflows.callback_client import ensure_callback_relay
from workflows.callback_messages import RelayInput

OTHER_SIRET = "21750001600019"  # a valid SIRET no structure of the directory has
SAME_SIREN_SIRET = "73282932001007"  # another establishment of the seller's SIREN
INVOICE_PAGE = re.compile(r"^/supplier/invoices/([0-9a-f-]{36})$")


def ubl(number: str = "F-2026-001", **fields: object) -> bytes:
    return write_invoice(an_invoice(number, **fields), Syntax.UBL)


def money(amount: str) -> str:
    """An amount as French pages show it: `1 440,00 €` with narrow and hard spaces."""
    whole, cents = amount.split(".")
    grouped = f"{int(whole):,}".replace(",", "\u202f")
    return f"{grouped},{cents}\u00a0€"


async def supplier(site: Site, *sirets: str) -> tuple[Person, httpx.AsyncClient]:
    person = await site.person(Role.SUPPLIER, *(sirets or (SELLER_SIRET,)))
    return person, await site.signed_in(person)


async def upload(client: httpx.AsyncClient, data: bytes, name: str = "f.xml") -> httpx.Response:
    token = await csrf_of(client, "/supplier/invoices/new")
    return await client.post(
        "/supplier/invoices/new",
        data={"csrf_token": token},
        files={"invoice": (name, data, "application/xml")},
    )


async def deposited(client: httpx.AsyncClient, number: str, **fields: object) -> str:
    """Deposit a valid invoice through the page; its id."""
    answer = await upload(client, ubl(number, **fields))
    assert answer.status_code == 303, answer.text
    found = INVOICE_PAGE.match(answer.headers["location"])
    assert found, answer.headers["location"]
    return found[1]


def form_fields(token: str, **changes: str) -> dict[str, str]:
    """The small-supplier form as a person fills it: two lines, one left blank."""
    fields = {
        "csrf_token": token,
        "seller_siret": SELLER_SIRET,
        "buyer_siret": BUYER_SIRET,
        "number": "FORM-2026-001",
        "issue_date": "2026-03-02",
        "due_date": "2026-04-01",
        "nature": "S1",
        "iban": "FR76 3000 6000 0112 3456 7890 189",
        "line-0-description": "Entretien des espaces verts",
        "line-0-quantity": "3",
        "line-0-unit_price": "400",
        "line-0-vat_rate": "20",
        "line-1-description": "Fournitures",
        "line-1-quantity": "2,5",
        "line-1-unit_price": "10",
        "line-1-vat_rate": "5.5",
        "line-2-description": "",
        "line-2-quantity": "",
        "line-2-unit_price": "",
        "line-2-vat_rate": "20",
    }
    return {**fields, **changes}


# --- Deposit by upload --------------------------------------------------------------------


async def test_an_uploaded_invoice_is_accepted_and_its_page_shows_status_and_amounts(
    site: Site,
) -> None:
    _, client = await supplier(site)
    invoice_id = await deposited(client, "F-2026-101")
    page = await client.get(f"/supplier/invoices/{invoice_id}")
    assert page.status_code == 200
    assert "Facture déposée et acceptée." in page.text
    assert "F-2026-101" in page.text
    assert 'class="status status-mise_a_disposition"' in page.text
    assert money("1440.00") in page.text and money("1200.00") in page.text
    assert "Ministère de l&#39;Exemple" in page.text  # the buyer's name, from the file
    assert "Atelier Exemple SAS" in page.text
    assert page.text.count('<ol class="timeline">') == 1
    assert "Déposée" in page.text and "Mise à disposition" in page.text
    assert "Annuler la facture" in page.text  # nobody has taken it in charge yet
    original = await client.get(f"/supplier/invoices/{invoice_id}/original")
    assert original.content == ubl("F-2026-101")
    assert original.headers["content-disposition"].startswith("attachment")
    report = await client.get(f"/supplier/invoices/{invoice_id}/report")
    assert json.loads(report.content)["valid"] is True
    assert "attachment" in report.headers["content-disposition"]


async def test_a_refused_upload_is_shown_rule_by_rule_with_the_apis_status(site: Site) -> None:
    _, client = await supplier(site)
    answer = await upload(client, ubl("F-2026-102", buyer_siret=OTHER_SIRET))
    assert answer.status_code == 422
    assert "INVOICE_INVALID" in answer.text
    assert "Rapport de validation" in answer.text
    assert "<code>PF-BUYER-UNKNOWN</code>" in answer.text
    assert "not a public structure of the directory" in answer.text
    assert "Bloquante" in answer.text
    recorded = re.search(r'href="/supplier/invoices/([0-9a-f-]{36})"', answer.text)
    assert recorded, answer.text
    page = await client.get(f"/supplier/invoices/{recorded[1]}")
    assert 'class="status status-rejetee"' in page.text
    assert "PF-BUYER-UNKNOWN" in page.text


async def test_a_file_that_is_not_an_invoice_names_the_rule_that_refused_it(site: Site) -> None:
    _, client = await supplier(site)
    answer = await upload(client, b"<html><body>pas une facture</body></html>", "page.xml")
    assert answer.status_code == 422
    assert "<code>INVOICE_SYNTAX_UNKNOWN</code>" in answer.text


async def test_a_deposit_without_a_file_asks_for_one(site: Site) -> None:
    _, client = await supplier(site)
    token = await csrf_of(client, "/supplier/invoices/new")
    answer = await client.post("/supplier/invoices/new", data={"csrf_token": token})
    assert answer.status_code == 422
    assert "Choisissez un fichier." in answer.text


async def test_the_same_number_with_other_content_is_a_conflict(site: Site) -> None:
    _, client = await supplier(site)
    first = await deposited(client, "F-2026-103")
    answer = await upload(client, ubl("F-2026-103", amount="99.00"))
    assert answer.status_code == 409
    assert "INVOICE_CONFLICT" in answer.text
    assert f'href="/supplier/invoices/{first}"' in answer.text


# --- Deposit by form ------------------------------------------------------------------------


async def test_the_form_deposits_a_ubl_invoice_that_is_accepted(site: Site) -> None:
    _, client = await supplier(site)
    blank = await client.get("/supplier/invoices/form")
    assert blank.status_code == 200
    assert 'name="line-2-description"' in blank.text  # three rows at least
    token = await csrf_of(client, "/supplier/invoices/form")
    answer = await client.post("/supplier/invoices/form", data=form_fields(token))
    assert answer.status_code == 303, answer.text
    page = await client.get(answer.headers["location"])
    assert "Facture déposée et acceptée." in page.text
    assert "FORM-2026-001" in page.text
    assert 'class="status status-mise_a_disposition"' in page.text
    # 3 × 400 at 20 % + 2.5 × 10 at 5.5 %: 1225.00 without VAT, 241.38 of VAT.
    assert money("1225.00") in page.text and money("1466.38") in page.text
    assert "Entretien des espaces verts" in page.text and "Fournitures" in page.text
    invoice_id = INVOICE_PAGE.match(answer.headers["location"])
    assert invoice_id
    original = await client.get(f"/supplier/invoices/{invoice_id[1]}/original")
    assert b"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" in original.content


async def test_form_errors_are_shown_next_to_their_fields(site: Site) -> None:
    _, client = await supplier(site)
    token = await csrf_of(client, "/supplier/invoices/form")
    fields = form_fields(token, number="", issue_date="2026-02-30", **{"line-0-quantity": "trois"})
    answer = await client.post("/supplier/invoices/form", data=fields)
    assert answer.status_code == 422
    assert re.search(r'id="number-error">Ce champ est obligatoire\.', answer.text)
    assert re.search(r'id="issue_date-error">Cette date n&#39;est pas valide\.', answer.text)
    assert 'id="line-0-quantity-error"' in answer.text
    assert 'aria-describedby="line-0-quantity-error"' in answer.text
    assert 'value="trois"' in answer.text  # what was typed is kept
    assert (await client.get("/supplier/invoices")).text.count("FORM-2026-001") == 0


async def test_a_buyer_siret_of_no_public_structure_is_refused_on_its_field(site: Site) -> None:
    _, client = await supplier(site)
    token = await csrf_of(client, "/supplier/invoices/form")
    answer = await client.post(
        "/supplier/invoices/form", data=form_fields(token, buyer_siret=OTHER_SIRET)
    )
    assert answer.status_code == 422
    assert re.search(r'id="buyer_siret-error">Aucune structure publique', answer.text)


async def test_a_form_without_any_line_is_refused_and_a_row_can_be_added(site: Site) -> None:
    _, client = await supplier(site)
    token = await csrf_of(client, "/supplier/invoices/form")
    empty_rows = {f"line-{n}-{field}": "" for n in range(2) for field in ("description",)}
    empty_rows |= {f"line-{n}-quantity": "" for n in range(2)}
    empty_rows |= {f"line-{n}-unit_price": "" for n in range(2)}
    answer = await client.post("/supplier/invoices/form", data=form_fields(token, **empty_rows))
    assert answer.status_code == 422
    assert 'id="lines-error">Saisissez au moins une ligne.' in answer.text
    more = await client.post(
        "/supplier/invoices/form", data={**form_fields(token), "add_line": "1"}
    )
    assert more.status_code == 200
    assert 'name="line-3-description"' in more.text
    assert 'value="Entretien des espaces verts"' in more.text


async def test_the_api_refusal_of_a_form_invoice_is_shown_like_an_uploads(site: Site) -> None:
    _, client = await supplier(site)
    token = await csrf_of(client, "/supplier/invoices/form")
    # 36 characters: the form lets it through, the French rules (BR-FR-01) do not.
    answer = await client.post("/supplier/invoices/form", data=form_fields(token, number="F" * 36))
    assert answer.status_code == 422
    assert "INVOICE_INVALID" in answer.text
    assert "BR-FR-01" in answer.text


# --- List -----------------------------------------------------------------------------------


async def test_the_list_filters_by_status_number_buyer_and_establishment(site: Site) -> None:
    _, client = await supplier(site, SELLER_SIRET, SAME_SIREN_SIRET)
    await deposited(client, "A-2026-001")
    await deposited(client, "A-2026-002", seller_siret=SAME_SIREN_SIRET)
    await upload(client, ubl("B-2026-001", buyer_siret=OTHER_SIRET))  # rejected

    everything = await client.get("/supplier/invoices")
    assert all(n in everything.text for n in ("A-2026-001", "A-2026-002", "B-2026-001"))
    assert "SIREN 732829320" in everything.text  # both establishments at once

    def numbers(page: httpx.Response) -> set[str]:
        return set(re.findall(r">([AB]-2026-\d{3})</a>", page.text))

    assert numbers(await client.get("/supplier/invoices?number=a-2026")) == {
        "A-2026-001",
        "A-2026-002",
    }
    assert numbers(await client.get("/supplier/invoices?status=REJETEE")) == {"B-2026-001"}
    assert numbers(await client.get(f"/supplier/invoices?buyer={OTHER_SIRET[:9]}")) == {
        "B-2026-001"
    }
    assert numbers(await client.get(f"/supplier/invoices?buyer={BUYER_SIRET}")) == {
        "A-2026-001",
        "A-2026-002",
    }
    assert numbers(await client.get(f"/supplier/invoices?establishment={SAME_SIREN_SIRET}")) == {
        "A-2026-002"
    }
    assert len(numbers(await client.get("/supplier/invoices?establishment=732829320"))) == 3


async def test_htmx_gets_the_results_alone_and_a_bad_filter_the_apis_refusal(
    site: Site,
) -> None:
    _, client = await supplier(site)
    await deposited(client, "H-2026-001")
    part = await client.get("/supplier/invoices?number=H-2026", headers={"HX-Request": "true"})
    assert part.status_code == 200
    assert "H-2026-001" in part.text
    assert "<html" not in part.text and "<form" not in part.text
    whole = await client.get(
        "/supplier/invoices?number=H-2026",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in whole.text
    refused = await client.get("/supplier/invoices?issued_from=2026-13-45")
    assert refused.status_code == 422
    assert "VALIDATION_FAILED" in refused.text
    assert 'id="f-status"' in refused.text  # the filters stay on the page


# --- Dashboard ------------------------------------------------------------------------------


async def test_the_dashboard_counts_awaits_and_shows_interest_on_late_invoices(
    site: Site,
) -> None:
    _, client = await supplier(site)
    late = await deposited(client, "D-2026-001")
    await deposited(client, "D-2026-002", amount="100.00")
    await upload(client, ubl("D-2026-003", buyer_siret=OTHER_SIRET))
    due = datetime.now(UTC) - timedelta(days=10)
    async with transaction(site.api.sessions) as session:
        await session.execute(update(Invoice).where(Invoice.id == late).values(due_at=due))

    page = await client.get("/supplier")
    assert page.status_code == 200
    shown = re.findall(r'<strong>(\d+)</strong> <span class="status status-(\w+)"', page.text)
    counts = {status: count for count, status in shown}
    assert counts == {"mise_a_disposition": "2", "rejetee": "1"}
    assert money("1560.00") in page.text  # 1440 + 120 awaiting payment; the rejected one not
    due_on = due.astimezone(PARIS).date()
    owed = late_interest(Decimal("1440.00"), due_on, datetime.now(PARIS).date())
    assert owed.interest > 0
    overdue = page.text.split('id="overdue-title"')[1]
    assert "D-2026-001" in overdue and "D-2026-002" not in overdue
    assert money(str(owed.interest)) in overdue and money("40.00") in overdue
    assert f'<td class="num">{owed.days_late}</td>' in overdue


# --- One invoice: complete, cancel, who may see it -----------------------------------------


async def test_a_suspended_invoice_is_completed_with_documents(site: Site) -> None:
    _, client = await supplier(site)
    invoice_id = await deposited(client, "S-2026-001")
    buyer = await site.api.as_role(Role.BUYER, BUYER_SIRET)
    for action in ({"action": "TAKE"}, {"action": "SUSPEND", "reason": "MISSING_DOCUMENT"}):
        taken = await buyer.post(f"/v1/invoices/{invoice_id}/actions", json=action)
        assert taken.status_code == 200, taken.text
    page = await client.get(f"/supplier/invoices/{invoice_id}")
    assert 'class="status status-suspendue"' in page.text
    assert "Pièce justificative manquante" in page.text
    assert 'action="/supplier/invoices/' + invoice_id + '/complete"' in page.text
    token = await csrf_of(client, f"/supplier/invoices/{invoice_id}")
    answer = await client.post(
        f"/supplier/invoices/{invoice_id}/complete",
        data={"csrf_token": token, "comment": "bon de commande joint"},
        files={"attachments": ("commande.pdf", b"%PDF-1.4 bon", "application/pdf")},
    )
    assert answer.status_code == 303, answer.text
    page = await client.get(answer.headers["location"])
    assert "Facture complétée." in page.text
    assert 'class="status status-completee"' in page.text
    assert "commande.pdf" in page.text and "bon de commande joint" in page.text
    again = await client.post(
        f"/supplier/invoices/{invoice_id}/complete", data={"csrf_token": token}
    )
    assert again.status_code == 409
    assert "INVOICE_TRANSITION_REFUSED" in again.text


async def test_a_supplier_cancels_an_invoice_nobody_took(site: Site) -> None:
    _, client = await supplier(site)
    invoice_id = await deposited(client, "C-2026-001")
    token = await csrf_of(client, f"/supplier/invoices/{invoice_id}")
    answer = await client.post(
        f"/supplier/invoices/{invoice_id}/cancel", data={"csrf_token": token}
    )
    assert answer.status_code == 303
    page = await client.get(answer.headers["location"])
    assert 'class="status status-annulee"' in page.text
    assert "Annuler la facture" not in page.text


async def test_another_suppliers_invoice_does_not_exist_and_buyers_are_refused(
    site: Site,
) -> None:
    _, owner = await supplier(site)
    invoice_id = await deposited(owner, "P-2026-001")
    _, stranger = await supplier(site, OTHER_SIRET)
    hidden = await stranger.get(f"/supplier/invoices/{invoice_id}")
    assert hidden.status_code == 404
    assert "INVOICE_NOT_FOUND" in hidden.text
    buyer = await site.signed_in(await site.person(Role.BUYER, BUYER_SIRET))
    refused = await buyer.get("/supplier/invoices")
    assert refused.status_code == 403
    assert "FORBIDDEN_ROLE" in refused.text


async def test_changes_need_the_session_token(site: Site) -> None:
    _, client = await supplier(site)
    answer = await client.post(
        "/supplier/invoices/new", files={"invoice": ("f.xml", ubl(), "application/xml")}
    )
    assert answer.status_code == 403
    assert "CSRF_FAILED" in answer.text


# --- Webhooks -------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The supplier software's endpoint, on loopback."""
    with serving() as found:
        yield found


@pytest.fixture
def api_overrides(receiver: Receiver) -> dict[str, object]:
    """The receiver is on loopback: allow-list exactly it."""
    return {"outbound_allowed_hosts": receiver.host, "callback_retry_window": timedelta(seconds=60)}


def secrets_in(page: httpx.Response) -> list[str]:
    return re.findall(r"whsec_[A-Za-z0-9+/=]+", page.text)


async def test_a_webhook_is_added_its_secret_shown_once_rotated_and_deleted(
    site: Site, receiver: Receiver
) -> None:
    _, client = await supplier(site)
    token = await csrf_of(client, "/supplier/webhooks")
    added = await client.post(
        "/supplier/webhooks",
        data={"csrf_token": token, "url": receiver.url, "event_types": "invoice.status_changed"},
    )
    assert added.status_code == 201
    [secret] = secrets_in(added)
    listed = await client.get("/supplier/webhooks")
    assert receiver.url in listed.text and secrets_in(listed) == []
    assert "Changement de statut" in listed.text
    webhook_id = re.search(r'href="/supplier/webhooks/([0-9a-f-]{36})"', listed.text)
    assert webhook_id
    rotated = await client.post(
        f"/supplier/webhooks/{webhook_id[1]}/rotate", data={"csrf_token": token}
    )
    assert rotated.status_code == 200
    [new_secret] = secrets_in(rotated)
    assert new_secret != secret
    assert "L&#39;ancien secret signe aussi" in rotated.text
    deleted = await client.post(
        f"/supplier/webhooks/{webhook_id[1]}/delete", data={"csrf_token": token}
    )
    assert deleted.status_code == 303
    after = await client.get("/supplier/webhooks")
    assert "Webhook supprimé." in after.text and receiver.url not in after.text


async def test_a_webhook_to_a_private_address_is_refused(site: Site) -> None:
    _, client = await supplier(site)
    token = await csrf_of(client, "/supplier/webhooks")
    refused = await client.post(
        "/supplier/webhooks", data={"csrf_token": token, "url": "https://10.0.0.1/hook"}
    )
    assert refused.status_code == 422
    assert "OUTBOUND_URL_REFUSED" in refused.text
    assert 'value="https://10.0.0.1/hook"' in refused.text


async def test_deliveries_are_listed_and_one_is_delivered_again(
    site: Site, receiver: Receiver, temporal_env: WorkflowEnvironment
) -> None:
    with temporal_env.with_time_skipping_disabled():
        await ensure_callback_relay(
            temporal_env.client,
            site.api.settings.task_queue,
            RelayInput(interval=timedelta(milliseconds=200)),
        )
    _, client = await supplier(site)
    token = await csrf_of(client, "/supplier/webhooks")
    await client.post("/supplier/webhooks", data={"csrf_token": token, "url": receiver.url})
    await deposited(client, "W-2026-001")
    await receiver.wait_for(lambda r: len(r.accepted()) >= 2)
    listed = await client.get("/supplier/webhooks")
    webhook_id = re.search(r'href="/supplier/webhooks/([0-9a-f-]{36})"', listed.text)
    assert webhook_id
    page = await client.get(f"/supplier/webhooks/{webhook_id[1]}")
    assert page.text.count(">Livré</span>") == 2
    assert "HTTP 200" in page.text
    delivery = re.search(r"/deliveries/(msg_\d+_[0-9a-f-]{36})/redeliver", page.text)
    assert delivery
    again = await client.post(
        f"/supplier/webhooks/{webhook_id[1]}/deliveries/{delivery[1]}/redeliver",
        data={"csrf_token": token},
    )
    assert again.status_code == 303
    await receiver.wait_for(lambda r: len(r.accepted()) >= 3)
    assert receiver.requests[-1].message_id == delivery[1]


async def test_the_pages_read_in_english(site: Site) -> None:
    _, client = await supplier(site)
    client.cookies.set("chaine_lang", "en")
    for path, text in (
        ("/supplier", "My invoices by status"),
        ("/supplier/invoices", "Buyer (SIRET or SIREN)"),
        ("/supplier/invoices/new", "Invoice file"),
        ("/supplier/invoices/form", "0% (VAT franchise, art. 293 B CGI)"),
        ("/supplier/webhooks", "Add a webhook"),
        ("/messages", "No conversation yet."),
        ("/notifications", "No notification."),
    ):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert text in page.text, path
