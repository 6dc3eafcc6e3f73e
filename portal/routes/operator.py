"""Portal pages of operators: stuck workflows, one workflow and the actions on it, the audit
trail, and charts of the invoices.

Every read and action goes through `/v1/ops/...` and `/v1/statistics/...` as the operator:
the API checks the reason, acts on Temporal and records the audit entry, refusals included.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from core.principals import Role
from invoicing.statuses import InvoiceStatus
from ops.actions import OpsAction
from ops.batch import BatchAction
from ops.stuck import StuckReason
from portal.backend import ApiProblem, Backend
from portal.charts import Chart, Marker, Series, bar_chart, column_chart, histogram_bins
from portal.deps import ApiAs, Changing, CurrentVisitor, flash, redirect, require_role
from portal.i18n import N_, translator
from portal.pages import day, money, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_role(Role.OPS))])

_KEY = r"^[A-Za-z0-9._:-]{0,100}$"  # the API's filter keys, or nothing
AUDIT_PAGE = 50

STUCK_REASONS: dict[str, str] = {
    StuckReason.ACTIVITY_FAILING: N_("Une activité échoue"),
    StuckReason.ACTIVITY_RETRIED: N_("Une activité est relancée sans fin"),
    StuckReason.ACTIVITY_PAUSED: N_("Une activité est en pause"),
    StuckReason.WORKFLOW_TASK_FAILING: N_("Le code du workflow échoue"),
    StuckReason.WAITING_ON_PEOPLE: N_("En attente d'une personne"),
}


class Verb(StrEnum):
    """The actions the workflow page offers (signals and batches stay with the CLI)."""

    RETRY = OpsAction.RETRY.value
    PAUSE = OpsAction.PAUSE.value
    UNPAUSE = OpsAction.UNPAUSE.value
    RESET = OpsAction.RESET.value
    TERMINATE = OpsAction.TERMINATE.value


VERB_LABELS: dict[str, str] = {
    Verb.RETRY: N_("Relancer"),
    Verb.PAUSE: N_("Mettre en pause"),
    Verb.UNPAUSE: N_("Reprendre"),
    Verb.RESET: N_("Réinitialiser"),
    Verb.TERMINATE: N_("Terminer"),
}
VERB_HELP: dict[str, str] = {
    Verb.RETRY: N_(
        "Corrigez d'abord la cause : l'activité repart aussitôt, ses tentatives comptées depuis 1."
    ),
    Verb.PAUSE: N_(
        "L'activité n'est plus relancée jusqu'à sa reprise ; le workflow continue de l'attendre."
    ),
    Verb.UNPAUSE: N_("Les relances de l'activité reprennent là où elles en étaient."),
    Verb.RESET: N_("Une nouvelle exécution repart d'une tâche réussie (refusé pour les factures)."),
    Verb.TERMINATE: N_(
        "L'exécution s'arrête aussitôt et rien n'en reprend ; une facture garde son dernier statut."
    ),
}
ACTIVITY_VERBS = frozenset({Verb.RETRY, Verb.PAUSE, Verb.UNPAUSE})
AUDITED_ACTIONS = [*(a.value for a in OpsAction), *(f"batch-{a.value}" for a in BatchAction)]

# Invoice statuses drawn together on the weekly chart (the table under it lists the same).
STATUS_FAMILIES: list[tuple[str, str, frozenset[str]]] = [
    (
        N_("En traitement"),
        "#1e3a8a",
        frozenset(
            {
                InvoiceStatus.DEPOSEE,
                InvoiceStatus.EN_COURS_ACHEMINEMENT,
                InvoiceStatus.MISE_A_DISPOSITION,
                InvoiceStatus.MISE_A_DISPOSITION_PREMIER_VALIDEUR,
                InvoiceStatus.VALIDEE_PREMIER_VALIDEUR,
                InvoiceStatus.PRISE_EN_COMPTE,
                InvoiceStatus.COMPLETEE,
            }
        ),
    ),
    (
        N_("Suspendues ou à recycler"),
        "#8a4b00",
        frozenset({InvoiceStatus.SUSPENDUE, InvoiceStatus.A_RECYCLER}),
    ),
    (
        N_("Service fait, en paiement"),
        "#6b3fa0",
        frozenset(
            {
                InvoiceStatus.SERVICE_FAIT,
                InvoiceStatus.MANDATEE,
                InvoiceStatus.MISE_A_DISPOSITION_COMPTABLE,
                InvoiceStatus.COMPTABILISEE,
                InvoiceStatus.MISE_EN_PAIEMENT,
            }
        ),
    ),
    (N_("Payées"), "#146c2e", frozenset({InvoiceStatus.PAYEE})),
    (
        N_("Rejetées, refusées ou annulées"),
        "#b3261e",
        frozenset(
            {
                InvoiceStatus.REJETEE,
                InvoiceStatus.REFUSEE_PREMIER_VALIDEUR,
                InvoiceStatus.ANNULEE,
            }
        ),
    ),
]
DELAY_BIN_DAYS = 5  # legal deadlines (30, 50, 60 days) fall on bin edges
DELAY_SHOWN_DAYS = 90  # longer delays share the last bin, unless a deadline is further
ON_TIME, LATE, OVERDUE = "#146c2e", "#b3261e", "#8a4b00"


def _path(workflow_id: str) -> str:
    """A workflow id as one piece of an API path (ids hold `:` and may hold `/`)."""
    return quote(workflow_id, safe="")


def workflow_href(workflow_id: str) -> str:
    """The workflow's page, its id readable in the address (`:` needs no escaping there)."""
    return "/operator/workflows/" + quote(workflow_id, safe=":")


