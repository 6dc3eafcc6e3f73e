"""Settings: ISO 8601 legal durations, defaults, and one readable error per bad variable."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from core.config import SettingsError, load_settings


def test_legal_durations_default_to_the_law() -> None:
    settings = load_settings()
    assert settings.standstill_electronic == timedelta(days=11)
    assert settings.standstill_other == timedelta(days=16)
    assert settings.payment_deadline_state == timedelta(days=30)
    assert settings.payment_deadline_hospital == timedelta(days=50)
    assert settings.payment_deadline_other == timedelta(days=60)
    assert settings.moe_validation == timedelta(days=15)


def test_durations_are_read_as_iso_8601(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINE_STANDSTILL_ELECTRONIC", "P12D")
    monkeypatch.setenv("CHAINE_TOKEN_TTL", "PT30M")
    settings = load_settings()
    assert settings.standstill_electronic == timedelta(days=12)
    assert settings.token_ttl == timedelta(minutes=30)


def test_embedded_defaults_live_in_the_var_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINE_VAR_DIR", "/srv/chaine")
    settings = load_settings()
    assert settings.effective_database_url == "sqlite:////srv/chaine/chaine.db"
    assert settings.effective_blob_dir == Path("/srv/chaine/blobs")
    assert settings.effective_temporal_address == "127.0.0.1:7233"
    assert settings.effective_public_url == "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CHAINE_API_PORT", "eighty"),
        ("CHAINE_API_PORT", "70000"),
        ("CHAINE_STANDSTILL_ELECTRONIC", "eleven days"),
        ("CHAINE_PAYMENT_DEADLINE_STATE", "-P30D"),
        ("CHAINE_UPLOAD_MAX_BYTES", "0"),
        ("CHAINE_UPLOAD_MAX_BYTES", "99999999999999999999999"),
        ("CHAINE_DATABASE_URL", "mysql://root@localhost/chaine"),
        ("CHAINE_LOG_LEVEL", "LOUD"),
    ],
)
def test_a_bad_value_is_one_readable_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert variable in str(refused.value)
    assert refused.value.code == "SETTINGS_INVALID"


def test_every_bad_variable_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINE_API_PORT", "x")
    monkeypatch.setenv("CHAINE_TEMPORAL_PORT", "y")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert "CHAINE_API_PORT" in str(refused.value)
    assert "CHAINE_TEMPORAL_PORT" in str(refused.value)


def test_the_token_key_is_made_once_and_private(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path)
    key = settings.token_key()
    assert len(key) == 32
    assert settings.token_key() == key
    assert (tmp_path / "token.key").stat().st_mode & 0o777 == 0o600


def test_paying_accounts_are_read_as_json_and_default_to_the_debtor_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "CHAINE_PAYMENT_ACCOUNTS", '{"DRFIP75": {"iban": "FR7630004000031234567890143"}}'
    )
    settings = load_settings()
    assert settings.paying_accounts() == {
        "DRFIP75": (settings.payment_debtor_name, "FR7630004000031234567890143", None)
    }
    monkeypatch.setenv("CHAINE_PAYMENT_ACCOUNTS", '{"DRFIP75": {"bic": "BDFEFRPP"}}')
    with pytest.raises(SettingsError, match="CHAINE_PAYMENT_ACCOUNTS"):
        load_settings()
