"""The global payment deadline (délai global de paiement) of one invoice, as a clock.

R2192-10 s.: 30 days for the State and local authorities, 50 for public hospitals, 60 for
public companies; the durations are settings, passed in. The deadline runs from receipt of
the payment request (R2192-12): for us, the deposit. R2192-27 to R2192-29: the buyer may
interrupt it once, by a notified request for missing or wrong pieces or mentions; when all
are received a new deadline opens, of 30 days or of the balance left at the interruption if
that is longer. A second interruption is refused (`InterruptionRefused`), and so is one of a
deadline already expired: interest is then due (L2192-13).

Calendar: durations are added on the Europe/Paris wall clock, so a day is a calendar day
in Paris (23 or 25 hours across a DST change) and the due date is the Paris date of receipt
plus the number of days. Payment on the due date is on time; each later day is a day late.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.errors import ChaineError, ErrorCode, InvalidInput

PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class PaymentDeadlines:
    """The legal durations, from settings (`payment_deadline_*`)."""

    state: timedelta  # R2192-10: 30 days
    local_authority: timedelta  # R2192-10: 30 days
    hospital: timedelta  # R2192-10: 50 days
    other: timedelta  # R2192-10: 60 days, public companies
    after_interruption: timedelta  # R2192-29: the new deadline is at least 30 days


@dataclass(frozen=True)
class Interruption:
    """The deadline stopped at `start` (request notified) until `end` (all pieces received)."""

    start: datetime
    end: datetime | None = None


@dataclass(frozen=True)
class PaymentClock:
    """One invoice's deadline: from receipt, `length` long, interrupted at most once."""

    start: datetime
    length: timedelta
    after_interruption: timedelta
    interruption: Interruption | None = None

    def __post_init__(self) -> None:
        _require_aware(self.start)


class InterruptionRefused(ChaineError):
    """The deadline cannot be interrupted: it already was once, or it has expired."""

    code = ErrorCode.PAYMENT_DEADLINE_NOT_INTERRUPTIBLE
    status = 409


def deadline_for(category: str, deadlines: PaymentDeadlines) -> timedelta:
    """The deadline of a buyer of `category` (a `StructureCategory` value)."""
    lengths = {
        "STATE": deadlines.state,
        "LOCAL_AUTHORITY": deadlines.local_authority,
        "HOSPITAL": deadlines.hospital,
        "OTHER": deadlines.other,
    }
    if category not in lengths:
        raise InvalidInput(
            ErrorCode.CATEGORY_UNKNOWN,
            f"unknown buyer category {category!r}",
            categories=list(lengths),
        )
    return lengths[category]


def start_clock(received_at: datetime, category: str, deadlines: PaymentDeadlines) -> PaymentClock:
    """The clock of an invoice received at `received_at` by a buyer of `category`."""
    return PaymentClock(
        received_at, deadline_for(category, deadlines), deadlines.after_interruption
    )


def suspend(clock: PaymentClock, at: datetime) -> PaymentClock:
    """The clock interrupted at `at`, when the request for pieces was notified (R2192-28)."""
    _require_aware(at)
    if _instant(at) < _instant(clock.start):
        raise ValueError(f"interruption at {at} before receipt at {clock.start}")
    if clock.interruption is not None:
        raise InterruptionRefused(
            "the payment deadline was already interrupted once, on "
            f"{_wall(clock.interruption.start).date()}: it cannot be again (R2192-27)",
            interrupted_at=clock.interruption.start.isoformat(),
        )
    due = _wall(clock.start) + clock.length
    if _wall(at).date() > due.date():
        raise InterruptionRefused(
            f"the payment deadline expired on {due.date()}: it can no longer be interrupted",
            due_on=due.date().isoformat(),
        )
    return replace(clock, interruption=Interruption(at))


def resume(clock: PaymentClock, at: datetime) -> PaymentClock:
    """The clock running again from `at`, when every missing piece was received (R2192-29)."""
    _require_aware(at)
    interruption = clock.interruption
    if interruption is None or interruption.end is not None:
        raise ValueError("the payment deadline is not interrupted")
    if _instant(at) < _instant(interruption.start):
        raise ValueError(f"resumption at {at} before the interruption at {interruption.start}")
    return replace(clock, interruption=Interruption(interruption.start, at))


def due_at(clock: PaymentClock) -> datetime | None:
    """When the deadline ends (Europe/Paris); None while interrupted."""
    interruption = clock.interruption
    if interruption is None:
        return _aware(_wall(clock.start) + clock.length)
    if interruption.end is None:
        return None
    return _aware(_wall(interruption.end) + _reopened_length(clock, interruption))


def due_on(clock: PaymentClock) -> date | None:
    """The due date, a Europe/Paris calendar date; None while interrupted."""
    due = due_at(clock)
    return None if due is None else due.date()


def remaining(clock: PaymentClock, now: datetime) -> timedelta:
    """Time left at `now`, negative once past; while interrupted, frozen at what will reopen."""
    _require_aware(now)
    interruption = clock.interruption
    if interruption is None:
        due = _wall(clock.start) + clock.length
    elif interruption.end is None:
        return _reopened_length(clock, interruption)
    else:
        due = _wall(interruption.end) + _reopened_length(clock, interruption)
    return due - _wall(now)


def days_late(clock: PaymentClock, paid_on: date) -> int:
    """Calendar days from the due date to `paid_on` (Europe/Paris); 0 if on time or interrupted.

    `paid_on` is the day the principal is put into payment: interest runs from the day after
    the due date (L2192-13) up to that day included.
    """
    due = due_on(clock)
    return 0 if due is None else max(0, (paid_on - due).days)


def _reopened_length(clock: PaymentClock, interruption: Interruption) -> timedelta:
    # R2192-29: 30 days, or the balance left at the interruption if that is longer.
    balance = _wall(clock.start) + clock.length - _wall(interruption.start)
    return max(clock.after_interruption, balance)


def _require_aware(at: datetime) -> None:
    if at.utcoffset() is None:
        raise ValueError(f"{at} has no time zone: legal dates need one")


def later_in_paris(at: datetime, duration: timedelta) -> datetime:
    """`duration` after `at` on the Paris wall clock: a day is a calendar day, so a legal
    period ends at the same Paris time whatever clock change falls in it."""
    return _aware(_wall(at) + duration)


def _instant(at: datetime) -> datetime:
    """`at` in UTC, to order times (Python compares same-zone times on the wall clock)."""
    return at.astimezone(UTC)


def _wall(at: datetime) -> datetime:
    """`at` on the Paris wall clock, naive, so that adding days adds calendar days."""
    return at.astimezone(PARIS).replace(tzinfo=None)


def _aware(wall: datetime) -> datetime:
    """A Paris wall-clock time as an instant (normalised through UTC across DST gaps)."""
    return wall.replace(tzinfo=PARIS).astimezone(UTC).astimezone(PARIS)
