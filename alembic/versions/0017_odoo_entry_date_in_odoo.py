"""the date Odoo booked an entry on, when a lock date moved it

Odoo books an entry dated in a locked period on its first open day and says nothing.
The sync reads each entry's date back; where Odoo's differs from ours it is kept
beside it, so an entry is never counted as exported in one year while Odoo has it in
the next without that being on record.

Revision ID: 0017
Revises: 0011, 0006 (a merge: 0006 made odoo_entries, on its own branch)
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = ('0011', '0006')
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('odoo_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('odoo_date', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('odoo_entries', schema=None) as batch_op:
        batch_op.drop_column('odoo_date')
