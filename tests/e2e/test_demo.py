"""`chaine demo` as people run it: it starts its stack and tells the story; run again
against the stack it left up, it tells a second story beside the first."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import alive, chaine_command, free_ports, wait_until

pytestmark = pytest.mark.slow
STORY_SECONDS = 300.0


def demo_command(var_dir: Path, ports: list[int], *options: str) -> list[str]:
    api, temporal, ui = ports
    return chaine_command(
        "demo",
        "--var-dir",
        str(var_dir),
        "--api-port",
        str(api),
        "--temporal-port",
        str(temporal),
        "--ui-port",
        str(ui),
        *options,
    )


def test_the_demo_runs_the_chain_and_runs_again_on_the_stack_it_left_up(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAINE_")}
    env["COLUMNS"] = "200"  # the closing table on one line per row
    ports = free_ports(3)
    var_dir = tmp_path / "demo"
    first_log = tmp_path / "first.log"
    with first_log.open("wb") as out:
        first = subprocess.Popen(
            demo_command(var_dir, ports),
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(
            lambda: "Ctrl-C stops it" in first_log.read_text() or first.poll() is not None,
            STORY_SECONDS,
            "the first story",
        )
        told = first_log.read_text()
        assert first.poll() is None, told
        assert "starting the demo stack" in told
        for step in (
            "bids opened (both signatures valid)",
            "suspended (missing document), then completed",
            "drawn for control, found regular",
            "4 mandates issued",
            "late interest and the €40 compensation paid automatically",
            "signed callbacks received",
        ):
            assert step in told, told
        assert len(re.findall(r"invoice \S+.*PAYEE", told)) == 4, told

        again = subprocess.run(
            demo_command(var_dir, ports),
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=STORY_SECONDS,
            check=False,
        )
        assert again.returncode == 0, again.stdout + again.stderr
        assert "starting the demo stack" not in again.stdout  # the running one was used
        first_tag = re.search(r"Chaîne demo (\d+)", told)
        second_tag = re.search(r"Chaîne demo (\d+)", again.stdout)
        assert first_tag and second_tag and first_tag[1] != second_tag[1]
        assert len(re.findall(r"invoice \S+.*PAYEE", again.stdout)) == 4, again.stdout
    finally:
        os.killpg(first.pid, signal.SIGINT)  # Ctrl-C: the demo stops its stack
    first.wait(timeout=90)
    wait_until(lambda: not alive(first.pid), 10, "the demo to end")
