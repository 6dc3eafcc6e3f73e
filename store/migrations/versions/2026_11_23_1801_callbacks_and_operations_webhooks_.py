"""Callbacks and operations: webhooks, deliveries, attempts, relay cursor, notifications, ops audit

Revision ID: 306a4c867975
Revises: fedaaeef5162
Create Date: 2026-11-23 18:01:37.777361
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = '306a4c867975'
down_revision: str | None = 'fedaaeef5162'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('notifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recipient', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('read_at', store.models.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_recipient', ['recipient', 'id'], unique=False)

    op.create_table('ops_audit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=300), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.JSON(), nullable=False),
    sa.Column('at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ops_audit'))
    )
    with op.batch_alter_table('ops_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ops_audit_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_ops_audit_at'), ['at'], unique=False)

    op.create_table('relay_cursors',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('last_event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_relay_cursors'))
    )
    op.create_table('webhooks',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('sirets', sa.JSON(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('event_types', sa.JSON(), nullable=False),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('previous_secret', sa.String(length=100), nullable=True),
    sa.Column('previous_secret_until', store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failing_since', store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('disabled_reason', sa.String(length=500), nullable=True),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhooks'))
    )
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhooks_owner'), ['owner'], unique=False)

    op.create_table('webhook_deliveries',
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('webhook_id', sa.String(length=36), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_type', sa.String(length=60), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('delivered_at', store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['webhook_id'], ['webhooks.id'], name=op.f('fk_webhook_deliveries_webhook_id_webhooks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_webhook', ['webhook_id', 'id'], unique=False)

    op.create_table('webhook_attempts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('delivery_id', sa.String(length=80), nullable=False),
    sa.Column('attempted_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('latency_ms', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhook_deliveries.id'], name=op.f('fk_webhook_attempts_delivery_id_webhook_deliveries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_attempts'))
    )
    with op.batch_alter_table('webhook_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_attempts_delivery_id'), ['delivery_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('webhook_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_attempts_delivery_id'))

    op.drop_table('webhook_attempts')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_webhook')

    op.drop_table('webhook_deliveries')
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhooks_owner'))

    op.drop_table('webhooks')
    op.drop_table('relay_cursors')
    with op.batch_alter_table('ops_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ops_audit_at'))
        batch_op.drop_index(batch_op.f('ix_ops_audit_actor'))

    op.drop_table('ops_audit')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_recipient')

    op.drop_table('notifications')
