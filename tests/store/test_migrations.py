"""The migrations build what the ORM describes, go down and up again, and upgrade a
database written by the first schema version (with data in it) to the latest, on
SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect, text

from open_notebook_ext.db.engine import HEAD_REVISION, MIGRATIONS_DIR, VERSION_TABLE, Database
from open_notebook_ext.db.orm import Base
from open_notebook_ext.notebooks.search import text_search
from support.db import rows

# Backend-specific search index objects that live only in the migrations.
SEARCH_TABLES = {"on_search_docs", "on_search_fts"}


SEARCH_COLUMNS = {"search_vector"}


SEARCH_INDEXES = {"ix_on_notes_search", "ix_on_sources_search"}


LATER_TABLES = {
    "on_grants",
    "on_notebooks",
    "on_notes",
    "on_sources",
    "on_notebook_sources",
    "on_proxy_usage",
    "on_proxy_budgets",
    "on_auth_failures",
}


def head() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg).get_current_head()


def migrate(db: Database, revision: str, *, down: bool = False) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def tables(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names())


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    """An empty database of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'x.db'}"
    return request.getfixturevalue("pg_url")


def test_head_is_the_newest_migration():
    assert head() == sorted(p.name[:4] for p in (MIGRATIONS_DIR / "versions").glob("0*.py"))[-1]
    # start-up compares the database with this constant to skip Alembic
    assert head() == HEAD_REVISION


def test_orm_matches_the_latest_migration(url):
    db = Database(url)
    db.upgrade()

    def include(name, kind, parent):
        if kind == "table":
            return not (name in SEARCH_TABLES or name.startswith("on_search_fts_"))
        if kind == "column":
            return name not in SEARCH_COLUMNS
        if kind == "index":
            return name not in SEARCH_INDEXES
        return True

    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={"version_table": VERSION_TABLE, "compare_type": True, "include_name": include},
        )
        diff = compare_metadata(ctx, Base.metadata)
    db.dispose()
    assert diff == []


def test_down_and_up_again_keeps_credentials(url):
    db = Database(url)
    migrate(db, "0002")
    assert db.current_revision() == "0002"
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO on_credentials (id, owner, name, provider, modalities, created, "
            "updated) VALUES ('credential:1', 'me', 'n', 'openai', '[]', '2026-01-01', "
            "'2026-01-01')"
        )
    db.upgrade()  # what server start does: 0002 -> head
    assert db.current_revision() == head()
    assert tables(db) >= LATER_TABLES
    migrate(db, "0002", down=True)
    assert not tables(db) & (LATER_TABLES - {"on_grants"} | SEARCH_TABLES)
    if db.backend == "sqlite":
        assert rows(db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'") == [(0,)]
    else:
        assert rows(db, "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal") == [(0,)]
        assert rows(db, "SELECT count(*) FROM pg_ts_config WHERE cfgname = 'on_search'") == [(0,)]
    db.upgrade()
    assert db.current_revision() == head()
    assert rows(db, "SELECT name FROM on_credentials") == [("n",)]
    db.dispose()


def test_0005_adds_grant_file_identity_and_keeps_grants(url, tmp_path):
    """Grants written under 0004 survive 0005 with no file identity (NULL), which the store
    binds to the file it finds at their next use, except those whose path holds a bidi or
    control character (refused since); down again, the column goes."""
    db = Database(url)
    migrate(db, "0004")
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO on_credentials (id, owner, name, provider, modalities, created, "
            "updated) VALUES ('credential:1', 'me', 'n', 'openai', '[]', '2026-01-01', "
            "'2026-01-01')"
        )
        for gid, path in (
            ("grant:1", "a.ipynb"),
            ("grant:2", "invoice\u202egpj.ipynb"),
            ("grant:3", "tab\there.ipynb"),
        ):
            conn.execute(
                text(
                    "INSERT INTO on_grants (id, owner, credential_id, notebook_path, created) "
                    "VALUES (:gid, 'me', 'credential:1', :path, '2026-01-01')"
                ),
                {"gid": gid, "path": path},
            )
    db.upgrade()
    assert db.current_revision() == head() >= "0005"
    assert rows(db, "SELECT id, notebook_path, file_id FROM on_grants") == [
        ("grant:1", "a.ipynb", None)
    ]
    from open_notebook_ext.vault.fileidentity import file_identity
    from open_notebook_ext.vault.grants import GrantStore

    (tmp_path / "a.ipynb").write_text("{}")
    store = GrantStore(db, identify=lambda p: file_identity(str(tmp_path / p)))
    assert store.is_granted("me", "credential:1", ["a.ipynb"])
    bound = file_identity(str(tmp_path / "a.ipynb"))
    assert bound and rows(db, "SELECT file_id FROM on_grants") == [(bound,)]
    migrate(db, "0004", down=True)
    assert "file_id" not in {c["name"] for c in inspect(db.engine).get_columns("on_grants")}
    assert rows(db, "SELECT id, notebook_path FROM on_grants") == [("grant:1", "a.ipynb")]
    db.dispose()


def test_postgres_search_index_covers_rows_written_before_it(pg_url):
    """0004 adds PostgreSQL's search index to a database that already has notes and
    sources (written under 0003): they are found, titles ranked first."""
    db = Database(pg_url)
    migrate(db, "0003")
    metadata = MetaData()
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with db.engine.begin() as conn:
        metadata.reflect(bind=conn)
        conn.execute(
            metadata.tables["on_notes"].insert(),
            [
                {
                    "id": "note:1",
                    "owner": "me",
                    "notebook_id": None,
                    "title": "Quokka",
                    "content": "Small and cheerful.",
                    "note_type": "human",
                    "created": t0,
                    "updated": t0,
                },
                {
                    "id": "note:2",
                    "owner": "me",
                    "notebook_id": None,
                    "title": "Marsupials",
                    "content": "The quokka lives on Rottnest.",
                    "note_type": "human",
                    "created": t0,
                    "updated": t0,
                },
            ],
        )
        conn.execute(
            metadata.tables["on_sources"].insert(),
            [
                {
                    "id": "source:1",
                    "owner": "me",
                    "kind": "text",
                    "title": "Islands",
                    "full_text": "Rottnest island has quokkas.",
                    "topics": [],
                    "created": t0,
                    "updated": t0,
                },
            ],
        )
    db.upgrade()
    assert db.current_revision() == head()
    hits = text_search(db, "me", "quokka")
    assert hits[0]["id"] == "note:1"  # the title hit first
    assert {h["id"] for h in hits} == {"note:1", "note:2", "source:1"}  # quokkas: stemmed
    assert {h["id"] for h in text_search(db, "me", "rottnest island")} == {"source:1"}
    db.dispose()


def test_servers_starting_together_migrate_once(url):
    """Several servers starting at once on a new database: one migrates, the others
    wait for it (PostgreSQL: an advisory lock; SQLite: the write lock) and find it done."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        try:
            db = Database(url)
            barrier.wait()
            db.upgrade()
            db.dispose()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    db = Database(url)
    assert db.current_revision() == head()
    assert rows(db, f"SELECT count(*) FROM {VERSION_TABLE}") == [(1,)]  # noqa: S608
    db.dispose()


def test_sqlite_file_is_created_private(tmp_path: Path):
    path = tmp_path / "new" / "x.db"
    Database(f"sqlite:///{path}").dispose()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
