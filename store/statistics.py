"""Invoice statistics for charts: deposits per week by status, days from deposit to payment,
and what is overdue, by age and by buyer.

Every figure is an SQL aggregate that runs on SQLite and PostgreSQL alike: week and age
buckets are `CASE` expressions over boundaries computed here (Paris weeks, whole days), so
no date function of either database is needed, but for the day of a deposit (`UtcDay`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, case, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from store.invoice_queries import overdue_condition, paris_day_start
from store.models import Invoice

OVERDUE_AGES: tuple[tuple[int, int | None], ...] = ((0, 30), (31, 60), (61, 90), (91, None))
"""Buckets of days past the due date (inclusive bounds; None: no upper bound)."""
TOP_BUYERS = 10  # the buyers with the largest overdue amounts, listed one by one
CENTS = Decimal("0.01")


class UtcDay(FunctionElement[date]):
    """The UTC calendar day of a timestamp column (SQLite keeps timestamps as UTC text)."""

    type = Date()
    inherit_cache = True


@compiles(UtcDay)
def _utc_day_sqlite(element: UtcDay, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(UtcDay, "postgresql")
def _utc_day_postgresql(element: UtcDay, compiler: SQLCompiler, **kw: Any) -> str:
    # A `timestamptz` cast to date takes the session's time zone: name UTC instead.
    return f"CAST(timezone('UTC', {compiler.process(element.clauses, **kw)}) AS DATE)"


@dataclass(frozen=True)
class StatisticsScope:
    """Whose invoices are counted: those received by the buyer SIRETs, or sent by the seller
    SIRETs (None for both: every invoice, for operators)."""

    buyer_sirets: frozenset[str] | None
    seller_sirets: frozenset[str] | None = None

    def condition(self) -> ColumnElement[bool]:
        """The invoices of the scope."""
        if self.seller_sirets is not None:
            return Invoice.seller_key.in_(sorted(self.seller_sirets))
        if self.buyer_sirets is None:
            return true()
        return Invoice.buyer_siret.in_(sorted(self.buyer_sirets))


@dataclass(frozen=True)
class Period:
    """Calendar days in Paris, both included."""

    first: date
    last: date

    def mondays(self) -> list[date]:
        """The Monday of each week the period touches."""
        monday = self.first - timedelta(days=self.first.weekday())
        weeks = []
        while monday <= self.last:
            weeks.append(monday)
            monday += timedelta(days=7)
        return weeks


@dataclass(frozen=True)
class WeekStatuses:
    """Invoices deposited in one week (within the period), by their current status."""

    week: date  # its Monday
    counts: dict[str, int]


@dataclass(frozen=True)
class PaymentDelay:
    """Invoices paid this many days after the day they were deposited, and how many of
    them late (past their due date: late interest is owed)."""

    days: int
    count: int
    late: int


@dataclass(frozen=True)
class OverdueAge:
    """Overdue invoices whose due date passed `days_from` to `days_to` days ago."""

    days_from: int
    days_to: int | None
    count: int
    amount: Decimal


@dataclass(frozen=True)
class OverdueBuyer:
    """Overdue invoices of one buyer structure."""

    buyer_siret: str | None
    buyer_name: str | None
    count: int
    amount: Decimal


@dataclass(frozen=True)
class Overdue:
    """What is past its due date, unpaid, and still open, as of one instant."""

    count: int
    amount: Decimal
    by_age: list[OverdueAge]
    by_buyer: list[OverdueBuyer]  # the TOP_BUYERS largest amounts, largest first


def _cents(value: Any) -> Decimal:
    """A sum read back as an exact amount (SQLite sums NUMERIC columns as floats)."""
    return Decimal(str(value or 0)).quantize(CENTS)


@dataclass(frozen=True)
class StatusTotal:
    """Invoices now in one status, whenever deposited, and the sum of their amounts due."""

    status: str
    count: int
    amount: Decimal


class InvoiceStatistics:
    """Aggregates over the invoice projection; reads only."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_status(self, scope: StatisticsScope) -> list[StatusTotal]:
        """Every invoice of the scope by its current status (the counts of a dashboard)."""
        rows = await self.session.execute(
            select(Invoice.status, func.count(), func.sum(Invoice.amount_due))
            .where(scope.condition())
            .group_by(Invoice.status)
        )
        return [StatusTotal(status, int(count), _cents(amount)) for status, count, amount in rows]

    async def weekly_statuses(self, scope: StatisticsScope, period: Period) -> list[WeekStatuses]:
        """Each week of the period (Monday, Paris time), its deposits by current status."""
        mondays = period.mondays()
        week_ends = [paris_day_start(monday + timedelta(days=7)) for monday in mondays]
        week = case(
            *[(Invoice.deposited_at < end, index) for index, end in enumerate(week_ends)],
            else_=len(mondays) - 1,
        )
        deposited = (
            select(week.label("week"), Invoice.status.label("status"))
            .where(
                scope.condition(),
                Invoice.deposited_at >= paris_day_start(period.first),
                Invoice.deposited_at < paris_day_start(period.last + timedelta(days=1)),
            )
            .subquery()
        )
        rows = await self.session.execute(
            select(deposited.c.week, deposited.c.status, func.count()).group_by(
                deposited.c.week, deposited.c.status
            )
        )
        counts: list[dict[str, int]] = [{} for _ in mondays]
        for index, status, count in rows:
            counts[int(index)][status] = int(count)
        return [WeekStatuses(monday, counts[i]) for i, monday in enumerate(mondays)]

    async def payment_delays(self, scope: StatisticsScope, period: Period) -> list[PaymentDelay]:
        """Invoices paid within the period, by whole days from their deposit (its UTC day)
        to their payment date."""
        paid = (
            select(
                UtcDay(Invoice.deposited_at).label("deposited_on"),
                Invoice.paid_on.label("paid_on"),
                case((Invoice.late_interest.is_not(None), 1), else_=0).label("late"),
            )
            .where(
                scope.condition(),
                Invoice.paid_on.is_not(None),
                Invoice.paid_on >= period.first,
                Invoice.paid_on <= period.last,
            )
            .subquery()
        )
        rows = await self.session.execute(
            select(
                paid.c.deposited_on, paid.c.paid_on, func.count(), func.sum(paid.c.late)
            ).group_by(paid.c.deposited_on, paid.c.paid_on)
        )
        delays: dict[int, tuple[int, int]] = {}
        for deposited_on, paid_on, count, late in rows:
            days = max(0, (paid_on - deposited_on).days)
            before = delays.get(days, (0, 0))
            delays[days] = (before[0] + int(count), before[1] + int(late or 0))
        return [PaymentDelay(days, *delays[days]) for days in sorted(delays)]

    async def paid_categories(self, scope: StatisticsScope, period: Period) -> list[str]:
        """The buyer categories of the invoices paid within the period (each has its legal
        payment deadline)."""
        rows = await self.session.scalars(
            select(Invoice.structure_category)
            .where(
                scope.condition(),
                Invoice.structure_category.is_not(None),
                Invoice.paid_on >= period.first,
                Invoice.paid_on <= period.last,
            )
            .distinct()
        )
        return sorted(str(category) for category in rows)

    async def overdue(self, scope: StatisticsScope, now: datetime) -> Overdue:
        """Overdue invoices as of `now`: in total, by age, and for the largest buyers."""
        where = and_(scope.condition(), overdue_condition(now))
        count, amount = (
            await self.session.execute(
                select(func.count(), func.sum(Invoice.amount_due)).where(where)
            )
        ).one()
        return Overdue(
            count=int(count),
            amount=_cents(amount),
            by_age=await self._overdue_by_age(where, now),
            by_buyer=await self._overdue_by_buyer(where),
        )

    async def _overdue_by_age(self, where: ColumnElement[bool], now: datetime) -> list[OverdueAge]:
        # Due less than `days_to + 1` whole days ago: in the bucket up to `days_to`.
        age = case(
            *[
                (Invoice.due_at > now - timedelta(days=days_to + 1), index)
                for index, (_, days_to) in enumerate(OVERDUE_AGES)
                if days_to is not None
            ],
            else_=len(OVERDUE_AGES) - 1,
        )
        overdue = (
            select(age.label("age"), Invoice.amount_due.label("amount")).where(where).subquery()
        )
        rows = await self.session.execute(
            select(overdue.c.age, func.count(), func.sum(overdue.c.amount)).group_by(overdue.c.age)
        )
        found = {int(index): (int(count), _cents(amount)) for index, count, amount in rows}
        return [
            OverdueAge(days_from, days_to, *found.get(index, (0, Decimal("0.00"))))
            for index, (days_from, days_to) in enumerate(OVERDUE_AGES)
        ]

    async def _overdue_by_buyer(self, where: ColumnElement[bool]) -> list[OverdueBuyer]:
        total = func.coalesce(func.sum(Invoice.amount_due), 0)
        rows = await self.session.execute(
            select(Invoice.buyer_siret, func.max(Invoice.buyer_name), func.count(), total)
            .where(where)
            .group_by(Invoice.buyer_siret)
            .order_by(total.desc(), Invoice.buyer_siret)
            .limit(TOP_BUYERS)
        )
        return [
            OverdueBuyer(siret, name, int(count), _cents(amount))
            for siret, name, count, amount in rows
        ]
