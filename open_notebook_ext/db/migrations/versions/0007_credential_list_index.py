"""Listing credentials fast: an index in the list's order and a change counter.

``ix_on_credentials_list`` is in the order ``GET credentials`` reads an owner's
rows (owner, provider, creation time, id): without it the database sorts every
row of the owner at each request (the sort grows faster than the rows), and a
page (``limit``/``offset``) costs as much as the whole list. It also holds what
says whether a row changed (``updated``, the encrypted key), so that first read
(vault/listing.py) is answered from the index alone.

``on_credential_changes`` is one row whose ``version`` a trigger increments on
every insert, update and delete of ``on_credentials``, whoever writes (any
server, the CLI, a statement typed into the database): a list made at one
version is the same list while the version stays.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_BUMP = "UPDATE on_credential_changes SET version = version + 1 WHERE id = 1"


def upgrade() -> None:
    op.create_index(
        "ix_on_credentials_list",
        "on_credentials",
        ["owner", "provider", "created", "id", "updated", "api_key_encrypted"],
    )
    op.create_table(
        "on_credential_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO on_credential_changes (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""CREATE FUNCTION on_credentials_changed() RETURNS trigger
            LANGUAGE plpgsql AS $$ BEGIN {_BUMP}; RETURN NULL; END $$""")
        # once per statement: a rotation of thousands of rows bumps it once per batch
        op.execute("""CREATE TRIGGER on_credentials_changed
            AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON on_credentials
            FOR EACH STATEMENT EXECUTE FUNCTION on_credentials_changed()""")
    else:  # SQLite has row triggers only
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER on_credentials_changed_{event.lower()}
                AFTER {event} ON on_credentials BEGIN {_BUMP}; END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS on_credentials_changed ON on_credentials")
        op.execute("DROP FUNCTION IF EXISTS on_credentials_changed()")
    else:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS on_credentials_changed_{event}")
    op.drop_table("on_credential_changes")
    op.drop_index("ix_on_credentials_list", table_name="on_credentials")
