"""donations of a campaign listed in (received_on, id) order from one index

A campaign's donations, a page at a time, were found through the index on
campaign_id and then sorted: a deep page (offset 5,000 of a large campaign) read and
sorted every row before it. With received_on and id after campaign_id, PostgreSQL
cuts the page from the index, as it does for the unfiltered list (0008). The wider
index serves every use of the one it replaces (campaign_id leads), so a donation
still writes the same number of index entries.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('donations', schema=None) as batch_op:
        batch_op.create_index('ix_donations_campaign_received_on_id', ['campaign_id', 'received_on', 'id'], unique=False)
        batch_op.drop_index(batch_op.f('ix_donations_campaign_id'))


def downgrade() -> None:
    with op.batch_alter_table('donations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_donations_campaign_id'), ['campaign_id'], unique=False)
        batch_op.drop_index('ix_donations_campaign_received_on_id')
