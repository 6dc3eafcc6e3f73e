"""`GET /v1/me`: who the token says you are."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentPrincipal
from api.schemas import ResponseModel

router = APIRouter(prefix="/v1", tags=["authentication"])


class Me(ResponseModel):
    """The authenticated principal."""

    client_id: str
    role: str
    sirets: list[str]


@router.get("/me", response_model=Me, summary="The authenticated client")
async def me(principal: CurrentPrincipal) -> Me:
    """The client id, role and SIRETs the access token carries."""
    return Me(client_id=principal.client_id, role=principal.role, sirets=sorted(principal.sirets))
