"""The README is the front door: every setting and every error code is documented there."""

from __future__ import annotations

from core.config import REPO_ROOT, Settings
from core.errors import ErrorCode

README = (REPO_ROOT / "README.md").read_text()


def test_every_setting_is_in_the_configuration_table() -> None:
    missing = [
        f"CHAINE_{name.upper()}"
        for name in Settings.model_fields
        if f"`CHAINE_{name.upper()}`" not in README
    ]
    assert missing == []


def test_every_error_code_is_listed() -> None:
    assert [code.value for code in ErrorCode if f"`{code.value}`" not in README] == []


def test_the_two_set_up_commands_come_first() -> None:
    first_block = README.split("```")[1]
    assert "make run" in first_block
    assert "make test" in first_block
