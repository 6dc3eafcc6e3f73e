"""Invoice lifecycle: projection columns, events outbox, mandates, commitments

Revision ID: c8f9a74af38d
Revises: 5da8fb9d34d6
Create Date: 2026-11-23 16:12:01.049046
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = 'c8f9a74af38d'
down_revision: str | None = '5da8fb9d34d6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('commitments',
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('buyer_siret', sa.String(length=14), nullable=False),
    sa.Column('supplier_siret', sa.String(length=14), nullable=False),
    sa.Column('ceiling', sa.Numeric(precision=19, scale=2), nullable=False),
    sa.Column('consumed', sa.Numeric(precision=19, scale=2), nullable=False),
    sa.Column('service_done_presumed', sa.Boolean(), nullable=False),
    sa.Column('works', sa.Boolean(), nullable=False),
    sa.Column('paying_service', sa.String(length=100), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_commitments'))
    )
    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commitments_buyer_siret'), ['buyer_siret'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitments_supplier_siret'), ['supplier_siret'], unique=False)

    op.create_table('invoice_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('invoice_id', sa.String(length=36), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=60), nullable=False),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('lifecycle_code', sa.String(length=3), nullable=True),
    sa.Column('seller_key', sa.String(length=40), nullable=False),
    sa.Column('buyer_siret', sa.String(length=14), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('occurred_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_events_invoice_id_invoices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_events')),
    sa.UniqueConstraint('invoice_id', 'sequence', name=op.f('uq_invoice_events_invoice_id_sequence'))
    )
    with op.batch_alter_table('invoice_events', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_events_buyer', ['buyer_siret', 'id'], unique=False)
        batch_op.create_index('ix_invoice_events_seller', ['seller_key', 'id'], unique=False)

    op.create_table('mandates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('amount', sa.Numeric(precision=19, scale=2), nullable=False),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_mandates_invoice_id_invoices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mandates')),
    sa.UniqueConstraint('invoice_id', name=op.f('uq_mandates_invoice_id')),
    sa.UniqueConstraint('number', name=op.f('uq_mandates_number'))
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('structure_category', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('works', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('service_done_presumed', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('certified_amount', sa.Numeric(precision=19, scale=2), nullable=True))
        batch_op.add_column(sa.Column('validated_amount', sa.Numeric(precision=19, scale=2), nullable=True))
        batch_op.add_column(sa.Column('due_at', store.models.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('suspended_since', store.models.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('paid_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('late_interest', sa.Numeric(precision=19, scale=2), nullable=True))
        batch_op.add_column(sa.Column('late_compensation', sa.Numeric(precision=19, scale=2), nullable=True))
        batch_op.add_column(sa.Column('control', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('downloaded_at', store.models.UtcDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_invoices_due_at'), ['due_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoices_due_at'))
        batch_op.drop_column('downloaded_at')
        batch_op.drop_column('control')
        batch_op.drop_column('late_compensation')
        batch_op.drop_column('late_interest')
        batch_op.drop_column('paid_on')
        batch_op.drop_column('suspended_since')
        batch_op.drop_column('due_at')
        batch_op.drop_column('validated_amount')
        batch_op.drop_column('certified_amount')
        batch_op.drop_column('service_done_presumed')
        batch_op.drop_column('works')
        batch_op.drop_column('structure_category')

    op.drop_table('mandates')
    with op.batch_alter_table('invoice_events', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_events_seller')
        batch_op.drop_index('ix_invoice_events_buyer')

    op.drop_table('invoice_events')
    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commitments_supplier_siret'))
        batch_op.drop_index(batch_op.f('ix_commitments_buyer_siret'))

    op.drop_table('commitments')
