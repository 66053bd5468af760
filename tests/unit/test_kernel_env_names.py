"""Every secret-file variable the server reads is stripped from kernels (a source scan;
the live checks: integration/test_kernel_secrets.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from open_notebook_ext.kernels import DEFAULT_STRIPPED_ENV

NOTEBOOK = "work/analysis.ipynb"


@pytest.fixture
def server(server_factory):
    s = server_factory(env={"OPEN_NOTEBOOK_ENCRYPTION_KEY": "kernel test passphrase"}).start()
    (s.root / "work").mkdir()
    (s.root / NOTEBOOK).write_text('{"cells": []}')  # grants are given to files that exist
    return s


SECRET_FILE_VARS = (
    "JUPYTER_TOKEN_FILE",
    "OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE",
    "OPEN_NOTEBOOK_ENCRYPTION_KEYS_FILE",
    "OPEN_NOTEBOOK_DB_URL_FILE",
    "PGPASSFILE",
)


def test_every_secret_file_variable_the_server_reads_is_stripped():
    """A new *_FILE variable in the code must join DEFAULT_STRIPPED_ENV (or be harmless)."""
    root = Path(__file__).resolve().parents[2]
    sources = [
        *(root / "open_notebook_ext").rglob("*.py"),
        root / "jupyter-config" / "production" / "jupyter_server_config.py",
    ]
    named = set()
    for source in sources:
        named |= set(re.findall(r"[\"']([A-Z][A-Z0-9_]*_FILE)[\"']", source.read_text()))
    assert {
        "JUPYTER_TOKEN_FILE",
        "OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE",
        "OPEN_NOTEBOOK_ENCRYPTION_KEYS_FILE",
        "OPEN_NOTEBOOK_DB_URL_FILE",
    } <= named
    assert named <= set(DEFAULT_STRIPPED_ENV)
    assert set(SECRET_FILE_VARS) <= set(DEFAULT_STRIPPED_ENV)
