"""Operator tools over Temporal (role `ops` only): stuck workflows, one workflow in detail,
retry, pause, reset, signal, terminate, batches, reconciliation, and the audit trail.

Every action says why (`reason`) and is recorded in the audit trail with its outcome,
refusals included; reads are not audited.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import SessionDep, SettingsDep, TemporalDep, require_json, require_roles
from api.schemas import RequestModel, ResponseModel
from api.temporal_errors import temporal_unavailable
from core.errors import ChaineError
from core.principals import Principal, Role
from ops import actions
from ops.actions import ActionResult, OpsAction, ResetPoint
from ops.batch import MAX_BATCH, BatchAction, run_batch
from ops.describe import describe_workflow
from ops.errors import MAX_REASON, required_reason
from ops.reconcile import DriftKind, reconcile
from ops.stuck import StuckReason, StuckRules, find_stuck
from ops.temporal_ui import ui_base_url, workflow_url
from ops.visibility import ExecutionFilter
from store.ops_audit import OpsAuditRepository

router = APIRouter(prefix="/v1/ops", tags=["operators"])

Operator = Annotated[Principal, Depends(require_roles(Role.OPS))]
WorkflowId = Annotated[str, Path(min_length=1, max_length=1000, description="Workflow id")]
_KEY = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"
T = TypeVar("T")

# --- schemas -------------------------------------------------------------------------------


class ActivityPublic(ResponseModel):
    """A pending activity: its attempts, its last failure, when it is tried next."""

    activity_id: str
    activity_type: str
    state: str
    attempt: int
    maximum_attempts: int
    paused: bool
    last_failure: str | None
    scheduled_at: datetime | None
    last_started_at: datetime | None
    next_attempt_at: datetime | None


class StuckPublic(ResponseModel):
    """One stuck workflow and why."""

    workflow_id: str
    run_id: str
    workflow_type: str
    kind: str | None
    status: str | None
    reason: StuckReason
    detail: str
    since: datetime | None
    activity: ActivityPublic | None
    ui_url: str | None = None


class StuckList(ResponseModel):
    """Stuck workflows; `truncated` when `limit` executions were looked at."""

    items: list[StuckPublic]
    scanned: int
    truncated: bool


class WorkflowStatuses(ResponseModel):
    """The status as each side knows it."""

    database: str | None
    search_attribute: str | None
    query: str | None
    query_error: str | None
    agree: bool | None


class ProjectionPublic(ResponseModel):
    """The invoice row this run recorded."""

    invoice_id: str
    status: str
    status_at: datetime
    due_at: datetime | None
    suspended_since: datetime | None


class WorkflowTaskPublic(ResponseModel):
    """The pending workflow task; an attempt above 1 means the workflow's code fails."""

    state: str
    attempt: int
    scheduled_at: datetime | None


class TimerPublic(ResponseModel):
    """A durable timer not yet fired."""

    timer_id: str
    started_at: datetime
    fires_at: datetime


class HistoryEventPublic(ResponseModel):
    """One history event."""

    event_id: int
    type: str
    at: datetime
    detail: str | None


class WorkflowPublic(ResponseModel):
    """One workflow in detail (its latest run)."""

    workflow_id: str
    run_id: str
    workflow_type: str
    execution_status: str
    task_queue: str
    started_at: datetime | None
    closed_at: datetime | None
    kind: str | None
    structure: str | None
    supplier: str | None
    status: WorkflowStatuses
    projection: ProjectionPublic | None
    pending_activities: list[ActivityPublic]
    workflow_task: WorkflowTaskPublic | None
    timers: list[TimerPublic]
    events: list[HistoryEventPublic]
    history_length: int
    ui_url: str | None


class OpsActionBody(RequestModel):
    """Why the action is taken (required, audited)."""

    reason: str | None = Field(None, max_length=MAX_REASON, description="why: required")


class OpsActivityBody(OpsActionBody):
    """An action on one pending activity; without `activity_id`, the only failing one."""

    activity_id: str | None = Field(None, min_length=1, max_length=200)


