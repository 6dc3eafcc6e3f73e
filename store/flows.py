"""Repository of bulk deposits (flows)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Flow


class FlowRepository:
    """Every query on `flows`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, flow_id: str) -> Flow | None:
        """The flow with this id."""
        return await self.session.get(Flow, flow_id)

    async def save(
        self,
        *,
        flow_id: str,
        depositor: str,
        sirets: list[str],
        original_sha256: str,
        filename: str | None,
        status: str,
        entries: list[dict[str, Any]],
    ) -> None:
        """Insert the flow, or update its status and entries (idempotent)."""
        flow = await self.session.get(Flow, flow_id)
        if flow is None:
            self.session.add(
                Flow(
                    id=flow_id,
                    depositor=depositor,
                    sirets=sirets,
                    original_sha256=original_sha256,
                    original_filename=filename,
                    status=status,
                    entries=entries,
                )
            )
        else:
            flow.status = status
            flow.entries = entries
