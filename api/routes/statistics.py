"""Invoice statistics, the figures behind the portal's charts: deposits per week by status,
days from deposit to payment beside the legal deadlines, and overdue amounts.

Buyers and accountants see the invoices their structures received, suppliers those they
sent, operators every invoice.
Read-only: nothing here changes a record.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import ConfigDict, Field

from api.deps import SessionDep, SettingsDep, require_roles
from api.schemas import ResponseModel
from core.config import Settings
from core.errors import ErrorCode, InvalidInput
from core.principals import Principal, Role
from directory.identifiers import check_siret
from directory.records import StructureCategory
from invoicing.deadlines import PARIS, PaymentDeadlines, deadline_for
from invoicing.statuses import InvoiceStatus
from store.directory import StructureNotFound
from store.statistics import InvoiceStatistics, Period, StatisticsScope

router = APIRouter(prefix="/v1/statistics", tags=["statistics"])

Reader = Annotated[
    Principal, Depends(require_roles(Role.OPS, Role.BUYER, Role.ACCOUNTANT, Role.SUPPLIER))
]
DEFAULT_WEEKS = 12  # a quarter, in whole weeks ending with the current one
MAX_DAYS = 366  # a year at most: week buckets stay a few dozen


class WeekPublic(ResponseModel):
    """Invoices deposited in one week (within the period), by their current status."""

    week: date = Field(description="The week's Monday (Paris time)")
    total: int
    counts: dict[InvoiceStatus, int] = Field(description="Statuses with no invoice are left out")


class DelayPublic(ResponseModel):
    """Invoices paid this many days after their deposit day; `late` of them past due."""

    days: int
    count: int
    late: int


class DeadlinePublic(ResponseModel):
    """The legal payment deadline of a buyer category (R2192-10 s.), from the settings."""

    category: StructureCategory
    days: int


class PaymentDelaysPublic(ResponseModel):
    """Invoices paid within the period: how long each took, and the deadlines that apply."""

    paid: int
    late: int = Field(description="Paid after their due date (late interest owed)")
    delays: list[DelayPublic] = Field(description="By number of days, smallest first")
    deadlines: list[DeadlinePublic] = Field(description="Of the categories of the paid invoices")


class OverdueAgePublic(ResponseModel):
    """Overdue invoices whose due date passed `days_from` to `days_to` days ago."""

    days_from: int
    days_to: int | None = Field(description="null: no upper bound")
    count: int
    amount: str = Field(description="Sum of the amounts due, decimal as a string")


class OverdueBuyerPublic(ResponseModel):
    """Overdue invoices of one buyer structure."""

    buyer_siret: str | None
    buyer_name: str | None
    count: int
    amount: str


class OverduePublic(ResponseModel):
    """Past their due date, unpaid, process still open: now, whatever the period."""

    count: int
    amount: str
    by_age: list[OverdueAgePublic]
    by_buyer: list[OverdueBuyerPublic] = Field(description="The 10 largest amounts")


class StatusTotalPublic(ResponseModel):
    """Invoices now in one status, whenever deposited."""

    status: InvoiceStatus
    count: int
    amount: str = Field(description="Sum of the amounts due, decimal as a string")


class InvoiceStatisticsPublic(ResponseModel):
    """The figures of one period and scope."""

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    period_from: date = Field(serialization_alias="from", description="First day, inclusive")
    period_to: date = Field(serialization_alias="to", description="Last day, inclusive")
    generated_at: datetime
    statuses: list[StatusTotalPublic] = Field(
        description="Every invoice of the scope by current status, whatever the period"
    )
    weeks: list[WeekPublic]
    payment_delays: PaymentDelaysPublic
    overdue: OverduePublic


def _period(first: date | None, last: date | None, today: date) -> Period:
    """The period asked for; by default the last DEFAULT_WEEKS weeks up to `last`."""
    last = last or today
    if first is None:
        first = last - timedelta(days=last.weekday(), weeks=DEFAULT_WEEKS - 1)
    if first > last:
        raise _refused("from", "`from` is after `to`")
    if (last - first).days + 1 > MAX_DAYS:
        raise _refused("from", f"a period is at most {MAX_DAYS} days")
    return Period(first, last)


def _refused(parameter: str, detail: str) -> InvalidInput:
    return InvalidInput(
        ErrorCode.VALIDATION_FAILED,
        detail,
        errors=[{"in": "query", "parameter": parameter, "detail": detail}],
    )


def _scope(principal: Principal, structure: str | None) -> StatisticsScope:
    """The caller's structures (operators: all), narrowed to `structure` when given; a
    supplier's are the SIRETs it invoices from."""
    supplier = principal.role is Role.SUPPLIER
    if structure is None:
        if supplier:
            return StatisticsScope(None, principal.sirets)
        return StatisticsScope(None if principal.role is Role.OPS else principal.sirets)
    try:
        siret = check_siret(structure)
    except InvalidInput as refused:
        raise InvalidInput(
            refused.code,
            refused.detail,
            errors=[{"in": "query", "parameter": "structure", "detail": refused.detail}],
        ) from None
    if not principal.acts_for(siret):
        # The same answer whether it exists or not: never reveal.
        raise StructureNotFound(f"you do not act for the structure {structure}")
    return (
        StatisticsScope(None, frozenset({siret}))
        if supplier
        else StatisticsScope(frozenset({siret}))
    )


