"""`chaine ops ...`: the operator tools, through the API with an `ops` client's credentials.

Every action needs `--reason` (the API refuses it otherwise, and audits what it does);
`--json` prints the API's answer as it is, for scripts.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cli.api_client import ApiClient, ApiOption, ClientIdOption, ClientSecretOption
from cli.settings import command_settings
from core.errors import ChaineError

app = typer.Typer(
    help="Operator tools: stuck workflows, retries, resets, audit.", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON answer.")]
ReasonOption = Annotated[
    str | None, typer.Option("--reason", help="Why (required by the API, kept in the audit).")
]
ActivityOption = Annotated[
    str | None,
    typer.Option("--activity-id", help="The pending activity (default: the only failing one)."),
]


class OpsRefused(ChaineError):
    """The API refused the request: its code and detail, printed as one line."""

    status = 400

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code  # type: ignore[misc,assignment]  # the API's own code, as sent


class Ops:
    """One command's call to the API, and how it prints the answer."""

    def __init__(self, client_id: str, client_secret: str, api: str | None, as_json: bool) -> None:
        settings = command_settings()
        self.client = ApiClient(api or settings.effective_public_url, client_id, client_secret)
        self.as_json = as_json
        self.console = Console(width=None if sys.stdout.isatty() else 200)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The answer's JSON body, or `OpsRefused` with the problem's code and detail."""
        try:
            with self.client as client:
                response = client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise OpsRefused(
                "SERVICE_UNAVAILABLE",
                f"the API at {self.client.http.base_url} does not answer: {exc}",
            ) from None
        if response.status_code >= 400:
            raise _refusal(response)
        return response.json()

    def show(self, body: Any, render: Any) -> None:
        """Print the body as JSON, or as `render` lays it out."""
        if self.as_json:
            typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
        else:
            render(body)


def _refusal(response: httpx.Response) -> OpsRefused:
    try:
        body = response.json()
    except ValueError:
        return OpsRefused(f"HTTP_{response.status_code}", response.text[:200])
    detail = body.get("detail", "")
    if body.get("errors"):
        detail += ": " + "; ".join(
            f"{e.get('pointer') or e.get('parameter')} {e['detail']}" for e in body["errors"]
        )
    return OpsRefused(str(body.get("code", response.status_code)), detail)


def _workflow_path(workflow_id: str, verb: str = "") -> str:
    return f"/v1/ops/workflows/{quote(workflow_id, safe=':')}" + (f"/{verb}" if verb else "")


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        # Text, not markup: failure messages hold brackets (`[SQL: ...]`) rich would parse.
        table.add_row(*(Text("" if v is None else str(v)) for v in row))
    return table


def _done(ops: Ops, body: dict[str, Any]) -> None:
    ops.show(
        body,
        lambda b: ops.console.print(
            f"{b['action']} {b['workflow_id']}: {b['detail']} (audit #{b['audit_id']})",
            markup=False,
        ),
    )


def _json_args(text: str | None) -> list[Any]:
    """Signal arguments given as JSON: an array, or one value (a readable refusal if not JSON)."""
    if not text:
        return []
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OpsRefused("VALIDATION_FAILED", f"the arguments are not JSON: {exc}") from None
    return value if isinstance(value, list) else [value]


@app.command()
def stuck(
    client_id: ClientIdOption,
    client_secret: ClientSecretOption,
    api: ApiOption = None,
    kind: Annotated[str | None, typer.Option(help="ChaineKind, e.g. invoice.")] = None,
    structure: Annotated[str | None, typer.Option(help="Buyer SIRET.")] = None,
    supplier: Annotated[str | None, typer.Option(help="Supplier SIRET or key.")] = None,
    limit: Annotated[int, typer.Option(help="Executions looked at.")] = 1000,
    as_json: JsonOption = False,
) -> None:
    """Workflows stuck on a failing activity or code, and invoices waiting too long."""
    ops = Ops(client_id, client_secret, api, as_json)
    params = {"kind": kind, "structure": structure, "supplier": supplier, "limit": limit}
    body = ops.call("GET", "/v1/ops/stuck", params={k: v for k, v in params.items() if v})

    def render(b: dict[str, Any]) -> None:
        ops.console.print(
            _table(
                f"{len(b['items'])} stuck of {b['scanned']} looked at"
                + (" (truncated)" if b["truncated"] else ""),
                ["workflow", "status", "reason", "attempt", "since", "detail"],
                [
                    [
                        i["workflow_id"],
                        i["status"],
                        i["reason"],
                        i["activity"]["attempt"] if i["activity"] else None,
                        i["since"],
                        i["detail"],
                    ]
                    for i in b["items"]
                ],
            )
        )

    ops.show(body, render)


@app.command()
def describe(
    workflow_id: str,
    client_id: ClientIdOption,
    client_secret: ClientSecretOption,
    api: ApiOption = None,
    events: Annotated[int, typer.Option(help="Last history events shown.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """One workflow: statuses on each side, pending activities and timers, last events."""
    ops = Ops(client_id, client_secret, api, as_json)
    body = ops.call("GET", _workflow_path(workflow_id), params={"events": events})

    def render(b: dict[str, Any]) -> None:
        s = b["status"]
        ops.console.print(
            f"[bold]{escape(b['workflow_id'])}[/bold] {b['workflow_type']} "
            f"{b['execution_status']} (run {b['run_id']}, queue {escape(b['task_queue'])})"
        )
        ops.console.print(
            f"status: database {s['database']}, search attribute {s['search_attribute']}, "
            f"query {s['query']}" + ("" if s["agree"] in (True, None) else "  [red]DIFFER[/red]")
        )
        if b["projection"]:
            p = b["projection"]
            ops.console.print(
                f"invoice {p['invoice_id']} since {p['status_at']}, due {p['due_at']}",
                markup=False,
            )
        if b["pending_activities"]:
            ops.console.print(
                _table(
                    "pending activities",
                    ["id", "type", "state", "attempt", "next attempt", "last failure"],
                    [
                        [
                            a["activity_id"],
                            a["activity_type"],
                            a["state"],
                            a["attempt"],
                            a["next_attempt_at"],
                            a["last_failure"],
                        ]
                        for a in b["pending_activities"]
                    ],
                )
            )
        for timer in b["timers"]:
            ops.console.print(
                f"timer {timer['timer_id']} fires at {timer['fires_at']}", markup=False
            )
        ops.console.print(
            _table(
                f"last events (of {b['history_length']})",
                ["#", "type", "at", "detail"],
                [[e["event_id"], e["type"], e["at"], e["detail"]] for e in b["events"]],
            )
        )
        if b["ui_url"]:
            ops.console.print(f"Temporal UI: {b['ui_url']}", markup=False)

    ops.show(body, render)


def _activity_action(
    verb: str,
    workflow_id: str,
    client_id: str,
    client_secret: str,
    api: str | None,
    reason: str | None,
    activity_id: str | None,
    as_json: bool,
) -> None:
    ops = Ops(client_id, client_secret, api, as_json)
    body = {"reason": reason, "activity_id": activity_id}
    _done(ops, ops.call("POST", _workflow_path(workflow_id, verb), json=body))


@app.command()
def retry(
    workflow_id: str,
    client_id: ClientIdOption,
    client_secret: ClientSecretOption,
    api: ApiOption = None,
    reason: ReasonOption = None,
    activity_id: ActivityOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a failing activity again now, its attempts counted from 1."""
    _activity_action(
        "retry", workflow_id, client_id, client_secret, api, reason, activity_id, as_json
    )


