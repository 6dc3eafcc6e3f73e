"""The global payment deadline: due dates, one interruption, days late on the Paris calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from core.errors import ErrorCode, InvalidInput
from invoicing.deadlines import (
    PARIS,
    InterruptionRefused,
    PaymentClock,
    PaymentDeadlines,
    days_late,
    deadline_for,
    due_at,
    due_on,
    remaining,
    resume,
    start_clock,
    suspend,
)

DEADLINES = PaymentDeadlines(
    state=timedelta(days=30),
    local_authority=timedelta(days=30),
    hospital=timedelta(days=50),
    other=timedelta(days=60),
    after_interruption=timedelta(days=30),
)


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def a_clock(received: str = "2024-03-01T10:00", category: str = "STATE") -> PaymentClock:
    return start_clock(paris(received), category, DEADLINES)


def test_thirty_days_after_receipt_is_the_due_date() -> None:
    clock = a_clock("2024-03-01T10:00")
    assert due_on(clock) == date(2024, 3, 31)
    assert due_at(clock) == paris("2024-03-31T10:00")


@pytest.mark.parametrize(
    ("category", "due"),
    [
        ("STATE", date(2024, 3, 31)),
        ("LOCAL_AUTHORITY", date(2024, 3, 31)),
        ("HOSPITAL", date(2024, 4, 20)),
        ("OTHER", date(2024, 4, 30)),
    ],
)
def test_each_category_of_buyer_has_its_deadline(category: str, due: date) -> None:
    assert due_on(a_clock("2024-03-01T10:00", category)) == due


def test_an_unknown_category_of_buyer_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        deadline_for("EMBASSY", DEADLINES)
    assert refused.value.code is ErrorCode.CATEGORY_UNKNOWN


# Interruption (R2192-27 to R2192-29)


def test_ten_days_of_suspension_move_the_due_date_by_ten_days() -> None:
    # Interrupted on receipt: the balance (30 days) is what the new deadline gives back.
    clock = a_clock("2024-03-01T10:00")
    clock = resume(suspend(clock, paris("2024-03-01T15:00")), paris("2024-03-11T15:00"))
    assert due_on(clock) == date(2024, 4, 10)


def test_a_long_deadline_interrupted_early_keeps_its_balance() -> None:
    # Hospital, 50 days: interrupted on day 5 with 45 days left, more than 30; 10 days later
    # the 45 days run again, so the due date moves by the 10 days of interruption.
    clock = a_clock("2024-03-01T10:00", "HOSPITAL")
    clock = resume(suspend(clock, paris("2024-03-06T10:00")), paris("2024-03-16T10:00"))
    assert due_on(clock) == date(2024, 4, 30)


def test_an_interruption_late_in_the_deadline_reopens_thirty_days() -> None:
    # 6 days were left on 25 March; all pieces received on 2 April: 30 new days.
    clock = a_clock("2024-03-01T10:00")
    clock = resume(suspend(clock, paris("2024-03-25T10:00")), paris("2024-04-02T09:00"))
    assert due_on(clock) == date(2024, 5, 2)


def test_there_is_no_due_date_while_interrupted() -> None:
    clock = suspend(a_clock(), paris("2024-03-05T10:00"))
    assert due_at(clock) is None
    assert due_on(clock) is None
    assert days_late(clock, date(2024, 6, 1)) == 0


def test_remaining_time_is_frozen_while_interrupted() -> None:
    clock = suspend(a_clock("2024-03-01T10:00", "HOSPITAL"), paris("2024-03-06T10:00"))
    assert remaining(clock, paris("2024-03-07T10:00")) == timedelta(days=45)
    assert remaining(clock, paris("2024-05-07T10:00")) == timedelta(days=45)


def test_remaining_time_counts_down_and_turns_negative_past_the_deadline() -> None:
    clock = a_clock("2024-03-01T10:00")
    assert remaining(clock, paris("2024-03-21T10:00")) == timedelta(days=10)
    assert remaining(clock, paris("2024-04-02T10:00")) == timedelta(days=-2)


def test_a_second_interruption_is_refused() -> None:
    interrupted = suspend(a_clock(), paris("2024-03-05T10:00"))
    resumed = resume(interrupted, paris("2024-03-08T10:00"))
    for clock in (interrupted, resumed):
        with pytest.raises(InterruptionRefused) as refused:
            suspend(clock, paris("2024-03-20T10:00"))
        assert refused.value.status == 409
        assert refused.value.code is ErrorCode.PAYMENT_DEADLINE_NOT_INTERRUPTIBLE


def test_an_expired_deadline_cannot_be_interrupted_but_its_last_day_can() -> None:
    clock = a_clock("2024-03-01T10:00")
    assert suspend(clock, paris("2024-03-31T23:00")).interruption is not None
    with pytest.raises(InterruptionRefused) as refused:
        suspend(clock, paris("2024-04-01T08:00"))
    assert refused.value.extra["due_on"] == "2024-03-31"


def test_resuming_a_running_deadline_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="not interrupted"):
        resume(a_clock(), paris("2024-03-05T10:00"))


def test_times_without_a_zone_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        start_clock(datetime(2024, 3, 1, 10), "STATE", DEADLINES)


# Days late and the Paris calendar


def test_payment_on_the_due_date_is_on_time_and_the_next_day_is_one_day_late() -> None:
    clock = a_clock("2024-03-01T10:00")
    assert days_late(clock, date(2024, 3, 20)) == 0
    assert days_late(clock, date(2024, 3, 31)) == 0
    assert days_late(clock, date(2024, 4, 1)) == 1
    assert days_late(clock, date(2024, 4, 30)) == 30


def test_receipt_counts_on_its_paris_date() -> None:
    # 22:30 UTC on 31 March is 00:30 on 1 April in Paris (summer time).
    clock = start_clock(datetime(2024, 3, 31, 22, 30, tzinfo=UTC), "STATE", DEADLINES)
    assert due_on(clock) == date(2024, 5, 1)


def test_a_day_is_a_calendar_day_across_the_spring_clock_change() -> None:
    # 30 days of 24 hours from 23:30 on 10 March would end at 00:30 on 10 April, summer
    # time; the deadline ends on 9 April, one hour earlier in absolute time.
    clock = a_clock("2024-03-10T23:30")
    due = due_at(clock)
    assert due == paris("2024-04-09T23:30")
    assert due.astimezone(UTC) - clock.start.astimezone(UTC) == timedelta(days=30, hours=-1)


def test_a_day_is_a_calendar_day_across_the_autumn_clock_change() -> None:
    clock = a_clock("2024-10-15T00:30")
    assert due_on(clock) == date(2024, 11, 14)
    assert days_late(clock, date(2024, 11, 15)) == 1


def test_a_deadline_crossing_a_short_month_ends_in_the_next_one() -> None:
    clock = a_clock("2025-01-31T09:00")
    assert due_on(clock) == date(2025, 3, 2)
    assert days_late(clock, date(2025, 3, 3)) == 1


def test_the_leap_day_counts() -> None:
    assert due_on(a_clock("2028-01-30T09:00")) == date(2028, 2, 29)
    assert days_late(a_clock("2028-01-29T09:00"), date(2028, 3, 1)) == 2


def test_days_late_after_an_interruption_count_from_the_new_due_date() -> None:
    clock = a_clock("2024-03-01T10:00")
    clock = resume(suspend(clock, paris("2024-03-25T10:00")), paris("2024-04-02T09:00"))
    assert days_late(clock, date(2024, 5, 2)) == 0
    assert days_late(clock, date(2024, 5, 12)) == 10
