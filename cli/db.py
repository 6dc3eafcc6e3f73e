"""`chaine db ...`: the database schema, and the database as shown to people."""

from __future__ import annotations

import typer
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from cli.settings import command_settings
from core.config import Settings
from store import migrate

app = typer.Typer(help="The database schema.", no_args_is_help=True)


def shown_database_url(settings: Settings) -> str:
    """The database URL with any password masked, for banners and messages."""
    return make_url(settings.effective_database_url).render_as_string(hide_password=True)


@app.command()
def upgrade() -> None:
    """Apply every pending migration and print the revision reached."""
    settings = command_settings()
    migrate.upgrade(settings.effective_database_url)
    head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    typer.echo(f"{shown_database_url(settings)} is at revision {head}")
