"""Credit notes: the invoice each one credits

Revision ID: 76fc733c78d7
Revises: 306a4c867975
Create Date: 2026-11-23 18:06:19.544034
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '76fc733c78d7'
down_revision: str | None = '306a4c867975'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credited_invoice_id', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_invoices_credited_invoice_id'), ['credited_invoice_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoices_credited_invoice_id'))
        batch_op.drop_column('credited_invoice_id')
