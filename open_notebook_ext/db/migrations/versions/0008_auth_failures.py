"""Failed authentication attempts counted in the database, for several servers (service
replicas) sharing it: one row per client address that failed recently
(``security/dblimiter.py``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "on_auth_failures",
        sa.Column("address", sa.String(128), primary_key=True),
        sa.Column("failures", sa.Text, nullable=False),
        sa.Column("blocked_until", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
    )
    op.create_index("ix_on_auth_failures_updated", "on_auth_failures", ["updated"])


def downgrade() -> None:
    op.drop_index("ix_on_auth_failures_updated", table_name="on_auth_failures")
    op.drop_table("on_auth_failures")
