"""Item 3 of issue 20, in a real kernel: what code sees when it asks for a wrong name or
is denied — the close match named, a short traceback with no frames of the client."""

from __future__ import annotations

import re

import pytest

from support.kernels import Kernel
from support.leaks import random_api_key

pytestmark = pytest.mark.subprocess

NOTEBOOK = "analysis.ipynb"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def traceback_of(kernel: Kernel, code: str) -> tuple[str, str, list[str]]:
    """(ename, evalue, traceback lines without colours) of a cell that raises."""
    errors: list[dict] = []

    def hook(msg: dict) -> None:
        if msg["msg_type"] == "error":
            errors.append(msg["content"])

    kernel.client.execute_interactive(code, output_hook=hook, timeout=60)
    assert errors, "the cell did not raise"
    e = errors[0]
    return e["ename"], e["evalue"], [ANSI.sub("", line) for line in e["traceback"]]


@pytest.fixture
def server(server_factory):
    s = server_factory(env={"OPEN_NOTEBOOK_ENCRYPTION_KEY": "use in code passphrase"}).start()
    (s.root / NOTEBOOK).write_text('{"cells": []}')
    return s


def test_wrong_name_suggests_the_close_match_and_the_traceback_is_short(server):
    key = random_api_key()
    server.api("POST", "credentials", {"name": "Work", "provider": "openai", "api_key": key})
    server.api(
        "POST",
        "credentials",
        {"name": "Personal", "provider": "anthropic", "api_key": random_api_key()},
    )
    kernel = Kernel(server, NOTEBOOK)
    try:
        ename, evalue, tb = traceback_of(
            kernel, "from open_notebook_ext import secrets\nsecrets.get('work')"
        )
        assert ename == "SecretNotFound"
        assert evalue == (
            "no credential called 'work': Credential not found. Did you mean \"Work\"?"
        )
        assert tb[0] == f"SecretNotFound: {evalue}"  # the message first
        text = "\n".join(tb)
        assert "secrets.py" not in text and "_request" not in text, text
        assert "secrets.get('work')" in text  # the user's own line is shown
        assert len(tb) <= 3
        # nothing close: says where the names are
        _, evalue, _ = traceback_of(kernel, "secrets.get('zzzz')")
        assert "secrets.list()" in evalue and "Did you mean" not in evalue
        # a denial (no page open, no grant): also no frames of the client
        ename, evalue, tb = traceback_of(kernel, "secrets.get('Work')")
        assert ename == "AccessDenied" and NOTEBOOK in evalue
        assert "secrets.py" not in "\n".join(tb)
    finally:
        kernel.shutdown()
    assert key not in server.log
