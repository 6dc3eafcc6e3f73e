"""Repository of legal commitments (engagements juridiques)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Commitment


class CommitmentRepository:
    """Every query on `commitments`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, number: str) -> Commitment | None:
        """The commitment with this number."""
        return await self.session.get(Commitment, number)
