"""Fixtures of the store tests: a database and key ring opened as the server opens them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from open_notebook_ext.db.bootstrap import open_backend


@pytest.fixture
def backend_for(tmp_path: Path, db_url: str | None) -> Iterator[Callable[..., Any]]:
    """``backend_for(*keys)``: the database (this test's backend) with a key ring of
    ``keys`` (primary first); every one opened is closed after the test."""
    opened = []

    def make(*keys: str) -> Any:
        backend = open_backend(
            db_url=db_url or f"sqlite:///{tmp_path / 'store.db'}",
            data_dir=str(tmp_path),
            env={"OPEN_NOTEBOOK_ENCRYPTION_KEYS": ",".join(keys)},
            log=logging.getLogger("test"),
        )
        opened.append(backend)
        return backend

    yield make
    for backend in opened:
        backend.close()
