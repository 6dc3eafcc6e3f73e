"""Invoice intake: invoices, status history, idempotent responses, flows

Revision ID: 5da8fb9d34d6
Revises: 6c2c75987ace
Create Date: 2026-11-23 15:32:18.168939
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = '5da8fb9d34d6'
down_revision: str | None = '6c2c75987ace'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('flows',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('depositor', sa.String(length=64), nullable=False),
    sa.Column('sirets', sa.JSON(), nullable=False),
    sa.Column('original_sha256', sa.String(length=64), nullable=False),
    sa.Column('original_filename', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('entries', sa.JSON(), nullable=False),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flows'))
    )
    with op.batch_alter_table('flows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flows_depositor'), ['depositor'], unique=False)

    op.create_table('idempotent_responses',
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_sha256', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('location', sa.String(length=500), nullable=True),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('client_id', 'key', name=op.f('pk_idempotent_responses'))
    )
    with op.batch_alter_table('idempotent_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotent_responses_created_at'), ['created_at'], unique=False)

    op.create_table('invoices',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('workflow_id', sa.String(length=300), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('seller_key', sa.String(length=40), nullable=False),
    sa.Column('number', sa.String(length=200), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=True),
    sa.Column('issue_year', sa.Integer(), nullable=True),
    sa.Column('type_code', sa.String(length=3), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('seller_siret', sa.String(length=14), nullable=True),
    sa.Column('seller_name', sa.String(length=300), nullable=True),
    sa.Column('buyer_siret', sa.String(length=14), nullable=True),
    sa.Column('buyer_name', sa.String(length=300), nullable=True),
    sa.Column('service_code', sa.String(length=100), nullable=True),
    sa.Column('commitment_number', sa.String(length=100), nullable=True),
    sa.Column('total_without_vat', sa.Numeric(precision=19, scale=2), nullable=True),
    sa.Column('total_vat', sa.Numeric(precision=19, scale=2), nullable=True),
    sa.Column('total_with_vat', sa.Numeric(precision=19, scale=2), nullable=True),
    sa.Column('amount_due', sa.Numeric(precision=19, scale=2), nullable=True),
    sa.Column('syntax', sa.String(length=10), nullable=True),
    sa.Column('profile', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('status_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('depositor', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('flow_id', sa.String(length=36), nullable=True),
    sa.Column('original_sha256', sa.String(length=64), nullable=False),
    sa.Column('original_media_type', sa.String(length=100), nullable=False),
    sa.Column('original_size', sa.Integer(), nullable=False),
    sa.Column('original_filename', sa.String(length=255), nullable=True),
    sa.Column('canonical_sha256', sa.String(length=64), nullable=True),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('deposited_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices'))
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index('ix_invoices_buyer_status', ['buyer_siret', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_flow_id'), ['flow_id'], unique=False)
        batch_op.create_index('ix_invoices_seller_deposited', ['seller_key', 'deposited_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_workflow_id'), ['workflow_id'], unique=False)
        batch_op.create_index('uq_invoices_live_number', ['seller_key', 'number', 'issue_year'], unique=True, sqlite_where=sa.text("status != 'REJETEE'"), postgresql_where=sa.text("status != 'REJETEE'"))

    op.create_table('invoice_status_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.String(length=36), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=60), nullable=True),
    sa.Column('comment', sa.String(length=2000), nullable=True),
    sa.Column('at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_status_changes_invoice_id_invoices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_status_changes')),
    sa.UniqueConstraint('invoice_id', 'sequence', name=op.f('uq_invoice_status_changes_invoice_id_sequence'))
    )


def downgrade() -> None:
    op.drop_table('invoice_status_changes')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('uq_invoices_live_number', sqlite_where=sa.text("status != 'REJETEE'"), postgresql_where=sa.text("status != 'REJETEE'"))
        batch_op.drop_index(batch_op.f('ix_invoices_workflow_id'))
        batch_op.drop_index('ix_invoices_seller_deposited')
        batch_op.drop_index(batch_op.f('ix_invoices_flow_id'))
        batch_op.drop_index('ix_invoices_buyer_status')

    op.drop_table('invoices')
    with op.batch_alter_table('idempotent_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotent_responses_created_at'))

    op.drop_table('idempotent_responses')
    with op.batch_alter_table('flows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flows_depositor'))

    op.drop_table('flows')
