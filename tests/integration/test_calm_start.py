"""Item 4 of issue 20: a calm first run, as the server log says it."""

from __future__ import annotations

import re

import pytest

from support.leaks import random_api_key

pytestmark = pytest.mark.subprocess

JUPYTER_LINE = r"^\[W \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [\w.]+\] "


def test_a_reused_key_file_is_not_generated_again_and_redaction_logs_like_jupyter(
    server_factory, tmp_path
):
    home = tmp_path / "home"
    first = server_factory(home).start()
    assert "generated one in" in first.log
    assert "using the key file generated on" not in first.log
    first.stop()

    again = server_factory(home).start()
    line = next(ln for ln in again.log.splitlines() if "No encryption key configured" in ln)
    assert re.search(
        r"using the key file generated on \d{4}-\d\d-\d\d \d\d:\d\d .* in "
        + re.escape(str(again.data_dir / "encryption.key")),
        line,
    ), line
    assert "generated one in" not in again.log

    # the redaction line has Jupyter's format: level, time, logger name
    key = random_api_key()
    again.api("POST", "credentials", {"name": "Work", "provider": "openai", "api_key": key})
    notebook = {
        "type": "notebook",
        "content": {
            "cells": [
                {
                    "cell_type": "code",
                    "source": "x",
                    "metadata": {},
                    "execution_count": 1,
                    "outputs": [{"output_type": "stream", "name": "stdout", "text": key}],
                }
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        },
    }
    r = again.request("PUT", "api/contents/leak.ipynb", notebook)
    assert r.status in (200, 201), r.text
    (redacted,) = [ln for ln in again.log.splitlines() if "Redacted 1 stored API key" in ln]
    assert re.match(JUPYTER_LINE + "Redacted 1 stored API key", redacted), redacted
    assert "open_notebook_ext.vault.redact" in redacted
    assert key not in again.log


def test_the_cli_says_what_comes_next(tmp_path):
    """generate-key names the next step; rotate --help says generate-key first and verify
    after; the command list shows migrate's whole first line."""
    from test_rotation_cli import cli

    home = tmp_path / "home"
    out = cli(home, "generate-key")
    assert out.returncode == 0 and len(out.stdout.split()) == 1  # stdout: the key alone
    assert "Next: start Jupyter with OPEN_NOTEBOOK_ENCRYPTION_KEY" in out.stderr
    assert out.stdout.strip() not in out.stderr
    target = tmp_path / "new.key"
    out = cli(home, "generate-key", f"--output={target}")
    assert f"OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE={target}" in out.stderr
    rotate = " ".join(cli(home, "rotate", "--help").stdout.split())
    assert "generate-key --output new.key" in rotate and "open-notebook verify" in rotate
    listing = cli(home, "--help").stdout
    assert "Upgrade the database schema to the latest version." in listing
