"""fundraising

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

import anbi.core.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaigns',
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('start_on', sa.Date(), nullable=True),
    sa.Column('end_on', sa.Date(), nullable=True),
    sa.Column('goal_cents', sa.BigInteger(), nullable=True),
    sa.Column('cost_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('parent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['campaigns.id'], name=op.f('fk_campaigns_parent_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('code', name=op.f('uq_campaigns_code'))
    )
    op.create_table('funds',
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funds')),
    sa.UniqueConstraint('code', name=op.f('uq_funds_code'))
    )
    op.create_table('mandates',
    sa.Column('mandate_id', sa.String(length=35), nullable=False),
    sa.Column('donor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('iban', sa.String(length=34), nullable=False),
    sa.Column('bic', sa.String(length=11), nullable=True),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('signed_place', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('last_collected_on', sa.Date(), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_mandates_donor_id_donors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mandates')),
    sa.UniqueConstraint('mandate_id', name=op.f('uq_mandates_mandate_id'))
    )
    with op.batch_alter_table('mandates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mandates_donor_id'), ['donor_id'], unique=False)

    op.create_table('periodic_agreements',
    sa.Column('number', sa.String(length=50), nullable=False),
    sa.Column('donor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('annual_amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('years', sa.Integer(), nullable=True),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('end_reason', sa.String(length=30), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_periodic_agreements_donor_id_donors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_periodic_agreements')),
    sa.UniqueConstraint('number', name=op.f('uq_periodic_agreements_number'))
    )
    with op.batch_alter_table('periodic_agreements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_periodic_agreements_donor_id'), ['donor_id'], unique=False)

    op.create_table('recurring_gifts',
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('donor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('interval', sa.String(length=10), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('mandate_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('fund_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('agreement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('stripe_customer_id', sa.String(length=100), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['periodic_agreements.id'], name=op.f('fk_recurring_gifts_agreement_id_periodic_agreements')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_recurring_gifts_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_recurring_gifts_donor_id_donors')),
    sa.ForeignKeyConstraint(['fund_id'], ['funds.id'], name=op.f('fk_recurring_gifts_fund_id_funds')),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandates.id'], name=op.f('fk_recurring_gifts_mandate_id_mandates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recurring_gifts')),
    sa.UniqueConstraint('source', 'reference', name=op.f('uq_recurring_gifts_source_reference'))
    )
    with op.batch_alter_table('recurring_gifts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recurring_gifts_donor_id'), ['donor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recurring_gifts_mandate_id'), ['mandate_id'], unique=False)

    op.create_table('donations',
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('donor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('consideration_cents', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('fund_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('agreement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('recurring_gift_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('mandate_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('fee_cents', sa.BigInteger(), nullable=True),
    sa.Column('stripe_customer_id', sa.String(length=100), nullable=True),
    sa.Column('stripe_charge_id', sa.String(length=100), nullable=True),
    sa.Column('flag', sa.Text(), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['periodic_agreements.id'], name=op.f('fk_donations_agreement_id_periodic_agreements')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_donations_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_donations_donor_id_donors')),
    sa.ForeignKeyConstraint(['fund_id'], ['funds.id'], name=op.f('fk_donations_fund_id_funds')),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandates.id'], name=op.f('fk_donations_mandate_id_mandates')),
    sa.ForeignKeyConstraint(['recurring_gift_id'], ['recurring_gifts.id'], name=op.f('fk_donations_recurring_gift_id_recurring_gifts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_donations')),
    sa.UniqueConstraint('source', 'reference', name=op.f('uq_donations_source_reference'))
    )
    with op.batch_alter_table('donations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_donations_agreement_id'), ['agreement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_donations_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index('ix_donations_donor_history', ['donor_id', 'received_on', 'status', 'campaign_id', 'currency'], unique=False)
        batch_op.create_index(batch_op.f('ix_donations_fund_id'), ['fund_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_donations_received_on'), ['received_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_donations_recurring_gift_id'), ['recurring_gift_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_donations_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_donations_stripe_charge_id'), ['stripe_charge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_donations_stripe_customer_id'), ['stripe_customer_id'], unique=False)

    op.create_table('donation_adjustments',
    sa.Column('donation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('reason_code', sa.String(length=20), nullable=True),
    sa.Column('taken_back_cents', sa.BigInteger(), nullable=False),
    sa.Column('created_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['donation_id'], ['donations.id'], name=op.f('fk_donation_adjustments_donation_id_donations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_donation_adjustments')),
    sa.UniqueConstraint('source', 'reference', name=op.f('uq_donation_adjustments_source_reference'))
    )
    with op.batch_alter_table('donation_adjustments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_donation_adjustments_donation_id'), ['donation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_donation_adjustments_occurred_on'), ['occurred_on'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('donation_adjustments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_donation_adjustments_occurred_on'))
        batch_op.drop_index(batch_op.f('ix_donation_adjustments_donation_id'))

    op.drop_table('donation_adjustments')
    with op.batch_alter_table('donations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_donations_stripe_customer_id'))
        batch_op.drop_index(batch_op.f('ix_donations_stripe_charge_id'))
        batch_op.drop_index(batch_op.f('ix_donations_status'))
        batch_op.drop_index(batch_op.f('ix_donations_recurring_gift_id'))
        batch_op.drop_index(batch_op.f('ix_donations_received_on'))
        batch_op.drop_index(batch_op.f('ix_donations_fund_id'))
        batch_op.drop_index('ix_donations_donor_history')
        batch_op.drop_index(batch_op.f('ix_donations_campaign_id'))
        batch_op.drop_index(batch_op.f('ix_donations_agreement_id'))

    op.drop_table('donations')
    with op.batch_alter_table('recurring_gifts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recurring_gifts_mandate_id'))
        batch_op.drop_index(batch_op.f('ix_recurring_gifts_donor_id'))

    op.drop_table('recurring_gifts')
    with op.batch_alter_table('periodic_agreements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_periodic_agreements_donor_id'))

    op.drop_table('periodic_agreements')
    with op.batch_alter_table('mandates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mandates_donor_id'))

    op.drop_table('mandates')
    op.drop_table('funds')
    op.drop_table('campaigns')
