"""The migrations build what the ORM describes, and go down and up again."""

from __future__ import annotations

import sqlite3

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from open_notebook_ext.store.db import MIGRATIONS_DIR, VERSION_TABLE, Database
from open_notebook_ext.store.orm import Base

SEARCH_TABLES = {"on_search_docs", "on_search_fts"}


def migrate(db: Database, revision: str, *, down: bool = False) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def tables(path) -> set[str]:
    with sqlite3.connect(path) as c:
        return {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_orm_matches_the_latest_migration(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.upgrade()
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "version_table": VERSION_TABLE, "compare_type": True,
            # the FTS index is backend-specific and only in the migration
            "include_name": lambda name, kind, parent: not (
                kind == "table" and (name in SEARCH_TABLES or name.startswith("on_search_fts_"))
            ),
        })
        diff = compare_metadata(ctx, Base.metadata)
    db.dispose()
    assert diff == []


def test_down_and_up_again_keeps_credentials(tmp_path):
    path = tmp_path / "x.db"
    db = Database(f"sqlite:///{path}")
    migrate(db, "0002")
    assert db.current_revision() == "0002"
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO on_credentials (id, owner, name, provider, modalities, created, "
            "updated) VALUES ('credential:1', 'me', 'n', 'openai', '[]', '2026-01-01', "
            "'2026-01-01')")
    db.upgrade()  # what server start does: 0002 -> head
    assert db.current_revision() == "0003"
    assert {"on_notebooks", "on_notes", "on_sources", "on_notebook_sources",
            *SEARCH_TABLES} <= tables(path)
    migrate(db, "0002", down=True)
    left = tables(path)
    assert not left & {"on_notebooks", "on_notes", "on_sources", "on_notebook_sources",
                       *SEARCH_TABLES}
    with sqlite3.connect(path) as c:
        triggers = c.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'")
        assert triggers.fetchone()[0] == 0
    db.upgrade()
    assert db.current_revision() == "0003"
    with sqlite3.connect(path) as c:
        assert c.execute("SELECT name FROM on_credentials").fetchall() == [("n",)]
    db.dispose()
