"""foundation

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

import anbi.core.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_entries',
    sa.Column('at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('entity', sa.String(length=50), nullable=False),
    sa.Column('entity_ref', sa.String(length=100), nullable=False),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries'))
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_entity_ref'), ['entity_ref'], unique=False)

    op.create_table('donors',
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('initials', sa.String(length=20), nullable=True),
    sa.Column('first_name', sa.String(length=100), nullable=True),
    sa.Column('prefix', sa.String(length=30), nullable=True),
    sa.Column('last_name', sa.String(length=150), nullable=True),
    sa.Column('organisation_name', sa.String(length=200), nullable=True),
    sa.Column('organisation_type', sa.String(length=30), nullable=True),
    sa.Column('sort_name', sa.String(length=300), nullable=False),
    sa.Column('street', sa.String(length=200), nullable=True),
    sa.Column('house_number', sa.String(length=20), nullable=True),
    sa.Column('house_number_suffix', sa.String(length=20), nullable=True),
    sa.Column('postcode', sa.String(length=20), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('iban', sa.String(length=34), nullable=True),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('deceased_on', sa.Date(), nullable=True),
    sa.Column('merged_into_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('restricted_at', anbi.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('purged_at', anbi.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merged_into_id'], ['donors.id'], name=op.f('fk_donors_merged_into_id_donors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_donors')),
    sa.UniqueConstraint('ref', name=op.f('uq_donors_ref'))
    )
    with op.batch_alter_table('donors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_donors_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_donors_iban'), ['iban'], unique=False)
        batch_op.create_index(batch_op.f('ix_donors_merged_into_id'), ['merged_into_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_donors_postcode'), ['postcode'], unique=False)
        batch_op.create_index(batch_op.f('ix_donors_sort_name'), ['sort_name'], unique=False)

    op.create_table('suppressions',
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('value_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=50), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suppressions')),
    sa.UniqueConstraint('kind', 'value_hash', name=op.f('uq_suppressions_kind_value_hash'))
    )
    op.create_table('consent_events',
    sa.Column('donor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('wording', sa.String(length=500), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_consent_events_donor_id_donors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_events'))
    )
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_events_donor_id'), ['donor_id'], unique=False)

    op.create_table('donor_merges',
    sa.Column('kept_donor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('merged_donor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('merged_ref', sa.String(length=64), nullable=False),
    sa.Column('at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['kept_donor_id'], ['donors.id'], name=op.f('fk_donor_merges_kept_donor_id_donors')),
    sa.ForeignKeyConstraint(['merged_donor_id'], ['donors.id'], name=op.f('fk_donor_merges_merged_donor_id_donors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_donor_merges'))
    )
    with op.batch_alter_table('donor_merges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_donor_merges_kept_donor_id'), ['kept_donor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_donor_merges_merged_donor_id'), ['merged_donor_id'], unique=False)

    op.create_table('donor_tags',
    sa.Column('donor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tag', sa.String(length=100), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_donor_tags_donor_id_donors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_donor_tags')),
    sa.UniqueConstraint('donor_id', 'tag', name=op.f('uq_donor_tags_donor_id_tag'))
    )
    with op.batch_alter_table('donor_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_donor_tags_donor_id'), ['donor_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('donor_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_donor_tags_donor_id'))

    op.drop_table('donor_tags')
    with op.batch_alter_table('donor_merges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_donor_merges_merged_donor_id'))
        batch_op.drop_index(batch_op.f('ix_donor_merges_kept_donor_id'))

    op.drop_table('donor_merges')
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_events_donor_id'))

    op.drop_table('consent_events')
    op.drop_table('suppressions')
    with op.batch_alter_table('donors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_donors_sort_name'))
        batch_op.drop_index(batch_op.f('ix_donors_postcode'))
        batch_op.drop_index(batch_op.f('ix_donors_merged_into_id'))
        batch_op.drop_index(batch_op.f('ix_donors_iban'))
        batch_op.drop_index(batch_op.f('ix_donors_email'))

    op.drop_table('donors')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entries_entity_ref'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_at'))

    op.drop_table('audit_entries')
