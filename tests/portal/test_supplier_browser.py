"""A supplier's journey in Chromium: deposit a file and see it accepted, see the rule that
refuses another, fill in the form for an invoice without software, and find them listed."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from core.principals import Role
from invoicing.formats import write_invoice
from invoicing.syntax import Syntax
from tests.invoicing.builders import BUYER_SIRET, IBAN, SELLER_SIRET, an_invoice
from tests.portal.conftest import Site, screenshot, sign_in

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

OTHER_SIRET = "21750001600019"  # no public structure has it


async def deposit_file(page: Page, site: Site, name: str, data: bytes) -> None:
    """Choose the file in the upload form and send it."""
    await page.goto(f"{site.url}/supplier/invoices/new")
    await page.get_by_label("Fichier de la facture").set_input_files(
        {"name": name, "mimeType": "application/xml", "buffer": data}
    )
    await expect(page.locator("[data-file-name]")).to_have_text(name)
    await page.get_by_role("button", name="Déposer", exact=True).click()


async def test_a_supplier_deposits_sees_a_refusal_and_fills_in_the_form(
    site: Site, page: Page
) -> None:
    person = await site.person(Role.SUPPLIER, SELLER_SIRET, name="Atelier Dupont")
    await sign_in(page, site, person)
    await expect(page.get_by_role("heading", name="Tableau de bord")).to_be_visible()

    valid = write_invoice(an_invoice("F-2026-301"), Syntax.UBL)
    await deposit_file(page, site, "F-2026-301.xml", valid)
    await page.wait_for_url(re.compile(r"/supplier/invoices/[0-9a-f-]{36}$"))
    await expect(page.get_by_role("status")).to_have_text("Facture déposée et acceptée.")
    await expect(page.locator(".current-status .status")).to_have_text("Mise à disposition")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Facture F-2026-301")
    await screenshot(page, "supplier-invoice")

    refused = write_invoice(an_invoice("F-2026-302", buyer_siret=OTHER_SIRET), Syntax.UBL)
    await deposit_file(page, site, "F-2026-302.xml", refused)
    await expect(page.get_by_role("alert")).to_contain_text("INVOICE_INVALID")
    rule = page.get_by_role("row").filter(has_text="PF-BUYER-UNKNOWN")
    await expect(rule).to_contain_text("Bloquante")
    await expect(rule).to_contain_text("not a public structure of the directory")
    await screenshot(page, "supplier-deposit-refused")

    await page.goto(f"{site.url}/supplier/invoices/form")
    await page.get_by_label("SIRET de l'acheteur public").fill(BUYER_SIRET)
    await page.get_by_label("Numéro de facture").fill("FORM-2026-301")
    await page.get_by_label("Description 1").fill("Réparation de la toiture")
    await page.get_by_label("Quantité 1").fill("2")
    await page.get_by_label("Prix unitaire HT 1").fill("350,50")
    await page.get_by_label("Description 2").fill("Déplacement")
    await page.get_by_label("Quantité 2").fill("1")
    await page.get_by_label("Prix unitaire HT 2").fill("60")
    await page.get_by_label("TVA 2").select_option("10")
    await page.get_by_label("IBAN du compte à créditer").fill(IBAN)
    await screenshot(page, "supplier-form")
    await page.get_by_role("button", name="Déposer la facture").click()
    await page.wait_for_url(re.compile(r"/supplier/invoices/[0-9a-f-]{36}$"))
    await expect(page.get_by_role("status")).to_have_text("Facture déposée et acceptée.")
    await expect(page.locator(".current-status .status")).to_have_text("Mise à disposition")
    # 2 × 350.50 at 20 % and 60 at 10 %: 761.00 without VAT, 907.20 with it.
    await expect(page.locator("dl.facts").first).to_contain_text("907,20")

    await page.goto(f"{site.url}/supplier/invoices")
    await page.get_by_label("Numéro").fill("FORM")
    await page.get_by_label("Numéro").press("Enter")
    await expect(page).to_have_url(re.compile(r"number=FORM"))
    results = page.locator("#invoice-results tbody tr")
    await expect(results).to_have_count(1)
    await expect(results).to_contain_text("FORM-2026-301")
    await page.get_by_label("Numéro").fill("")
    await page.get_by_label("Numéro").press("Enter")
    await expect(results).to_have_count(3)
    await screenshot(page, "supplier-invoices")

    await page.get_by_role("link", name="Tableau de bord").click()
    counts = page.locator(".count")
    await expect(counts.filter(has_text="Mise à disposition")).to_contain_text("2")
    await expect(counts.filter(has_text="Rejetée")).to_contain_text("1")
    await screenshot(page, "supplier-dashboard")
