"""`chaine users ...`: people who sign in to the portal with a password."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated

import typer

from core.config import load_settings
from core.principals import Role
from portal.accounts import create_user
from store.database import make_async_engine, make_sessionmaker, transaction
from store.migrate import upgrade

app = typer.Typer(help="People of the portal: roles, SIRETs, passwords.", no_args_is_help=True)


async def _create(
    database_url: str,
    username: str,
    password: str,
    role: Role,
    sirets: list[str],
    name: str,
    email: str | None,
) -> str:
    upgrade(database_url)
    engine = make_async_engine(database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            user = await create_user(session, username, password, role, sirets, name, email)
            return user.client.client_id
    finally:
        await engine.dispose()


def _password(from_stdin: bool) -> str:
    """The password: one line on stdin (scripts), else asked twice without echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@app.command()
def create(
    username: Annotated[str, typer.Argument(help="3 to 64 lower-case letters, digits, ._@-")],
    role: Annotated[Role, typer.Option(help="What the person may do.")],
    siret: Annotated[
        list[str] | None, typer.Option(help="A SIRET the person acts for (repeatable).")
    ] = None,
    name: Annotated[str, typer.Option(help="The name shown on pages.")] = "",
    email: Annotated[
        str | None, typer.Option(help="Where notifications are emailed (CHAINE_SMTP_URL).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a person who signs in to the portal; the password is stored hashed (Argon2id)."""
    settings = load_settings()
    password = _password(password_stdin)
    client_id = asyncio.run(
        _create(
            settings.effective_database_url,
            username,
            password,
            role,
            siret or [],
            name or username,
            email,
        )
    )
    if as_json:
        typer.echo(json.dumps({"username": username, "client_id": client_id, "role": role.value}))
    else:
        typer.echo(f"user {username} created ({role.value}); sign in at /login")
