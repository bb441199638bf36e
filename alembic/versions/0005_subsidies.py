"""subsidies

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

import anbi.core.db


revision = '0005'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('funders',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=30), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funders')),
    sa.UniqueConstraint('name', name=op.f('uq_funders_name'))
    )
    op.create_table('staff_costs',
    sa.Column('employee', sa.String(length=50), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('annual_cost_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('fte', sa.String(length=24), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_costs')),
    sa.UniqueConstraint('employee', 'year', name=op.f('uq_staff_costs_employee_year'))
    )
    op.create_table('grants',
    sa.Column('reference', sa.String(length=50), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('funder_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=False),
    sa.Column('end_on', sa.Date(), nullable=False),
    sa.Column('awarded_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('funding_rate', sa.String(length=24), nullable=False),
    sa.Column('indirect_rate', sa.String(length=24), nullable=True),
    sa.Column('indirect_base', sa.String(length=10), nullable=False),
    sa.Column('hours_per_year', sa.Integer(), nullable=True),
    sa.Column('report_due', sa.Date(), nullable=True),
    sa.Column('settlement_due', sa.Date(), nullable=True),
    sa.Column('accountability', sa.String(length=20), nullable=True),
    sa.Column('allowed_shift', sa.String(length=24), nullable=False),
    sa.Column('fund_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('restricted', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('settled_on', sa.Date(), nullable=True),
    sa.Column('settled_cents', sa.BigInteger(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('odoo_budget_lines', sa.JSON(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['fund_id'], ['funds.id'], name=op.f('fk_grants_fund_id_funds')),
    sa.ForeignKeyConstraint(['funder_id'], ['funders.id'], name=op.f('fk_grants_funder_id_funders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grants')),
    sa.UniqueConstraint('reference', name=op.f('uq_grants_reference'))
    )
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grants_fund_id'), ['fund_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grants_funder_id'), ['funder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grants_status'), ['status'], unique=False)

    op.create_table('grant_budget_lines',
    sa.Column('grant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], name=op.f('fk_grant_budget_lines_grant_id_grants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grant_budget_lines')),
    sa.UniqueConstraint('grant_id', 'code', name=op.f('uq_grant_budget_lines_grant_id_code'))
    )
    with op.batch_alter_table('grant_budget_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grant_budget_lines_grant_id'), ['grant_id'], unique=False)

    op.create_table('grant_indicators',
    sa.Column('grant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('target', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], name=op.f('fk_grant_indicators_grant_id_grants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grant_indicators')),
    sa.UniqueConstraint('grant_id', 'code', name=op.f('uq_grant_indicators_grant_id_code'))
    )
    with op.batch_alter_table('grant_indicators', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grant_indicators_grant_id'), ['grant_id'], unique=False)

    op.create_table('grant_payments',
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('grant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], name=op.f('fk_grant_payments_grant_id_grants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grant_payments')),
    sa.UniqueConstraint('source', 'reference', name=op.f('uq_grant_payments_source_reference'))
    )
    with op.batch_alter_table('grant_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grant_payments_grant_id'), ['grant_id'], unique=False)

    op.create_table('expenses',
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('spent_on', sa.Date(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('grant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('budget_line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('fund_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('eligible', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['budget_line_id'], ['grant_budget_lines.id'], name=op.f('fk_expenses_budget_line_id_grant_budget_lines')),
    sa.ForeignKeyConstraint(['fund_id'], ['funds.id'], name=op.f('fk_expenses_fund_id_funds')),
    sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], name=op.f('fk_expenses_grant_id_grants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_expenses')),
    sa.UniqueConstraint('source', 'reference', name=op.f('uq_expenses_source_reference'))
    )
    with op.batch_alter_table('expenses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_expenses_fund_id'), ['fund_id'], unique=False)
        batch_op.create_index('ix_expenses_grant_id_spent_on', ['grant_id', 'spent_on'], unique=False)
        batch_op.create_index('ix_expenses_not_eligible', ['grant_id', 'spent_on'], unique=False, sqlite_where=sa.text('eligible = 0'), postgresql_where=sa.text('NOT eligible'))
        batch_op.create_index(batch_op.f('ix_expenses_spent_on'), ['spent_on'], unique=False)

    op.create_table('grant_outputs',
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('grant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('indicator_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('achieved_on', sa.Date(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], name=op.f('fk_grant_outputs_grant_id_grants')),
    sa.ForeignKeyConstraint(['indicator_id'], ['grant_indicators.id'], name=op.f('fk_grant_outputs_indicator_id_grant_indicators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grant_outputs')),
    sa.UniqueConstraint('source', 'reference', name=op.f('uq_grant_outputs_source_reference'))
    )
    with op.batch_alter_table('grant_outputs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grant_outputs_grant_id'), ['grant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grant_outputs_indicator_id'), ['indicator_id'], unique=False)

    op.create_table('timesheets',
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('employee', sa.String(length=50), nullable=False),
    sa.Column('worked_on', sa.Date(), nullable=False),
    sa.Column('grant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('budget_line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('hours_hundredths', sa.BigInteger(), nullable=False),
    sa.Column('eligible_hundredths', sa.BigInteger(), nullable=False),
    sa.Column('ineligible_reason', sa.Text(), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['budget_line_id'], ['grant_budget_lines.id'], name=op.f('fk_timesheets_budget_line_id_grant_budget_lines')),
    sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], name=op.f('fk_timesheets_grant_id_grants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timesheets')),
    sa.UniqueConstraint('source', 'reference', name=op.f('uq_timesheets_source_reference'))
    )
    with op.batch_alter_table('timesheets', schema=None) as batch_op:
        batch_op.create_index('ix_timesheets_employee_worked_on', ['employee', 'worked_on'], unique=False)
        batch_op.create_index('ix_timesheets_grant_id_worked_on_employee', ['grant_id', 'worked_on', 'employee'], unique=False)
        batch_op.create_index('ix_timesheets_not_eligible', ['grant_id', 'worked_on'], unique=False, sqlite_where=sa.text('eligible_hundredths < hours_hundredths'), postgresql_where=sa.text('eligible_hundredths < hours_hundredths'))



def downgrade() -> None:
    with op.batch_alter_table('timesheets', schema=None) as batch_op:
        batch_op.drop_index('ix_timesheets_not_eligible')
        batch_op.drop_index('ix_timesheets_grant_id_worked_on_employee')
        batch_op.drop_index('ix_timesheets_employee_worked_on')

    op.drop_table('timesheets')
    with op.batch_alter_table('grant_outputs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grant_outputs_indicator_id'))
        batch_op.drop_index(batch_op.f('ix_grant_outputs_grant_id'))

    op.drop_table('grant_outputs')
    with op.batch_alter_table('expenses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_expenses_spent_on'))
        batch_op.drop_index('ix_expenses_not_eligible')
        batch_op.drop_index('ix_expenses_grant_id_spent_on')
        batch_op.drop_index(batch_op.f('ix_expenses_fund_id'))

    op.drop_table('expenses')
    with op.batch_alter_table('grant_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grant_payments_grant_id'))

    op.drop_table('grant_payments')
    with op.batch_alter_table('grant_indicators', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grant_indicators_grant_id'))

    op.drop_table('grant_indicators')
    with op.batch_alter_table('grant_budget_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grant_budget_lines_grant_id'))

    op.drop_table('grant_budget_lines')
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grants_status'))
        batch_op.drop_index(batch_op.f('ix_grants_funder_id'))
        batch_op.drop_index(batch_op.f('ix_grants_fund_id'))

    op.drop_table('grants')
    op.drop_table('staff_costs')
    op.drop_table('funders')
