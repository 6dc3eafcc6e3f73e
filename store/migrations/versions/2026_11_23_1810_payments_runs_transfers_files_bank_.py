"""Payments: runs, transfers, files, bank statements, payee account

Revision ID: acbd0c6f62ca
Revises: 76fc733c78d7
Create Date: 2026-11-23 18:10:59.059591
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = 'acbd0c6f62ca'
down_revision: str | None = '76fc733c78d7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('bank_statements',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('message_id', sa.String(length=140), nullable=True),
    sa.Column('uploaded_by', sa.String(length=64), nullable=False),
    sa.Column('received_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('entries', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_statements'))
    )
    op.create_table('payment_runs',
    sa.Column('id', sa.String(length=60), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('pain_version', sa.String(length=20), nullable=False),
    sa.Column('execution_date', sa.Date(), nullable=False),
    sa.Column('skipped', sa.JSON(), nullable=False),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_runs'))
    )
    op.create_table('payment_files',
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('run_id', sa.String(length=60), nullable=False),
    sa.Column('debtor_iban', sa.String(length=34), nullable=False),
    sa.Column('pain_version', sa.String(length=20), nullable=False),
    sa.Column('message_id', sa.String(length=35), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('transactions', sa.Integer(), nullable=False),
    sa.Column('control_sum', sa.Numeric(precision=19, scale=2), nullable=False),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['payment_runs.id'], name=op.f('fk_payment_files_run_id_payment_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_files')),
    sa.UniqueConstraint('run_id', 'debtor_iban', name=op.f('uq_payment_files_run_id_debtor_iban'))
    )
    op.create_table('payments',
    sa.Column('end_to_end_id', sa.String(length=35), nullable=False),
    sa.Column('run_id', sa.String(length=60), nullable=False),
    sa.Column('invoice_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('amount', sa.Numeric(precision=19, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('creditor_name', sa.String(length=200), nullable=False),
    sa.Column('creditor_iban', sa.String(length=34), nullable=False),
    sa.Column('creditor_bic', sa.String(length=11), nullable=True),
    sa.Column('debtor_iban', sa.String(length=34), nullable=False),
    sa.Column('remittance', sa.String(length=140), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('file_id', sa.String(length=80), nullable=True),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['payment_runs.id'], name=op.f('fk_payments_run_id_payment_runs')),
    sa.PrimaryKeyConstraint('end_to_end_id', name=op.f('pk_payments'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index('ix_payments_run', ['run_id', 'debtor_iban', 'end_to_end_id'], unique=False)
        batch_op.create_index('uq_payments_live', ['invoice_id', 'kind'], unique=True, postgresql_where=sa.text("status <> 'REJECTED'"), sqlite_where=sa.text("status <> 'REJECTED'"))

    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payee_iban', sa.String(length=34), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('payee_iban')

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('uq_payments_live', postgresql_where=sa.text("status <> 'REJECTED'"), sqlite_where=sa.text("status <> 'REJECTED'"))
        batch_op.drop_index('ix_payments_run')
        batch_op.drop_index(batch_op.f('ix_payments_invoice_id'))

    op.drop_table('payments')
    op.drop_table('payment_files')
    op.drop_table('payment_runs')
    op.drop_table('bank_statements')
