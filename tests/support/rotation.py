"""Key-rotation test helpers: a backend on a new database of each kind with a chosen key
list, credentials written through the store, and the stored tokens (store/test_rotation.py,
integration/test_rotation_cli.py)."""

from __future__ import annotations

import logging
from pathlib import Path

from open_notebook_ext.db.bootstrap import open_backend
from support.db import rows
from support.leaks import random_api_key


def tokens(db: Path | str) -> dict[str, tuple[str, str]]:
    return {
        r[0]: (r[1], r[2])
        for r in rows(db, "SELECT id, api_key_encrypted, key_id FROM on_credentials")
    }


def open_store(db_url: str, data_dir: Path, *keys: str):
    """A backend on ``db_url`` with the key list ``keys`` (newest first; no server)."""
    return open_backend(
        db_url=db_url,
        data_dir=str(data_dir),
        env={"OPEN_NOTEBOOK_ENCRYPTION_KEYS": ",".join(keys)},
        log=logging.getLogger("test"),
    )


def fill(backend, n: int, prefix: str, *, mixing: bool = False) -> dict[str, str]:
    """``n`` credentials written through the store. ``mixing``: under a key the database
    was not written with, as servers did before key writes were refused on a key
    mismatch (the guard is the store's ``key_check``, set by ``open_backend``)."""
    if mixing:
        backend.credentials.key_check = None
    out = {}
    for i in range(n):
        key = random_api_key()
        c = backend.credentials.create(
            "me", {"name": f"{prefix}{i}", "provider": "openai", "api_key": key}
        )
        out[c["id"]] = key
    return out
