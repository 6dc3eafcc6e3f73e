"""The operator's pages over plain HTTP: stuck workflows, one workflow and the actions on it
(each with a reason, CSRF-checked, refusals shown with their code), the audit trail, and
the charts of the invoices."""

from __future__ import annotations

import html
import re

import httpx

from core.principals import Role
from store.database import transaction
from store.ops_audit import OpsAuditRepository
from tests.api.test_statistics_api import february_invoices
from tests.invoicing.builders import BUYER_SIRET
from tests.ops import conftest as ops_fixtures
from tests.ops.conftest import Probes, eventually
from tests.portal.conftest import Site, csrf_of

probes = ops_fixtures.probes  # probe workflows whose one activity fails until unblocked


async def operator_of(site: Site) -> httpx.AsyncClient:
    return await site.signed_in(await site.person(Role.OPS, name="Opératrice Ops"))


def text_of(page: httpx.Response) -> str:
    """The page's text, tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


async def test_only_operators_reach_the_operator_pages(site: Site) -> None:
    buyer = await site.signed_in(await site.person(Role.BUYER, BUYER_SIRET))
    for path in ("/operator", "/operator/audit", "/operator/charts", "/operator/workflows/x"):
        refused = await buyer.get(path)
        assert refused.status_code == 403, path
        assert "FORBIDDEN_ROLE" in refused.text
    stranger = await site.api.anonymous().get("/operator/audit")
    assert (stranger.status_code, stranger.headers["location"]) == (
        303,
        "/login?next=%2Foperator%2Faudit",
    )


async def test_a_failing_activity_is_listed_described_and_retried_with_a_reason(
    site: Site, probes: Probes
) -> None:
    handle = await probes.start("pages-1", released=True)
    operator = await operator_of(site)

    async def listed() -> str | None:
        page = await operator.get("/operator")
        assert page.status_code == 200, page.text
        return text_of(page) if "blocked by pages-1" in page.text else None

    stuck = await eventually(listed)
    assert "Une activité échoue" in stuck and "ACTIVITY_FAILING" in stuck
    assert "RuntimeError: blocked by pages-1" in stuck
    assert f'href="/operator/workflows/{handle.id}"' in (await operator.get("/operator")).text

    described = await operator.get(f"/operator/workflows/{handle.id}")
    assert described.status_code == 200, described.text
    shown = text_of(described)
    assert "OpsProbeWorkflow" in shown and "probe_step" in shown and "RUNNING" in shown
    assert 'data-open-dialog="dialog-retry"' in described.text
    assert "Adresse de l'interface inconnue (cluster)" in shown  # the tests' Temporal is remote

    token = await csrf_of(operator, "/operator")
    retry = f"/operator/workflows/{handle.id}/retry"
    forged = await operator.post(retry, data={"reason": "x", "csrf_token": "forged"})
    assert (forged.status_code, "CSRF_FAILED" in forged.text) == (403, True)
    reasonless = await operator.post(retry, data={"reason": " ", "csrf_token": token})
    assert reasonless.status_code == 422
    assert "OPS_REASON_REQUIRED" in reasonless.text
    assert "Action refusée : Relancer" in text_of(reasonless)

    # Paused while the cause is fixed, so no automatic attempt succeeds before the retry.
    paused = await operator.post(
        f"/operator/workflows/{handle.id}/pause", data={"reason": "fixing", "csrf_token": token}
    )
    assert paused.status_code == 303

    async def pause_took() -> bool:
        return "PAUSED" in (await operator.get(f"/operator/workflows/{handle.id}")).text

    await eventually(pause_took)
    probes.unblock("pages-1")
    done = await operator.post(retry, data={"reason": "blocker removed", "csrf_token": token})
    assert (done.status_code, done.headers["location"]) == (303, f"/operator/workflows/{handle.id}")
    assert await handle.result() == "done"
    after = text_of(await operator.get(done.headers["location"]))
    assert re.search(r"Relancer : .+ \(journal d'audit n° \d+\)\.", after), after
    assert "COMPLETED" in after

    trail = text_of(await operator.get("/operator/audit", params={"action": "retry"}))
    assert "blocker removed" in trail and "Fait" in trail and handle.id in trail


async def test_a_refused_action_shows_its_code_and_keeps_the_reason(
    site: Site, probes: Probes
) -> None:
    handle = await probes.start("pages-2")  # not released: nothing runs yet
    operator = await operator_of(site)
    token = await csrf_of(operator, "/operator")
    page = await operator.post(
        f"/operator/workflows/{handle.id}/pause",
        data={"reason": "stop it", "csrf_token": token},
    )
    assert page.status_code == 409
    assert "OPS_ACTION_REFUSED" in page.text and "has no pending activity" in page.text
    assert ">stop it</textarea>" in page.text

    ended = await operator.post(
        f"/operator/workflows/{handle.id}/terminate",
        data={"reason": "started by mistake", "csrf_token": token},
    )
    assert ended.status_code == 303
    assert "TERMINATED" in text_of(await operator.get(ended.headers["location"]))
    refused = text_of(await operator.get("/operator/audit", params={"action": "pause"}))
    assert "Refusé OPS_ACTION_REFUSED" in refused and "stop it" in refused

    missing = await operator.get("/operator/workflows/probe:nobody")
    assert (missing.status_code, "WORKFLOW_NOT_FOUND" in missing.text) == (404, True)


async def test_the_audit_trail_pages_through_older_entries(site: Site) -> None:
    async with transaction(site.api.sessions) as session:
        audit = OpsAuditRepository(session)
        for n in range(52):
            await audit.record("cl_night", "terminate", f"probe:{n}", f"reason {n}", {"ok": True})
        await audit.record("cl_day", "retry", "probe:day", "by day", {"ok": True})
    operator = await operator_of(site)

    first = await operator.get("/operator/audit", params={"action": "terminate"})
    assert first.status_code == 200
    assert "reason 51" in first.text and "reason 2<" in first.text and "by day" not in first.text
    older = re.search(r'href="\?actor=&amp;action=terminate&amp;cursor=(\d+)"', first.text)
    assert older, first.text
    second = await operator.get(
        "/operator/audit", params={"action": "terminate", "cursor": older[1]}
    )
    assert "reason 1<" in second.text and "reason 0<" in second.text
    assert "reason 2<" not in second.text and "Entrées plus anciennes" not in second.text

    by_day = text_of(await operator.get("/operator/audit", params={"actor": "cl_day"}))
    assert "by day" in by_day and "reason 0" not in by_day
    bad = await operator.get("/operator/audit", params={"cursor": "x"})
    assert (bad.status_code, "VALIDATION_FAILED" in bad.text) == (422, True)


async def test_charts_draw_the_period_and_carry_their_figures(site: Site) -> None:
    async with transaction(site.api.sessions) as session:
        session.add_all(february_invoices())
    operator = await operator_of(site)

    page = await operator.get("/operator/charts", params={"from": "2026-02-02", "to": "2026-02-22"})
    assert page.status_code == 200, page.text
    assert page.text.count('role="img"') == 4
    assert 'aria-labelledby="chart-weekly-title chart-weekly-desc"' in page.text
    assert " style=" not in page.text  # the CSP forbids inline styles
    shown = text_of(page)
    assert (
        "Factures déposées du 02/02/2026 au 22/02/2026, par semaine (lundi) et statut : 4." in shown
    )
    assert "Factures payées du 02/02/2026 au 22/02/2026 : 3, dont 1 après leur échéance" in shown
    assert "Délai légal : 30 j" in shown
    # The tables under the charts: weeks by status family, delays, overdue by age and buyer.
    assert "02/02 0 0 0 2 1 3" in shown  # in progress, waiting, paying, paid, rejected, total
    assert "09/02 1 0 0 0 0 1" in shown
    assert "0–5 1 0 1" in shown and "16–20 1 0 1" in shown and "36–40 0 1 1" in shown
    assert "0–30 j (factures : 2) 150,00 €" in shown
    assert "Ministère de l'Exemple (11000201100044) 600,00 €" in shown

    await operator.get("/lang/en", params={"next": "/operator/charts"})
    english = text_of(
        await operator.get("/operator/charts", params={"from": "2026-02-02", "to": "2026-02-22"})
    )
    assert "Invoices submitted per week, by current status" in english
    assert "Ministère de l'Exemple (11000201100044) €600.00" in english

    refused = await operator.get(
        "/operator/charts", params={"from": "2026-03-01", "to": "2026-02-01"}
    )
    assert refused.status_code == 422 and "VALIDATION_FAILED" in refused.text
