"""The legal clocks at awkward dates: month ends, the leap day of 2028, the Paris clock
changes (last Sunday of March and of October), and a workflow's payment timer crossing one.

The pure rules are read at those dates (`invoicing.deadlines`, `invoicing.interest`,
`procurement.model.standstill_end`, fed UTC instants as `workflow.now()` gives them); then
a real invoice workflow's deadline timer is run, with time skipping, across the next Paris
clock change from today.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from core.principals import Role
from invoicing.deadlines import PARIS, PaymentDeadlines, days_late, due_at, due_on, start_clock
from invoicing.formats import write_invoice
from invoicing.interest import late_interest
from invoicing.syntax import Syntax
from procurement.model import Procedure, StandstillPeriods, standstill_end
from store.models import Invoice, InvoiceEvent
from tests.conftest import ApiServer
from tests.faults.conftest import ON_SQLITE, XML, a_state_buyer, eventually
from tests.invoicing.builders import SELLER_SIRET, an_invoice
from workers.registry import Registrations

DEADLINES = PaymentDeadlines(
    state=timedelta(days=30),  # R2192-10
    local_authority=timedelta(days=30),
    hospital=timedelta(days=50),
    other=timedelta(days=60),
    after_interruption=timedelta(days=30),
)


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- the payment deadline: 30 days for the State, on the Paris calendar -----------------


@pytest.mark.parametrize(
    ("received", "due", "hours"),
    [
        # month ends: February is short, and 29 days long in 2028
        ("2027-01-31T09:00", "2027-03-02T09:00+01:00", 720),
        ("2028-01-30T09:00", "2028-02-29T09:00+01:00", 720),
        ("2028-01-31T09:00", "2028-03-01T09:00+01:00", 720),
        ("2027-12-15T16:00", "2028-01-14T16:00+01:00", 720),
        # spring forward on 26 March 2028: 23 hours that day, one hour less in all
        ("2028-03-10T10:00", "2028-04-09T10:00+02:00", 719),
        # fall back on 29 October 2028: 25 hours that day, one hour more in all
        ("2028-10-10T10:00", "2028-11-09T10:00+01:00", 721),
        # due in the night of the change: 02:30 does not exist on 26 March (03:30 CEST),
        # happens twice on 29 October (the first, CEST): the due date holds either way
        ("2028-02-25T02:30", "2028-03-26T03:30+02:00", 720),
        ("2028-09-29T02:30", "2028-10-29T02:30+02:00", 720),
    ],
)
def test_the_state_pays_within_30_calendar_days_in_paris(
    received: str, due: str, hours: int
) -> None:
    # The workflow hands the clock the deposit time in UTC.
    clock = start_clock(paris(received).astimezone(UTC), "STATE", DEADLINES)
    expected = datetime.fromisoformat(due)
    found = due_at(clock)
    assert found is not None
    # Instants compared in UTC: an ambiguous Paris time never equals another zone's (PEP 495).
    assert found.astimezone(UTC) == expected.astimezone(UTC)
    assert found.utcoffset() == expected.utcoffset()
    assert due_on(clock) == expected.date()
    assert found - clock.start == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("received", "paid", "days", "rate", "interest"),
    [
        # due on the leap day; paid the next day: one day late
        ("2028-01-30T09:00", "2028-02-29", 0, "0", "0.00"),
        ("2028-01-30T09:00", "2028-03-01", 1, "10.15", "2.78"),
        # due on the Sunday clocks go forward; the Monday is the first day late
        ("2028-02-25T10:00", "2028-03-26", 0, "0", "0.00"),
        ("2028-02-25T10:00", "2028-03-27", 1, "10.15", "2.78"),
        # received on a month end: due 30 June, so interest starts on 1 July and takes the
        # rate in force on 1 July 2023 (4.00 + 8); due 29 June: the January rate (2.50 + 8)
        ("2023-05-31T10:00", "2023-07-10", 10, "12.00", "32.88"),
        ("2023-05-30T10:00", "2023-07-10", 11, "10.50", "31.64"),
        # received at 00:30 in Paris on 1 April (22:30 UTC the day before): Paris date counts
        ("2028-04-01T00:30", "2028-05-02", 1, "10.15", "2.78"),
    ],
)
def test_late_interest_runs_from_the_day_after_the_paris_due_date(
    received: str, paid: str, days: int, rate: str, interest: str
) -> None:
    amount = Decimal("10000.00")
    clock = start_clock(paris(received).astimezone(UTC), "STATE", DEADLINES)
    assert days_late(clock, date.fromisoformat(paid)) == days
    owed = late_interest(amount, due_on(clock), date.fromisoformat(paid))  # type: ignore[arg-type]
    assert (owed.days_late, owed.rate, owed.interest) == (days, Decimal(rate), Decimal(interest))
    assert owed.compensation == (Decimal("40.00") if days else Decimal("0.00"))


# --- the standstill: 11 days after the award decision is sent (R2182-1) -------------------


def test_a_standstill_between_clock_changes_ends_11_days_later_at_the_same_paris_time() -> None:
    sent = paris("2028-05-10T10:00").astimezone(UTC)  # as `workflow.now()` gives it
    end = standstill_end(Procedure.OPEN, sent, True, StandstillPeriods())
    assert end is not None and end.astimezone(PARIS) == paris("2028-05-21T10:00")


@pytest.mark.parametrize(
    ("sent", "ends"),
    [("2028-03-20T10:00", "2028-03-31T10:00"), ("2028-10-20T10:00", "2028-10-31T10:00")],
)
def test_a_standstill_across_a_clock_change_ends_at_the_paris_time_of_the_decision(
    sent: str, ends: str
) -> None:
    end = standstill_end(Procedure.OPEN, paris(sent).astimezone(UTC), True, StandstillPeriods())
    assert end is not None and end.astimezone(PARIS) == paris(ends)


# --- a real invoice workflow's deadline timer across the next clock change ---------------


def next_clock_change(after: date) -> date:
    """The first day after `after` whose noon in Paris has another UTC offset than the day
    before's: the Sunday the clocks change."""

    def offset(day: date) -> timedelta | None:
        return datetime(day.year, day.month, day.day, 12, tzinfo=PARIS).utcoffset()

    day = after + timedelta(days=1)
    while offset(day) == offset(day - timedelta(days=1)):
        day += timedelta(days=1)
    return day


