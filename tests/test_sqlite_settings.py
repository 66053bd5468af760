"""SQLite as the server runs it: WAL, busy timeout, foreign keys, full sync, and a database
file whose -wal and -shm companions are as private as it is (0600, in a 0700 directory)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

pytestmark = pytest.mark.sqlite_only


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_every_connection_is_configured(api, ext):
    await api.create_credential()
    # several pooled connections: each gets the settings when it connects
    connections = [ext.db.engine.connect() for _ in range(3)]
    try:
        for conn in connections:
            pragmas = {
                name: conn.execute(text(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
            }
            assert pragmas == {
                "journal_mode": "wal",
                "busy_timeout": 10000,
                "foreign_keys": 1,
                "synchronous": 2,
            }  # 2 = FULL
    finally:
        for conn in connections:
            conn.close()


async def test_foreign_keys_are_enforced(api, ext):
    with pytest.raises(IntegrityError), ext.db.session(write=True) as s:
        s.execute(
            text(
                "INSERT INTO on_notes (id, owner, notebook_id, content, created, "
                "updated) VALUES ('note:x', 'me', 'notebook:none', 'x', "
                "'2026-01-01', '2026-01-01')"
            )
        )


async def test_database_wal_and_shm_are_private(api, ext):
    await api.create_credential()
    with ext.db.engine.connect() as conn:  # WAL files exist while a connection is open
        conn.execute(text("SELECT count(*) FROM on_credentials")).scalar()
        path = ext.db.path
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        for f in files:
            assert f.exists(), f
            assert mode(f) == 0o600, (f, oct(mode(f)))
    assert mode(path.parent) == 0o700


def test_loose_permissions_are_tightened(tmp_path, caplog):
    from open_notebook_ext.store.db import Database

    path = tmp_path / "loose.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    Database(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o600
    assert "Tightened permissions" in caplog.text
