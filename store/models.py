"""SQLAlchemy 2 typed models: the records Chaîne keeps.

Workflows own processes; these tables are the projection the API lists and filters.
A naming convention on the metadata keeps constraint names, hence migrations, stable.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
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
