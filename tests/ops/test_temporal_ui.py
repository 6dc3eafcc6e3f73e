"""Links to the Temporal UI: known for the embedded dev server only."""

from __future__ import annotations

from core.config import Settings
from ops.temporal_ui import ui_base_url, workflow_url


def test_the_embedded_server_links_to_its_ui_port() -> None:
    base = ui_base_url(Settings(temporal_ui_port=9233))
    assert workflow_url(base, "default", "invoice:73282932000074:F/1") == (
        "http://127.0.0.1:9233/namespaces/default/workflows/invoice%3A73282932000074%3AF%2F1"
    )


def test_a_cluster_has_no_known_ui() -> None:
    base = ui_base_url(Settings(temporal_address="temporal.example:7233"))
    assert workflow_url(base, "default", "invoice:1:2") is None