class ResetBody(OpsActionBody):
    """Where to reset to: `last-good` (default), `first`, or a workflow task event id."""

    to: str = Field("last-good", pattern=r"^(last-good|first|[1-9][0-9]{0,17})$")


class SignalBody(OpsActionBody):
    """A signal's name and arguments (JSON values)."""

    name: str = Field(min_length=1, max_length=200)
    args: list[Any] = Field(default_factory=list, max_length=20)


class OpsActionDone(ResponseModel):
    """What the action did; `audit_id` is its entry in the audit trail."""

    action: OpsAction
    workflow_id: str
    run_id: str
    detail: str
    activity_id: str | None
    new_run_id: str | None
    audit_id: int


class BatchBody(OpsActionBody):
    """One action on every execution a visibility query matches (running ones, but for
    reset); `dry_run` lists them without acting."""

    action: BatchAction
    query: str = Field(min_length=1, max_length=2000, description="Temporal visibility query")
    dry_run: bool = False
    limit: int = Field(100, ge=1, le=MAX_BATCH)
    signal_name: str | None = Field(None, min_length=1, max_length=200)
    signal_args: list[Any] = Field(default_factory=list, max_length=20)


class BatchItemPublic(ResponseModel):
    """One matched execution and its outcome."""

    workflow_id: str
    run_id: str
    workflow_type: str
    ok: bool
    detail: str
    code: str | None


class BatchDone(ResponseModel):
    """The matches and, unless dry, what happened to each."""

    action: BatchAction
    query: str
    dry_run: bool
    matched: int
    succeeded: int
    failed: int
    truncated: bool
    items: list[BatchItemPublic]
    audit_id: int


class ReconcileBody(OpsActionBody):
    """Compare invoice rows with their workflows; `fix` repairs confirmed drift."""

    fix: bool = False
    query: str | None = Field(None, max_length=2000, description="narrows the workflows")
    limit: int = Field(10_000, ge=1, le=1_000_000)


class DriftPublic(ResponseModel):
    """One invoice whose row differs from its workflow."""

    workflow_id: str
    run_id: str
    invoice_id: str | None
    kind: DriftKind
    projected_status: str | None
    workflow_status: str
    confirmed: bool
    fixed: bool


class ReconcileDone(ResponseModel):
    """What was compared, what differs, what was repaired."""

    scanned: int
    in_flight: int
    fixed: int
    truncated: bool
    drifts: list[DriftPublic]
    audit_id: int


class AuditPublic(ResponseModel):
    """One audited action."""

    id: int
    actor: str
    action: str
    target: str
    reason: str
    dry_run: bool
    outcome: dict[str, Any]
    at: datetime


class AuditPage(ResponseModel):
    """Audit entries, newest first; pass `next` as `cursor` to read older ones."""

    items: list[AuditPublic]
    next: str | None


# --- the audit around every action ----------------------------------------------------------


async def _audited(
    session: AsyncSession,
    principal: Principal,
    action: str,
    target: str,
    reason: str | None,
    run: Callable[[str], Awaitable[T]],
    outcome: Callable[[T], dict[str, Any]],
    *,
    dry_run: bool = False,
) -> tuple[T, int]:
    """Run the action and record it, refused or done, in one commit with its own writes."""
    why = required_reason(reason)
    audit = OpsAuditRepository(session)
    try:
        async with temporal_unavailable():
            result = await run(why)
    except ChaineError as refusal:
        await audit.record(
            principal.client_id,
            action,
            target,
            why,
            {"ok": False, "code": str(refusal.code), "detail": refusal.detail},
            dry_run=dry_run,
        )
        await session.commit()
        raise
    entry = await audit.record(
        principal.client_id, action, target, why, outcome(result), dry_run=dry_run
    )
    await session.commit()
    return result, entry.id


def _identity(principal: Principal) -> str:
    """How Temporal's history names the operator."""
    return f"chaine-ops/{principal.client_id}"


