"""Invoice statistics through the API: weekly deposits by status (Paris weeks), days from
deposit to payment beside the legal deadlines, overdue amounts, each caller's scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from core.principals import Role
from store.database import transaction
from store.models import Invoice
from tests.api.test_conventions import assert_problem
from tests.conftest import ApiServer
from tests.store.test_invoice_queries import CITY, MINISTRY, WORKSHOP, an_invoice_row

FEBRUARY = {"from": "2026-02-02", "to": "2026-02-22"}  # three Paris weeks, Monday to Sunday


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def paid(
    number: str, deposited: str, paid_on: date, category: str, *, buyer: str = MINISTRY
) -> Invoice:
    """An invoice paid on `paid_on`, on time."""
    row = an_invoice_row(
        number, buyer=buyer, status="PAYEE", deposited_at=at(deposited), paid_on=paid_on
    )
    row.structure_category = category
    return row


def overdue(
    number: str, days: int, amount: str, *, buyer: str = MINISTRY, **fields: object
) -> Invoice:
    """An invoice whose due date passed `days` days ago (in the future if negative)."""
    return an_invoice_row(
        number,
        buyer=buyer,
        amount=amount,
        due_at=datetime.now(UTC) - timedelta(days=days, hours=1),
        **fields,  # type: ignore[arg-type]
    )


def late(row: Invoice) -> Invoice:
    """The same invoice, paid after its due date: late interest was computed."""
    row.late_interest = Decimal("12.34")
    return row


@dataclass
class Figures:
    ministry: httpx.AsyncClient
    operator: httpx.AsyncClient

    async def of(self, client: httpx.AsyncClient, **params: str) -> dict:
        answer = await client.get("/v1/statistics/invoices", params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()


def february_invoices() -> list[Invoice]:
    """Deposits and payments of February 2026 for the ministry and the city, and invoices
    overdue today (O1 to O3 and O7: 650.00, the others are not overdue)."""
    return [
        # Deposits: Paris weeks start on Monday at midnight in Paris, 23:00 UTC in winter.
        paid("A", "2026-02-02T10:00:00", date(2026, 2, 20), "STATE"),
        an_invoice_row("E", status="MISE_A_DISPOSITION", deposited_at=at("2026-02-08T23:30:00")),
        an_invoice_row("F", status="REJETEE", deposited_at=at("2026-02-01T23:30:00")),
        an_invoice_row("G", status="REJETEE", deposited_at=at("2026-02-01T22:30:00")),  # before
        late(paid("C", "2026-01-10T09:00:00", date(2026, 2, 16), "STATE")),
        paid("D", "2026-02-05T09:00:00", date(2026, 2, 10), "LOCAL_AUTHORITY", buyer=CITY),
        # Overdue now: unpaid, open, past due; the others are not.
        overdue("O1", 10, "100.00"),
        overdue("O2", 45, "200.00"),
        overdue("O3", 200, "300.00"),
        overdue("O4", 10, "999.00", status="REJETEE"),
        overdue("O5", -5, "999.00"),
        overdue("O6", 20, "999.00", paid_on=date(2026, 2, 1)),
        overdue("O7", 5, "50.00", buyer=CITY),
    ]


@pytest.fixture
async def figures(api: ApiServer) -> Figures:
    async with transaction(api.sessions) as session:
        session.add_all(february_invoices())
    return Figures(await api.as_role(Role.BUYER, MINISTRY), await api.as_role(Role.OPS))


async def test_a_buyer_sees_its_weekly_deposits_by_status_in_paris_weeks(
    figures: Figures,
) -> None:
    body = await figures.of(figures.ministry, **FEBRUARY)

    assert (body["from"], body["to"]) == ("2026-02-02", "2026-02-22")
    assert body["weeks"] == [
        {"week": "2026-02-02", "total": 2, "counts": {"PAYEE": 1, "REJETEE": 1}},
        {"week": "2026-02-09", "total": 1, "counts": {"MISE_A_DISPOSITION": 1}},
        {"week": "2026-02-16", "total": 0, "counts": {}},
    ]


async def test_payment_delays_count_days_from_deposit_with_the_legal_deadlines(
    figures: Figures,
) -> None:
    ministry = (await figures.of(figures.ministry, **FEBRUARY))["payment_delays"]
    assert ministry == {
        "paid": 2,
        "late": 1,
        "delays": [{"days": 18, "count": 1, "late": 0}, {"days": 37, "count": 1, "late": 1}],
        "deadlines": [{"category": "STATE", "days": 30}],
    }

    everyone = (await figures.of(figures.operator, **FEBRUARY))["payment_delays"]
    assert [(d["days"], d["count"]) for d in everyone["delays"]] == [(5, 1), (18, 1), (37, 1)]
    assert everyone["deadlines"] == [
        {"category": "LOCAL_AUTHORITY", "days": 30},
        {"category": "STATE", "days": 30},
    ]


async def test_overdue_amounts_by_age_and_by_buyer(figures: Figures) -> None:
    ministry = (await figures.of(figures.ministry))["overdue"]
    assert (ministry["count"], ministry["amount"]) == (3, "600.00")
    assert ministry["by_age"] == [
        {"days_from": 0, "days_to": 30, "count": 1, "amount": "100.00"},
        {"days_from": 31, "days_to": 60, "count": 1, "amount": "200.00"},
        {"days_from": 61, "days_to": 90, "count": 0, "amount": "0.00"},
        {"days_from": 91, "days_to": None, "count": 1, "amount": "300.00"},
    ]
    assert ministry["by_buyer"] == [
        {
            "buyer_siret": MINISTRY,
            "buyer_name": "Ministère de l'Exemple",
            "count": 3,
            "amount": "600.00",
        }
    ]

    everyone = (await figures.of(figures.operator))["overdue"]
    assert (everyone["count"], everyone["amount"]) == (4, "650.00")
    assert [(b["buyer_siret"], b["amount"]) for b in everyone["by_buyer"]] == [
        (MINISTRY, "600.00"),
        (CITY, "50.00"),
    ]
    city = (await figures.of(figures.operator, structure=CITY))["overdue"]
    assert (city["count"], city["amount"]) == (1, "50.00")


async def test_the_default_period_is_the_last_twelve_weeks(figures: Figures) -> None:
    body = await figures.of(figures.ministry)
    first, last = date.fromisoformat(body["from"]), date.fromisoformat(body["to"])
    assert first.weekday() == 0
    assert len(body["weeks"]) == 12
    assert (last - first).days == 77 + last.weekday()


async def test_a_supplier_sees_the_invoices_it_sent_by_status_and_overdue(
    api: ApiServer, figures: Figures
) -> None:
    workshop = await api.as_role(Role.SUPPLIER, WORKSHOP)
    body = await figures.of(workshop, **FEBRUARY)
    assert sorted((s["status"], s["count"], s["amount"]) for s in body["statuses"]) == [
        ("MISE_A_DISPOSITION", 7, "4088.00"),
        ("PAYEE", 3, "4320.00"),
        ("REJETEE", 3, "3879.00"),
    ]
    assert (body["overdue"]["count"], body["overdue"]["amount"]) == (4, "650.00")
    assert body["payment_delays"]["paid"] == 3  # the ministry's and the city's alike
    stranger = await api.as_role(Role.SUPPLIER, "44306184100047")
    assert (await figures.of(stranger))["statuses"] == []
    assert_problem(
        await workshop.get("/v1/statistics/invoices", params={"structure": MINISTRY}),
        404,
        "STRUCTURE_NOT_FOUND",
    )


async def test_refusals_name_their_code(api: ApiServer, figures: Figures) -> None:
    url = "/v1/statistics/invoices"
    moe = await api.as_role(Role.MOE, MINISTRY)
    assert_problem(await moe.get(url), 403, "FORBIDDEN_ROLE")
    assert_problem(await api.anonymous().get(url), 401, "AUTH_REQUIRED")
    assert_problem(
        await figures.ministry.get(url, params={"structure": CITY}), 404, "STRUCTURE_NOT_FOUND"
    )
    assert_problem(
        await figures.ministry.get(url, params={"structure": "123"}), 422, "SIRET_INVALID"
    )
    backwards = await figures.ministry.get(url, params={"from": "2026-03-01", "to": "2026-02-01"})
    assert assert_problem(backwards, 422, "VALIDATION_FAILED")["errors"][0]["parameter"] == "from"
    too_long = await figures.ministry.get(url, params={"from": "2025-01-01", "to": "2026-02-01"})
    assert_problem(too_long, 422, "VALIDATION_FAILED")
    assert_problem(await figures.ministry.get(url, params={"to": "soon"}), 422, "VALIDATION_FAILED")
