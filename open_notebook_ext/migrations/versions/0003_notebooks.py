"""Notebooks, sources, notes, and the full-text search index.

On SQLite the search index is an FTS5 table kept in step with notes and
sources by triggers, inside the same transaction as the write. Other backends
get their own index in their own migration (see store/search.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# (table, kind, title column, body column)
_INDEXED = (
    ("on_notes", "note", "title", "content"),
    ("on_sources", "source", "title", "full_text"),
)


def _sqlite_search_index() -> list[str]:
    statements = [
        """CREATE TABLE on_search_docs (
            doc_id INTEGER PRIMARY KEY,
            item_id VARCHAR(64) NOT NULL UNIQUE,
            kind VARCHAR(16) NOT NULL,
            owner VARCHAR(255) NOT NULL
        )""",
        "CREATE VIRTUAL TABLE on_search_fts USING fts5("
        "title, body, tokenize = 'porter unicode61 remove_diacritics 2')",
    ]
    for table, kind, title, body in _INDEXED:
        doc = "(SELECT doc_id FROM on_search_docs WHERE item_id = {row}.id)"
        statements += [
            f"""CREATE TRIGGER {table}_search_insert AFTER INSERT ON {table} BEGIN
                INSERT INTO on_search_docs (item_id, kind, owner)
                    VALUES (new.id, '{kind}', new.owner);
                INSERT INTO on_search_fts (rowid, title, body)
                    VALUES ({doc.format(row="new")}, coalesce(new.{title}, ''),
                            coalesce(new.{body}, ''));
            END""",
            f"""CREATE TRIGGER {table}_search_update AFTER UPDATE OF {title}, {body} ON {table}
            BEGIN
                UPDATE on_search_fts SET title = coalesce(new.{title}, ''),
                                         body = coalesce(new.{body}, '')
                    WHERE rowid = {doc.format(row="new")};
            END""",
            f"""CREATE TRIGGER {table}_search_delete AFTER DELETE ON {table} BEGIN
                DELETE FROM on_search_fts WHERE rowid = {doc.format(row="old")};
                DELETE FROM on_search_docs WHERE item_id = old.id;
            END""",
        ]
    return statements


def upgrade() -> None:
    op.create_table(
        "on_notebooks",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_on_notebooks_owner", "on_notebooks", ["owner"])
    op.create_table(
        "on_sources",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.String(500), nullable=True),
        sa.Column("url", sa.String(2048), nullable=True),
        sa.Column("file_name", sa.String(255), nullable=True),
        sa.Column("stored_name", sa.String(64), nullable=True, unique=True),
        sa.Column("file_size", sa.BigInteger(), nullable=True),
        sa.Column("content_type", sa.String(255), nullable=True),
        sa.Column("full_text", sa.Text(), nullable=True),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_on_sources_owner", "on_sources", ["owner"])
    op.create_table(
        "on_notebook_sources",
        sa.Column(
            "notebook_id",
            sa.String(64),
            sa.ForeignKey("on_notebooks.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "source_id",
            sa.String(64),
            sa.ForeignKey("on_sources.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_on_notebook_sources_source_id", "on_notebook_sources", ["source_id"])
    op.create_table(
        "on_notes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column(
            "notebook_id",
            sa.String(64),
            sa.ForeignKey("on_notebooks.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("title", sa.String(500), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("note_type", sa.String(16), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_on_notes_owner", "on_notes", ["owner"])
    op.create_index("ix_on_notes_notebook_id", "on_notes", ["notebook_id"])
    if op.get_bind().dialect.name == "sqlite":
        for statement in _sqlite_search_index():
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table, _kind, _title, _body in _INDEXED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_search_{event}")
        op.execute("DROP TABLE IF EXISTS on_search_fts")
        op.execute("DROP TABLE IF EXISTS on_search_docs")
    op.drop_index("ix_on_notes_notebook_id", table_name="on_notes")
    op.drop_index("ix_on_notes_owner", table_name="on_notes")
    op.drop_table("on_notes")
    op.drop_index("ix_on_notebook_sources_source_id", table_name="on_notebook_sources")
    op.drop_table("on_notebook_sources")
    op.drop_index("ix_on_sources_owner", table_name="on_sources")
    op.drop_table("on_sources")
    op.drop_index("ix_on_notebooks_owner", table_name="on_notebooks")
    op.drop_table("on_notebooks")
