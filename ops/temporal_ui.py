"""Links into the Temporal web UI, for operators who want the full picture."""

from __future__ import annotations

from urllib.parse import quote

from core.config import Settings


def ui_base_url(settings: Settings) -> str | None:
    """The web UI of the embedded dev server (`chaine up --ui`); None on a cluster, whose UI
    address Chaîne does not know."""
    if settings.temporal_address is not None:
        return None
    return f"http://127.0.0.1:{settings.temporal_ui_port}"


def workflow_url(base: str | None, namespace: str, workflow_id: str) -> str | None:
    """The UI page of one workflow (its latest run)."""
    if base is None:
        return None
    return f"{base}/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"
