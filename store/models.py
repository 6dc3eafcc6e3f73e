"""SQLAlchemy 2 typed models: the records Chaîne keeps.

Workflows own processes; these tables are the projection the API lists and filters.
A naming convention on the metadata keeps constraint names, hence migrations, stable.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite forgets)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Timestamped:
    """Creation and last-change times."""

    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class Structure(Timestamped, Base):
    """A public structure (buyer) identified by SIRET, with its routing parameters."""

    __tablename__ = "structures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    siret: Mapped[str] = mapped_column(String(14), unique=True)
    siren: Mapped[str] = mapped_column(String(9), index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    category: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    service_code_required: Mapped[bool] = mapped_column(Boolean, default=False)
    commitment_required: Mapped[bool] = mapped_column(Boolean, default=False)
    payment_status_not_reported: Mapped[bool] = mapped_column(Boolean, default=False)
    commitment_ceiling_strict: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="0"
    )

    services: Mapped[list[Service]] = relationship(
        back_populates="structure", cascade="all, delete-orphan", order_by="Service.code"
    )


class Service(Timestamped, Base):
    """A service of a structure; its code is what suppliers put in BT-10."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("structure_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    structure_id: Mapped[int] = mapped_column(ForeignKey("structures.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    structure: Mapped[Structure] = relationship(back_populates="services")


class Supplier(Timestamped, Base):
    """A supplier with its identifier, bank account and contact."""

    __tablename__ = "suppliers"
    __table_args__ = (UniqueConstraint("scheme", "identifier"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme: Mapped[str] = mapped_column(String(10))
    identifier: Mapped[str] = mapped_column(String(35))
    siren: Mapped[str | None] = mapped_column(String(9), index=True)
    name: Mapped[str] = mapped_column(String(200))
    iban: Mapped[str | None] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    email: Mapped[str | None] = mapped_column(String(254))


class ApiClient(Timestamped, Base):
    """An OAuth 2.0 client (client credentials), bound to a role and to SIRETs."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[str | None] = mapped_column(String(254))  # where notifications are emailed

    sirets: Mapped[list[ApiClientSiret]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ApiClientSiret.siret"
    )


class ApiClientSiret(Base):
    """One SIRET a client acts for."""

    __tablename__ = "api_client_sirets"

    client_pk: Mapped[int] = mapped_column(
        ForeignKey("api_clients.id", ondelete="CASCADE"), primary_key=True
    )
    siret: Mapped[str] = mapped_column(String(14), primary_key=True)


class Invoice(Timestamped, Base):
    """One deposit of an invoice, accepted or rejected, and its current status.

    The invoice workflow owns the process and is the only writer of these rows; a row's id
    is derived from the workflow run, so a retried activity writes the same row again.
    Among non-rejected invoices, a seller's number is unique per year (duplicate rule).
    """

    __tablename__ = "invoices"
    __table_args__ = (
        Index(
            "uq_invoices_live_number",
            "seller_key",
            "number",
            "issue_year",
            unique=True,
            sqlite_where=text("status != 'REJETEE'"),
            postgresql_where=text("status != 'REJETEE'"),
        ),
        Index("ix_invoices_buyer_status", "buyer_siret", "status"),
        Index("ix_invoices_seller_deposited", "seller_key", "deposited_at"),
        # Listings of received invoices: a structure's newest deposits, all or of some
        # statuses, read in index order a page at a time (id breaks ties, as in the pages).
        Index("ix_invoices_buyer_deposited", "buyer_siret", "deposited_at", "id"),
        Index("ix_invoices_buyer_status_deposited", "buyer_siret", "status", "deposited_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(300), index=True)
    run_id: Mapped[str] = mapped_column(String(64))  # the first run of the workflow chain
    seller_key: Mapped[str] = mapped_column(String(40))
    number: Mapped[str] = mapped_column(String(200))
    issue_date: Mapped[date | None] = mapped_column(Date)
    issue_year: Mapped[int | None] = mapped_column(Integer)
    type_code: Mapped[str | None] = mapped_column(String(3))
    currency: Mapped[str | None] = mapped_column(String(3))
    seller_siret: Mapped[str | None] = mapped_column(String(14))
    seller_name: Mapped[str | None] = mapped_column(String(300))
    buyer_siret: Mapped[str | None] = mapped_column(String(14))
    buyer_name: Mapped[str | None] = mapped_column(String(300))
    service_code: Mapped[str | None] = mapped_column(String(100))
    commitment_number: Mapped[str | None] = mapped_column(String(100))
    # What the invoice counts against that commitment's `consumed` while it is live: set
    # when accepted, cleared when it ends unpaid, so exactly this amount is given back.
    commitment_counted: Mapped[Decimal | None] = mapped_column(Numeric(19, 2))
    payee_iban: Mapped[str | None] = mapped_column(String(34))  # BT-84: where to pay
    # A credit note or corrective invoice: the seller's invoice it refers to (BT-25).
    credited_invoice_id: Mapped[str | None] = mapped_column(String(36), index=True)
    total_without_vat: Mapped[Decimal | None] = mapped_column(Numeric(19, 2))
    total_vat: Mapped[Decimal | None] = mapped_column(Numeric(19, 2))
    total_with_vat: Mapped[Decimal | None] = mapped_column(Numeric(19, 2))
    amount_due: Mapped[Decimal | None] = mapped_column(Numeric(19, 2))
    syntax: Mapped[str | None] = mapped_column(String(10))
    profile: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(40))
    status_at: Mapped[datetime] = mapped_column(UtcDateTime())
    depositor: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(10))
    flow_id: Mapped[str | None] = mapped_column(String(36), index=True)
    original_sha256: Mapped[str] = mapped_column(String(64))
    original_media_type: Mapped[str] = mapped_column(String(100))
    original_size: Mapped[int] = mapped_column(Integer)
    original_filename: Mapped[str | None] = mapped_column(String(255))
    canonical_sha256: Mapped[str | None] = mapped_column(String(64))
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    deposited_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Lifecycle projection, written by the invoice workflow's activities only.
    structure_category: Mapped[str | None] = mapped_column(String(20))
    works: Mapped[bool] = mapped_column(Boolean, default=False)
    service_done_presumed: Mapped[bool] = mapped_column(Boolean, default=False)
    certified_amount: Mapped[Decimal | None] = mapped_column(Numeric(19, 2))
    validated_amount: Mapped[Decimal | None] = mapped_column(Numeric(19, 2))  # by the MOE
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    suspended_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    paid_on: Mapped[date | None] = mapped_column(Date)
    late_interest: Mapped[Decimal | None] = mapped_column(Numeric(19, 2))
    late_compensation: Mapped[Decimal | None] = mapped_column(Numeric(19, 2))
    control: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    downloaded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class InvoiceStatusChange(Base):
    """One status an invoice reached: who, when, why (the history suppliers see)."""

    __tablename__ = "invoice_status_changes"
    __table_args__ = (UniqueConstraint("invoice_id", "sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    sequence: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(60))
    comment: Mapped[str | None] = mapped_column(String(2000))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class InvoiceEvent(Base):
    """Outbox: one row per status change, written with the projection, read by subscribers.

    The global id is the polling cursor; `sequence` orders one invoice's events.
    """

    __tablename__ = "invoice_events"
    __table_args__ = (
        UniqueConstraint("invoice_id", "sequence"),
        Index("ix_invoice_events_seller", "seller_key", "id"),
        Index("ix_invoice_events_buyer", "buyer_siret", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    sequence: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(40))
    lifecycle_code: Mapped[str | None] = mapped_column(String(3))
    seller_key: Mapped[str] = mapped_column(String(40))
    buyer_siret: Mapped[str | None] = mapped_column(String(14))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Mandate(Base):
    """A payment mandate: exactly one per invoice (1 invoice = 1 mandate)."""

    __tablename__ = "mandates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[str] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), unique=True
    )
    number: Mapped[str] = mapped_column(String(40), unique=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Commitment(Timestamped, Base):
    """A legal commitment (engagement juridique) invoices reference in BT-13."""

    __tablename__ = "commitments"

    number: Mapped[str] = mapped_column(String(40), primary_key=True)
    buyer_siret: Mapped[str] = mapped_column(String(14), index=True)
    supplier_siret: Mapped[str] = mapped_column(String(14), index=True)
    ceiling: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    consumed: Mapped[Decimal] = mapped_column(Numeric(19, 2), default=Decimal(0))
    service_done_presumed: Mapped[bool] = mapped_column(Boolean, default=False)
    works: Mapped[bool] = mapped_column(Boolean, default=False)
    paying_service: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Periodic payment order (OPP): a fixed amount every `periodic_months` months from
    # `periodic_start` (until `periodic_end`), paid by payment runs without an invoice.
    periodic_amount: Mapped[Decimal | None] = mapped_column(Numeric(19, 2))
    periodic_months: Mapped[int | None] = mapped_column(Integer)
    periodic_start: Mapped[date | None] = mapped_column(Date)
    periodic_end: Mapped[date | None] = mapped_column(Date)
    periodic_paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class IdempotentResponse(Base):
    """The answer given to a request sent with an `Idempotency-Key`, replayed on retries."""

    __tablename__ = "idempotent_responses"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    location: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


class Flow(Timestamped, Base):
    """A bulk deposit (EDI mode): one archive or multi-invoice file, many invoices."""

    __tablename__ = "flows"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    depositor: Mapped[str] = mapped_column(String(64), index=True)
    sirets: Mapped[list[str]] = mapped_column(JSON)
    original_sha256: Mapped[str] = mapped_column(String(64))
    original_filename: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(30))
    entries: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class Webhook(Timestamped, Base):
    """A subscription: where to push the events of the owner's SIRETs, and how to sign them.

    Secrets are Standard Webhooks `whsec_` keys; after a rotation the previous one still
    signs (a second signature) until `previous_secret_until`, so receivers can switch.
    """

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)  # the API client id
    role: Mapped[str] = mapped_column(String(20))
    sirets: Mapped[list[str]] = mapped_column(JSON)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSON)  # empty: every type
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    disabled_reason: Mapped[str | None] = mapped_column(String(500))


class WebhookDelivery(Timestamped, Base):
    """One event for one subscription: the unit a `CallbackWorkflow` delivers, once."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # the webhook-id header
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    event_type: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20))  # PENDING, DELIVERED, DEAD, SKIPPED
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class WebhookAttempt(Base):
    """One HTTP attempt of a delivery, shown to the subscriber."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))


class RelayCursor(Base):
    """How far a relay has read the outbox (one row per relay)."""

    __tablename__ = "relay_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))


class Notification(Base):
    """An inbox entry for one API client: fed by events, by disabled endpoints..."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_recipient", "recipient", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(64))  # the API client id
    kind: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(300))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    emailed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # set once sent


