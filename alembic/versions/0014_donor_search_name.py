"""donors found by a folded name: donors.search_name

Web search lowered names in SQL, and SQLite lowers only ASCII: `Öztürk`, `Ozturk`
and `Öz` found nobody. The folded words of the name (lower case, no accents,
punctuation as spaces: donors.names.search_key) are now kept beside the name and
indexed; on PostgreSQL the column compares byte by byte ("C"), so a prefix search
is a range of that index on both databases. Existing donors are filled in here,
with the same function the application writes it with. The city gets an index too:
search finds donors by city.

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0011'
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    from donors.names import Name, search_key

    with op.batch_alter_table('donors', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'search_name', sa.String(length=300).with_variant(sa.String(length=300, collation='C'), 'postgresql'),
            server_default='', nullable=False))
    connection = op.get_bind()
    donors = sa.table('donors', *(sa.column(name) for name in (
        'id', 'kind', 'initials', 'first_name', 'prefix', 'last_name', 'organisation_name', 'language', 'search_name')))
    update = sa.update(donors).where(donors.c.id == sa.bindparam('_id')).values(search_name=sa.bindparam('_search'))
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(donors.c.id, donors.c.kind, donors.c.initials, donors.c.first_name, donors.c.prefix,
                      donors.c.last_name, donors.c.organisation_name, donors.c.language)
            .where(donors.c.id > last_id).order_by(donors.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        values = [{'_id': row.id, '_search': search_key(Name(*row[1:]))} for row in rows]
        values = [v for v in values if v['_search']]
        if values:
            connection.execute(update, values)
        last_id = rows[-1].id
    with op.batch_alter_table('donors', schema=None) as batch_op:
        # With the id, so that a page of names in order is cut from the index.
        batch_op.create_index('ix_donors_search_name', ['search_name', 'id'], unique=False)
        # A search for a city reads this narrow index, not every donor.
        batch_op.create_index(batch_op.f('ix_donors_city'), ['city'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('donors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_donors_city'))
        batch_op.drop_index('ix_donors_search_name')
    if op.get_bind().dialect.name == 'sqlite':
        # In place (SQLite 3.35+): batch mode would copy and drop `donors`, which every
        # donor reference forbids while foreign keys are enforced.
        op.execute('ALTER TABLE donors DROP COLUMN search_name')
    else:
        op.drop_column('donors', 'search_name')