async def _act(
    session: AsyncSession,
    principal: Principal,
    action: OpsAction,
    workflow_id: str,
    reason: str | None,
    run: Callable[[str], Awaitable[ActionResult]],
) -> OpsActionDone:
    result, audit_id = await _audited(
        session, principal, action, workflow_id, reason, run, ActionResult.outcome
    )
    return OpsActionDone(
        action=result.action,
        workflow_id=result.workflow_id,
        run_id=result.run_id,
        detail=result.detail,
        activity_id=result.activity_id,
        new_run_id=result.new_run_id,
        audit_id=audit_id,
    )


_ACTION_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "`WORKFLOW_NOT_FOUND`"},
    409: {"description": "`OPS_ACTION_REFUSED`: not possible on this execution as it stands"},
    422: {"description": "`OPS_REASON_REQUIRED` or `VALIDATION_FAILED`"},
}

# --- reads ------------------------------------------------------------------------------------


@router.get("/stuck", response_model=StuckList, summary="Stuck workflows, technical or business")
async def stuck(
    _: Operator,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    kind: Annotated[str | None, Query(pattern=_KEY, description="ChaineKind")] = None,
    structure: Annotated[str | None, Query(pattern=_KEY, description="buyer SIRET")] = None,
    supplier: Annotated[str | None, Query(pattern=_KEY, description="supplier key")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="executions looked at")] = 1000,
) -> StuckList:
    """Running workflows whose activity or code keeps failing, then invoices waiting on
    people longer than `CHAINE_OPS_STUCK_WAITING`."""
    async with temporal_unavailable():
        report = await find_stuck(
            temporal,
            session,
            StuckRules.from_settings(settings),
            datetime.now(UTC),
            ExecutionFilter(kind, structure, supplier),
            limit,
        )
    base = ui_base_url(settings)
    return StuckList(
        items=[
            StuckPublic.model_validate(item).model_copy(
                update={"ui_url": workflow_url(base, temporal.namespace, item.workflow_id)}
            )
            for item in report.items
        ],
        scanned=report.scanned,
        truncated=report.truncated,
    )


@router.get(
    "/workflows/{workflow_id:path}",
    response_model=WorkflowPublic,
    summary="One workflow: statuses, pending work, last events",
    responses={404: {"description": "`WORKFLOW_NOT_FOUND`"}},
)
async def describe(
    workflow_id: WorkflowId,
    _: Operator,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    events: Annotated[int, Query(ge=0, le=500, description="last history events")] = 20,
) -> WorkflowPublic:
    """Status in the database and in Temporal, pending activities and timers, last events."""
    async with temporal_unavailable():
        found = await describe_workflow(
            temporal, session, workflow_id, ui_base=ui_base_url(settings), last_events=events
        )
    execution = found.execution
    return WorkflowPublic(
        workflow_id=execution.workflow_id,
        run_id=execution.run_id,
        workflow_type=execution.workflow_type,
        execution_status=execution.status,
        task_queue=execution.task_queue,
        started_at=execution.started_at,
        closed_at=execution.closed_at,
        kind=execution.kind,
        structure=execution.structure,
        supplier=execution.supplier,
        status=WorkflowStatuses(
            database=found.projection.status if found.projection else None,
            search_attribute=found.search_attribute_status,
            query=found.queried_status,
            query_error=found.query_error,
            agree=found.statuses_agree,
        ),
        projection=(
            ProjectionPublic.model_validate(found.projection) if found.projection else None
        ),
        pending_activities=[ActivityPublic.model_validate(a) for a in execution.pending_activities],
        workflow_task=(
            WorkflowTaskPublic.model_validate(execution.workflow_task)
            if execution.workflow_task
            else None
        ),
        timers=[TimerPublic.model_validate(t) for t in found.timers],
        events=[HistoryEventPublic.model_validate(e) for e in found.events],
        history_length=found.history_length,
        ui_url=found.ui_url,
    )


