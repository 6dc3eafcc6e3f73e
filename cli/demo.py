"""`chaine demo`: the whole chain on a stack of its own, from the tender to the paid interest.

The demo's stack lives in `var/demo` on ports of its own (API 8100, Temporal 7300, its UI
8300), so it runs beside `make run`. It trusts the development PKI that signs the bids and
the contract (served on loopback while the demo signs), lets Chaîne call loopback (the PKI
and the demo's webhook receiver), and draws every presumed-service invoice for control.
A stack already answering there is used as it is; otherwise the demo starts one and, unless
`--stop`, leaves it running for the links it prints until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

from core.config import Settings
from core.errors import ChaineError, ErrorCode
from store.database import make_async_engine, make_sessionmaker

if TYPE_CHECKING:  # the story's modules are imported when the demo runs: `chaine` starts fast
    from demo.scenario import Story
    from devpki import TestPki

DEMO_VAR_DIR = Path("var/demo")
DEMO_API_PORT, DEMO_TEMPORAL_PORT, DEMO_UI_PORT = 8100, 7300, 8300
READY_SECONDS = 180.0  # the first start compiles the validation stylesheets


class DemoRefused(ChaineError):
    """The demo could not run to its end; the message says which step and why."""

    code = ErrorCode.DEMO_FAILED
    status = 500


def demo_settings(
    var_dir: Path = DEMO_VAR_DIR,
    api_port: int = DEMO_API_PORT,
    temporal_port: int = DEMO_TEMPORAL_PORT,
    ui_port: int = DEMO_UI_PORT,
) -> tuple[Settings, dict[str, str]]:
    """The demo stack's settings and the environment its processes run with: its own
    directory and ports, trust in the development PKI, loopback callable, every
    presumed-service invoice controlled. Other `CHAINE_*` variables of the shell are left
    out: the demo's stack is the demo's."""
    demo = {
        "CHAINE_VAR_DIR": str(var_dir),
        "CHAINE_API_PORT": str(api_port),
        "CHAINE_TEMPORAL_PORT": str(temporal_port),
        "CHAINE_TEMPORAL_UI_PORT": str(ui_port),
        "CHAINE_SIGNATURE_TRUST_DIR": str(var_dir / "trust"),
        "CHAINE_OUTBOUND_ALLOWED_HOSTS": "127.0.0.1",
        "CHAINE_CONTROL_SHARE": "1",
    }
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CHAINE_")}
    values = {key.removeprefix("CHAINE_").lower(): value for key, value in demo.items()}
    # Read no `CHAINE_*` variable of the shell: the demo's own settings are the stack's.
    settings = Settings(_env_prefix="CHAINE_DEMO_IGNORED_", **values)  # type: ignore[call-arg]
    return settings, {**environment, **demo}


def answers(url: str) -> bool:
    """Whether an API answers ready at `url`."""
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def start_stack(
    settings: Settings, environment: dict[str, str], console: Console
) -> subprocess.Popen[bytes]:
    """`chaine up --ui` for the demo, in a process group of its own, logging to a file."""
    log = settings.var_dir / "stack.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    console.print(f"starting the demo stack (log: {log})…")
    stack = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "up", "--ui"],
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + READY_SECONDS
    while not answers(settings.effective_public_url):
        if stack.poll() is not None or time.monotonic() > deadline:
            stop_stack(stack)
            raise DemoRefused(f"the demo stack did not start; see {log}")
        time.sleep(0.5)
    return stack


def stop_stack(stack: subprocess.Popen[bytes]) -> None:
    """Stop the stack the demo started, as Ctrl-C would."""
    with suppress(ProcessLookupError):
        os.killpg(stack.pid, signal.SIGINT)
    try:
        stack.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(stack.pid, signal.SIGKILL)


async def run_story(settings: Settings, console: Console, pki: TestPki) -> Story:
    """The story, step by step, each step printed as it ends."""
    from demo import scenario
    from demo.outside import receiving
    from devpki import sign_pdf

    def say(text: str) -> None:
        console.print(f"  [green]✓[/green] {text}")

    story = scenario.Story(tag=datetime.now(UTC).strftime("%y%m%d%H%M%S"))
    presumed = f"EJ-SFP-{story.tag}"
    engine = make_async_engine(settings.effective_database_url)
    sessions = make_sessionmaker(engine)
    try:
        await scenario.load_directory(sessions, presumed)
        say("directory: the town hall, two suppliers with their bank accounts, an SFP commitment")
        parties, clients = await scenario.api_clients(sessions, settings.effective_public_url)
        try:
            with receiving() as receiver:
                secret = await scenario.subscribe(parties.winner, receiver)
                say(f"the winner's webhook points at {receiver.url}")

                async def sign(document: bytes, who: str) -> bytes:
                    return await sign_pdf(pki, who, "B-LT", document)

                story.commitment = await scenario.consult(parties, story, sign, say)
                await scenario.invoice(parties, story, story.commitment, presumed, say)
                await scenario.pay(parties, story, settings.payment_debtor_iban, say)
                await scenario.callbacks_arrived(story, receiver, secret, say)
        finally:
            for client in clients:
                await client.aclose()
    except scenario.DemoFailed as failed:
        raise DemoRefused(str(failed)) from None
    finally:
        await engine.dispose()
    return story


def summary(story: Story, settings: Settings) -> Table:
    """What happened, and where to look at it."""
    from demo.scenario import PORTAL_PASSWORD, PORTAL_PEOPLE

    url = settings.effective_public_url
    table = Table(title=f"Chaîne demo {story.tag}", show_lines=False)
    table.add_column("what")
    table.add_column("result")
    table.add_row("consultation", f"{story.consultation} → commitment {story.commitment}")
    for label, item in story.invoices.items():
        table.add_row(
            f"invoice {label}",
            f"{item['number']}  {item['status']}  {item['amount_due']} €  "
            f"{url}/v1/invoices/{item['id']}",
        )
    for run in story.runs:
        kinds = ", ".join(f"{t['count']} {t['kind']}" for t in run["totals"])
        table.add_row("payment run", f"{run['id']}: {kinds}; {len(run['files'])} pain.001 file(s)")
    table.add_row("late interest paid", f"{story.interest} € (interest + €40 compensation)")
    table.add_row("callbacks received", str(story.callbacks))
    table.add_row("API", f"{url}/docs")
    people = ", ".join(username for username, *_ in PORTAL_PEOPLE)
    table.add_row("portal", f"{url}/login  ({people}; password {PORTAL_PASSWORD})")
    table.add_row("Temporal UI", f"http://127.0.0.1:{settings.temporal_ui_port}")
    return table


def demo(
    stop: Annotated[
        bool, typer.Option("--stop", help="Stop the stack the demo started once it ends.")
    ] = False,
    var_dir: Annotated[Path, typer.Option(help="The demo stack's working state.")] = DEMO_VAR_DIR,
    api_port: Annotated[int, typer.Option(help="Its API port.")] = DEMO_API_PORT,
    temporal_port: Annotated[int, typer.Option(help="Its Temporal port.")] = DEMO_TEMPORAL_PORT,
    ui_port: Annotated[int, typer.Option(help="Its Temporal UI port.")] = DEMO_UI_PORT,
) -> None:
    """Run the whole chain on the demo stack (var/demo, API on port 8100) and print it."""
    from devpki import serve_pki  # certomancer: a development dependency, imported late

    console = Console()
    settings, environment = demo_settings(var_dir, api_port, temporal_port, ui_port)
    trust = var_dir / "trust"
    with serve_pki(settings.var_dir / "pki") as pki:
        trust.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pki.trust_dir / "root.pem", trust / "root.pem")
        url = settings.effective_public_url
        stack = None if answers(url) else start_stack(settings, environment, console)
        console.print(f"the demo stack answers at {url}; the story:")
        try:
            story = asyncio.run(run_story(settings, console, pki))
        except BaseException:
            if stack is not None:
                stop_stack(stack)
            raise
    console.print(summary(story, settings))
    if stack is None:
        return
    if stop:
        stop_stack(stack)
        return
    console.print("The demo stack stays up for these links; Ctrl-C stops it.")
    try:
        stack.wait()
    except KeyboardInterrupt:
        stop_stack(stack)
