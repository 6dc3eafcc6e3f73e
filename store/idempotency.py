"""Repository of answers given to requests sent with an `Idempotency-Key`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import IdempotentResponse


class IdempotencyRepository:
    """Every query on `idempotent_responses`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, client_id: str, key: str, since: datetime) -> IdempotentResponse | None:
        """The answer kept for this client's key, if given after `since`."""
        return await self.session.scalar(
            select(IdempotentResponse).where(
                IdempotentResponse.client_id == client_id,
                IdempotentResponse.key == key,
                IdempotentResponse.created_at >= since,
            )
        )

    async def keep(
        self,
        client_id: str,
        key: str,
        request_sha256: str,
        status_code: int,
        body: dict[str, Any],
        location: str | None,
        expired_before: datetime,
    ) -> None:
        """Keep an answer; the first one kept for a key wins; expired answers are purged."""
        await self.session.execute(
            delete(IdempotentResponse).where(IdempotentResponse.created_at < expired_before)
        )
        try:
            async with self.session.begin_nested():
                self.session.add(
                    IdempotentResponse(
                        client_id=client_id,
                        key=key,
                        request_sha256=request_sha256,
                        status_code=status_code,
                        body=body,
                        location=location,
                    )
                )
        except IntegrityError:
            pass  # a concurrent request with the same key kept its answer first
