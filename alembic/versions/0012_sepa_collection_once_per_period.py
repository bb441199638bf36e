"""a SEPA collection once per recurring gift and period; why a gift is paused

Overlapping `anbi sepa batch` runs each wrote a collection for the same gifts and
period (issue 13). `sepa_collections.status` says whether a collection still holds
its period (`presented`: pending or paid), was returned before it settled
(`failed`: the period is open for a retry) or is a second collection from before
this revision (`duplicate`); a unique index on (recurring_gift_id, period_start)
over the presented ones makes a second collection for a period impossible.

Existing rows: collections whose donation failed become `failed`; where overlapping
batches already collected a period more than once, the earliest collection keeps
it and the later ones become `duplicate`, their donations flagged for a person to
check with the donor (nothing is deleted: money is corrected by new rows).
`recurring_gifts.status_reason` says why a gift was paused or stopped.

Revision ID: 0012
Revises: 0011
Depends on: 0006 (the ledger's tables)
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = '0006'   # the ledger's tables

PRESENTED = "status = 'presented'"
DUPLICATE_FLAG = ("collected a second time for its period by overlapping SEPA batches (found by migration 0012): "
                  "check with the donor and refund one if both settled")


def upgrade() -> None:
    # Plain ADD COLUMN and CREATE/DROP INDEX: SQLite needs no copy of either table
    # (a batch copy would drop tables that other rows point at).
    op.add_column('recurring_gifts', sa.Column('status_reason', sa.String(length=200), nullable=True))
    op.add_column('sepa_collections', sa.Column('status', sa.String(length=10), nullable=False, server_default='presented'))

    op.execute(sa.text(
        "UPDATE sepa_collections SET status = 'failed' "
        "WHERE donation_id IN (SELECT id FROM donations WHERE status = 'failed')"))
    # A later collection of a period that an earlier, not failed, one holds. The
    # condition does not depend on rows this statement changes (an earlier row is
    # presented or duplicate alike), so both databases mark the same rows.
    op.execute(sa.text(
        "UPDATE sepa_collections SET status = 'duplicate' "
        "WHERE status = 'presented' AND EXISTS ("
        " SELECT 1 FROM sepa_collections AS earlier"
        " WHERE earlier.recurring_gift_id = sepa_collections.recurring_gift_id"
        " AND earlier.period_start = sepa_collections.period_start"
        " AND earlier.status <> 'failed' AND earlier.id < sepa_collections.id)"))
    op.execute(sa.text(
        "UPDATE donations SET flag = CASE WHEN flag IS NULL OR flag = '' THEN :flag ELSE flag || :newline || :flag END "
        "WHERE id IN (SELECT donation_id FROM sepa_collections WHERE status = 'duplicate')"
    ).bindparams(flag=DUPLICATE_FLAG, newline="\n"))

    op.drop_index('ix_sepa_collections_gift_period', table_name='sepa_collections')
    op.create_index('uq_sepa_collections_gift_period', 'sepa_collections', ['recurring_gift_id', 'period_start'],
                    unique=True, sqlite_where=sa.text(PRESENTED), postgresql_where=sa.text(PRESENTED))


def downgrade() -> None:
    op.drop_index('uq_sepa_collections_gift_period', table_name='sepa_collections')
    op.create_index('ix_sepa_collections_gift_period', 'sepa_collections', ['recurring_gift_id', 'period_start'],
                    unique=False)
    op.drop_column('sepa_collections', 'status')
    op.drop_column('recurring_gifts', 'status_reason')
