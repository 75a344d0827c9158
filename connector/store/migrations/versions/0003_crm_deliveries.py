"""crm deliveries: inbox.channel widened for "hubspot-delivery" / "salesforce-delivery"

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.alter_column('channel', existing_type=sa.String(length=16), type_=sa.String(length=32),
                              existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.alter_column('channel', existing_type=sa.String(length=32), type_=sa.String(length=16),
                              existing_nullable=False)
