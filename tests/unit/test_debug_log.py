"""Secrets given as configuration stay out of the log at ``--debug``.

Attack (issue 15, finding 10): traitlets logs every application's whole
configuration at debug level (``Config changed: {...}``), so a key set with
``c.OpenNotebookApp.encryption_key = "..."`` or ``--OpenNotebookApp.encryption_key=``
was printed five times by ``jupyter server --debug``. Each test runs a real server
at ``--debug`` with canary secrets and searches everything it wrote (stdout and
stderr go to one file) for them.
"""

from __future__ import annotations

import secrets

from traitlets.config import Config

from open_notebook_ext.security.logscrub import command_line_secrets, mask_config


def canary(label: str) -> str:
    return f"canary-{label}-{secrets.token_hex(12)}"


def test_masking_rules():
    config = Config()
    config.OpenNotebookApp.encryption_keys = ["k1-secret", "k2-secret"]
    config.OpenNotebookApp.db_url = "postgresql+psycopg://notebook:pw-secret@db:5432/notebook"
    config.OpenNotebookApp.generate_key = False
    config.ServerApp.token = "t-secret"
    config.ServerApp.tornado_settings = {"cookie_secret": "c-secret", "debug": True}
    config.ServerApp.keyfile = "/etc/ssl/private/tls.key"
    masked = mask_config(config)
    text = repr(masked)
    assert "secret" not in text.replace("cookie_secret", "")
    assert (
        masked["OpenNotebookApp"]["db_url"] == "postgresql+psycopg://notebook:***@db:5432/notebook"
    )
    assert masked["OpenNotebookApp"]["generate_key"] is False  # not a secret
    assert masked["ServerApp"]["keyfile"] == "/etc/ssl/private/tls.key"  # a path
    assert masked["ServerApp"]["tornado_settings"]["debug"] is True
    assert config.ServerApp.token == "t-secret"  # the real config is untouched
    assert command_line_secrets(config) == [
        "OpenNotebookApp.db_url",
        "OpenNotebookApp.encryption_keys",
        "ServerApp.token",
    ]
