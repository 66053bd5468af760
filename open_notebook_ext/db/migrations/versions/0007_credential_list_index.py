"""Listing credentials fast: an index in the list's order, a version per row and a
change counter, both kept by triggers.

``ix_on_credentials_list`` is in the order ``GET credentials`` reads an owner's
rows (owner, provider, creation time, id): without it the database sorts every
row of the owner at each request (the sort grows faster than the rows), and a
page (``limit``/``offset``) costs as much as the whole list. It also holds each
row's ``row_version``, so the read of which rows a list has, and which changed
(vault/listing.py), is answered from the index alone.

Whoever writes (any server, the CLI, a statement typed into the database), a
trigger increments the ``row_version`` of every updated row and the one
``version`` of ``on_credential_changes`` on every insert, update and delete of
``on_credentials``: JSON made from a row at one ``row_version``, and a list made
at one ``version``, are the same while that stays.

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
    # Plain ALTER TABLE (see 0006: a SQLite batch copy would cascade-delete the grants)
    op.add_column(
        "on_credentials",
        sa.Column("row_version", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_index(
        "ix_on_credentials_list",
        "on_credentials",
        ["owner", "provider", "created", "id", "row_version"],
    )
    op.create_table(
        "on_credential_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO on_credential_changes (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""CREATE FUNCTION on_credentials_row_version() RETURNS trigger
            LANGUAGE plpgsql AS $$ BEGIN
            NEW.row_version := OLD.row_version + 1; RETURN NEW; END $$""")
        op.execute("""CREATE TRIGGER on_credentials_row_version
            BEFORE UPDATE ON on_credentials
            FOR EACH ROW EXECUTE FUNCTION on_credentials_row_version()""")
        op.execute(f"""CREATE FUNCTION on_credentials_changed() RETURNS trigger
            LANGUAGE plpgsql AS $$ BEGIN {_BUMP}; RETURN NULL; END $$""")
        # once per statement: a rotation of thousands of rows bumps it once per batch
        op.execute("""CREATE TRIGGER on_credentials_changed
            AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON on_credentials
            FOR EACH STATEMENT EXECUTE FUNCTION on_credentials_changed()""")
        return
    # SQLite: row triggers, which cannot assign NEW; an update made by a trigger fires
    # no trigger (recursive_triggers is off; the WHEN stops it if it is on)
    op.execute("""CREATE TRIGGER on_credentials_row_version AFTER UPDATE ON on_credentials
        WHEN NEW.row_version = OLD.row_version BEGIN
        UPDATE on_credentials SET row_version = OLD.row_version + 1 WHERE rowid = NEW.rowid;
        END""")
    for event in ("INSERT", "UPDATE", "DELETE"):
        op.execute(f"""CREATE TRIGGER on_credentials_changed_{event.lower()}
            AFTER {event} ON on_credentials BEGIN {_BUMP}; END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("on_credentials_changed", "on_credentials_row_version"):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON on_credentials")
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        op.execute("DROP TRIGGER IF EXISTS on_credentials_row_version")
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS on_credentials_changed_{event}")
    op.drop_table("on_credential_changes")
    op.drop_index("ix_on_credentials_list", table_name="on_credentials")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE on_credentials DROP COLUMN row_version")  # SQLite 3.35+
    else:
        op.drop_column("on_credentials", "row_version")
