"""Signing in with a real browser."""

from __future__ import annotations

from playwright.async_api import Page, expect

from core.principals import Role
from tests.invoicing.builders import SELLER_SIRET
from tests.portal.conftest import Site, screenshot, sign_in


async def test_a_person_signs_in_and_out_in_chromium(site: Site, page: Page) -> None:
    person = await site.person(Role.SUPPLIER, SELLER_SIRET, name="Atelier Dupont")
    await page.goto(f"{site.url}/login")
    await screenshot(page, "login")
    await sign_in(page, site, person)
    await expect(page.get_by_text("Atelier Dupont")).to_be_visible()
    await page.get_by_role("button", name="Se déconnecter").click()
    await expect(page).to_have_url(f"{site.url}/login")
