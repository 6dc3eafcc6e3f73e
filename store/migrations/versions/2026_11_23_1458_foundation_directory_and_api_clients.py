"""Foundation: the directory (structures, services, suppliers) and API clients.

Revision ID: 6c2c75987ace
Revises: 
Create Date: 2026-11-23 14:58:21.557324
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = '6c2c75987ace'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('api_clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('secret_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_clients')),
    sa.UniqueConstraint('client_id', name=op.f('uq_api_clients_client_id'))
    )
    op.create_table('structures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('siret', sa.String(length=14), nullable=False),
    sa.Column('siren', sa.String(length=9), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('service_code_required', sa.Boolean(), nullable=False),
    sa.Column('commitment_required', sa.Boolean(), nullable=False),
    sa.Column('payment_status_not_reported', sa.Boolean(), nullable=False),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_structures')),
    sa.UniqueConstraint('siret', name=op.f('uq_structures_siret'))
    )
    with op.batch_alter_table('structures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_structures_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_structures_siren'), ['siren'], unique=False)

    op.create_table('suppliers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scheme', sa.String(length=10), nullable=False),
    sa.Column('identifier', sa.String(length=35), nullable=False),
    sa.Column('siren', sa.String(length=9), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('iban', sa.String(length=34), nullable=True),
    sa.Column('bic', sa.String(length=11), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suppliers')),
    sa.UniqueConstraint('scheme', 'identifier', name=op.f('uq_suppliers_scheme_identifier'))
    )
    with op.batch_alter_table('suppliers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_suppliers_siren'), ['siren'], unique=False)

    op.create_table('api_client_sirets',
    sa.Column('client_pk', sa.Integer(), nullable=False),
    sa.Column('siret', sa.String(length=14), nullable=False),
    sa.ForeignKeyConstraint(['client_pk'], ['api_clients.id'], name=op.f('fk_api_client_sirets_client_pk_api_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('client_pk', 'siret', name=op.f('pk_api_client_sirets'))
    )
    op.create_table('services',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['structure_id'], ['structures.id'], name=op.f('fk_services_structure_id_structures'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_services')),
    sa.UniqueConstraint('structure_id', 'code', name=op.f('uq_services_structure_id_code'))
    )


def downgrade() -> None:
    op.drop_table('services')
    op.drop_table('api_client_sirets')
    with op.batch_alter_table('suppliers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_suppliers_siren'))

    op.drop_table('suppliers')
    with op.batch_alter_table('structures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_structures_siren'))
        batch_op.drop_index(batch_op.f('ix_structures_name'))

    op.drop_table('structures')
    op.drop_table('api_clients')
