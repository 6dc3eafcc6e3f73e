"""Due dates of periodic payment orders."""

from __future__ import annotations

from datetime import date

from invoicing.payments.periodic import add_months, due_dates


def test_months_are_added_keeping_the_day_or_the_months_last() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)


def test_every_reached_date_not_yet_paid_is_due() -> None:
    start = date(2026, 8, 1)
    assert due_dates(start, 1, None, date(2026, 11, 23), paid=()) == [
        date(2026, 8, 1),
        date(2026, 9, 1),
        date(2026, 10, 1),
        date(2026, 11, 1),
    ]
    paid = {date(2026, 8, 1), date(2026, 9, 1)}
    assert due_dates(start, 1, None, date(2026, 11, 23), paid) == [
        date(2026, 10, 1),
        date(2026, 11, 1),
    ]


def test_the_end_and_the_period_bound_the_dates() -> None:
    start = date(2026, 1, 10)
    assert due_dates(start, 3, date(2026, 9, 30), date(2027, 1, 1), ()) == [
        date(2026, 1, 10),
        date(2026, 4, 10),
        date(2026, 7, 10),
    ]
    assert due_dates(date(2027, 1, 1), 1, None, date(2026, 11, 23), ()) == []