async def _read(api: Backend, path: str, **params: Any) -> tuple[Any, ApiProblem | None]:
    """The API's answer, or its refusal of what the visitor typed in a page's filters (shown
    on the page with its code, the filters kept)."""
    try:
        return await api.get(path, **params), None
    except ApiProblem as problem:
        return None, problem


# --- stuck workflows ----------------------------------------------------------------------


@router.get("/operator")
async def stuck(
    request: Request,
    visitor: CurrentVisitor,
    api: ApiAs,
    kind: Annotated[str, Query(pattern=_KEY)] = "",
    structure: Annotated[str, Query(pattern=_KEY)] = "",
    supplier: Annotated[str, Query(pattern=_KEY)] = "",
) -> Response:
    """What is stuck and why, technical failures first, with where to look further."""
    filters = {"kind": kind, "structure": structure, "supplier": supplier}
    listed, problem = await _read(api, "/v1/ops/stuck", **filters)
    return render(
        request,
        "operator/stuck.html",
        visitor,
        status_code=problem.status if problem else 200,
        problem=problem,
        filters=filters,
        listed=listed,
        reasons=STUCK_REASONS,
        workflow_href=workflow_href,
    )


# --- one workflow -------------------------------------------------------------------------


async def _workflow_page(
    request: Request,
    visitor: CurrentVisitor,
    api: Backend,
    workflow_id: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    described = await api.get(f"/v1/ops/workflows/{_path(workflow_id)}", events=30)
    return render(
        request,
        "operator/workflow.html",
        visitor,
        status_code=status_code,
        workflow=described,
        verbs=VERB_LABELS,
        help=VERB_HELP,
        activity_verbs=ACTIVITY_VERBS,
        workflow_href=workflow_href,
        **context,
    )


@router.get("/operator/workflows/{workflow_id:path}")
async def workflow(
    request: Request,
    visitor: CurrentVisitor,
    api: ApiAs,
    workflow_id: str,
    action: Verb | None = None,
) -> Response:
    """One workflow: its statuses, what it waits for, its last events, and the actions.

    `action` opens that action's dialog: what its button links to when scripts are off."""
    return await _workflow_page(request, visitor, api, workflow_id, opened=action)


@router.post("/operator/workflows/{workflow_id:path}/{verb}")
async def act(
    request: Request,
    visitor: Changing,
    api: ApiAs,
    workflow_id: str,
    verb: Verb,
    reason: Annotated[str, Form(max_length=1000)] = "",
    activity_id: Annotated[str, Form(max_length=200)] = "",
    to: Annotated[str, Form(max_length=20)] = "last-good",
    event_id: Annotated[str, Form(max_length=18)] = "",
) -> Response:
    """Take the action with the reason typed in its dialog; the outcome is flashed on the
    workflow page, a refusal shown there with its code."""
    body: dict[str, Any] = {"reason": reason}
    if verb in ACTIVITY_VERBS and activity_id:
        body["activity_id"] = activity_id
    if verb is Verb.RESET:
        body["to"] = event_id.strip() or to
    try:
        done = await api.post(f"/v1/ops/workflows/{_path(workflow_id)}/{verb}", json=body)
    except ApiProblem as problem:
        return await _workflow_page(
            request,
            visitor,
            api,
            workflow_id,
            status_code=problem.status,
            problem=problem,
            failed=verb,
            typed={"reason": reason, "activity_id": activity_id, "to": to, "event_id": event_id},
        )
    _ = translator(request.state.language)
    text = _("{action} : {detail} (journal d'audit n° {audit}).").format(
        action=_(VERB_LABELS[verb]), detail=done["detail"], audit=done["audit_id"]
    )
    await flash(request, visitor, "success", text)
    return redirect(request, workflow_href(workflow_id))


# --- audit trail --------------------------------------------------------------------------


@router.get("/operator/audit")
async def audit(
    request: Request,
    visitor: CurrentVisitor,
    api: ApiAs,
    actor: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=40)] = "",
    cursor: Annotated[str, Query(max_length=19)] = "",
) -> Response:
    """The operators' actions, newest first, a page at a time."""
    filters = {"actor": actor, "action": action}
    context: dict[str, Any] = {
        "filters": filters,
        "actions": AUDITED_ACTIONS,
        "workflow_actions": [verb.value for verb in Verb] + [OpsAction.SIGNAL.value],
        "cursor": cursor,
        "workflow_href": workflow_href,
    }
    trail, problem = await _read(api, "/v1/ops/audit", cursor=cursor, limit=AUDIT_PAGE, **filters)
    return render(
        request,
        "operator/audit.html",
        visitor,
        status_code=problem.status if problem else 200,
        problem=problem,
        trail=trail,
        **context,
    )


