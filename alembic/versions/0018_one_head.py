"""one head: the parts built side by side joined

The parts of the product were built in parallel, each branching from the revision
it changed, which left seven heads (0007 and 0012 to 0017). Each new revision had to
pick one of them, and `upgrade head` did not work. This revision changes no table:
it joins the heads, so there is one again and every later revision follows it.

Revision ID: 0018
Revises: 0007, 0012, 0013, 0014, 0015, 0016, 0017 (a merge)
Create Date: 2026-12-05
"""

revision = '0018'
down_revision = ('0007', '0012', '0013', '0014', '0015', '0016', '0017')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
