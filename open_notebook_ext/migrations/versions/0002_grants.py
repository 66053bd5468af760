"""Per-notebook grants to read a credential's key.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "on_grants",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column(
            "credential_id",
            sa.String(64),
            sa.ForeignKey("on_credentials.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("notebook_path", sa.String(1024), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("owner", "credential_id", "notebook_path", name="uq_grant"),
    )
    op.create_index("ix_on_grants_owner", "on_grants", ["owner"])
    op.create_index("ix_on_grants_credential_id", "on_grants", ["credential_id"])


def downgrade() -> None:
    op.drop_table("on_grants")
