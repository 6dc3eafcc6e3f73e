"""A tender in Chromium: a buyer creates and publishes it, a supplier finds it, asks and
bids; after the deadline (time skipped) the buyer opens, scores and awards it."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from playwright.async_api import Browser, Page, expect
from temporalio.testing import WorkflowEnvironment

from core.principals import Role
from devpki import TestPki, default_pdf, sign_pdf
from directory.identifiers import IdentifierScheme
from directory.records import SupplierRecord
from store.database import transaction
from store.directory import DirectoryRepository
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET
from tests.portal.conftest import Site, screenshot, sign_in
from tests.portal.test_consultation_pages import creation_form

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
SELECTS = {"buyer_siret", "procedure", "buyer_legal_type", "criteria-0-kind", "criteria-1-kind"}


@pytest.fixture
def api_overrides(test_pki: TestPki) -> dict[str, object]:
    return {"signature_trust_dir": test_pki.trust_dir}


@pytest.fixture
async def second_page(browser: Browser) -> AsyncIterator[Page]:
    """A tab in a browser profile of its own, for a second person at the same time."""
    context = await browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    yield await context.new_page()
    await context.close()


async def fill_creation_form(page: Page, fields: dict[str, str]) -> None:
    for name, value in fields.items():
        field = page.locator(f"#{name}")
        if name in SELECTS:
            await field.select_option(value)
        else:
            await field.fill(value)


async def test_a_tender_from_publication_to_award_in_chromium(
    site: Site, page: Page, second_page: Page, temporal_env: WorkflowEnvironment, test_pki: TestPki
) -> None:
    buyer = await site.person(Role.BUYER, BUYER_SIRET, name="Service achats")
    supplier = await site.person(Role.SUPPLIER, SELLER_SIRET, name="Jardins Durables")
    reference = f"AO-NAV-{uuid.uuid4().hex[:6]}"
    async with transaction(site.api.sessions) as session:  # for the simplified DUME
        await DirectoryRepository(session).upsert_suppliers(
            [SupplierRecord(IdentifierScheme.SIRET, SELLER_SIRET, "Jardins Durables SARL")]
        )

    # The buyer creates the consultation and publishes it with its DCE.
    await sign_in(page, site, buyer)
    await page.get_by_role("link", name="Consultations").click()
    await page.get_by_role("link", name="Nouvelle consultation").click()
    await fill_creation_form(page, creation_form(reference))
    await page.get_by_role("button", name="Créer le brouillon").click()
    await expect(page.get_by_text("Brouillon créé")).to_be_visible()
    await page.locator("#documents").set_input_files(
        [{"name": "reglement.pdf", "mimeType": "application/pdf", "buffer": default_pdf()}]
    )
    await page.get_by_role("button", name="Publier la consultation").click()
    await expect(page.get_by_text("Consultation publiée")).to_be_visible()
    await expect(page.locator(".status").first).to_have_text("Ouverte aux offres")

    # A supplier finds it, asks a question and bids with a signed PDF and its DUME.
    await sign_in(second_page, site, supplier)
    await second_page.goto(f"{site.url}/supplier/consultations")
    await second_page.get_by_label("Code CPV (début)").fill("7731")
    await second_page.get_by_label("Texte (titre ou référence)").fill(reference)
    await second_page.get_by_role("button", name="Rechercher").click()
    await expect(second_page).to_have_url(re.compile(r"cpv=7731"))
    result = second_page.get_by_role("link", name="Entretien des espaces verts")
    await expect(result).to_be_visible()
    await screenshot(second_page, "consultations-search")
    await result.click()
    await second_page.get_by_label("Poser une question à l'acheteur").fill(
        "Le matériel est-il fourni ?"
    )
    await second_page.get_by_role("button", name="Envoyer la question").click()
    await expect(second_page.get_by_text("Question envoyée")).to_be_visible()
    await screenshot(second_page, "consultation-supplier")
    async with second_page.expect_download() as dume:
        await second_page.get_by_role("link", name="Télécharger mon DUME simplifié").click()
    download = await dume.value
    espd = {
        "name": download.suggested_filename,
        "mimeType": "application/xml",
        "buffer": (await download.path()).read_bytes(),
    }
    await second_page.locator("#espd").set_input_files([espd])
    offer = await sign_pdf(test_pki, "signer", "B-LT")
    await second_page.locator("#files").set_input_files(
        [{"name": "offre.pdf", "mimeType": "application/pdf", "buffer": offer}]
    )
    await second_page.get_by_role("button", name="Déposer mon offre").click()
    await expect(second_page.get_by_role("heading", level=1)).to_have_text(
        "Accusé de réception de votre offre"
    )
    await expect(second_page.get_by_text("Télécharger le sceau (.p7s)")).to_be_visible()
    await screenshot(second_page, "consultation-bid-receipt")

    # The buyer answers; after the deadline it opens, scores and awards.
    await page.reload()
    await page.get_by_label("Votre réponse (publiée pour tous)").fill("Non, il est à fournir.")
    await page.get_by_role("button", name="Publier la réponse").click()
    await expect(page.get_by_text("Réponse publiée pour tous les candidats")).to_be_visible()
    await expect(page.get_by_text("Offres déposées (scellées)")).to_be_visible()
    await screenshot(page, "consultation-buyer")
    handle = temporal_env.client.get_workflow_handle(f"consultation:{BUYER_SIRET}:{reference}")
    await temporal_env.fast_forward(handle, timedelta(days=36))
    await page.reload()
    await page.get_by_role("button", name="Ouvrir les offres").click()
    await expect(page.get_by_text("Recevable", exact=True)).to_be_visible()
    await page.get_by_label(f"Prix — {SELLER_SIRET}").fill("90")
    await page.get_by_label(f"Valeur technique — {SELLER_SIRET}").fill("80")
    await page.get_by_role("button", name="Enregistrer les notes").click()
    await expect(page.get_by_role("cell", name="86.00")).to_be_visible()

    await page.get_by_role("button", name="Déclarer sans suite…").click()
    dialog = page.locator("#cancel-dialog")
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("button", name="Annuler").click()
    await expect(dialog).to_be_hidden()

    await page.get_by_label("Montant du marché HT (€)").fill("98 000,00")
    await page.get_by_role("button", name="Attribuer et envoyer les lettres").click()
    await expect(page.get_by_role("heading", name="Délai de suspension")).to_be_visible()
    await expect(page.locator("[data-countdown]")).to_have_text(re.compile(r"^\d+ j \d\d h"))
    await screenshot(page, "consultation-standstill")

    await second_page.goto(f"{site.url}/supplier/consultations/{BUYER_SIRET}/{reference}")
    await expect(second_page.get_by_text("Non, il est à fournir.")).to_be_visible()
    await expect(
        second_page.get_by_role("link", name="Lettre de décision (PDF scellé)")
    ).to_be_visible()
