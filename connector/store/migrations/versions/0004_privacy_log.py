"""privacy log: the audit trail of erasures, exports and retention purges (no personal data)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-09 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

import connector.store.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'privacy_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('person', sa.String(length=64), nullable=True),
        sa.Column('by', sa.String(length=128), nullable=False),
        sa.Column('counts', connector.store.types.JSONType(), nullable=False),
        sa.Column('at', connector.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_log')),
    )
    op.create_index(op.f('ix_privacy_log_person'), 'privacy_log', ['person'], unique=False)
    op.create_index(op.f('ix_privacy_log_at'), 'privacy_log', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_privacy_log_at'), table_name='privacy_log')
    op.drop_index(op.f('ix_privacy_log_person'), table_name='privacy_log')
    op.drop_table('privacy_log')
