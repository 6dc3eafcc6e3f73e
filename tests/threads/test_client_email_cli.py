"""`chaine clients create --email`: the address a client's notifications are emailed to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app
from core.errors import ChaineError, ErrorCode
from store.database import make_sync_engine
from store.models import ApiClient


def test_a_client_is_created_with_the_address_of_its_notifications(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'chaine.db'}"
    monkeypatch.setenv("CHAINE_DATABASE_URL", url)
    monkeypatch.setenv("CHAINE_VAR_DIR", str(tmp_path))
    runner = CliRunner()
    created = runner.invoke(
        app,
        [
            "clients",
            "create",
            "--role",
            "buyer",
            "--siret",
            "11000201100044",
            "--json",
            "--email",
            "achats@ministere.example.fr",
        ],
    )
    assert created.exit_code == 0, created.output
    client_id = json.loads(created.output)["client_id"]
    refused = runner.invoke(
        app,
        ["clients", "create", "--role", "buyer", "--siret", "11000201100044", "--email", "achats"],
    )
    assert isinstance(refused.exception, ChaineError)  # `chaine` prints it and exits 1
    assert refused.exception.code is ErrorCode.EMAIL_INVALID
    engine = make_sync_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(select(ApiClient.client_id, ApiClient.email)).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [(client_id, "achats@ministere.example.fr")]