class Thread(Base):
    """A conversation between the two sides of a subject (for now an invoice).

    The subject is named by kind and id rather than by a foreign key, so that threads of
    consultations join this table without a new one; who may read follows the subject.
    """

    __tablename__ = "threads"
    __table_args__ = (Index("ix_threads_subject", "subject_kind", "subject_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(20))  # "invoice"
    subject_id: Mapped[str] = mapped_column(String(36))
    subject: Mapped[str] = mapped_column(String(200))  # the subject line its author wrote
    created_by: Mapped[str] = mapped_column(String(64))  # the API client id
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ThreadMessage(Base):
    """One message of a thread: its author, the side they wrote for, text and files."""

    __tablename__ = "thread_messages"
    __table_args__ = (Index("ix_thread_messages_thread", "thread_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    thread_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("threads.id", ondelete="CASCADE")
    )
    author: Mapped[str] = mapped_column(String(64))  # the API client id
    role: Mapped[str] = mapped_column(String(20))
    side: Mapped[str] = mapped_column(String(10))  # seller, buyer
    body: Mapped[str] = mapped_column(String(10_000))
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class OpsAudit(Base):
    """Every operator action: who, what, on which target, why, when, and its outcome."""

    __tablename__ = "ops_audit"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(String(1000))
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


class PaymentRun(Timestamped, Base):
    """One payment run: the invoices it gathered, the files it built, where it stands."""

    __tablename__ = "payment_runs"

    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))  # PLANNED, then FILES_BUILT
    pain_version: Mapped[str] = mapped_column(String(20))
    execution_date: Mapped[date] = mapped_column(Date)
    skipped: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # and why


class Payment(Timestamped, Base):
    """One transfer: an invoice's amount due, or its late interest and compensation.

    At most one non-rejected payment per invoice and kind (partial unique index): a retried
    or restarted run can never pay an invoice twice.
    """

    __tablename__ = "payments"
    __table_args__ = (
        Index(
            "uq_payments_live",
            "invoice_id",
            "kind",
            unique=True,
            postgresql_where=text("status <> 'REJECTED'"),
            sqlite_where=text("status <> 'REJECTED'"),
        ),
        Index("ix_payments_run", "run_id", "debtor_iban", "end_to_end_id"),
        Index(
            "uq_payments_periodic_live",
            "commitment_number",
            "period",
            unique=True,
            postgresql_where=text("status <> 'REJECTED'"),
            sqlite_where=text("status <> 'REJECTED'"),
        ),
    )

    end_to_end_id: Mapped[str] = mapped_column(String(35), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("payment_runs.id"))
    invoice_id: Mapped[str | None] = mapped_column(String(36), index=True)
    commitment_number: Mapped[str | None] = mapped_column(String(40))  # PERIODIC only
    period: Mapped[date | None] = mapped_column(Date)  # PERIODIC: the due date it pays
    kind: Mapped[str] = mapped_column(String(10))  # INVOICE, INTEREST, PERIODIC
    amount: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    currency: Mapped[str] = mapped_column(String(3))
    creditor_name: Mapped[str] = mapped_column(String(200))
    creditor_iban: Mapped[str] = mapped_column(String(34))
    creditor_bic: Mapped[str | None] = mapped_column(String(11))
    debtor_iban: Mapped[str] = mapped_column(String(34))
    remittance: Mapped[str] = mapped_column(String(140))
    status: Mapped[str] = mapped_column(String(20))  # PLANNED, CONFIRMED, REJECTED
    reason: Mapped[str | None] = mapped_column(String(200))
    paid_on: Mapped[date | None] = mapped_column(Date)
    file_id: Mapped[str | None] = mapped_column(String(80))


class PaymentFile(Base):
    """A pain.001 file of a run, for one paying account, kept as a blob."""

    __tablename__ = "payment_files"
    __table_args__ = (UniqueConstraint("run_id", "debtor_iban"),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("payment_runs.id"))
    debtor_iban: Mapped[str] = mapped_column(String(34))
    pain_version: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str] = mapped_column(String(35))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    transactions: Mapped[int] = mapped_column(Integer)
    control_sum: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class BankStatement(Base):
    """A bank file received (camt.053/054, pain.002) and what each of its entries matched."""

    __tablename__ = "bank_statements"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the file
    kind: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str | None] = mapped_column(String(140))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    entries: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class Consultation(Timestamped, Base):
    """A consultation as the public and the parties list it; its workflow owns the process."""

    __tablename__ = "consultations"
    __table_args__ = (
        UniqueConstraint("buyer_siret", "reference"),
        Index("ix_consultations_status_deadline", "status", "submission_deadline"),
    )

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # the workflow id
    buyer_siret: Mapped[str] = mapped_column(String(14))
    reference: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    procedure: Mapped[str] = mapped_column(String(20))
    cpv_main: Mapped[str] = mapped_column(String(10), index=True)
    estimated_value: Mapped[Decimal] = mapped_column(Numeric(19, 2))
    submission_deadline: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(20))
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)  # the whole `Consultation`, as JSON
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # award, cancellation...
    downloads: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ConsultationDocument(Base):
    """A file of the consultation documents (DCE); an amendment adds a new version."""

    __tablename__ = "consultation_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[str] = mapped_column(ForeignKey("consultations.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(30))  # dce, amendment, notice, espd-request...
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    downloads: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ConsultationQuestion(Base):
    """A candidate's question and the buyer's answer, published to all without the asker."""

    __tablename__ = "consultation_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[str] = mapped_column(ForeignKey("consultations.id"), index=True)
    supplier_siret: Mapped[str] = mapped_column(String(14))
    question: Mapped[str] = mapped_column(String(5000))
    asked_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    answer: Mapped[str | None] = mapped_column(String(10000))
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ConsultationInterest(Base):
    """A supplier following a consultation: told of answers, amendments and the outcome."""

    __tablename__ = "consultation_interests"

    consultation_id: Mapped[str] = mapped_column(ForeignKey("consultations.id"), primary_key=True)
    supplier_siret: Mapped[str] = mapped_column(String(14), primary_key=True)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class BidRecord(Base):
    """A bid's receipt and fate, so a supplier lists its bids across consultations."""

    __tablename__ = "bids"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    consultation_id: Mapped[str] = mapped_column(ForeignKey("consultations.id"), index=True)
    supplier_siret: Mapped[str] = mapped_column(String(14), index=True)
    version: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(20))  # received, replaced, withdrawn, late...
    receipt: Mapped[dict[str, Any]] = mapped_column(JSON)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class PortalUser(Timestamped, Base):
    """A person signing in to the portal with a password; acts as its own API client, so
    notifications, threads and webhooks addressed to clients reach people too."""

    __tablename__ = "portal_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    client_pk: Mapped[int] = mapped_column(ForeignKey("api_clients.id"), unique=True)
    language: Mapped[str] = mapped_column(String(2), default="fr", server_default="fr")

    client: Mapped[ApiClient] = relationship(lazy="joined")


class PortalSession(Base):
    """A signed-in browser: only the SHA-256 of its cookie is kept; the CSRF token every
    form must echo; a flash message shown once after a redirect."""

    __tablename__ = "portal_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("portal_users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    flash: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    user: Mapped[PortalUser] = relationship(lazy="joined")
