"""Late-payment interest (intérêts moratoires) and the flat recovery compensation.

L2192-13: from the day after the deadline, interest runs by right, without the supplier
asking, with a flat compensation for recovery costs. R2192-31: the rate is the ECB main
refinancing rate in force on the first day of the half-year in which interest started to
run, plus 8 points; interest = amount incl. VAT × rate × days late / 365. D2192-35: the
compensation is 40 EUR, once per invoice. R2192-36: both are paid within 45 days of the
principal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from invoicing.ecb_rates import rate_in_force

MARGIN_POINTS = Decimal("8")  # R2192-31: ECB rate + 8 points
RECOVERY_COMPENSATION = Decimal("40.00")  # D2192-35: 40 EUR
DAYS_IN_YEAR = Decimal(365)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class LateInterest:
    """What the buyer owes for paying late; all zero when paid in time."""

    days_late: int
    rate: Decimal  # annual, percent; 0 when not late
    interest: Decimal  # rounded to the cent, half up
    compensation: Decimal
    total: Decimal


def half_year_start(d: date) -> date:
    """The first day of the calendar half-year of `d`: 1 January or 1 July."""
    return date(d.year, 1 if d.month <= 6 else 7, 1)


def late_interest_rate(first_day_late: date) -> Decimal:
    """The annual rate (percent) of interest that started to run on `first_day_late`."""
    return rate_in_force(half_year_start(first_day_late)) + MARGIN_POINTS


def late_interest(amount_incl_vat: Decimal, due: date, paid: date) -> LateInterest:
    """Interest and compensation for an invoice due on `due` and put into payment on `paid`."""
    days = (paid - due).days
    if days <= 0:
        zero = Decimal("0.00")
        return LateInterest(0, Decimal(0), zero, zero, zero)
    rate = late_interest_rate(due + timedelta(days=1))
    interest = (amount_incl_vat * rate * days / (100 * DAYS_IN_YEAR)).quantize(
        CENT, rounding=ROUND_HALF_UP
    )
    return LateInterest(
        days, rate, interest, RECOVERY_COMPENSATION, interest + RECOVERY_COMPENSATION
    )
