"""`chaine payments run` and `chaine payments statement FILE`, for accountants."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
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

app = typer.Typer(help="Payment runs and bank statements.", no_args_is_help=True)


@app.command()
def run(
    client_id: ClientIdOption,
    client_secret: ClientSecretOption,
    api: ApiOption = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the run's files.")] = 120,
) -> None:
    """Start a payment run now, wait for its files, and print what it paid."""
    settings = command_settings()
    with ApiClient(api or settings.effective_public_url, client_id, client_secret) as client:
        started = client.request("POST", "/v1/payment-runs", json={})
        if started.status_code != 202:
            raise ApiRefused(f"payment run refused: {problem_detail(started)}")
        location = started.headers["location"]
        deadline = time.monotonic() + wait
        while True:
            response = client.request("GET", location)
            # Planned: still building its files (a run with nothing to pay ends with none).
            if response.status_code == 200 and response.json()["status"] != "PLANNED":
                break
            if time.monotonic() > deadline:
                raise ApiRefused(f"the run {started.json()['id']} has no file yet; see {location}")
            time.sleep(0.5)
    summary = response.json()
    table = Table("account", "kind", "status", "transfers", "amount", title=summary["id"])
    for row in summary["totals"]:
        table.add_row(
            row["debtor_iban"], row["kind"], row["status"], str(row["count"]), row["amount"]
        )
    console = Console()
    console.print(table)
    for file in summary["files"]:
        console.print(f"file {file['href']}  ({file['transactions']} transfers)")
    for skipped in summary["skipped"]:
        what = (
            f"invoice {skipped['invoice_id']}"
            if "invoice_id" in skipped
            else f"periodic order of {skipped['commitment']}"
        )
        console.print(f"[yellow]not paid[/]: {what}: {skipped['reason']}")


@app.command()
def statement(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    client_id: ClientIdOption,
    client_secret: ClientSecretOption,
    api: ApiOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw answer.")] = False,
) -> None:
    """Send a camt.053, camt.054 or pain.002 file; print what each entry matched."""
    settings = command_settings()
    with ApiClient(api or settings.effective_public_url, client_id, client_secret) as client:
        response = client.request(
            "POST",
            "/v1/bank-statements",
            content=path.read_bytes(),
            headers={"Content-Type": "application/xml"},
        )
    if response.status_code not in (200, 201):
        raise ApiRefused(f"bank file refused: {problem_detail(response)}")
    body = response.json()
    if as_json:
        typer.echo(json.dumps(body, indent=2))
        return
    title = f"{body['kind']} {body['message_id'] or ''}" + (
        " (already received)" * body["duplicate"]
    )
    table = Table("end-to-end id", "status", "amount", "date", "matched", title=title)
    for entry in body["entries"]:
        matched = entry["invoice_id"] or f"[red]{entry['problem']}[/]"
        table.add_row(
            entry["end_to_end_id"] or "-",
            entry["status"],
            entry["amount"] or "-",
            entry["date"] or "-",
            matched,
        )
    Console().print(table)
