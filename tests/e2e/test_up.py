"""`chaine up` as people run it: a real dev server, worker and API in subprocesses."""

from __future__ import annotations

import json
import os
import signal
import socket
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import (
    Stack,
    alive,
    descendants,
    free_ports,
    run_chaine,
    run_temporal,
    wait_until,
)
from workflows.search_attributes import ALL

pytestmark = pytest.mark.slow

MINISTRY_SIRET = "11000201100044"
STOP_SECONDS = 40.0  # three children, each allowed a 10 s grace period, plus margin


def an_ops_token(env: dict[str, str], api_url: str) -> str:
    """A bearer token for a new ops client, created with `chaine clients create`."""
    created = run_chaine(
        env, "clients", "create", "--role", "ops", "--siret", MINISTRY_SIRET, "--json"
    )
    assert created.returncode == 0, created.stderr
    client = json.loads(created.stdout)
    response = httpx.post(
        f"{api_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def get(stack: Stack, path: str, token: str) -> httpx.Response:
    """GET an API path with a bearer token."""
    return httpx.get(
        f"{stack.api_url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def test_up_serves_the_api_then_stops_every_process_on_sigint(
    start_up: Callable[[], Stack], chaine_env: dict[str, str]
) -> None:
    stack = start_up()
    stack.wait_ready()
    registered = run_temporal(chaine_env, "operator", "search-attribute", "list")
    assert {key.name for key in ALL} <= set(registered["customAttributes"])

    token = an_ops_token(chaine_env, stack.api_url)
    assert get(stack, "/v1/structures", token).status_code == 200

    children = descendants(stack.process.pid)
    assert len(children) >= 3, f"expected dev server, worker and API; got {children}"
    stack.process.send_signal(signal.SIGINT)
    assert stack.process.wait(timeout=STOP_SECONDS) == 0, stack.output()
    assert not [pid for pid in children if alive(pid)], stack.output()


def test_up_resumes_with_its_data_and_workflows_after_being_killed(
    start_up: Callable[[], Stack], chaine_env: dict[str, str], tmp_path: Path
) -> None:
    stack = start_up()
    stack.wait_ready()
    structures = tmp_path / "structures.csv"
    structures.write_text(
        "siret,name,category,active,service_code_required,commitment_required,"
        "payment_status_not_reported\n"
        f"{MINISTRY_SIRET},Ministère test,STATE,true,false,false,false\n",
        encoding="utf-8",
    )
    imported = run_chaine(chaine_env, "directory", "import", str(structures))
    assert imported.returncode == 0, imported.stderr
    token = an_ops_token(chaine_env, stack.api_url)
    # No worker polls this queue: the execution just waits, as a business one would.
    probe_id = "e2e-persistence-probe"
    run_temporal(
        chaine_env,
        "workflow",
        "start",
        "--type",
        "Probe",
        "--task-queue",
        "e2e-unpolled",
        "--workflow-id",
        probe_id,
    )

    everything = {stack.process.pid, *descendants(stack.process.pid)}
    os.killpg(stack.process.pid, signal.SIGKILL)
    stack.process.wait(timeout=10)
    wait_until(lambda: not any(alive(pid) for pid in everything), 15, "killed processes gone")

    again = start_up()
    again.wait_ready()
    found = get(again, f"/v1/structures/{MINISTRY_SIRET}", token)  # token key survived too
    assert found.status_code == 200, found.text
    assert found.json()["name"] == "Ministère test"
    probe = run_temporal(chaine_env, "workflow", "describe", "--workflow-id", probe_id)
    assert probe["workflowExecutionInfo"]["status"] == "WORKFLOW_EXECUTION_STATUS_RUNNING"


def test_up_refuses_a_port_in_use_before_starting_anything(chaine_env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = run_chaine({**chaine_env, "CHAINE_API_PORT": str(port)}, "up")

    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"error [PORT_IN_USE]: port {port} is already in use: set CHAINE_API_PORT to a free port"
    )
    assert not Path(chaine_env["CHAINE_VAR_DIR"]).exists(), "something started anyway"


def test_up_refuses_a_port_shared_by_two_settings(chaine_env: dict[str, str]) -> None:
    port = str(free_ports(1)[0])
    refused = run_chaine(
        {**chaine_env, "CHAINE_API_PORT": port, "CHAINE_TEMPORAL_PORT": port}, "up"
    )

    assert refused.returncode == 1
    assert "CHAINE_API_PORT and CHAINE_TEMPORAL_PORT" in refused.stderr
    assert not Path(chaine_env["CHAINE_VAR_DIR"]).exists()


def test_an_invalid_setting_is_named_without_a_traceback(chaine_env: dict[str, str]) -> None:
    refused = run_chaine({**chaine_env, "CHAINE_API_PORT": "notaport"}, "up")

    assert refused.returncode == 2
    assert "CHAINE_API_PORT" in refused.stderr
    assert "notaport" in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout
    assert not Path(chaine_env["CHAINE_VAR_DIR"]).exists()


def test_db_upgrade_prints_the_revision_reached(chaine_env: dict[str, str]) -> None:
    upgraded = run_chaine(chaine_env, "db", "upgrade")

    assert upgraded.returncode == 0, upgraded.stderr
    assert "is at revision " in upgraded.stdout
    assert (Path(chaine_env["CHAINE_VAR_DIR"]) / "chaine.db").is_file()


def test_a_dead_worker_stops_the_stack_with_a_message_naming_it(
    start_up: Callable[[], Stack],
) -> None:
    stack = start_up()
    stack.wait_ready()
    children = descendants(stack.process.pid)
    workers = [
        pid
        for pid in children
        if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    ]
    assert len(workers) == 1, workers

    os.kill(workers[0], signal.SIGKILL)

    assert stack.process.wait(timeout=STOP_SECONDS) == 1
    assert "the worker exited unexpectedly" in stack.output()
    assert not [pid for pid in children if alive(pid)]


def test_children_die_with_a_killed_up(start_up: Callable[[], Stack]) -> None:
    stack = start_up()
    stack.wait_ready()
    children = descendants(stack.process.pid)

    stack.process.kill()  # SIGKILL to `up` alone, not to its group
    stack.process.wait(timeout=10)

    wait_until(lambda: not any(alive(pid) for pid in children), 15, "orphaned children gone")
