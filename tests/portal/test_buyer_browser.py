"""A buyer's and an accountant's day in Chromium: received invoices taken in charge at once,
service done certified, a rejection with its reason, the supplier seeing where its invoice
stands, then the control queue, booking and a payment run."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.async_api import Locator, Page, expect

from core.principals import Role
from store.database import transaction
from store.models import Commitment
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET
from tests.portal.conftest import Site, screenshot, sign_in
from tests.portal.test_buyer_pages import deposit

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
PRESUMED = "EJ-SFP-NAV"


@pytest.fixture
def api_overrides() -> dict[str, object]:
    """Presumed services are all drawn for control, so the accountant's queue shows one."""
    return {"control_share": Decimal(1)}


def action_form(page: Page, label: str) -> Locator:
    """The form of an action that asks for more than a click, opened."""
    return page.locator("details", has=page.locator("summary", has_text=label))


async def test_a_buyer_processes_invoices_and_the_accountant_pays_them(
    site: Site, page: Page
) -> None:
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
    served = await deposit(site, "F-2026-NAV-1", amount="2500.00")
    wrong = await deposit(site, "F-2026-NAV-2", amount="990.00")
    presumed = await deposit(
        site, "SFP-2026-NAV", status="SERVICE_FAIT", commitment_number=PRESUMED
    )
    buyer = await site.person(Role.BUYER, BUYER_SIRET, name="Service des achats")
    await sign_in(page, site, buyer)
    await expect(page.get_by_role("heading", name="Factures reçues")).to_be_visible()

    # Filters swap the results in place and keep the address of what is shown.
    await page.get_by_label("Fournisseur (SIRET ou SIREN)").fill(SELLER_SIRET[:9])
    await page.get_by_label("Mise à disposition").check()
    await page.get_by_role("button", name="Filtrer").click()
    await expect(page).to_have_url(re.compile(r"supplier=732829320"))
    await expect(page.get_by_role("link", name=presumed.number)).to_have_count(0)

    # Both delivered invoices taken in charge at once.
    await page.get_by_label("Tout cocher").check()
    await expect(page.get_by_label(f"Cocher {served.number}")).to_be_checked()
    await page.get_by_label("Action sur les factures cochées").select_option("TAKE")
    await screenshot(page, "buyer-inbox")
    await page.get_by_role("button", name="Appliquer").click()
    await expect(page.get_by_text("2 réussie(s), 0 refusée(s)")).to_be_visible()

    await page.get_by_role("link", name=served.number).first.click()
    await expect(page.get_by_role("heading", name=f"Facture {served.number}")).to_be_visible()
    certify = action_form(page, "Certifier le service fait")
    await certify.locator("summary").click()
    await certify.get_by_label("Commentaire").fill("Prestation réalisée le 12 janvier")
    await screenshot(page, "buyer-invoice")
    await certify.get_by_role("button", name="Certifier le service fait").click()
    await expect(page.get_by_text(f"Facture {served.number} : Service fait")).to_be_visible()
    await expect(page.get_by_text("Prestation réalisée le 12 janvier")).to_be_visible()

    # The supplier, signed in to the portal, sees where its invoice now stands.
    supplier = await site.signed_in(await site.person(Role.SUPPLIER, SELLER_SIRET))
    seen = await supplier.get(f"/supplier/invoices/{served.id}")
    assert seen.status_code == 200
    assert "Service fait" in seen.text or "Mandatée" in seen.text

    await page.goto(f"{site.url}/buyer/invoices/{wrong.id}")
    reject = action_form(page, "Rejeter")
    await reject.locator("summary").click()
    await reject.get_by_label("Motif").select_option(label="Montant erroné")
    await reject.get_by_label("Commentaire").fill("Le taux de TVA est erroné")
    await reject.get_by_role("button", name="Rejeter").click()
    await expect(page.get_by_text(f"Facture {wrong.number} : Rejetée")).to_be_visible()
    await page.get_by_role("link", name="Rejets").click()
    await expect(page.get_by_role("cell", name="Montant erroné WRONG_AMOUNT")).to_be_visible()
    await screenshot(page, "buyer-rejections")

    await page.get_by_role("button", name="Se déconnecter").click()
    await served.wait_for("MANDATEE")
    accountant = await site.person(Role.ACCOUNTANT, BUYER_SIRET, name="Comptable assignataire")
    await sign_in(page, site, accountant)
    await expect(page.get_by_role("heading", name="Contrôle et prise en charge")).to_be_visible()
    control = page.locator("#control")
    await expect(control.get_by_role("link", name=presumed.number)).to_be_visible()
    await screenshot(page, "accountant-queue")

    await control.get_by_role("button", name="Contrôle conforme").click()
    await expect(page.get_by_text(f"Facture {presumed.number} : Service fait")).to_be_visible()
    for queue, button, status in (
        ("#mandates", "Intégrer le mandat", "Chez le comptable"),
        ("#booking", "Comptabiliser", "Comptabilisée"),
    ):
        row = page.locator(f"{queue} tr", has=page.get_by_role("link", name=served.number))
        await row.get_by_role("button", name=button).click()
        await expect(page.get_by_text(f"Facture {served.number} : {status}")).to_be_visible()

    await page.get_by_role("link", name="Paiements").click()
    await expect(page.get_by_role("link", name=served.number)).to_be_visible()
    await page.get_by_role("button", name="Lancer la campagne").click()
    await expect(page.get_by_text("Fichiers prêts, virements émis")).to_be_visible()
    async with page.expect_download() as download:
        await page.get_by_role("link", name="Télécharger").first.click()
    assert (await download.value).suggested_filename.endswith(".xml")
    await screenshot(page, "accountant-payment-run")
    await served.wait_for("MISE_EN_PAIEMENT")
