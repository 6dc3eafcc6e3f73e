"""Every setting of Chaîne, read once from `CHAINE_*` environment variables.

Legal durations are ISO 8601 durations (`P30D`) so that a change of law is a change of
setting, not of code. Paths are relative to the working directory unless absolute.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ChaineError, ErrorCode

REPO_ROOT = Path(__file__).resolve().parent.parent

Port = Annotated[int, Field(ge=1, le=65535)]


class LogFormat(StrEnum):
    """How log records are written: JSON lines for machines, plain text for people."""

    JSON = "json"
    TEXT = "text"


class Settings(BaseSettings):
    """The whole configuration; one instance is built at start and passed down."""

    model_config = SettingsConfigDict(env_prefix="CHAINE_", extra="ignore", frozen=True)

    var_dir: Path = Field(Path("var"), description="Working state: SQLite files, blobs, keys.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default SQLite `{var_dir}/chaine.db`."
    )
    blob_dir: Path | None = Field(None, description="Blob store; default `{var_dir}/blobs`.")
    shared_dir: Path = Field(
        REPO_ROOT.parent / "shared", description="Corpus and official schemas (`../shared`)."
    )

    temporal_address: str | None = Field(
        None, description="host:port of a Temporal cluster; unset = embedded dev server."
    )
    temporal_namespace: str = "default"
    temporal_port: Port = Field(7233, description="Embedded dev server gRPC port.")
    temporal_ui_port: Port = Field(8233, description="Embedded dev server web UI port.")
    task_queue: str = Field("chaine", min_length=1)
    cpu_task_queue: str = Field("chaine-cpu", min_length=1)

    api_host: str = "127.0.0.1"
    api_port: Port = 8000
    public_url: str | None = Field(None, description="Base URL printed and used in links.")

    token_key_file: Path | None = Field(
        None, description="HS256 signing key; default `{var_dir}/token.key`, made on first start."
    )
    token_ttl: timedelta = Field(timedelta(hours=1), gt=timedelta(0))
    upload_max_bytes: int = Field(20 * 1024 * 1024, gt=0, le=2**40)
    deposit_wait: timedelta = Field(
        timedelta(seconds=20),
        gt=timedelta(0),
        description="How long a deposit call waits for validation before answering 202.",
    )
    idempotency_retention: timedelta = Field(timedelta(hours=24), ge=timedelta(hours=24))
    rate_limit_per_second: float = Field(50.0, gt=0, description="Sustained requests per client.")
    rate_limit_burst: int = Field(100, gt=0, description="Requests a client may send at once.")

    log_level: str = Field("INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")
    log_format: LogFormat = LogFormat.JSON

    # Ordonnance 2018-1074 art. R2182-1 s.: 11 days after electronic notice of the award
    # decision, 16 days otherwise.
    standstill_electronic: timedelta = Field(timedelta(days=11), gt=timedelta(0))
    standstill_other: timedelta = Field(timedelta(days=16), gt=timedelta(0))
    # R2192-10 to R2192-12: global payment deadline by category of buyer.
    payment_deadline_state: timedelta = Field(timedelta(days=30), gt=timedelta(0))
    payment_deadline_local_authority: timedelta = Field(timedelta(days=30), gt=timedelta(0))
    payment_deadline_hospital: timedelta = Field(timedelta(days=50), gt=timedelta(0))
    payment_deadline_other: timedelta = Field(timedelta(days=60), gt=timedelta(0))
    # R2192-29: after an interruption, a new deadline opens (30 days, or the balance if longer).
    payment_deadline_after_interruption: timedelta = Field(timedelta(days=30), gt=timedelta(0))
    # Control plan of presumed services (SFP): a random share, its seed, a risk threshold.
    control_share: Decimal = Field(Decimal("0.05"), ge=0, le=1)
    control_seed: str = Field("chaine", min_length=1, max_length=100)
    control_threshold: int = Field(50, ge=0, le=10_000)
    # CCAG Travaux: the project manager (MOE) validates a works statement within 15 days.
    moe_validation: timedelta = Field(timedelta(days=15), gt=timedelta(0))

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return url

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the working directory."""
        return self.database_url or f"sqlite:///{self.var_dir / 'chaine.db'}"

    @property
    def effective_blob_dir(self) -> Path:
        """Where blobs live."""
        return self.blob_dir or self.var_dir / "blobs"

    @property
    def effective_temporal_address(self) -> str:
        """The Temporal frontend to reach: the cluster's, or the embedded dev server's."""
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def effective_public_url(self) -> str:
        """Base URL of the API as people reach it."""
        return self.public_url or f"http://{self.api_host}:{self.api_port}"

    def token_key(self) -> bytes:
        """The token signing key, generated (0600) on first use if the file is absent.

        The key is never logged; deleting the file invalidates every issued token.
        """
        path = self.token_key_file or self.var_dir / "token.key"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # made by an earlier start or a sibling process: use it
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
        return bytes.fromhex(path.read_text().strip())


class SettingsError(ChaineError):
    """A `CHAINE_*` variable has a value Chaîne cannot use."""

    code = ErrorCode.SETTINGS_INVALID
    status = 500


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; one readable error names every bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = [
            f"CHAINE_{str(err['loc'][0]).upper()}: {err['msg']}"
            + (f" (got {err['input']!r})" if isinstance(err.get("input"), str | int) else "")
            for err in exc.errors()
        ]
        raise SettingsError("invalid settings:\n  " + "\n  ".join(lines)) from None