TODAY = datetime.now(UTC).date()
DEADLINE_DAYS = (next_clock_change(TODAY) - TODAY).days + 3


@pytest.fixture
def api_overrides() -> dict[str, object]:
    """A State deadline long enough to cross the next Paris clock change from today."""
    return {"payment_deadline_state": timedelta(days=DEADLINE_DAYS)}


@pytest.mark.slow
@ON_SQLITE
async def test_an_invoice_workflow_raises_overdue_at_the_paris_due_time_across_a_clock_change(
    api: ApiServer, workers: Registrations, temporal_env: WorkflowEnvironment
) -> None:
    await a_state_buyer(api.sessions)
    supplier = await api.as_role(Role.SUPPLIER, SELLER_SIRET)
    body = write_invoice(an_invoice("F-2026-DST"), Syntax.UBL)
    deposited = await supplier.post("/v1/invoices", content=body, headers=XML)
    assert deposited.status_code == 201, deposited.text
    deadline = (await supplier.get(f"{deposited.headers['location']}/deadline")).json()
    received = datetime.fromisoformat(deadline["deposited_at"]).astimezone(PARIS)
    due = datetime.fromisoformat(deadline["due_at"]).astimezone(PARIS)
    # The same Paris time, DEADLINE_DAYS calendar days on: an hour off 24-hour days.
    assert due.date() == received.date() + timedelta(days=DEADLINE_DAYS)
    assert (due.hour, due.minute) == (received.hour, received.minute)
    elapsed = due.astimezone(UTC) - received.astimezone(UTC)
    assert abs(elapsed - timedelta(days=DEADLINE_DAYS)) == timedelta(hours=1)

    handle = temporal_env.client.get_workflow_handle(f"invoice:{SELLER_SIRET}:F-2026-DST")
    overdue = select(InvoiceEvent.occurred_at).where(InvoiceEvent.type == "invoice.overdue")

    async def raised() -> list[datetime]:
        async with api.sessions() as session:
            return list(await session.scalars(overdue))

    now = await temporal_env.get_current_time(handle)
    await temporal_env.fast_forward(handle, due - now - timedelta(minutes=10))
    await asyncio.sleep(1)  # time for a timer set an hour early to fire and be recorded
    assert await raised() == [], "overdue before the Paris due time"
    await temporal_env.fast_forward(handle, timedelta(minutes=20))
    [at] = await eventually(raised, 10, "the overdue event")  # type: ignore[misc]
    assert due <= at < due + timedelta(minutes=11)
    async with api.sessions() as session:
        assert await session.scalar(select(Invoice.status)) == "MISE_A_DISPOSITION"
