"""The provider proxy: a credential's key_access, usage records and budgets.

``key_access`` is ``read`` (secrets.get and the proxy may use the key; what
every credential written before this revision gets) or ``proxy`` (only the
proxy uses it; no endpoint returns it). ``on_proxy_usage`` has a row per
proxied call (model, status, latency, token counts; never a prompt or an
answer); ``on_proxy_budgets`` holds requests and tokens per UTC day, per
credential or per credential and notebook.

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
    op.add_column(
        "on_credentials",
        sa.Column("key_access", sa.String(16), nullable=False, server_default="read"),
    )
    op.create_table(
        "on_proxy_usage",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column(
            "credential_id",
            sa.String(64),
            sa.ForeignKey("on_credentials.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("notebook_path", sa.String(1024), nullable=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=True),
        sa.Column("output_tokens", sa.Integer, nullable=True),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_on_proxy_usage_budget", "on_proxy_usage", ["owner", "credential_id", "day"])
    op.create_table(
        "on_proxy_budgets",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column(
            "credential_id",
            sa.String(64),
            sa.ForeignKey("on_credentials.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("notebook_path", sa.String(1024), nullable=False),
        sa.Column("requests_per_day", sa.Integer, nullable=True),
        sa.Column("tokens_per_day", sa.BigInteger, nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("owner", "credential_id", "notebook_path", name="uq_proxy_budget"),
    )
    op.create_index("ix_on_proxy_budgets_owner", "on_proxy_budgets", ["owner"])
    op.create_index("ix_on_proxy_budgets_credential_id", "on_proxy_budgets", ["credential_id"])


def downgrade() -> None:
    op.drop_table("on_proxy_budgets")
    op.drop_table("on_proxy_usage")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE on_credentials DROP COLUMN key_access")  # SQLite 3.35+
    else:
        op.drop_column("on_credentials", "key_access")
