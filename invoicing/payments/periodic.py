"""Periodic payment orders (OPP): the due dates of a recurring payment without invoices.

A recurring contract (rent, a subscription, a maintenance fee) may be paid by a fixed amount
every N months. A payment run pays every due date reached and not yet paid, so a run
missed one month pays two dates the next, and none twice.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection
from datetime import date

PERIODS_MONTHS = (1, 2, 3, 6, 12)


def add_months(start: date, months: int) -> date:
    """`start` plus `months` months, on the same day or the month's last if it has fewer."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def due_dates(
    start: date, months: int, end: date | None, until: date, paid: Collection[date]
) -> list[date]:
    """The due dates from `start` every `months` months, up to `until` (and `end`), not paid."""
    dates, n = [], 0
    while True:
        due = add_months(start, months * n)
        if due > until or (end is not None and due > end):
            return dates
        if due not in paid:
            dates.append(due)
        n += 1
