"""Who follows a consultation, and telling them what changed.

Followers are the suppliers that registered interest and those that bid; each API client
of the supplier role acting for one of their SIRETs gets the notification in its inbox
(and by email when email is set up). Callers add notifications in the transaction that
records the change, so a retried activity or request notifies once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, union
from sqlalchemy.ext.asyncio import AsyncSession

from core.principals import Role
from store.models import ApiClient, ApiClientSiret, BidRecord, ConsultationInterest
from store.notifications import NotificationRepository


class ConsultationFollowers:
    """The suppliers following one consultation."""

    def __init__(self, session: AsyncSession, consultation_id: str) -> None:
        self.session = session
        self.consultation_id = consultation_id

    async def sirets(self) -> set[str]:
        """SIRETs that registered interest or bid (whatever became of the bid)."""
        query = union(
            select(ConsultationInterest.supplier_siret).where(
                ConsultationInterest.consultation_id == self.consultation_id
            ),
            select(BidRecord.supplier_siret).where(
                BidRecord.consultation_id == self.consultation_id
            ),
        )
        return set(await self.session.scalars(query))

    async def notify(
        self, kind: str, subject: str, payload: dict[str, Any], also: Iterable[str] = ()
    ) -> int:
        """Notify every supplier client of the followers (and of the SIRETs `also`)."""
        sirets = await self.sirets() | set(also)
        if not sirets:
            return 0
        clients = await self.session.scalars(
            select(ApiClient.client_id)
            .join(ApiClientSiret, ApiClientSiret.client_pk == ApiClient.id)
            .where(
                ApiClientSiret.siret.in_(sorted(sirets)),
                ApiClient.active,
                ApiClient.role == Role.SUPPLIER.value,
            )
            .distinct()
        )
        inbox = NotificationRepository(self.session)
        recipients = sorted(clients)
        for client_id in recipients:
            inbox.add(
                client_id, kind, subject, {"consultation_id": self.consultation_id, **payload}
            )
        return len(recipients)
