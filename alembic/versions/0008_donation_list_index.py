"""donations listed in (received_on, id) order from one index

Revision ID: 0008
Revises: 0002
Create Date: 2026-11-29
"""
from alembic import op


revision = '0008'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The two-column index serves every use of the one it replaces (received_on leads).
    with op.batch_alter_table('donations', schema=None) as batch_op:
        batch_op.create_index('ix_donations_received_on_id', ['received_on', 'id'], unique=False)
        batch_op.drop_index(batch_op.f('ix_donations_received_on'))


def downgrade() -> None:
    with op.batch_alter_table('donations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_donations_received_on'), ['received_on'], unique=False)
        batch_op.drop_index('ix_donations_received_on_id')
