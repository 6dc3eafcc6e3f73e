"""`chaine clients ...`: API clients (OAuth 2.0 client credentials)."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from api.credentials import register_client
from core.config import load_settings
from core.principals import Role
from store.database import make_async_engine, make_sessionmaker, transaction
from store.migrate import upgrade

app = typer.Typer(help="API clients and their roles.", no_args_is_help=True)


async def _create(
    database_url: str, role: Role, sirets: list[str], name: str, email: str | None
) -> tuple[str, str]:
    upgrade(database_url)
    engine = make_async_engine(database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            return await register_client(session, role, sirets, name, email)
    finally:
        await engine.dispose()


@app.command()
def create(
    role: Annotated[Role, typer.Option(help="What the client may do.")],
    siret: Annotated[
        list[str] | None, typer.Option(help="A SIRET the client acts for (repeatable).")
    ] = None,
    name: Annotated[str, typer.Option(help="A label for people.")] = "",
    email: Annotated[
        str | None, typer.Option(help="Where its notifications are emailed (CHAINE_SMTP_URL).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a client; its secret is printed once and only its hash is kept."""
    settings = load_settings()
    client_id, secret = asyncio.run(
        _create(settings.effective_database_url, role, siret or [], name or role.value, email)
    )
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "client_id": client_id,
                    "client_secret": secret,
                    "role": role.value,
                    "sirets": siret or [],
                    "email": email,
                }
            )
        )
    else:
        typer.echo(
            f"client_id:     {client_id}\nclient_secret: {secret}\n"
            "Keep the secret now: it is stored hashed and cannot be shown again."
        )
