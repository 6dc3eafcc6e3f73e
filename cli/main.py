"""`chaine`: start the stack, run a worker or the API, and manage the data they serve."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
import uvicorn

from api.app import create_app
from cli import clients, db, demo, directory, edi, flows, ops, payments, users
from cli.settings import command_settings
from cli.up import run_up
from core.config import SettingsError
from core.errors import ChaineError
from workers.main import run_workers

EXIT_REFUSED = 1
EXIT_SETTINGS = 2
EXIT_API_NOT_STARTED = 3  # uvicorn's own status when the app cannot start


class ChaineTyper(typer.Typer):
    """The root command: a `ChaineError` ends it with one line on stderr, not a traceback."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except ChaineError as exc:
            typer.echo(f"error [{exc.code}]: {exc.detail}", err=True)
            raise SystemExit(
                EXIT_SETTINGS if isinstance(exc, SettingsError) else EXIT_REFUSED
            ) from None


app = ChaineTyper(
    name="chaine",
    help="Chaîne: the French public spending chain, from tender to payment.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold secrets (token key, passwords)
)
app.add_typer(db.app, name="db")
app.add_typer(directory.app, name="directory")
app.add_typer(directory.commitments_app, name="commitments")
app.add_typer(clients.app, name="clients")
app.add_typer(users.app, name="users")
app.add_typer(flows.app, name="flows")
app.add_typer(edi.app, name="edi")
app.add_typer(ops.app, name="ops")
app.add_typer(payments.app, name="payments")
app.command("demo")(demo.demo)


@app.command()
def up(
    ui: Annotated[bool, typer.Option("--ui", help="Also serve the Temporal web UI.")] = False,
) -> None:
    """Run the Temporal dev server, a worker and the API on this machine until Ctrl-C."""
    run_up(command_settings(), ui=ui)


@app.command()
def worker() -> None:
    """Run the workers of both task queues until SIGINT or SIGTERM."""
    try:
        asyncio.run(run_workers(command_settings()))
    except KeyboardInterrupt:  # Ctrl-C before the workers polled: nothing to finish
        raise typer.Exit(130) from None


@app.command("api")
def api_command() -> None:
    """Serve the HTTP API until SIGINT or SIGTERM (uvicorn drains requests first)."""
    settings = command_settings()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=settings.api_host,
            port=settings.api_port,
            log_config=None,  # keep Chaîne's log format
            proxy_headers=False,  # client addresses feed rate limits: never trust headers
        )
    )
    server.run()
    if not server.started:
        raise SystemExit(EXIT_API_NOT_STARTED)


if __name__ == "__main__":
    app(prog_name="chaine")
