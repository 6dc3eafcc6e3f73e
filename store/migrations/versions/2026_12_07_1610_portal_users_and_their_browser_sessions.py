"""Portal users and their browser sessions

Revision ID: e8c9bb302df1
Revises: 4db42a339b0f
Create Date: 2026-12-07 16:10:41.383535
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = 'e8c9bb302df1'
down_revision: str | None = '4db42a339b0f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('portal_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('client_pk', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=2), server_default='fr', nullable=False),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_pk'], ['api_clients.id'], name=op.f('fk_portal_users_client_pk_api_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_users')),
    sa.UniqueConstraint('client_pk', name=op.f('uq_portal_users_client_pk')),
    sa.UniqueConstraint('username', name=op.f('uq_portal_users_username'))
    )
    op.create_table('portal_sessions',
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('user_pk', sa.Integer(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('flash', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['user_pk'], ['portal_users.id'], name=op.f('fk_portal_sessions_user_pk_portal_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_sha256', name=op.f('pk_portal_sessions'))
    )
    with op.batch_alter_table('portal_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_sessions_expires_at'), ['expires_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('portal_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_sessions_expires_at'))

    op.drop_table('portal_sessions')
    op.drop_table('portal_users')
