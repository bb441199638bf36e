"""recurring gifts found by their Stripe customer

Every payment of a Stripe customer not seen on a gift before looks for a recurring
gift of that customer (fundraising.stripe.donors): without an index, a scan of all
recurring gifts.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('recurring_gifts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recurring_gifts_stripe_customer_id'), ['stripe_customer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('recurring_gifts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recurring_gifts_stripe_customer_id'))
