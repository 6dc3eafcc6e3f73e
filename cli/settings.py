"""Settings of a CLI command: read from the environment once, with logging configured."""

from __future__ import annotations

from core.config import Settings, load_settings
from core.logging import configure_logging


def command_settings() -> Settings:
    """Load the `CHAINE_*` settings and configure logging from them (raises `SettingsError`)."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings
