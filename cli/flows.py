"""`chaine flows submit DIR`: deposit a directory of invoices as one flow (EDI mode)."""

from __future__ import annotations

import io
import sys
import time
import zipfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from cli.api_client import (
    ApiClient,
    ApiOption,
    ApiRefused,
    ClientIdOption,
    ClientSecretOption,
    problem_detail,
)
from cli.settings import command_settings

app = typer.Typer(help="Bulk deposits (flows).", no_args_is_help=True)
FINAL = {"INTEGRATED", "PARTIALLY_INTEGRATED", "REJECTED"}


def zip_directory(directory: Path) -> bytes:
    """The directory's files (not hidden ones), zipped with their relative names."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            if not any(part.startswith(".") for part in path.relative_to(directory).parts):
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


@app.command()
def submit(
    directory: Annotated[Path, typer.Argument(exists=True, file_okay=False)],
    client_id: ClientIdOption,
    client_secret: ClientSecretOption,
    api: ApiOption = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the flow.")] = 600,
) -> None:
    """Zip DIR, deposit it as one flow, follow it, and print each file's outcome."""
    settings = command_settings()
    console = Console(stderr=True)
    with ApiClient(api or settings.effective_public_url, client_id, client_secret) as client:
        response = client.request(
            "POST",
            "/v1/flows",
            content=zip_directory(directory),
            headers={"Content-Type": "application/zip", "X-Filename": directory.name},
        )
        if response.status_code != 202:
            raise ApiRefused(f"flow refused: {problem_detail(response)}")
        flow = response.json()
        deadline = time.monotonic() + timeout
        with Progress(console=console) as progress:
            task = progress.add_task("files", total=len(flow["entries"]))
            while flow["status"] not in FINAL and time.monotonic() < deadline:
                time.sleep(0.5)
                flow = client.request("GET", f"/v1/flows/{flow['id']}").json()
                done = sum(
                    e["status"] is not None or e["code"] is not None for e in flow["entries"]
                )
                progress.update(task, completed=done)
    table = Table(title=f"flow {flow['id']}: {flow['status']}")
    for column in ("file", "invoice", "status", "code", "rules"):
        table.add_column(column)
    for entry in flow["entries"]:
        table.add_row(
            entry["name"],
            entry["invoice_id"] or "",
            entry["status"] or "",
            entry["code"] or "",
            " ".join(entry["fatal_rules"]),
        )
    # Piped into a file or another program, keep whole values rather than fit 80 columns.
    Console(width=None if sys.stdout.isatty() else 200).print(table)
    if flow["status"] != "INTEGRATED":
        raise typer.Exit(1)
