"""Grants remember the file they were given for (its identity, see fileidentity.py).

A nullable column: grants written before this revision have no identity and are
bound to the file found at their path the next time they are checked (as they
were trusted by path before), after which a different file at that path no
longer inherits them.

Grants whose path holds a control or format character (bidi controls and the
like), which the API now refuses because such names can pass for others in the
panel, are deleted: grant those notebooks again after renaming them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


_REFUSED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})  # as store/grants.py, at 0005


def upgrade() -> None:
    with op.batch_alter_table("on_grants") as batch:
        batch.add_column(sa.Column("file_id", sa.String(64), nullable=True))
    grants = sa.table("on_grants", sa.column("id"), sa.column("notebook_path"))
    bind = op.get_bind()
    refused = [
        gid
        for gid, path in bind.execute(sa.select(grants.c.id, grants.c.notebook_path))
        if any(unicodedata.category(ch) in _REFUSED for ch in path)
    ]
    if refused:
        bind.execute(sa.delete(grants).where(grants.c.id.in_(refused)))


def downgrade() -> None:
    with op.batch_alter_table("on_grants") as batch:
        batch.drop_column("file_id")
