"""Read a test's database directly, whichever backend it is (SQLite or PostgreSQL).

``target`` is the running extension app (``ext``), a ``Database`` or a URL.
Statements are plain SQL that both backends understand.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from open_notebook_ext.db.engine import Database


@contextmanager
def connect(target: Any) -> Iterator[Connection]:
    db = getattr(target, "db", target)
    if isinstance(db, Database):
        with db.engine.connect() as conn:
            yield conn
        return
    url = f"sqlite:///{db}" if isinstance(db, Path) else str(db)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def rows(target: Any, sql: str, **params: Any) -> list[tuple]:
    with connect(target) as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def scalar(target: Any, sql: str, **params: Any) -> Any:
    with connect(target) as conn:
        return conn.execute(text(sql), params).scalar()


def execute(target: Any, sql: str, **params: Any) -> int:
    with connect(target) as conn:
        result = conn.execute(text(sql), params)
        conn.commit()
        return result.rowcount


def count(target: Any, table: str) -> int:
    return scalar(target, f"SELECT count(*) FROM {table}")  # noqa: S608 - test constants
