"""A batch of usage rows (proxy/usage_buffer.py) is written in one transaction: all of
its rows or none, on both backends (SQLite outside a transaction would commit, and
sync, each parameter set of an executemany by itself)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from open_notebook_ext.db.orm import ProxyUsage, utcnow
from open_notebook_ext.proxy.store import UsageStore
from support.leaks import random_api_key


def _row(credential_id: str, n: int) -> dict[str, object]:
    return {
        "owner": "me",
        "credential_id": credential_id,
        "notebook_path": "a.ipynb",
        "provider": "openai",
        "model": f"m{n}",
        "status": 200,
        "latency_ms": 1.0,
        "input_tokens": n,
        "output_tokens": n,
        "day": "2026-12-02",
        "created": utcnow(),
    }


def _count(db) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(ProxyUsage)).scalar_one())


def _store(backend_for):
    backend = backend_for(Fernet.generate_key().decode())
    cred = backend.credentials.create(
        "me", {"name": "k", "provider": "openai", "api_key": random_api_key()}
    )
    return backend.db, UsageStore(backend.db), cred["id"]


def test_a_batch_is_all_or_nothing(backend_for):
    db, usage, cid = _store(backend_for)
    good = [_row(cid, n) for n in range(3)]
    # the fourth row names no credential: the foreign key refuses it, after three inserts
    bad = _row("no-such-credential", 3)
    with pytest.raises(IntegrityError):
        usage.write_rows([*good, bad])
    assert _count(db) == 0, "rows of a failed batch were committed"
    usage.write_rows(good)
    assert _count(db) == 3


def test_one_row_is_written_by_itself(backend_for):
    db, _, cid = _store(backend_for)
    db.execute_one(insert(ProxyUsage), _row(cid, 1))
    assert _count(db) == 1
