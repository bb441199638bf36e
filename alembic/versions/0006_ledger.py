"""ledger

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-28 13:00:01.051948
"""
from alembic import op
import sqlalchemy as sa

import anbi.core.db


revision = '0006'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bank_statements',
    sa.Column('account_iban', sa.String(length=34), nullable=False),
    sa.Column('statement_ref', sa.String(length=100), nullable=False),
    sa.Column('message_id', sa.String(length=100), nullable=False),
    sa.Column('camt_version', sa.String(length=2), nullable=False),
    sa.Column('from_date', sa.Date(), nullable=True),
    sa.Column('to_date', sa.Date(), nullable=True),
    sa.Column('opening_cents', sa.BigInteger(), nullable=True),
    sa.Column('closing_cents', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('file_name', sa.String(length=500), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('imported_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_statements')),
    sa.UniqueConstraint('account_iban', 'statement_ref', name=op.f('uq_bank_statements_account_iban_statement_ref'))
    )
    op.create_table('odoo_entries',
    sa.Column('ref', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('entry_date', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=60), nullable=False),
    sa.Column('total_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('move_id', sa.BigInteger(), nullable=True),
    sa.Column('move_name', sa.String(length=100), nullable=True),
    sa.Column('posted', sa.Boolean(), nullable=False),
    sa.Column('planned_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', anbi.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('payout_ref', sa.String(length=100), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_odoo_entries')),
    sa.UniqueConstraint('ref', name=op.f('uq_odoo_entries_ref'))
    )
    with op.batch_alter_table('odoo_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_odoo_entries_entry_date'), ['entry_date'], unique=False)

    op.create_table('odoo_partners',
    sa.Column('donor_id', sa.BigInteger(), nullable=False),
    sa.Column('donor_ref', sa.String(length=64), nullable=False),
    sa.Column('partner_id', sa.BigInteger(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('synced_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_odoo_partners')),
    sa.UniqueConstraint('donor_id', name=op.f('uq_odoo_partners_donor_id'))
    )
    op.create_table('sepa_batches',
    sa.Column('message_id', sa.String(length=35), nullable=False),
    sa.Column('collection_date', sa.Date(), nullable=False),
    sa.Column('created_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('file_name', sa.String(length=500), nullable=False),
    sa.Column('collection_count', sa.Integer(), nullable=False),
    sa.Column('total_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sepa_batches')),
    sa.UniqueConstraint('message_id', name=op.f('uq_sepa_batches_message_id'))
    )
    with op.batch_alter_table('sepa_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sepa_batches_collection_date'), ['collection_date'], unique=False)

    op.create_table('stripe_payouts',
    sa.Column('payout_id', sa.String(length=100), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('arrival_date', sa.Date(), nullable=False),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('charges_cents', sa.BigInteger(), nullable=False),
    sa.Column('refunds_cents', sa.BigInteger(), nullable=False),
    sa.Column('disputes_cents', sa.BigInteger(), nullable=False),
    sa.Column('fees_cents', sa.BigInteger(), nullable=False),
    sa.Column('other_cents', sa.BigInteger(), nullable=False),
    sa.Column('reconciled', sa.Boolean(), nullable=False),
    sa.Column('difference_cents', sa.BigInteger(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('fetched_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_payouts')),
    sa.UniqueConstraint('payout_id', name=op.f('uq_stripe_payouts_payout_id'))
    )
    with op.batch_alter_table('stripe_payouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stripe_payouts_arrival_date'), ['arrival_date'], unique=False)

    op.create_table('odoo_entry_donations',
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('donation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('consideration_cents', sa.BigInteger(), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('fund_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('income_account', sa.String(length=40), nullable=False),
    sa.Column('reversed_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_odoo_entry_donations_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['donation_id'], ['donations.id'], name=op.f('fk_odoo_entry_donations_donation_id_donations')),
    sa.ForeignKeyConstraint(['entry_id'], ['odoo_entries.id'], name=op.f('fk_odoo_entry_donations_entry_id_odoo_entries')),
    sa.ForeignKeyConstraint(['fund_id'], ['funds.id'], name=op.f('fk_odoo_entry_donations_fund_id_funds')),
    sa.ForeignKeyConstraint(['reversed_by_id'], ['odoo_entries.id'], name=op.f('fk_odoo_entry_donations_reversed_by_id_odoo_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_odoo_entry_donations')),
    sa.UniqueConstraint('entry_id', 'donation_id', name=op.f('uq_odoo_entry_donations_entry_id_donation_id'))
    )
    with op.batch_alter_table('odoo_entry_donations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_odoo_entry_donations_donation_id'), ['donation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_odoo_entry_donations_entry_id'), ['entry_id'], unique=False)

    op.create_table('sepa_collections',
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('donation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recurring_gift_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('mandate_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('sequence_type', sa.String(length=4), nullable=False),
    sa.Column('debtor_iban', sa.String(length=34), nullable=False),
    sa.Column('amended_from_iban', sa.String(length=34), nullable=True),
    sa.Column('payment_info_id', sa.String(length=35), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['sepa_batches.id'], name=op.f('fk_sepa_collections_batch_id_sepa_batches')),
    sa.ForeignKeyConstraint(['donation_id'], ['donations.id'], name=op.f('fk_sepa_collections_donation_id_donations')),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandates.id'], name=op.f('fk_sepa_collections_mandate_id_mandates')),
    sa.ForeignKeyConstraint(['recurring_gift_id'], ['recurring_gifts.id'], name=op.f('fk_sepa_collections_recurring_gift_id_recurring_gifts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sepa_collections')),
    sa.UniqueConstraint('donation_id', name=op.f('uq_sepa_collections_donation_id'))
    )
    with op.batch_alter_table('sepa_collections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sepa_collections_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index('ix_sepa_collections_gift_period', ['recurring_gift_id', 'period_start'], unique=False)
        batch_op.create_index(batch_op.f('ix_sepa_collections_mandate_id'), ['mandate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sepa_collections_payment_info_id'), ['payment_info_id'], unique=False)

    op.create_table('stripe_payout_items',
    sa.Column('payout_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('balance_transaction_id', sa.String(length=100), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('source_id', sa.String(length=100), nullable=True),
    sa.Column('charge_id', sa.String(length=100), nullable=True),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('fee_cents', sa.BigInteger(), nullable=False),
    sa.Column('net_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('donation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['donation_id'], ['donations.id'], name=op.f('fk_stripe_payout_items_donation_id_donations')),
    sa.ForeignKeyConstraint(['payout_pk'], ['stripe_payouts.id'], name=op.f('fk_stripe_payout_items_payout_pk_stripe_payouts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_payout_items')),
    sa.UniqueConstraint('balance_transaction_id', name=op.f('uq_stripe_payout_items_balance_transaction_id'))
    )
    with op.batch_alter_table('stripe_payout_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stripe_payout_items_donation_id'), ['donation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stripe_payout_items_payout_pk'), ['payout_pk'], unique=False)
        batch_op.create_index(batch_op.f('ix_stripe_payout_items_source_id'), ['source_id'], unique=False)

    op.create_table('bank_lines',
    sa.Column('statement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('account_iban', sa.String(length=34), nullable=False),
    sa.Column('booking_date', sa.Date(), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=True),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('direction', sa.String(length=6), nullable=False),
    sa.Column('reversal', sa.Boolean(), nullable=False),
    sa.Column('bank_code', sa.String(length=40), nullable=False),
    sa.Column('entry_ref', sa.String(length=100), nullable=True),
    sa.Column('end_to_end_id', sa.String(length=100), nullable=True),
    sa.Column('mandate_ref', sa.String(length=100), nullable=True),
    sa.Column('counterparty_name', sa.String(length=200), nullable=True),
    sa.Column('counterparty_iban', sa.String(length=34), nullable=True),
    sa.Column('remittance', sa.Text(), nullable=True),
    sa.Column('creditor_reference', sa.String(length=100), nullable=True),
    sa.Column('return_reason', sa.String(length=10), nullable=True),
    sa.Column('additional_info', sa.Text(), nullable=True),
    sa.Column('batch_payment_info_id', sa.String(length=100), nullable=True),
    sa.Column('batch_size', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('donation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('adjustment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('payout_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('assigned_by', sa.String(length=200), nullable=True),
    sa.Column('created_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['adjustment_id'], ['donation_adjustments.id'], name=op.f('fk_bank_lines_adjustment_id_donation_adjustments')),
    sa.ForeignKeyConstraint(['donation_id'], ['donations.id'], name=op.f('fk_bank_lines_donation_id_donations')),
    sa.ForeignKeyConstraint(['payout_id'], ['stripe_payouts.id'], name=op.f('fk_bank_lines_payout_id_stripe_payouts')),
    sa.ForeignKeyConstraint(['statement_id'], ['bank_statements.id'], name=op.f('fk_bank_lines_statement_id_bank_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_lines')),
    sa.UniqueConstraint('key', name=op.f('uq_bank_lines_key'))
    )
    with op.batch_alter_table('bank_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_lines_donation_id'), ['donation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_lines_statement_id'), ['statement_id'], unique=False)

    op.create_table('odoo_entry_adjustments',
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('adjustment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['adjustment_id'], ['donation_adjustments.id'], name=op.f('fk_odoo_entry_adjustments_adjustment_id_donation_adjustments')),
    sa.ForeignKeyConstraint(['entry_id'], ['odoo_entries.id'], name=op.f('fk_odoo_entry_adjustments_entry_id_odoo_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_odoo_entry_adjustments')),
    sa.UniqueConstraint('adjustment_id', name=op.f('uq_odoo_entry_adjustments_adjustment_id'))
    )
    with op.batch_alter_table('odoo_entry_adjustments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_odoo_entry_adjustments_entry_id'), ['entry_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('odoo_entry_adjustments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_odoo_entry_adjustments_entry_id'))

    op.drop_table('odoo_entry_adjustments')
    with op.batch_alter_table('bank_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_lines_statement_id'))
        batch_op.drop_index(batch_op.f('ix_bank_lines_donation_id'))

    op.drop_table('bank_lines')
    with op.batch_alter_table('stripe_payout_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stripe_payout_items_source_id'))
        batch_op.drop_index(batch_op.f('ix_stripe_payout_items_payout_pk'))
        batch_op.drop_index(batch_op.f('ix_stripe_payout_items_donation_id'))

    op.drop_table('stripe_payout_items')
    with op.batch_alter_table('sepa_collections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sepa_collections_payment_info_id'))
        batch_op.drop_index(batch_op.f('ix_sepa_collections_mandate_id'))
        batch_op.drop_index('ix_sepa_collections_gift_period')
        batch_op.drop_index(batch_op.f('ix_sepa_collections_batch_id'))

    op.drop_table('sepa_collections')
    with op.batch_alter_table('odoo_entry_donations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_odoo_entry_donations_entry_id'))
        batch_op.drop_index(batch_op.f('ix_odoo_entry_donations_donation_id'))

    op.drop_table('odoo_entry_donations')
    with op.batch_alter_table('stripe_payouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stripe_payouts_arrival_date'))

    op.drop_table('stripe_payouts')
    with op.batch_alter_table('sepa_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sepa_batches_collection_date'))

    op.drop_table('sepa_batches')
    op.drop_table('odoo_partners')
    with op.batch_alter_table('odoo_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_odoo_entries_entry_date'))

    op.drop_table('odoo_entries')
    op.drop_table('bank_statements')
