"""timesheet lines for a period; contract hours a week on staff costs; whom a statement addresses

A timesheet line may cover a period (a signed monthly sheet): `period_start` is its
first day and `worked_on` its last, which orders the annual ceiling and names the
year, so every query that reads `worked_on` keeps its meaning and its indexes. A
one-day line leaves `period_start` empty. `staff_costs.weekly_hours` holds the
contract hours a week when the staff file gives them (for the warning on a period
with more hours than the contract). `statements.addressee` (person, organisation,
heirs) decides a statement's tax wording and its first address line; statements
issued before it address a person, as they did.

Revision ID: 0015
Revises: 0011, 0005, 0004 (a merge: the tables are 0005's and 0004's)
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op


revision = '0015'
down_revision = ('0011', '0005', '0004')  # 0005 made timesheets and staff_costs, 0004 statements
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('timesheets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('period_start', sa.Date(), nullable=True))
    with op.batch_alter_table('staff_costs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('weekly_hours', sa.String(length=24), nullable=True))
    with op.batch_alter_table('statements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('addressee', sa.String(length=12), server_default='person', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('statements', schema=None) as batch_op:
        batch_op.drop_column('addressee')
    with op.batch_alter_table('staff_costs', schema=None) as batch_op:
        batch_op.drop_column('weekly_hours')
    with op.batch_alter_table('timesheets', schema=None) as batch_op:
        batch_op.drop_column('period_start')
