"""Invoice listings: indexes for received invoices by structure

Revision ID: fedaaeef5162
Revises: c8f9a74af38d
Create Date: 2026-11-23 16:24:28.683664
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = 'fedaaeef5162'
down_revision: str | None = 'c8f9a74af38d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index('ix_invoices_buyer_deposited', ['buyer_siret', 'deposited_at', 'id'], unique=False)
        batch_op.create_index('ix_invoices_buyer_status_deposited', ['buyer_siret', 'status', 'deposited_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('ix_invoices_buyer_status_deposited')
        batch_op.drop_index('ix_invoices_buyer_deposited')