@router.get("/audit", response_model=AuditPage, summary="The operators' audit trail")
async def audit(
    _: Operator,
    session: SessionDep,
    actor: Annotated[str | None, Query(max_length=64, description="client id")] = None,
    action: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Annotated[str | None, Query(pattern=r"^[1-9][0-9]{0,18}$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPage:
    """Every operator action, newest first."""
    rows = await OpsAuditRepository(session).page(
        before=int(cursor) if cursor else None, actor=actor, action=action, limit=limit
    )
    return AuditPage(
        items=[AuditPublic.model_validate(row) for row in rows],
        next=str(rows[-1].id) if len(rows) == limit else None,
    )


# --- actions on one workflow ------------------------------------------------------------------


@router.post(
    "/workflows/{workflow_id:path}/retry",
    response_model=OpsActionDone,
    summary="Run a failing activity again now, its attempts reset",
    dependencies=[Depends(require_json)],
    responses=_ACTION_RESPONSES,
)
async def retry(
    workflow_id: WorkflowId,
    body: OpsActivityBody,
    principal: Operator,
    session: SessionDep,
    temporal: TemporalDep,
) -> OpsActionDone:
    """ResetActivity: the activity is scheduled at once and counts its attempts from 1."""
    return await _act(
        session,
        principal,
        OpsAction.RETRY,
        workflow_id,
        body.reason,
        lambda _: actions.retry_activity(
            temporal, workflow_id, body.activity_id, _identity(principal)
        ),
    )


@router.post(
    "/workflows/{workflow_id:path}/pause",
    response_model=OpsActionDone,
    summary="Pause a pending activity",
    dependencies=[Depends(require_json)],
    responses=_ACTION_RESPONSES,
)
async def pause(
    workflow_id: WorkflowId,
    body: OpsActivityBody,
    principal: Operator,
    session: SessionDep,
    temporal: TemporalDep,
) -> OpsActionDone:
    """The activity is not retried until unpaused; the workflow keeps waiting for it."""
    return await _act(
        session,
        principal,
        OpsAction.PAUSE,
        workflow_id,
        body.reason,
        lambda why: actions.pause_activity(
            temporal, workflow_id, body.activity_id, _identity(principal), why
        ),
    )


@router.post(
    "/workflows/{workflow_id:path}/unpause",
    response_model=OpsActionDone,
    summary="Unpause a paused activity",
    dependencies=[Depends(require_json)],
    responses=_ACTION_RESPONSES,
)
async def unpause(
    workflow_id: WorkflowId,
    body: OpsActivityBody,
    principal: Operator,
    session: SessionDep,
    temporal: TemporalDep,
) -> OpsActionDone:
    """Retries resume where the attempts stood (`retry` starts them over)."""
    return await _act(
        session,
        principal,
        OpsAction.UNPAUSE,
        workflow_id,
        body.reason,
        lambda _: actions.unpause_activity(
            temporal, workflow_id, body.activity_id, _identity(principal)
        ),
    )


@router.post(
    "/workflows/{workflow_id:path}/reset",
    response_model=OpsActionDone,
    summary="Reset a workflow to a completed workflow task (a new run)",
    dependencies=[Depends(require_json)],
    responses=_ACTION_RESPONSES,
)
async def reset(
    workflow_id: WorkflowId,
    body: ResetBody,
    principal: Operator,
    session: SessionDep,
    temporal: TemporalDep,
) -> OpsActionDone:
    """`last-good`: the last completed workflow task before the first failure."""
    to: ResetPoint | int = int(body.to) if body.to.isdigit() else ResetPoint(body.to)
    return await _act(
        session,
        principal,
        OpsAction.RESET,
        workflow_id,
        body.reason,
        lambda why: actions.reset_workflow(temporal, workflow_id, to, _identity(principal), why),
    )


@router.post(
    "/workflows/{workflow_id:path}/signal",
    response_model=OpsActionDone,
    summary="Send a signal to a running workflow",
    dependencies=[Depends(require_json)],
    responses=_ACTION_RESPONSES,
)
async def signal(
    workflow_id: WorkflowId,
    body: SignalBody,
    principal: Operator,
    session: SessionDep,
    temporal: TemporalDep,
) -> OpsActionDone:
    """Temporal takes any signal name; a workflow without that handler ignores it."""
    return await _act(
        session,
        principal,
        OpsAction.SIGNAL,
        workflow_id,
        body.reason,
        lambda _: actions.signal_workflow(temporal, workflow_id, body.name, body.args),
    )


@router.post(
    "/workflows/{workflow_id:path}/terminate",
    response_model=OpsActionDone,
    summary="Terminate a running workflow",
    dependencies=[Depends(require_json)],
    responses=_ACTION_RESPONSES,
)
async def terminate(
    workflow_id: WorkflowId,
    body: OpsActionBody,
    principal: Operator,
    session: SessionDep,
    temporal: TemporalDep,
) -> OpsActionDone:
    """Ends the run at once: nothing of it runs again. The invoice row keeps its status."""
    return await _act(
        session,
        principal,
        OpsAction.TERMINATE,
        workflow_id,
        body.reason,
        lambda why: actions.terminate_workflow(temporal, workflow_id, _identity(principal), why),
    )


# --- many workflows ---------------------------------------------------------------------------


@router.post(
    "/batch",
    response_model=BatchDone,
    summary="One action on every execution a visibility query matches",
    dependencies=[Depends(require_json)],
    responses={
        409: {"description": "`OPS_ACTION_REFUSED`: more matches than `limit`"},
        422: {"description": "`OPS_REASON_REQUIRED`, `OPS_QUERY_INVALID`"},
    },
)
async def batch(
    body: BatchBody, principal: Operator, session: SessionDep, temporal: TemporalDep
) -> BatchDone:
    """Each execution is acted on in turn; one refused does not stop the others."""
    result, audit_id = await _audited(
        session,
        principal,
        f"batch-{body.action}",
        body.query,
        body.reason,
        lambda why: run_batch(
            temporal,
            body.action,
            body.query,
            identity=_identity(principal),
            reason=why,
            dry_run=body.dry_run,
            limit=body.limit,
            signal_name=body.signal_name,
            signal_args=body.signal_args,
        ),
        lambda done: done.outcome(),
        dry_run=body.dry_run,
    )
    return BatchDone(
        action=result.action,
        query=result.query,
        dry_run=result.dry_run,
        matched=len(result.items),
        succeeded=result.succeeded,
        failed=result.failed,
        truncated=result.truncated,
        items=[BatchItemPublic.model_validate(item) for item in result.items],
        audit_id=audit_id,
    )


@router.post(
    "/reconcile",
    response_model=ReconcileDone,
    summary="Compare invoice rows with their workflows; repair with `fix`",
    dependencies=[Depends(require_json)],
    responses={422: {"description": "`OPS_REASON_REQUIRED`, `OPS_QUERY_INVALID`"}},
)
async def reconcile_projection(
    body: ReconcileBody, principal: Operator, session: SessionDep, temporal: TemporalDep
) -> ReconcileDone:
    """The workflow is the source of truth: a confirmed drift is set to its status."""
    report, audit_id = await _audited(
        session,
        principal,
        OpsAction.RECONCILE,
        body.query or "all invoice workflows",
        body.reason,
        lambda _: reconcile(
            temporal,
            session,
            fix=body.fix,
            now=datetime.now(UTC),
            query=body.query,
            limit=body.limit,
        ),
        lambda done: done.outcome(),
        dry_run=not body.fix,
    )
    return ReconcileDone(
        scanned=report.scanned,
        in_flight=report.in_flight,
        fixed=report.fixed,
        truncated=report.truncated,
        drifts=[DriftPublic.model_validate(drift) for drift in report.drifts],
        audit_id=audit_id,
    )
