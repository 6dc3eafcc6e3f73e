"""Repository of the operators' audit trail: every action on workflows, who took it and why."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import OpsAudit


class OpsAuditRepository:
    """Every query on `ops_audit`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        actor: str,
        action: str,
        target: str,
        reason: str,
        outcome: dict[str, Any],
        *,
        dry_run: bool = False,
    ) -> OpsAudit:
        """Add one entry (the caller commits, with or without the action's own writes)."""
        entry = OpsAudit(
            actor=actor,
            action=action,
            target=target[:300],
            reason=reason,
            dry_run=dry_run,
            outcome=outcome,
        )
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def page(
        self,
        *,
        before: int | None = None,
        actor: str | None = None,
        action: str | None = None,
        limit: int = 50,
    ) -> list[OpsAudit]:
        """Entries newest first, older than the id `before` when given (keyset pages)."""
        query = select(OpsAudit)
        if before is not None:
            query = query.where(OpsAudit.id < before)
        if actor is not None:
            query = query.where(OpsAudit.actor == actor)
        if action is not None:
            query = query.where(OpsAudit.action == action)
        rows = await self.session.scalars(query.order_by(OpsAudit.id.desc()).limit(limit))
        return list(rows)
