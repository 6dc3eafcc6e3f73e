"""Commitment checks at intake: strict ceiling parameter, amount each invoice counts

Revision ID: 4db42a339b0f
Revises: 10fdf7f9df31
Create Date: 2026-12-07 13:50:52.714742
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '4db42a339b0f'
down_revision: str | None = '10fdf7f9df31'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('commitment_counted', sa.Numeric(precision=19, scale=2), nullable=True))

    with op.batch_alter_table('structures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('commitment_ceiling_strict', sa.Boolean(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('structures', schema=None) as batch_op:
        batch_op.drop_column('commitment_ceiling_strict')

    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('commitment_counted')
