"""Message threads on invoices; client emails; emailed notifications

Revision ID: bec93e1e3671
Revises: acbd0c6f62ca
Create Date: 2026-11-23 18:54:43.309988
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = 'bec93e1e3671'
down_revision: str | None = 'acbd0c6f62ca'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('threads',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.String(length=36), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_message_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_threads'))
    )
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.create_index('ix_threads_subject', ['subject_kind', 'subject_id', 'id'], unique=False)

    op.create_table('thread_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('thread_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('side', sa.String(length=10), nullable=False),
    sa.Column('body', sa.String(length=10000), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_thread_messages_thread_id_threads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thread_messages'))
    )
    with op.batch_alter_table('thread_messages', schema=None) as batch_op:
        batch_op.create_index('ix_thread_messages_thread', ['thread_id', 'id'], unique=False)

    with op.batch_alter_table('api_clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('emailed_at', store.models.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('emailed_at')

    with op.batch_alter_table('api_clients', schema=None) as batch_op:
        batch_op.drop_column('email')

    with op.batch_alter_table('thread_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_thread_messages_thread')

    op.drop_table('thread_messages')
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.drop_index('ix_threads_subject')

    op.drop_table('threads')
