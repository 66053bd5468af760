"""Every secret-file variable the server reads is stripped from kernels (a source scan;
the live checks: integration/test_kernel_secrets.py)."""

from __future__ import annotations

import re
from pathlib import Path

from open_notebook_ext.kernels.env import SERVER_SECRETS as DEFAULT_STRIPPED_ENV

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
