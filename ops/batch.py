"""One action on every execution a visibility query matches, or, dry, the list of them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError

from core.errors import ChaineError
from ops import actions
from ops.actions import ResetPoint
from ops.errors import ActionRefused, query_refusals
from ops.visibility import RUNNING, all_of

MAX_BATCH = 1000


class BatchAction(StrEnum):
    """The actions a batch can take."""

    RETRY = "retry"
    PAUSE = "pause"
    UNPAUSE = "unpause"
    RESET = "reset"
    SIGNAL = "signal"
    TERMINATE = "terminate"


@dataclass(frozen=True)
class BatchItem:
    """One matched execution and what happened to it."""

    workflow_id: str
    run_id: str
    workflow_type: str
    ok: bool
    detail: str
    code: str | None = None  # the refusal's error code


@dataclass(frozen=True)
class BatchResult:
    """The matches of the query and, unless dry, each one's outcome."""

    action: BatchAction
    query: str
    dry_run: bool
    items: tuple[BatchItem, ...]
    truncated: bool = False  # dry run: more executions match than `limit`
    signal: dict[str, Any] = field(default_factory=dict)

    @property
    def succeeded(self) -> int:
        """How many executions the action was taken on."""
        return 0 if self.dry_run else sum(item.ok for item in self.items)

    @property
    def failed(self) -> int:
        """How many were refused."""
        return sum(not item.ok for item in self.items)

    def outcome(self) -> dict[str, Any]:
        """As the audit trail keeps it."""
        return {
            "ok": self.failed == 0,
            "action": self.action.value,
            "query": self.query,
            "matched": len(self.items),
            "succeeded": self.succeeded,
            "failed": self.failed,
            "truncated": self.truncated,
            **({"signal": self.signal} if self.signal else {}),  # what was sent, for the audit
            "items": [asdict(item) for item in self.items],
        }


def scope(action: BatchAction, query: str) -> str:
    """The executions the action applies to: running ones, except for a reset (which also
    restarts closed runs)."""
    return query if action is BatchAction.RESET else all_of(query, RUNNING)


async def run_batch(
    client: Client,
    action: BatchAction,
    query: str,
    *,
    identity: str,
    reason: str,
    dry_run: bool,
    limit: int = 100,
    signal_name: str | None = None,
    signal_args: list[Any] | None = None,
) -> BatchResult:
    """Take `action` on every matching execution, one after the other; a refusal of one is
    reported with it and does not stop the others. More matches than `limit` are refused
    (a dry run lists the first `limit`)."""
    if action is BatchAction.SIGNAL and not signal_name:
        raise ActionRefused("a signal batch needs the signal's name")
    query = query.strip()
    if not query:
        raise ActionRefused("a batch needs a query: it never applies to every execution")
    scoped = scope(action, query)
    async with query_refusals(scoped):
        listed = [e async for e in client.list_workflows(scoped, limit=limit + 1)]
    # One entry per workflow: a reset acts on the latest run, and a workflow reset before
    # matches with its closed run too; it must not be reset once per run.
    matched = list({e.id: e for e in reversed(listed)}.values())[::-1]
    truncated = len(matched) > limit
    if truncated and not dry_run:
        raise ActionRefused(
            f"the query matches more than {limit} executions: narrow it, or raise the limit "
            f"(at most {MAX_BATCH})"
        )
    matched = matched[:limit]
    signal = {"name": signal_name, "args": signal_args or []} if signal_name else {}
    if dry_run:
        items = tuple(
            BatchItem(e.id, e.run_id, e.workflow_type, True, f"would {action}") for e in matched
        )
        return BatchResult(action, scoped, True, items, truncated, signal)
    take: dict[BatchAction, Callable[[str], Awaitable[actions.ActionResult]]] = {
        BatchAction.RETRY: lambda wid: actions.retry_activity(client, wid, None, identity),
        BatchAction.PAUSE: lambda wid: actions.pause_activity(client, wid, None, identity, reason),
        BatchAction.UNPAUSE: lambda wid: actions.unpause_activity(client, wid, None, identity),
        BatchAction.RESET: lambda wid: actions.reset_workflow(
            client, wid, ResetPoint.LAST_GOOD, identity, reason
        ),
        BatchAction.SIGNAL: lambda wid: actions.signal_workflow(
            client, wid, signal_name or "", signal_args or []
        ),
        BatchAction.TERMINATE: lambda wid: actions.terminate_workflow(
            client, wid, identity, reason
        ),
    }
    results = []
    for execution in matched:
        try:
            done = await take[action](execution.id)
        except ChaineError as refusal:
            item = BatchItem(
                execution.id,
                execution.run_id,
                execution.workflow_type,
                False,
                refusal.detail,
                str(refusal.code),
            )
        except RPCError as error:
            item = BatchItem(
                execution.id, execution.run_id, execution.workflow_type, False, error.message
            )
        else:
            item = BatchItem(execution.id, done.run_id, execution.workflow_type, True, done.detail)
        results.append(item)
    return BatchResult(action, scoped, False, tuple(results), False, signal)
