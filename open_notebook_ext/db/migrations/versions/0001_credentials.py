"""Credentials and database facts (the first schema).

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "on_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "on_credentials",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("modalities", sa.JSON(), nullable=False),
        sa.Column("api_key_encrypted", sa.Text(), nullable=True),
        sa.Column("api_key_hint", sa.String(16), nullable=True),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("base_url", sa.String(2048), nullable=True),
        sa.Column("endpoint", sa.String(2048), nullable=True),
        sa.Column("api_version", sa.String(200), nullable=True),
        sa.Column("endpoint_llm", sa.String(2048), nullable=True),
        sa.Column("endpoint_embedding", sa.String(2048), nullable=True),
        sa.Column("endpoint_stt", sa.String(2048), nullable=True),
        sa.Column("endpoint_tts", sa.String(2048), nullable=True),
        sa.Column("project", sa.String(200), nullable=True),
        sa.Column("location", sa.String(200), nullable=True),
        sa.Column("credentials_path", sa.String(2048), nullable=True),
        sa.Column("num_ctx", sa.Integer(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("owner", "provider", "name", name="uq_credential_name"),
    )
    op.create_index("ix_on_credentials_owner", "on_credentials", ["owner"])


def downgrade() -> None:
    op.drop_index("ix_on_credentials_owner", table_name="on_credentials")
    op.drop_table("on_credentials")
    op.drop_table("on_meta")
