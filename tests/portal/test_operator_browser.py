"""An operator in Chromium: finds a workflow whose activity keeps failing, opens it, pauses
it while the cause is fixed and retries it, each with a reason typed in a dialog, sees the
outcome and its audit entries, then looks at the charts."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect

from core.principals import Role
from store.database import transaction
from tests.api.test_statistics_api import february_invoices
from tests.ops import conftest as ops_fixtures
from tests.ops.conftest import Probes, eventually
from tests.portal.conftest import Site, screenshot, sign_in

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

probes = ops_fixtures.probes  # probe workflows whose one activity fails until unblocked


async def paused(ops_api: httpx.AsyncClient, workflow_id: str) -> bool:
    """Whether the workflow's activity is paused (no attempt runs any more)."""
    described = (await ops_api.get(f"/v1/ops/workflows/{workflow_id}")).json()
    return [a["state"] for a in described["pending_activities"]] == ["PAUSED"]


async def test_an_operator_retries_a_stuck_workflow_and_reads_the_audit_trail(
    site: Site, probes: Probes, page: Page
) -> None:
    handle = await probes.start("browser-1", released=True)
    ops_api = await site.api.as_role(Role.OPS)

    async def failing() -> bool:
        items = (await ops_api.get("/v1/ops/stuck")).json()["items"]
        return any(item["workflow_id"] == handle.id for item in items)

    await eventually(failing)
    operator = await site.person(Role.OPS, name="Opératrice Ops")
    await sign_in(page, site, operator)

    await expect(page.get_by_role("heading", name="Workflows bloqués")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=handle.id)
    await expect(row).to_contain_text("Une activité échoue")
    await expect(row).to_contain_text("RuntimeError: blocked by browser-1")
    await screenshot(page, "operator-stuck")

    await row.get_by_role("link", name=handle.id).click()
    await expect(page.get_by_role("heading", name=handle.id, level=1)).to_be_visible()
    await expect(page.get_by_role("cell", name="probe_step").first).to_be_visible()
    await screenshot(page, "operator-workflow")

    # Paused while its cause is fixed, so no automatic attempt succeeds before the retry.
    await page.get_by_role("link", name="Mettre en pause").click()
    pause = page.locator("#dialog-pause")
    await pause.get_by_label("Motif").fill("en attendant le correctif")
    await pause.get_by_role("button", name="Mettre en pause").click()
    await expect(page.locator(".flash-success")).to_contain_text("Mettre en pause :")
    await eventually(lambda: paused(ops_api, handle.id))
    probes.unblock("browser-1")

    await page.get_by_role("link", name="Relancer").click()
    dialog = page.locator("#dialog-retry")
    await expect(dialog).to_be_visible()
    await dialog.get_by_label("Motif").fill("fichier bloquant retiré")
    await dialog.get_by_role("button", name="Relancer").click()

    await expect(page.locator(".flash-success")).to_contain_text("Relancer :")
    await expect(page.locator(".flash-success")).to_contain_text("journal d'audit n°")
    assert await handle.result() == "done"
    await page.reload()
    await expect(page.get_by_text("COMPLETED", exact=True)).to_be_visible()

    await page.get_by_role("link", name="Journal d'audit").click()
    entry = page.get_by_role("row").filter(has_text="fichier bloquant retiré")
    await expect(entry).to_contain_text("retry")
    await expect(entry).to_contain_text("Fait")
    await expect(entry.get_by_role("link", name=handle.id)).to_be_visible()
    await screenshot(page, "operator-audit")


async def test_an_operator_reads_the_charts_and_their_figures(site: Site, page: Page) -> None:
    async with transaction(site.api.sessions) as session:
        session.add_all(february_invoices())
    await sign_in(page, site, await site.person(Role.OPS, name="Opératrice Ops"))

    await page.get_by_role("link", name="Tableaux").click()
    await page.get_by_label("Du", exact=True).fill("2026-02-02")
    await page.get_by_label("Au", exact=True).fill("2026-02-22")
    await page.get_by_role("button", name="Afficher").click()

    weekly = page.get_by_role("img", name="Factures déposées par semaine, selon leur statut actuel")
    await expect(weekly).to_be_visible()
    await expect(page.get_by_role("img")).to_have_count(4)
    await expect(page.get_by_text("Délai légal : 30 j", exact=True)).to_be_visible()
    figures = page.locator("#chart-overdue-buyer")
    await figures.get_by_text("Voir les données").click()
    await expect(
        figures.get_by_role("row", name="Ministère de l'Exemple (11000201100044)")
    ).to_contain_text("600,00")
    await screenshot(page, "operator-charts")
