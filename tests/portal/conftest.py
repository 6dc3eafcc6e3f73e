"""The portal served by the real API on loopback, people signed in over HTTP, and Debian's
Chromium driven by Playwright (which cannot download its own browsers here)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from core.principals import Role
from directory.records import StructureCategory, StructureRecord
from portal.accounts import create_user
from store.database import transaction
from store.directory import DirectoryRepository
from tests.conftest import ApiServer
from tests.invoicing.builders import BUYER_SIRET

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "var" / "screenshots"
PASSWORD = "un mot de passe assez long"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
# Chromium's own calls home are refused on this network; without these flags it retries them.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass(frozen=True)
class Person:
    """Someone who signs in to the portal."""

    username: str
    password: str
    role: Role
    sirets: tuple[str, ...]


@dataclass
class Site:
    """The portal of a running API, and the people who use it."""

    api: ApiServer

    @property
    def url(self) -> str:
        return self.api.url

    async def person(self, role: Role, *sirets: str, name: str | None = None) -> Person:
        """A new person of `role` acting for `sirets`, made as `chaine users create` does."""
        username = f"{role.value}-{len(sirets)}-{os.urandom(3).hex()}"
        async with transaction(self.api.sessions) as session:
            await create_user(
                session, username, PASSWORD, role, list(sirets), name or username.title()
            )
        return Person(username, PASSWORD, role, sirets)

    async def signed_in(self, person: Person) -> httpx.AsyncClient:
        """An HTTP client whose cookies hold a session of `person` (plain HTTP, no browser)."""
        client = self.api.anonymous()
        form = await client.get("/login")
        token = CSRF_FIELD.search(form.text)
        assert token, form.text
        answer = await client.post(
            "/login",
            data={"username": person.username, "password": person.password, "csrf_token": token[1]},
        )
        assert answer.status_code == 303, answer.text
        return client


async def csrf_of(client: httpx.AsyncClient, path: str = "/") -> str:
    """The CSRF token the pages of this session carry."""
    page = await client.get(path, follow_redirects=True)
    found = CSRF_META.search(page.text)
    assert found, page.text
    return found[1]


@pytest.fixture
async def site(api: ApiServer, workers: object) -> Site:
    """The portal with its workers, and the ministry people deposit invoices to."""
    async with transaction(api.sessions) as session:
        await DirectoryRepository(session).upsert_structure(
            StructureRecord(BUYER_SIRET, "Ministère des tests", StructureCategory.STATE)
        )
    return Site(api)


def chromium_path() -> str:
    """Debian's Chromium (`make test` installs it when missing and run as root)."""
    found = os.environ.get("CHAINE_CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail(
            "Chromium is not installed: run `make test` as root, or `apt-get install chromium`, "
            "or set CHAINE_CHROMIUM to a Chromium executable",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium for the session."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@pytest.fixture
async def browser_context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (cookies, storage) for one test, in French."""
    context = await browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    yield context
    await context.close()


@pytest.fixture
async def page(browser_context: BrowserContext) -> Page:
    """A tab of the test's browser profile."""
    return await browser_context.new_page()


async def sign_in(page: Page, site: Site, person: Person) -> None:
    """Sign in through the form, as a person would."""
    await page.goto(f"{site.url}/login")
    await page.get_by_label("Nom d'utilisateur").fill(person.username)
    await page.get_by_label("Mot de passe").fill(person.password)
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url(lambda url: "/login" not in url)


async def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as `var/screenshots/NAME.png` (a test artefact, not committed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
