"""Every main page of every role, read as a screen reader and a phone would: a language,
one title, every field named, every table with headers, no image without a text."""

from __future__ import annotations

import httpx
import pytest
from lxml import html
from playwright.async_api import Page

from core.principals import Role
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET
from tests.portal.conftest import Site, sign_in

PAGES = {
    Role.SUPPLIER: [
        "/supplier",
        "/supplier/invoices",
        "/supplier/invoices/new",
        "/supplier/invoices/form",
        "/supplier/consultations",
        "/supplier/webhooks",
        "/messages",
        "/messages/new",
        "/notifications",
    ],
    Role.BUYER: ["/buyer", "/buyer/rejections", "/buyer/consultations", "/buyer/consultations/new"],
    Role.ACCOUNTANT: ["/accountant", "/accountant/payment-runs", "/accountant/bank-statements"],
    Role.OPS: ["/operator", "/operator/audit", "/operator/charts"],
}
UNNAMED_TYPES = {"hidden", "submit", "button", "reset", "image"}


def problems_of(page: str) -> list[str]:
    """What keeps this page from being read without the eyes."""
    tree = html.fromstring(page)
    found = []
    if not tree.get("lang"):
        found.append("no lang on <html>")
    if len(tree.findall(".//h1")) != 1:
        found.append(f"{len(tree.findall('.//h1'))} <h1>")
    labelled = {label.get("for") for label in tree.iter("label")}
    for field in tree.xpath("//input | //select | //textarea"):
        if field.get("type") in UNNAMED_TYPES:
            continue
        named = (
            field.get("id") in labelled
            or field.get("aria-label")
            or field.get("aria-labelledby")
            or any(parent.tag == "label" for parent in field.iterancestors())
        )
        if not named:
            found.append(f"unnamed {field.tag} {field.get('name')}")
    for table in tree.iter("table"):
        if not table.findall(".//th"):
            found.append("a table without headers")
    for image in tree.iter("img"):
        if image.get("alt") is None:
            found.append(f"an image without alt: {image.get('src')}")
    for svg in tree.iter("svg"):
        if svg.get("role") == "img" and svg.find("title") is None:
            found.append("a drawing without a title")
    return found


@pytest.mark.parametrize("role", list(PAGES))
async def test_every_main_page_names_its_fields_and_headers(site: Site, role: Role) -> None:
    sirets = () if role is Role.OPS else (SELLER_SIRET if role is Role.SUPPLIER else BUYER_SIRET,)
    client = await site.signed_in(await site.person(role, *sirets))
    report: dict[str, list[str]] = {}
    for path in PAGES[role]:
        answer: httpx.Response = await client.get(path)
        assert answer.status_code == 200, (path, answer.text[:500])
        if problems := problems_of(answer.text):
            report[path] = problems
    assert report == {}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_pages_fit_a_phone_and_the_keyboard_reaches_the_content(
    site: Site, page: Page
) -> None:
    await page.set_viewport_size({"width": 375, "height": 740})
    await sign_in(page, site, await site.person(Role.SUPPLIER, SELLER_SIRET))
    for path in ("/supplier", "/supplier/invoices", "/supplier/invoices/form"):
        await page.goto(f"{site.url}{path}")
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} is {overflow}px wider than a phone"
    await page.keyboard.press("Tab")  # the first stop is the skip link
    focused = await page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main"
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "main"
