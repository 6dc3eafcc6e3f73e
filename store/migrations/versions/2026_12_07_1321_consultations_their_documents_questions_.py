"""consultations, their documents, questions, interests and bids

Revision ID: 10fdf7f9df31
Revises: 14813f4a9c43
Create Date: 2026-12-07 13:21:01.828955
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = "10fdf7f9df31"
down_revision: str | None = "14813f4a9c43"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consultations",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("buyer_siret", sa.String(length=14), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("procedure", sa.String(length=20), nullable=False),
        sa.Column("cpv_main", sa.String(length=10), nullable=False),
        sa.Column("estimated_value", sa.Numeric(precision=19, scale=2), nullable=False),
        sa.Column("submission_deadline", store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("published_at", store.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.Column("downloads", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", store.models.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultations")),
        sa.UniqueConstraint(
            "buyer_siret", "reference", name=op.f("uq_consultations_buyer_siret_reference")
        ),
    )
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consultations_cpv_main"), ["cpv_main"], unique=False)
        batch_op.create_index(
            "ix_consultations_status_deadline", ["status", "submission_deadline"], unique=False
        )

    op.create_table(
        "bids",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("consultation_id", sa.String(length=100), nullable=False),
        sa.Column("supplier_siret", sa.String(length=14), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("received_at", store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("receipt", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_bids_consultation_id_consultations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bids")),
    )
    with op.batch_alter_table("bids", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bids_consultation_id"), ["consultation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_bids_supplier_siret"), ["supplier_siret"], unique=False
        )

    op.create_table(
        "consultation_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("added_at", store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("downloads", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_consultation_documents_consultation_id_consultations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_documents")),
    )
    with op.batch_alter_table("consultation_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consultation_documents_consultation_id"),
            ["consultation_id"],
            unique=False,
        )

    op.create_table(
        "consultation_interests",
        sa.Column("consultation_id", sa.String(length=100), nullable=False),
        sa.Column("supplier_siret", sa.String(length=14), nullable=False),
        sa.Column("registered_at", store.models.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_consultation_interests_consultation_id_consultations"),
        ),
        sa.PrimaryKeyConstraint(
            "consultation_id", "supplier_siret", name=op.f("pk_consultation_interests")
        ),
    )
    op.create_table(
        "consultation_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.String(length=100), nullable=False),
        sa.Column("supplier_siret", sa.String(length=14), nullable=False),
        sa.Column("question", sa.String(length=5000), nullable=False),
        sa.Column("asked_at", store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.String(length=10000), nullable=True),
        sa.Column("answered_at", store.models.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_consultation_questions_consultation_id_consultations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_questions")),
    )
    with op.batch_alter_table("consultation_questions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consultation_questions_consultation_id"),
            ["consultation_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("consultation_questions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consultation_questions_consultation_id"))

    op.drop_table("consultation_questions")
    op.drop_table("consultation_interests")
    with op.batch_alter_table("consultation_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consultation_documents_consultation_id"))

    op.drop_table("consultation_documents")
    with op.batch_alter_table("bids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bids_supplier_siret"))
        batch_op.drop_index(batch_op.f("ix_bids_consultation_id"))

    op.drop_table("bids")
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.drop_index("ix_consultations_status_deadline")
        batch_op.drop_index(batch_op.f("ix_consultations_cpv_main"))

    op.drop_table("consultations")
