"""The provider proxy: a credential's key_access.

``key_access`` is ``read`` (secrets.get and the proxy may use the key; what
every credential written before this revision gets) or ``proxy`` (only the
proxy uses it; no endpoint returns it).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE on both backends: a batch (copy-and-rename) of on_credentials on
    # SQLite would drop the table its grants point at, and the cascade would delete them.
    op.add_column("on_credentials", sa.Column("key_access", sa.String(16), nullable=False,
                                              server_default="read"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE on_credentials DROP COLUMN key_access")  # SQLite 3.35+
    else:
        op.drop_column("on_credentials", "key_access")
