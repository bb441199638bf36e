"""statements

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

import anbi.core.db


revision = '0004'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('statements',
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('donor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('donor_ref', sa.String(length=64), nullable=False),
    sa.Column('donor_name', sa.String(length=300), nullable=False),
    sa.Column('salutation', sa.String(length=300), nullable=False),
    sa.Column('address_lines', sa.JSON(), nullable=True),
    sa.Column('postcode', sa.String(length=20), nullable=True),
    sa.Column('organisation_name', sa.String(length=200), nullable=False),
    sa.Column('organisation_rsin', sa.String(length=9), nullable=False),
    sa.Column('organisation_address', sa.String(length=300), nullable=False),
    sa.Column('organisation_website', sa.String(length=200), nullable=False),
    sa.Column('regular_cents', sa.BigInteger(), nullable=False),
    sa.Column('periodic_cents', sa.BigInteger(), nullable=False),
    sa.Column('non_deductible_cents', sa.BigInteger(), nullable=False),
    sa.Column('total_paid_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('periodic', sa.JSON(), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('issued_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('replaces_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('replaces_number', sa.String(length=20), nullable=True),
    sa.Column('replaced_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('replaced_at', anbi.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_statements_donor_id_donors')),
    sa.ForeignKeyConstraint(['replaced_by_id'], ['statements.id'], name=op.f('fk_statements_replaced_by_id_statements')),
    sa.ForeignKeyConstraint(['replaces_id'], ['statements.id'], name=op.f('fk_statements_replaces_id_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statements')),
    sa.UniqueConstraint('number', name=op.f('uq_statements_number')),
    sa.UniqueConstraint('year', 'sequence', name=op.f('uq_statements_year_sequence'))
    )
    with op.batch_alter_table('statements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statements_donor_id'), ['donor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statements_replaced_by_id'), ['replaced_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statements_replaces_id'), ['replaces_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statements_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_statements_year'), ['year'], unique=False)

    op.create_table('statement_deliveries',
    sa.Column('statement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('donor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('recipient', sa.String(length=300), nullable=False),
    sa.Column('sent_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_statement_deliveries_donor_id_donors')),
    sa.ForeignKeyConstraint(['statement_id'], ['statements.id'], name=op.f('fk_statement_deliveries_statement_id_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statement_deliveries')),
    sa.UniqueConstraint('statement_id', 'channel', name=op.f('uq_statement_deliveries_statement_id_channel'))
    )
    with op.batch_alter_table('statement_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statement_deliveries_donor_id'), ['donor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_deliveries_statement_id'), ['statement_id'], unique=False)

    op.create_table('statement_lines',
    sa.Column('statement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('donation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('campaign', sa.String(length=200), nullable=True),
    sa.Column('mandate_ref', sa.String(length=35), nullable=True),
    sa.Column('regular_cents', sa.BigInteger(), nullable=False),
    sa.Column('periodic_cents', sa.BigInteger(), nullable=False),
    sa.Column('non_deductible_cents', sa.BigInteger(), nullable=False),
    sa.Column('agreement_number', sa.String(length=50), nullable=True),
    sa.Column('non_deductible_reason', sa.String(length=20), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['donation_id'], ['donations.id'], name=op.f('fk_statement_lines_donation_id_donations')),
    sa.ForeignKeyConstraint(['statement_id'], ['statements.id'], name=op.f('fk_statement_lines_statement_id_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statement_lines')),
    sa.UniqueConstraint('statement_id', 'position', name=op.f('uq_statement_lines_statement_id_position'))
    )
    with op.batch_alter_table('statement_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statement_lines_donation_id'), ['donation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_lines_statement_id'), ['statement_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('statement_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statement_lines_statement_id'))
        batch_op.drop_index(batch_op.f('ix_statement_lines_donation_id'))

    op.drop_table('statement_lines')
    with op.batch_alter_table('statement_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statement_deliveries_statement_id'))
        batch_op.drop_index(batch_op.f('ix_statement_deliveries_donor_id'))

    op.drop_table('statement_deliveries')
    with op.batch_alter_table('statements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statements_year'))
        batch_op.drop_index(batch_op.f('ix_statements_status'))
        batch_op.drop_index(batch_op.f('ix_statements_replaces_id'))
        batch_op.drop_index(batch_op.f('ix_statements_replaced_by_id'))
        batch_op.drop_index(batch_op.f('ix_statements_donor_id'))

    op.drop_table('statements')
