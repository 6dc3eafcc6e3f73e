"""`chaine edi watch IN --out OUT`: EDI mode on a directory, one report file per invoice.

Each file is deposited once: the report file is written only after the API answered, and
the deposit carries the file's SHA-256 as `Idempotency-Key`, so a watcher stopped at any
moment and started again neither loses nor doubles a deposit.
"""

from __future__ import annotations

import hashlib
import json
import signal
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from cli.api_client import ApiClient, ApiOption, ClientIdOption, ClientSecretOption
from cli.settings import command_settings

app = typer.Typer(help="EDI mode: deposit the files dropped in a directory.", no_args_is_help=True)
MEDIA_TYPES = {".xml": "application/xml", ".pdf": "application/pdf"}
SETTLE_SECONDS = 1.0  # a file untouched this long is taken as completely written
PENDING_PATIENCE_SECONDS = 600


def report_path(out_dir: Path, source: Path) -> Path:
    """Where the report of `source` is written."""
    return out_dir / f"{source.name}.report.json"


def _ready(in_dir: Path, out_dir: Path, now: float) -> list[Path]:
    return sorted(
        path
        for path in in_dir.iterdir()
        if path.is_file()
        and not path.name.startswith(".")
        and now - path.stat().st_mtime >= SETTLE_SECONDS
        and not report_path(out_dir, path).exists()
    )


def deposit_file(client: ApiClient, source: Path) -> dict[str, Any]:
    """Deposit one file and wait for its outcome; the report of what the API said."""
    data = source.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    media_type = MEDIA_TYPES.get(source.suffix.lower(), "application/xml")
    response = client.request(
        "POST",
        "/v1/invoices",
        content=data,
        headers={
            "Content-Type": media_type,
            "Idempotency-Key": f"edi-{sha256}",
        },
    )
    if response.status_code == 202:
        response = _await_record(client, response)
    body = response.json()
    return {
        "file": source.name,
        "sha256": sha256,
        "http_status": response.status_code,
        "invoice_id": body.get("id") or body.get("invoice_id"),
        "status": body.get("status") if response.status_code < 400 else "REFUSED",
        "code": body.get("code"),
        "detail": body.get("detail"),
        "report": body.get("report"),
    }


def _await_record(client: ApiClient, accepted: httpx.Response) -> httpx.Response:
    """Follow a 202 until the invoice is recorded (404 until validation ends)."""
    location = accepted.headers["location"]
    deadline = time.monotonic() + PENDING_PATIENCE_SECONDS
    while time.monotonic() < deadline:
        time.sleep(float(accepted.headers.get("retry-after", "2")))
        response = client.request("GET", location)
        if response.status_code != 404:
            return response
    return accepted


@app.command()
def watch(
    in_dir: Annotated[Path, typer.Argument(exists=True, file_okay=False)],
    out: Annotated[Path, typer.Option("--out", help="Where report files are written.")],
    client_id: ClientIdOption,
    client_secret: ClientSecretOption,
    api: ApiOption = None,
    interval: Annotated[float, typer.Option(help="Seconds between scans.")] = 2.0,
    once: Annotated[bool, typer.Option("--once", help="Scan once, then stop.")] = False,
) -> None:
    """Deposit every file that appears in IN_DIR and write OUT/<file>.report.json."""
    settings = command_settings()
    out.mkdir(parents=True, exist_ok=True)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with ApiClient(api or settings.effective_public_url, client_id, client_secret) as client:
        while not stopping:
            for source in _ready(in_dir, out, time.time() + (SETTLE_SECONDS if once else 0)):
                report = deposit_file(client, source)
                target = report_path(out, source)
                partial = target.with_suffix(".tmp")
                partial.write_text(json.dumps(report, indent=2, ensure_ascii=False))
                partial.replace(target)
                typer.echo(f"{source.name}: {report['status']} ({report['http_status']})")
                if stopping:
                    break
            if once:
                break
            time.sleep(interval)