def _deadlines(settings: Settings) -> PaymentDeadlines:
    return PaymentDeadlines(
        state=settings.payment_deadline_state,
        local_authority=settings.payment_deadline_local_authority,
        hospital=settings.payment_deadline_hospital,
        other=settings.payment_deadline_other,
        after_interruption=settings.payment_deadline_after_interruption,
    )


@router.get(
    "/invoices",
    response_model=InvoiceStatisticsPublic,
    summary="Invoice figures: weekly deposits by status, payment delays, overdue amounts",
    responses={
        404: {"description": "`STRUCTURE_NOT_FOUND`: `structure` is not one you act for"},
        422: {"description": "`VALIDATION_FAILED` (period), `SIRET_INVALID`"},
    },
)
async def invoice_statistics(
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    period_from: Annotated[
        date | None, Query(alias="from", description="First day (Paris), inclusive")
    ] = None,
    period_to: Annotated[
        date | None, Query(alias="to", description="Last day (Paris), inclusive; default today")
    ] = None,
    structure: Annotated[
        str | None,
        Query(max_length=32, description="One of your SIRETs (default: all of them)"),
    ] = None,
) -> InvoiceStatisticsPublic:
    """Deposits of the period per week and current status; invoices paid within the period
    by days from their deposit day (UTC) to their payment date, with the legal deadlines
    of their buyers' categories; and what is overdue now, by age and by buyer."""
    now = datetime.now(UTC)
    period = _period(period_from, period_to, now.astimezone(PARIS).date())
    scope = _scope(principal, structure)
    figures = InvoiceStatistics(session)
    delays = await figures.payment_delays(scope, period)
    legal = _deadlines(settings)
    overdue = await figures.overdue(scope, now)
    return InvoiceStatisticsPublic(
        period_from=period.first,
        period_to=period.last,
        generated_at=now,
        statuses=[
            StatusTotalPublic(status=InvoiceStatus(t.status), count=t.count, amount=str(t.amount))
            for t in await figures.by_status(scope)
        ],
        weeks=[
            WeekPublic(
                week=week.week,
                total=sum(week.counts.values()),
                counts={InvoiceStatus(s): n for s, n in week.counts.items()},
            )
            for week in await figures.weekly_statuses(scope, period)
        ],
        payment_delays=PaymentDelaysPublic(
            paid=sum(delay.count for delay in delays),
            late=sum(delay.late for delay in delays),
            delays=[DelayPublic.model_validate(delay) for delay in delays],
            deadlines=[
                DeadlinePublic(
                    category=StructureCategory(category),
                    days=deadline_for(category, legal).days,
                )
                for category in await figures.paid_categories(scope, period)
            ],
        ),
        overdue=OverduePublic(
            count=overdue.count,
            amount=str(overdue.amount),
            by_age=[
                OverdueAgePublic(
                    days_from=age.days_from,
                    days_to=age.days_to,
                    count=age.count,
                    amount=str(age.amount),
                )
                for age in overdue.by_age
            ],
            by_buyer=[
                OverdueBuyerPublic(
                    buyer_siret=buyer.buyer_siret,
                    buyer_name=buyer.buyer_name,
                    count=buyer.count,
                    amount=str(buyer.amount),
                )
                for buyer in overdue.by_buyer
            ],
        ),
    )