# --- charts ------------------------------------------------------------------------------


@router.get("/operator/charts")
async def charts(
    request: Request,
    visitor: CurrentVisitor,
    api: ApiAs,
    period_from: Annotated[date | None, Query(alias="from")] = None,
    period_to: Annotated[date | None, Query(alias="to")] = None,
    structure: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    """Weekly deposits by status, payment delays beside the legal deadlines, and what is
    overdue, for every structure or one."""
    asked = {"from": period_from, "to": period_to, "structure": structure}
    figures, problem = await _read(api, "/v1/statistics/invoices", **asked)
    drawn = _charts(figures, request.state.language) if figures else []
    return render(
        request,
        "operator/charts.html",
        visitor,
        status_code=problem.status if problem else 200,
        problem=problem,
        asked=asked,
        figures=figures,
        drawn=drawn,
    )


Translate = Callable[[str], str]


def _charts(figures: dict[str, Any], lang: str) -> list[Chart]:
    """The four charts of the figures, in the visitor's language."""
    _ = translator(lang)

    def amount(value: float) -> str:
        return money({"lang": lang}, value)

    return [
        _weekly_chart(figures, _),
        _delays_chart(figures, _),
        _overdue_by_age_chart(figures, _, amount),
        _overdue_by_buyer_chart(figures, _, amount),
    ]


def _weekly_chart(figures: dict[str, Any], _: Translate) -> Chart:
    """Deposits per week, stacked by status family."""
    weeks = figures["weeks"]
    series = [
        Series(
            _(name),
            colour,
            tuple(float(sum(week["counts"].get(s, 0) for s in statuses)) for week in weeks),
        )
        for name, colour, statuses in STATUS_FAMILIES
    ]
    total = sum(week["total"] for week in weeks)
    return column_chart(
        "chart-weekly",
        _("Factures déposées par semaine, selon leur statut actuel"),
        _(
            "Factures déposées du {first} au {last}, par semaine (lundi) et statut : {count}."
        ).format(count=total, first=day(figures["from"]), last=day(figures["to"])),
        _("Semaine du"),
        [day(week["week"])[:5] for week in weeks],
        series,
        total=_("Total"),
        empty=_("Aucune facture déposée sur la période."),
    )


def _delays_chart(figures: dict[str, Any], _: Translate) -> Chart:
    """Days from deposit to payment, on time and late, with each legal deadline marked."""
    delays = figures["payment_delays"]
    deadlines = sorted({d["days"] for d in delays["deadlines"]})
    shown = max([DELAY_SHOWN_DAYS, *(d + 30 for d in deadlines)])
    shown += -shown % DELAY_BIN_DAYS
    bounds, sums = histogram_bins(
        [(d["days"], (d["count"] - d["late"], d["late"])) for d in delays["delays"]],
        width=DELAY_BIN_DAYS,
        last=shown,
        values=2,
    )
    labels = [f"{low}–{high}" if high is not None else f"> {low - 1}" for low, high in bounds]
    description = _(
        "Factures payées du {first} au {last} : {paid}, dont {late} après leur échéance."
    ).format(
        paid=delays["paid"],
        late=delays["late"],
        first=day(figures["from"]),
        last=day(figures["to"]),
    )
    if deadlines:
        legal = ", ".join(str(d) for d in deadlines)
        description += " " + _("Délai légal : {deadlines} jours.").format(deadlines=legal)
    return column_chart(
        "chart-delays",
        _("Délai de paiement, du dépôt au paiement (jours)"),
        description,
        _("Jours"),
        labels,
        [
            Series(_("Payées à temps"), ON_TIME, tuple(s[0] for s in sums)),
            Series(_("Payées en retard"), LATE, tuple(s[1] for s in sums)),
        ],
        total=_("Total"),
        markers=[
            Marker(d / DELAY_BIN_DAYS, _("Délai légal : {days} j").format(days=d))
            for d in deadlines
        ],
        empty=_("Aucune facture payée sur la période."),
    )


def _overdue_by_age_chart(
    figures: dict[str, Any], _: Translate, amount: Callable[[float], str]
) -> Chart:
    """Overdue amounts by how long ago their due date passed."""
    overdue = figures["overdue"]
    labels = [
        _("{low}–{high} j (factures : {count})").format(
            low=age["days_from"], high=age["days_to"], count=age["count"]
        )
        if age["days_to"] is not None
        else _("> {low} j (factures : {count})").format(
            low=age["days_from"] - 1, count=age["count"]
        )
        for age in overdue["by_age"]
    ]
    return bar_chart(
        "chart-overdue-age",
        _("Montants en retard, selon l'ancienneté du retard"),
        _("Factures échues et impayées : {count}, pour {amount} au total.").format(
            count=overdue["count"], amount=amount(float(Decimal(overdue["amount"])))
        ),
        _("Retard"),
        labels,
        Series(
            _("Montant"), OVERDUE, tuple(float(Decimal(a["amount"])) for a in overdue["by_age"])
        ),
        fmt=amount,
    )


def _overdue_by_buyer_chart(
    figures: dict[str, Any], _: Translate, amount: Callable[[float], str]
) -> Chart:
    """The buyers with the largest overdue amounts."""
    buyers = figures["overdue"]["by_buyer"]
    return bar_chart(
        "chart-overdue-buyer",
        _("Montants en retard, par acheteur"),
        _("Les acheteurs dont les montants échus et impayés sont les plus élevés."),
        _("Acheteur"),
        [f"{b['buyer_name'] or '—'} ({b['buyer_siret'] or '—'})" for b in buyers],
        Series(_("Montant"), OVERDUE, tuple(float(Decimal(b["amount"])) for b in buyers)),
        fmt=amount,
        empty=_("Aucun montant en retard."),
    )
