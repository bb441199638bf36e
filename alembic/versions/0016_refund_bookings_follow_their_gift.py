"""Refund bookings follow their gift: a refund booked in Odoo records the booking of
its gift it took the income back from, and can be taken back out by a correction and
booked again (exports.odoo.ledger), so one adjustment has at most one refund booking
in force.

Rows made before this revision get the booking their lines were derived from: the
latest booking of the refund's donation planned before the refund's entry.

Revision ID: 0016
Revises: 0011
Depends on: 0006 (the ledger's tables)
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0011'
branch_labels = None
depends_on = '0006'

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
IN_FORCE = sa.text('reversed_by_id IS NULL')


def upgrade() -> None:
    with op.batch_alter_table('odoo_entry_adjustments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('booking_id', ID, nullable=True))
        batch_op.add_column(sa.Column('reversed_by_id', ID, nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_odoo_entry_adjustments_adjustment_id'), type_='unique')
        batch_op.create_index('uq_odoo_entry_adjustments_in_force', ['adjustment_id'], unique=True,
                              sqlite_where=IN_FORCE, postgresql_where=IN_FORCE)
        batch_op.create_foreign_key(batch_op.f('fk_odoo_entry_adjustments_booking_id_odoo_entry_donations'),
                                    'odoo_entry_donations', ['booking_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_odoo_entry_adjustments_reversed_by_id_odoo_entries'),
                                    'odoo_entries', ['reversed_by_id'], ['id'])
    op.execute(sa.text("""
        UPDATE odoo_entry_adjustments SET booking_id = (
            SELECT b.id FROM odoo_entry_donations b
              JOIN donation_adjustments a ON a.donation_id = b.donation_id
             WHERE a.id = odoo_entry_adjustments.adjustment_id AND b.entry_id < odoo_entry_adjustments.entry_id
             ORDER BY b.id DESC LIMIT 1)
    """))


def downgrade() -> None:
    with op.batch_alter_table('odoo_entry_adjustments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_odoo_entry_adjustments_reversed_by_id_odoo_entries'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_odoo_entry_adjustments_booking_id_odoo_entry_donations'), type_='foreignkey')
        batch_op.drop_index('uq_odoo_entry_adjustments_in_force', sqlite_where=IN_FORCE, postgresql_where=IN_FORCE)
        batch_op.create_unique_constraint(batch_op.f('uq_odoo_entry_adjustments_adjustment_id'), ['adjustment_id'])
        batch_op.drop_column('reversed_by_id')
        batch_op.drop_column('booking_id')
