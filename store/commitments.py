"""Repository of legal commitments (engagements juridiques)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from directory.records import CommitmentRecord
from store.directory import UpsertOutcome
from store.models import Commitment


class CommitmentRepository:
    """Every query on `commitments`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, number: str) -> Commitment | None:
        """The commitment with this number."""
        return await self.session.get(Commitment, number)

    async def add_consumed(self, number: str, amount: Decimal) -> None:
        """Add `amount` (negative to give it back) to the commitment's consumed amount, in one
        UPDATE so that concurrent deposits against the same commitment all count."""
        await self.session.execute(
            update(Commitment)
            .where(Commitment.number == number)
            .values(consumed=Commitment.consumed + amount)
        )

    async def upsert(self, records: Sequence[CommitmentRecord]) -> list[UpsertOutcome]:
        """Insert or update commitments by number, in one read (the consumed amount stays)."""
        if not records:
            return []
        stored = {
            row.number: row
            for row in await self.session.scalars(
                select(Commitment).where(Commitment.number.in_([r.number for r in records]))
            )
        }
        outcomes = []
        for record in records:
            values = asdict(record)
            row = stored.get(record.number)
            if row is None:
                stored[record.number] = Commitment(**values)
                self.session.add(stored[record.number])
                outcomes.append(UpsertOutcome.CREATED)
                continue
            changed = {k: v for k, v in values.items() if getattr(row, k) != v}
            for name, value in changed.items():
                setattr(row, name, value)
            outcomes.append(UpsertOutcome.UPDATED if changed else UpsertOutcome.UNCHANGED)
        await self.session.flush()
        return outcomes
