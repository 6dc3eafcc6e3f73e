"""The daily payment run, as a Temporal Schedule kept in line with the settings.

The worker ensures it at start: created the first time, updated when the settings change
(time of day, account, file version), so operators see and pause it in the Temporal UI.
"""

from __future__ import annotations

import dataclasses

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from core.config import Settings
from workflows.payment_run import PaymentRunWorkflow
from workflows.payments import DebtorAccount, PaymentRunInput

SCHEDULE_ID = "payment-runs-daily"


def daily_run(settings: Settings) -> Schedule:
    """The schedule the settings describe: one run a day at `payment_run_at`, Paris time."""
    at = settings.payment_run_at
    return Schedule(
        action=ScheduleActionStartWorkflow(
            PaymentRunWorkflow.run,
            PaymentRunInput(
                debtor=DebtorAccount(
                    settings.payment_debtor_name,
                    settings.payment_debtor_iban,
                    settings.payment_debtor_bic,
                ),
                pain_version=settings.payment_pain_version.value,
                requested_by="schedule",
                accounts={
                    service: DebtorAccount(*account)
                    for service, account in settings.paying_accounts().items()
                },
            ),
            id="payment-run:daily",  # Temporal appends the scheduled time
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    hour=[ScheduleRange(at.hour)], minute=[ScheduleRange(at.minute)]
                )
            ],
            time_zone_name="Europe/Paris",
        ),
    )


async def ensure_payment_schedule(client: Client, settings: Settings) -> None:
    """Create the daily schedule, or bring an existing one to the current settings."""
    schedule = daily_run(settings)
    try:
        await client.create_schedule(SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:

        def update(current: ScheduleUpdateInput) -> ScheduleUpdate:
            # An operator's pause (and its note) survives a worker restart.
            state = current.description.schedule.state
            return ScheduleUpdate(schedule=dataclasses.replace(schedule, state=state))

        await client.get_schedule_handle(SCHEDULE_ID).update(update)
