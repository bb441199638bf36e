"""sign-in throttles; the hidden donors' index

Five wrong passwords locked an address out for fifteen minutes, even with the right
password. Sign-in is now throttled with delays that grow with each failure, per key,
and the state is one row per key (locked while a try is judged), visible to every
server process.

Every list leaves out the records of restricted and purged donors; a partial index
finds those few donors without reading the whole donors table.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

import anbi.core.db

revision = '0013'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sign_in_throttles',
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('key', sa.String(length=320), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', anbi.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('next_try_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_throttles')),
    sa.UniqueConstraint('scope', 'key', name=op.f('uq_sign_in_throttles_scope_key'))
    )
    with op.batch_alter_table('sign_in_throttles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_throttles_last_failure_at'), ['last_failure_at'], unique=False)
    hidden = sa.text("restricted_at IS NOT NULL OR purged_at IS NOT NULL")
    with op.batch_alter_table('donors', schema=None) as batch_op:
        batch_op.create_index('ix_donors_hidden', ['id'], unique=False, postgresql_where=hidden, sqlite_where=hidden)


def downgrade() -> None:
    with op.batch_alter_table('donors', schema=None) as batch_op:
        batch_op.drop_index('ix_donors_hidden')
    with op.batch_alter_table('sign_in_throttles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_throttles_last_failure_at'))
    op.drop_table('sign_in_throttles')
