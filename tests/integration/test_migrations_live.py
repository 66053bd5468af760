"""The migrations build what the ORM describes, go down and up again, and upgrade a
database written by the first schema version (with data in it) to the latest, on
SQLite and on PostgreSQL."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet
from sqlalchemy import MetaData, select

from open_notebook_ext.db.bootstrap import META_KEY_CHECK, META_SALT, open_backend
from open_notebook_ext.db.engine import MIGRATIONS_DIR, VERSION_TABLE, Database
from open_notebook_ext.notebooks.notebooks import NotebookStore
from open_notebook_ext.notebooks.notes import NoteStore
from open_notebook_ext.notebooks.search import text_search
from open_notebook_ext.notebooks.uploads import UploadArea
from open_notebook_ext.vault.keyring import KeyRing
from support.leaks import random_api_key
from support.servers import BIN, clean_env


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


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    """An empty database of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'x.db'}"
    return request.getfixturevalue("pg_url")


def _first_schema_data(db: Database, key: str) -> dict[str, list[tuple]]:
    """A database as revision 0001 left it, with data written the way 0001's server did."""
    migrate(db, "0001")
    ring = KeyRing([key.encode()])
    t0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
    metadata = MetaData()
    with db.engine.begin() as conn:
        metadata.reflect(bind=conn)
        meta, creds = metadata.tables["on_meta"], metadata.tables["on_credentials"]
        conn.execute(
            meta.insert(),
            [
                {"key": META_KEY_CHECK, "value": ring.make_check()},
                {"key": META_SALT, "value": "00" * 16},
            ],
        )
        records = []
        for i in range(40):
            token, kid = ring.encrypt(random_api_key(f"sk-{i}"))
            records.append(
                {
                    "id": f"credential:{i:020x}",
                    "owner": ("alice", "bob")[i % 2],
                    "name": f"key {i} — ünïcode",
                    "provider": ("openai", "azure", "ollama")[i % 3],
                    "modalities": ["language", "embedding"][: 1 + i % 2],
                    "api_key_encrypted": token if i % 5 else None,
                    "api_key_hint": "••••" + token[-4:] if i % 5 else None,
                    "key_id": kid if i % 5 else None,
                    "base_url": f"https://proxy{i}.example.org/v1" if i % 3 == 2 else None,
                    "endpoint": "https://x.openai.azure.com" if i % 3 == 1 else None,
                    "api_version": "2024-10-21" if i % 3 == 1 else None,
                    "endpoint_llm": None,
                    "endpoint_embedding": None,
                    "endpoint_stt": None,
                    "endpoint_tts": None,
                    "project": None,
                    "location": None,
                    "credentials_path": None,
                    "num_ctx": 4096 if i % 3 == 2 else None,
                    "created": t0,
                    "updated": t0.replace(second=i),
                }
            )
        conn.execute(creds.insert(), records)
    return _snapshot(db)


# Columns later revisions added to these tables, with the value every old row gets.
LATER_COLUMNS = {"key_access": "read", "row_version": 0}  # 0006, 0007


def _snapshot(db: Database) -> dict[str, list[tuple]]:
    """The rows of on_meta and on_credentials, in the columns revision 0001 had (the
    columns added later must hold their defaults)."""
    metadata = MetaData()
    with db.engine.connect() as conn:
        metadata.reflect(bind=conn, only=["on_meta", "on_credentials"])
        out = {}
        for name in ("on_meta", "on_credentials"):
            table = metadata.tables[name]
            later = [c for c in table.c if c.name in LATER_COLUMNS]
            for column in later:
                values = {v for (v,) in conn.execute(select(column))}
                assert values <= {LATER_COLUMNS[column.name]}, (column.name, values)
            kept = [c for c in table.c if c.name not in LATER_COLUMNS]
            out[name] = sorted(tuple(r) for r in conn.execute(select(*kept)))
        return out


def test_start_up_at_head_does_not_load_alembic(tmp_path):
    """A database already at the latest revision is checked with one query."""
    url = f"sqlite:///{tmp_path / 'at-head.db'}"
    Database(url).upgrade()
    code = (
        "import sys; from open_notebook_ext.db.engine import Database;"
        " d = Database(sys.argv[1]); print(d.at_head()); d.upgrade();"
        " print('alembic' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, url], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["True", "False"]
    older = f"sqlite:///{tmp_path / 'older.db'}"
    with Database(older).engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {VERSION_TABLE} (version_num VARCHAR(32))")
        conn.exec_driver_sql(f"INSERT INTO {VERSION_TABLE} VALUES ('0001')")  # noqa: S608
    assert Database(older).at_head() is False


def test_first_schema_with_data_upgrades_to_the_latest(url, tmp_path):
    """Revision 0001 with data in it, upgraded by ``jupyter open-notebook migrate``:
    every row and value intact, every key decrypts, and what the later revisions
    added (grants, notebooks, search) works on it."""
    key = Fernet.generate_key().decode()
    db = Database(url)
    before = _first_schema_data(db, key)
    assert db.current_revision() == "0001"
    assert len(before["on_credentials"]) == 40

    home = tmp_path / "home"
    env = clean_env(home)
    env.update(OPEN_NOTEBOOK_DB_URL=url, OPEN_NOTEBOOK_ENCRYPTION_KEY=key)
    out = subprocess.run(
        [str(BIN / "jupyter-open-notebook"), "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert f"schema at revision {head()}" in out.stdout
    assert db.current_revision() == head()
    assert _snapshot(db) == before

    backend = open_backend(
        db_url=url,
        data_dir=str(tmp_path / "data"),
        env={"OPEN_NOTEBOOK_ENCRYPTION_KEY": key},
        generate_key=False,
        log=logging.getLogger("test"),
    )
    try:
        assert backend.key_check == "ok"
        assert backend.credentials.verify() == []
        listed = backend.credentials.list("alice") + backend.credentials.list("bob")
        assert len(listed) == 40 and not any(c["decryption_error"] for c in listed)
        assert backend.credentials.admin_summary()["undecryptable"] == 0
        # what 0002 and later added works on the upgraded database
        notebooks = NotebookStore(backend.db, UploadArea(tmp_path / "uploads"))
        nb = notebooks.create("alice", {"name": "After the upgrade"})
        NoteStore(backend.db).create(
            "alice", {"content": "Wombats dig burrows.", "title": "Wombat", "notebook_id": nb["id"]}
        )
        hits = text_search(backend.db, "alice", "wombat")
        assert [h["title"] for h in hits] == ["Wombat"]
        assert text_search(backend.db, "bob", "wombat") == []
    finally:
        backend.close()
    assert _snapshot(db)["on_credentials"] == before["on_credentials"]
    db.dispose()
