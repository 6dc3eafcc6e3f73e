"""Repository of API clients."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.principals import Principal, Role
from store.models import ApiClient, ApiClientSiret


class ClientRepository:
    """Every query on `api_clients`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        client_id: str,
        secret_hash: str,
        role: Role,
        sirets: list[str],
        name: str,
        email: str | None = None,
    ) -> ApiClient:
        """Record a new client."""
        client = ApiClient(
            client_id=client_id,
            secret_hash=secret_hash,
            role=role.value,
            name=name,
            email=email,
            sirets=[ApiClientSiret(siret=s) for s in dict.fromkeys(sirets)],
        )
        self.session.add(client)
        await self.session.flush()
        return client

    async def active(self, client_id: str) -> ApiClient | None:
        """The active client with this id, if any."""
        return await self.session.scalar(
            select(ApiClient).where(ApiClient.client_id == client_id, ApiClient.active)
        )

    async def acting_for(self, siret: str, roles: Iterable[Role]) -> list[ApiClient]:
        """The active clients of these roles bound to `siret`, by client id."""
        return list(
            await self.session.scalars(
                select(ApiClient)
                .join(ApiClientSiret, ApiClientSiret.client_pk == ApiClient.id)
                .where(
                    ApiClientSiret.siret == siret,
                    ApiClient.active,
                    ApiClient.role.in_(sorted(r.value for r in roles)),
                )
                .order_by(ApiClient.client_id)
            )
        )


def principal_of(client: ApiClient) -> Principal:
    """The principal a client authenticates as."""
    return Principal(
        client_id=client.client_id,
        role=Role(client.role),
        sirets=frozenset(s.siret for s in client.sirets),
    )
