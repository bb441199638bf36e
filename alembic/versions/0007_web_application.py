"""web application

Revision ID: 0007
Revises: 0002
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

import anbi.core.db


revision = '0007'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('import_runs',
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.Column('problems', sa.JSON(), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_runs'))
    )
    with op.batch_alter_table('import_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_runs_at'), ['at'], unique=False)

    op.create_table('receipt_runs',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('out_dir', sa.String(length=500), nullable=False),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('started_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', anbi.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.Column('error', sa.String(length=2000), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipt_runs'))
    )
    with op.batch_alter_table('receipt_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipt_runs_year'), ['year'], unique=False)

    op.create_table('sign_in_attempts',
    sa.Column('purpose', sa.String(length=10), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_attempts'))
    )
    with op.batch_alter_table('sign_in_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_attempts_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_attempts_client'), ['client'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_attempts_email'), ['email'], unique=False)

    op.create_table('users',
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', anbi.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('portal_links',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('donor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', anbi.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_portal_links_donor_id_donors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_portal_links_token_hash'))
    )
    with op.batch_alter_table('portal_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_links_donor_id'), ['donor_id'], unique=False)

    op.create_table('web_sessions',
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('donor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', anbi.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.CheckConstraint('(user_id IS NULL) <> (donor_id IS NULL)', name=op.f('ck_web_sessions_one_principal')),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_web_sessions_donor_id_donors'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_web_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_web_sessions_key_hash'))
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_donor_id'), ['donor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_web_sessions_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_web_sessions_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_user_id'))
        batch_op.drop_index(batch_op.f('ix_web_sessions_expires_at'))
        batch_op.drop_index(batch_op.f('ix_web_sessions_donor_id'))

    op.drop_table('web_sessions')
    with op.batch_alter_table('portal_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_links_donor_id'))

    op.drop_table('portal_links')
    op.drop_table('users')
    with op.batch_alter_table('sign_in_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_attempts_email'))
        batch_op.drop_index(batch_op.f('ix_sign_in_attempts_client'))
        batch_op.drop_index(batch_op.f('ix_sign_in_attempts_at'))

    op.drop_table('sign_in_attempts')
    with op.batch_alter_table('receipt_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_receipt_runs_year'))

    op.drop_table('receipt_runs')
    with op.batch_alter_table('import_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_runs_at'))

    op.drop_table('import_runs')
