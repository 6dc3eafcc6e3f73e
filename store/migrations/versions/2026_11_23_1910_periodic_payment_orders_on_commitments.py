"""Periodic payment orders on commitments

Revision ID: 14813f4a9c43
Revises: bec93e1e3671
Create Date: 2026-11-23 19:10:10.631585
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '14813f4a9c43'
down_revision: str | None = 'bec93e1e3671'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('periodic_amount', sa.Numeric(precision=19, scale=2), nullable=True))
        batch_op.add_column(sa.Column('periodic_months', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('periodic_start', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('periodic_end', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('periodic_paused', sa.Boolean(), server_default='0', nullable=False))

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('commitment_number', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('period', sa.Date(), nullable=True))
        batch_op.alter_column('invoice_id',
               existing_type=sa.VARCHAR(length=36),
               nullable=True)
        batch_op.create_index('uq_payments_periodic_live', ['commitment_number', 'period'], unique=True, postgresql_where=sa.text("status <> 'REJECTED'"), sqlite_where=sa.text("status <> 'REJECTED'"))


def downgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('uq_payments_periodic_live', postgresql_where=sa.text("status <> 'REJECTED'"), sqlite_where=sa.text("status <> 'REJECTED'"))
        batch_op.alter_column('invoice_id',
               existing_type=sa.VARCHAR(length=36),
               nullable=False)
        batch_op.drop_column('period')
        batch_op.drop_column('commitment_number')

    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.drop_column('periodic_paused')
        batch_op.drop_column('periodic_end')
        batch_op.drop_column('periodic_start')
        batch_op.drop_column('periodic_months')
        batch_op.drop_column('periodic_amount')
