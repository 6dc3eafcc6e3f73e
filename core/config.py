"""Every setting of Chaîne, read once from `CHAINE_*` environment variables.

Legal durations are ISO 8601 durations (`P30D`) so that a change of law is a change of
setting, not of code. Paths are relative to the working directory unless absolute.
"""

from __future__ import annotations

import os
import secrets
from datetime import time, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ChaineError, ErrorCode

REPO_ROOT = Path(__file__).resolve().parent.parent

Port = Annotated[int, Field(ge=1, le=65535)]
SMTP_SCHEMES = ("smtp://", "smtps://", "smtp+starttls://")
SECRET_FIELDS = frozenset({"smtp_url", "seal_passphrase"})  # never echoed in errors


class LogFormat(StrEnum):
    """How log records are written: JSON lines for machines, plain text for people."""

    JSON = "json"
    TEXT = "text"


class PainVersion(StrEnum):
    """The SEPA credit transfer initiation message version banks accept."""

    V09 = "001.001.09"  # EPC rulebook 2019 and later
    V03 = "001.001.03"  # older bank channels


class PayingAccount(BaseModel):
    """A public accountant's account that pays the commitments of one paying service."""

    model_config = ConfigDict(frozen=True)

    iban: str = Field(min_length=15, max_length=34)
    bic: str | None = Field(None, max_length=11)
    name: str | None = Field(None, max_length=70)  # default: `payment_debtor_name`


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
    # Shortest time from publication to the submission deadline (R2161-2 s., electronic
    # minima); MAPA has none in law ("délai raisonnable").
    tender_period_open: timedelta = Field(timedelta(days=30), ge=timedelta(0))
    tender_period_restricted: timedelta = Field(timedelta(days=25), ge=timedelta(0))
    tender_period_negotiated: timedelta = Field(timedelta(days=25), ge=timedelta(0))
    tender_period_adapted: timedelta = Field(timedelta(0), ge=timedelta(0))
    # Candidates keep this long after an amendment: a later one pushes the deadline.
    amendment_notice: timedelta = Field(timedelta(days=6), ge=timedelta(0))
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

    # Outbound requests to addresses Chaîne did not choose (certificate links, webhooks):
    # hosts (`host` or `host:port`, comma-separated) exempt from the public-address rule.
    outbound_allowed_hosts: str = Field(
        "", description="Loopback or private peers allowed in development and tests."
    )
    # Signature validation policy (see README "Signatures").
    signature_trust_dir: Path | None = Field(
        None, description="Directory of trust anchor certificates (PEM or DER)."
    )
    signature_trusted_list: Path | None = Field(
        None, description="EU trusted list (ETSI TS 119 612) snapshot, verified beforehand."
    )
    signature_fetching: bool = Field(
        False, description="Fetch missing revocation data and certificates online."
    )
    signature_fetch_timeout: timedelta = Field(timedelta(seconds=5), gt=timedelta(0))
    signature_fetch_max_bytes: int = Field(2 * 1024 * 1024, gt=0, le=2**30)
    signature_max_pdf_objects: int = Field(200_000, gt=0)
    # Chaîne's own seal: a PKCS#12 key and certificate, and a timestamp authority.
    seal_pkcs12: Path | None = Field(
        None, description="Seal key and certificate; unset = a development seal in var_dir."
    )
    seal_passphrase: SecretStr | None = None
    seal_tsa_url: str | None = Field(None, description="RFC 3161 timestamp authority URL.")

    # Status callbacks (webhooks): retried with exponential backoff for the retry window,
    # then dead-lettered; an endpoint failing for `callback_disable_after` is disabled.
    callback_retry_window: timedelta = Field(timedelta(days=3), gt=timedelta(0))
    callback_disable_after: timedelta = Field(timedelta(days=5), gt=timedelta(0))
    callback_timeout: timedelta = Field(timedelta(seconds=10), gt=timedelta(0))
    callback_max_response_bytes: int = Field(64 * 1024, gt=0, le=2**24)
    callback_secret_overlap: timedelta = Field(
        timedelta(hours=24), ge=timedelta(0), description="Old secret still signs after rotation."
    )
    # Payment runs: a daily run (Europe/Paris time), the SEPA file version, the paying account.
    payment_run_at: time = Field(time(7, 0), description="Daily payment run, Paris time.")
    payment_pain_version: PainVersion = PainVersion.V09
    payment_debtor_name: str = Field("DRFIP - Comptable public", min_length=1, max_length=70)
    payment_debtor_iban: str = Field("FR7630001007941234567890185", min_length=15, max_length=34)
    payment_debtor_bic: str | None = Field("BDFEFRPPCCT", max_length=11)
    payment_accounts: dict[str, PayingAccount] = Field(
        default_factory=dict,
        description='JSON: the account of each paying service, {"SERVICE": {"iban": …}}.',
    )
    # Operator tools: when a workflow counts as stuck.
    ops_stuck_attempts: int = Field(5, ge=1, description="Activity attempts before it is stuck.")
    ops_stuck_waiting: timedelta = Field(
        timedelta(days=15), gt=timedelta(0), description="Waiting on people longer than this."
    )

    # Email copies of notifications (message threads): unset = no email.
    smtp_url: SecretStr | None = Field(
        None, description="smtp://, smtps:// or smtp+starttls://[user:password@]host[:port]"
    )
    smtp_from: str = Field("chaine@localhost", min_length=3, max_length=254)
    smtp_timeout: timedelta = Field(timedelta(seconds=10), gt=timedelta(0))

    # Portal (web pages for people): how long a sign-in lasts; cookies are Secure when the
    # public URL is https.
    portal_session_ttl: timedelta = Field(
        timedelta(hours=8), gt=timedelta(0), description="A portal sign-in lasts this long."
    )

    @field_validator("smtp_url")
    @classmethod
    def _known_smtp(cls, url: SecretStr | None) -> SecretStr | None:
        if url is not None and not url.get_secret_value().startswith(SMTP_SCHEMES):
            raise ValueError("must be a smtp://, smtps:// or smtp+starttls:// URL")
        return url

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

    def paying_accounts(self) -> dict[str, tuple[str, str, str | None]]:
        """Each paying service's account as (name, IBAN, BIC)."""
        return {
            service: (account.name or self.payment_debtor_name, account.iban, account.bic)
            for service, account in self.payment_accounts.items()
        }

    @property
    def allowed_hosts(self) -> frozenset[str]:
        """`outbound_allowed_hosts` as a set of lower-case `host` / `host:port` entries."""
        return frozenset(
            host.strip().lower() for host in self.outbound_allowed_hosts.split(",") if host.strip()
        )

    @property
    def effective_public_url(self) -> str:
        """Base URL of the API as people reach it."""
        return self.public_url or f"http://{self.api_host}:{self.api_port}"

    @property
    def portal_cookies_secure(self) -> bool:
        """Whether portal cookies carry `Secure`: always but in development over plain http."""
        return self.effective_public_url.startswith("https://")

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
            + (
                f" (got {err['input']!r})"
                if isinstance(err.get("input"), str | int) and err["loc"][0] not in SECRET_FIELDS
                else ""
            )
            for err in exc.errors()
        ]
        raise SettingsError("invalid settings:\n  " + "\n  ".join(lines)) from None
