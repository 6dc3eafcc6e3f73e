"""Late-payment interest: ECB rate of the half-year + 8 points, days / 365, and 40 EUR once.

Each expected amount is worked out by hand in the test's comment:
interest = amount × rate / 100 × days late / 365, rounded half up to the cent.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from invoicing.deadlines import PARIS, PaymentDeadlines, days_late, due_on, start_clock
from invoicing.ecb_rates import MAIN_REFINANCING_RATES, rate_in_force
from invoicing.interest import LateInterest, half_year_start, late_interest


def test_no_interest_when_paid_on_the_due_date() -> None:
    assert late_interest(Decimal("1200.00"), date(2024, 3, 31), date(2024, 3, 31)) == (
        LateInterest(0, Decimal(0), Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))
    )


def test_no_interest_when_paid_early() -> None:
    assert late_interest(Decimal("1200.00"), date(2024, 3, 31), date(2024, 3, 2)).total == 0


def test_one_day_late_accrues_interest_and_the_40_euro_compensation() -> None:
    # Interest starts on 1 April 2024: rate of 1 January 2024, 4.50 + 8 = 12.50 %.
    # 1200.00 × 12.50 % × 1 / 365 = 150 / 365 = 0.41095... -> 0.41; + 40.00 = 40.41.
    result = late_interest(Decimal("1200.00"), date(2024, 3, 31), date(2024, 4, 1))
    assert result == LateInterest(
        1, Decimal("12.50"), Decimal("0.41"), Decimal("40.00"), Decimal("40.41")
    )


def test_interest_starting_on_30_june_takes_the_rate_of_1_january() -> None:
    # Due 29 June 2023, interest starts 30 June: rate of 1 January 2023, 2.50 + 8 = 10.50 %,
    # although 4.00 % was in force from 21 June. 30 days late:
    # 10000.00 × 10.50 % × 30 / 365 = 31500 / 365 = 86.3013... -> 86.30.
    result = late_interest(Decimal("10000.00"), date(2023, 6, 29), date(2023, 7, 29))
    assert (result.days_late, result.rate, result.interest) == (
        30,
        Decimal("10.50"),
        Decimal("86.30"),
    )


def test_interest_starting_on_1_july_takes_the_rate_in_force_on_1_july() -> None:
    # Due 30 June 2023, interest starts 1 July: 4.00 + 8 = 12.00 %. 30 days late:
    # 10000.00 × 12.00 % × 30 / 365 = 36000 / 365 = 98.6301... -> 98.63.
    result = late_interest(Decimal("10000.00"), date(2023, 6, 30), date(2023, 7, 30))
    assert (result.days_late, result.rate, result.interest) == (
        30,
        Decimal("12.00"),
        Decimal("98.63"),
    )


def test_a_delay_over_several_half_years_keeps_the_rate_it_started_with() -> None:
    # From 30 June 2023 to 29 June 2024 (2024 is a leap year): 366 days at 10.50 %.
    # 1000.00 × 10.50 % × 366 / 365 = 3843 / 36.5 = 105.2876... -> 105.29.
    result = late_interest(Decimal("1000.00"), date(2023, 6, 29), date(2024, 6, 29))
    assert (result.days_late, result.rate, result.interest, result.total) == (
        366,
        Decimal("10.50"),
        Decimal("105.29"),
        Decimal("145.29"),
    )


def test_a_half_cent_rounds_up() -> None:
    # Due 31 January 2023, paid 14 April: 73 days at 10.50 %.
    # 1005.00 × 10.50 % × 73 / 365 = 1005 × 0.021 = 21.105 exactly -> 21.11 (half up;
    # banker's rounding would give 21.10).
    result = late_interest(Decimal("1005.00"), date(2023, 1, 31), date(2023, 4, 14))
    assert (result.days_late, result.interest) == (73, Decimal("21.11"))


def test_with_the_ecb_rate_at_zero_the_rate_is_8_points() -> None:
    # Interest starts 1 June 2020: rate of 1 January 2020, 0.00 + 8 = 8.00 %. 30 days late:
    # 1000.00 × 8 % × 30 / 365 = 240 / 36.5 = 6.5753... -> 6.58.
    result = late_interest(Decimal("1000.00"), date(2020, 5, 31), date(2020, 6, 30))
    assert (result.rate, result.interest) == (Decimal("8.00"), Decimal("6.58"))


@pytest.mark.parametrize("paid", [date(2024, 4, 1), date(2025, 5, 5)])
def test_the_40_euro_compensation_is_due_once_whatever_the_delay(paid: date) -> None:
    result = late_interest(Decimal("500.00"), date(2024, 3, 31), paid)
    assert result.compensation == Decimal("40.00")
    assert result.total == result.interest + Decimal("40.00")


@pytest.mark.parametrize(
    ("day", "start"),
    [
        (date(2023, 1, 1), date(2023, 1, 1)),
        (date(2023, 6, 30), date(2023, 1, 1)),
        (date(2023, 7, 1), date(2023, 7, 1)),
        (date(2024, 12, 31), date(2024, 7, 1)),
    ],
)
def test_half_years_start_on_1_january_and_1_july(day: date, start: date) -> None:
    assert half_year_start(day) == start


# The ECB rate table


@pytest.mark.parametrize(
    ("day", "rate"),
    [
        (date(2012, 1, 1), "1.00"),
        (date(2016, 3, 15), "0.05"),
        (date(2016, 3, 16), "0.00"),
        (date(2022, 7, 26), "0.00"),
        (date(2022, 7, 27), "0.50"),
        (date(2023, 9, 20), "4.50"),
        (date(2024, 9, 18), "3.65"),
        (date(2025, 6, 11), "2.15"),
        (date(2026, 1, 1), "2.15"),
    ],
)
def test_the_rate_in_force_is_the_last_one_that_took_effect(day: date, rate: str) -> None:
    assert rate_in_force(day) == Decimal(rate)


def test_the_table_is_in_date_order_from_before_2012() -> None:
    dates = [effective for effective, _ in MAIN_REFINANCING_RATES]
    assert dates == sorted(set(dates))
    assert dates[0] <= date(2012, 1, 1)


def test_no_rate_before_the_table() -> None:
    with pytest.raises(ValueError, match="no ECB rate"):
        rate_in_force(date(2010, 1, 1))


def test_the_clock_and_the_interest_count_the_same_days_late() -> None:
    deadlines = PaymentDeadlines(*(timedelta(days=n) for n in (30, 30, 50, 60, 30)))
    clock = start_clock(datetime(2025, 1, 31, 9, tzinfo=PARIS), "STATE", deadlines)
    due = due_on(clock)
    assert due is not None
    paid = date(2025, 3, 12)
    assert late_interest(Decimal("100.00"), due, paid).days_late == days_late(clock, paid) == 10
