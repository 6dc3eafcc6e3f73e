"""The ECB's main refinancing operations rate, by the date each value took effect.

Source: ECB key interest rates (ecb.europa.eu, "Key ECB interest rates"), fixed rate
tenders, dated by the day a change took effect (settlement of the first operation at the new
rate), not by the day it was announced. The table starts with the value in force on
1 January 2012; a new value is a new line, the old lines never change (interest already
computed must come out the same). Last checked against the decision of 18 December 2025
(rates unchanged since 11 June 2025); later decisions must be added here.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date
from decimal import Decimal

MAIN_REFINANCING_RATES: tuple[tuple[date, Decimal], ...] = (
    (date(2011, 12, 14), Decimal("1.00")),
    (date(2012, 7, 11), Decimal("0.75")),
    (date(2013, 5, 8), Decimal("0.50")),
    (date(2013, 11, 13), Decimal("0.25")),
    (date(2014, 6, 11), Decimal("0.15")),
    (date(2014, 9, 10), Decimal("0.05")),
    (date(2016, 3, 16), Decimal("0.00")),
    (date(2022, 7, 27), Decimal("0.50")),
    (date(2022, 9, 14), Decimal("1.25")),
    (date(2022, 11, 2), Decimal("2.00")),
    (date(2022, 12, 21), Decimal("2.50")),
    (date(2023, 2, 8), Decimal("3.00")),
    (date(2023, 3, 22), Decimal("3.50")),
    (date(2023, 5, 10), Decimal("3.75")),
    (date(2023, 6, 21), Decimal("4.00")),
    (date(2023, 8, 2), Decimal("4.25")),
    (date(2023, 9, 20), Decimal("4.50")),
    (date(2024, 6, 12), Decimal("4.25")),
    # From 18 September 2024 the spread to the deposit facility rate narrows to 15 points.
    (date(2024, 9, 18), Decimal("3.65")),
    (date(2024, 10, 23), Decimal("3.40")),
    (date(2024, 12, 18), Decimal("3.15")),
    (date(2025, 2, 5), Decimal("2.90")),
    (date(2025, 3, 12), Decimal("2.65")),
    (date(2025, 4, 23), Decimal("2.40")),
    (date(2025, 6, 11), Decimal("2.15")),
)
"""(effective date, annual rate in percent), in date order."""

_DATES = [effective for effective, _ in MAIN_REFINANCING_RATES]


def rate_in_force(on: date) -> Decimal:
    """The main refinancing rate (annual, percent) in force on `on`."""
    index = bisect_right(_DATES, on) - 1
    if index < 0:
        raise ValueError(f"no ECB rate is recorded before {_DATES[0]} (asked for {on})")
    return MAIN_REFINANCING_RATES[index][1]