@app.command()
def pause(
    workflow_id: str,
    client_id: ClientIdOption,
    client_secret: ClientSecretOption,
    api: ApiOption = None,
    reason: ReasonOption = None,
    activity_id: ActivityOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stop retrying a pending activity until `unpause`."""
    _activity_action(
        "pause", workflow_id, client_id, client_secret, api, reason, activity_id, as_json
    )


@app.command()
def unpause(
    workflow_id: str,
    client_id: ClientIdOption,
    client_secret: ClientSecretOption,
    api: ApiOption = None,
    reason: ReasonOption = None,
    activity_id: ActivityOption = None,
    as_json: JsonOption = False,
) -> None:
    """Let a paused activity be retried again."""
    _activity_action(
        "unpause", workflow_id, client_id, client_secret, api, reason, activity_id, as_json
    )


@app.command()
def reset(
    workflow_id: str,
    client_id: ClientIdOption,
    client_secret: ClientSecretOption,
    api: ApiOption = None,
    reason: ReasonOption = None,
    to: Annotated[
        str, typer.Option("--to", help="last-good, first, or a workflow task event id.")
    ] = "last-good",
    as_json: JsonOption = False,
) -> None:
    """Start a new run from a completed workflow task (by default the last good one)."""
    ops = Ops(client_id, client_secret, api, as_json)
    body = {"reason": reason, "to": to}
    _done(ops, ops.call("POST", _workflow_path(workflow_id, "reset"), json=body))


@app.command()
def signal(
    workflow_id: str,
    name: str,
    client_id: ClientIdOption,
    client_secret: ClientSecretOption,
    payload: Annotated[
        str | None, typer.Argument(help="JSON: an array of arguments, or one argument.")
    ] = None,
    api: ApiOption = None,
    reason: ReasonOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send signal NAME to a running workflow, with JSON arguments."""
    args = _json_args(payload)
    ops = Ops(client_id, client_secret, api, as_json)
    body = {"reason": reason, "name": name, "args": args}
    _done(ops, ops.call("POST", _workflow_path(workflow_id, "signal"), json=body))


@app.command()
def terminate(
    workflow_id: str,
    client_id: ClientIdOption,
    client_secret: ClientSecretOption,
    api: ApiOption = None,
    reason: ReasonOption = None,
    as_json: JsonOption = False,
) -> None:
    """End a running workflow at once (the reason is mandatory)."""
    ops = Ops(client_id, client_secret, api, as_json)
    body = {"reason": reason}
    _done(ops, ops.call("POST", _workflow_path(workflow_id, "terminate"), json=body))


@app.command()
def batch(
    action: Annotated[str, typer.Argument(help="retry, pause, unpause, reset, signal, terminate")],
    client_id: ClientIdOption,
    client_secret: ClientSecretOption,
    query: Annotated[str, typer.Option("--query", help="A Temporal visibility query.")],
    api: ApiOption = None,
    reason: ReasonOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List, do not act.")] = False,
    limit: Annotated[int, typer.Option(help="Most executions acted on.")] = 100,
    signal_name: Annotated[str | None, typer.Option(help="signal: its name.")] = None,
    signal_args: Annotated[str | None, typer.Option(help="signal: a JSON array.")] = None,
    as_json: JsonOption = False,
) -> None:
    """ACTION on every execution --query matches (running ones, but for reset)."""
    ops = Ops(client_id, client_secret, api, as_json)
    body: dict[str, Any] = {
        "action": action,
        "query": query,
        "reason": reason,
        "dry_run": dry_run,
        "limit": limit,
    }
    if signal_name:
        body["signal_name"] = signal_name
        body["signal_args"] = _json_args(signal_args)
    answer = ops.call("POST", "/v1/ops/batch", json=body)

    def render(b: dict[str, Any]) -> None:
        verb = "would be" if b["dry_run"] else "done"
        ops.console.print(
            _table(
                f"{b['action']}: {b['matched']} matched, {verb}"
                + ("" if b["dry_run"] else f" {b['succeeded']}, refused {b['failed']}")
                + (" (truncated)" if b["truncated"] else ""),
                ["workflow", "type", "ok", "detail"],
                [
                    [i["workflow_id"], i["workflow_type"], "yes" if i["ok"] else "NO", i["detail"]]
                    for i in b["items"]
                ],
            )
        )

    ops.show(answer, render)
    if answer["failed"]:
        raise typer.Exit(1)


@app.command()
def reconcile(
    client_id: ClientIdOption,
    client_secret: ClientSecretOption,
    api: ApiOption = None,
    reason: ReasonOption = None,
    fix: Annotated[bool, typer.Option("--fix", help="Repair confirmed drift.")] = False,
    query: Annotated[str | None, typer.Option(help="Narrow the invoice workflows.")] = None,
    limit: Annotated[int, typer.Option(help="Most workflows compared.")] = 10_000,
    as_json: JsonOption = False,
) -> None:
    """Compare invoice rows with their workflows; --fix sets rows to the workflow's status."""
    ops = Ops(client_id, client_secret, api, as_json)
    body = {"reason": reason, "fix": fix, "query": query, "limit": limit}
    answer = ops.call("POST", "/v1/ops/reconcile", json=body)

    def render(b: dict[str, Any]) -> None:
        ops.console.print(
            _table(
                f"{len(b['drifts'])} drift(s) in {b['scanned']} workflows, {b['fixed']} fixed"
                + (f", {b['in_flight']} in flight" if b["in_flight"] else ""),
                ["workflow", "invoice", "kind", "database", "workflow status", "fixed"],
                [
                    [
                        d["workflow_id"],
                        d["invoice_id"],
                        d["kind"],
                        d["projected_status"],
                        d["workflow_status"],
                        "yes" if d["fixed"] else "no",
                    ]
                    for d in b["drifts"]
                ],
            )
        )

    ops.show(answer, render)


@app.command()
def audit(
    client_id: ClientIdOption,
    client_secret: ClientSecretOption,
    api: ApiOption = None,
    actor: Annotated[str | None, typer.Option(help="An operator's client id.")] = None,
    action: Annotated[str | None, typer.Option(help="retry, terminate, batch-terminate...")] = None,
    limit: Annotated[int, typer.Option(help="Entries per page.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="`next` of the previous page.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The operators' audit trail, newest first."""
    ops = Ops(client_id, client_secret, api, as_json)
    params = {"actor": actor, "action": action, "limit": limit, "cursor": cursor}
    body = ops.call("GET", "/v1/ops/audit", params={k: v for k, v in params.items() if v})

    def render(b: dict[str, Any]) -> None:
        ops.console.print(
            _table(
                "audit" + (f" (next page: --cursor {b['next']})" if b["next"] else ""),
                ["#", "at", "actor", "action", "target", "dry run", "ok", "reason"],
                [
                    [
                        e["id"],
                        e["at"],
                        e["actor"],
                        e["action"],
                        e["target"],
                        "yes" if e["dry_run"] else "",
                        "yes" if e["outcome"].get("ok") else "NO",
                        e["reason"],
                    ]
                    for e in b["items"]
                ],
            )
        )

    ops.show(body, render)
