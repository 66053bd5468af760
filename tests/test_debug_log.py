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

import pytest
from traitlets.config import Config

from open_notebook_ext.logscrub import HIDDEN, command_line_secrets, mask_config


def canary(label: str) -> str:
    return f"canary-{label}-{secrets.token_hex(12)}"


def assert_masked_dump(log: str) -> None:
    """The debug dump is there (so the search below means something), masked."""
    dumps = [ln for ln in log.splitlines() if "Config changed:" in ln]
    assert any("OpenNotebookApp" in ln for ln in dumps), log
    assert all(f"'encryption_key': '{HIDDEN}'" in ln for ln in dumps if "'encryption_key'" in ln), (
        dumps
    )


def test_config_file_secrets_never_reach_the_debug_log(server_factory, tmp_path):
    key, token, hashed = canary("key"), canary("token"), canary("hashed")
    config = tmp_path / "debug_config.py"
    config.write_text(
        f"c.OpenNotebookApp.encryption_key = {key!r}\n"
        f"c.IdentityProvider.token = {token!r}\n"
        f"c.PasswordIdentityProvider.hashed_password = 'argon2:{hashed}'\n"
    )
    server = server_factory(
        args=["--debug", f"--config={config}"], token=token, env={"JUPYTER_TOKEN": ""}
    ).start()
    status = server.api("GET", "credentials/status").json
    assert status["key_source"] == "config"  # the config file's key is the one in use
    created = server.api(
        "POST", "credentials", {"name": "n", "provider": "openai", "api_key": canary("api")}
    )
    assert created.status == 201
    server.stop()
    log = server.log
    leaked = [
        name
        for name, secret in (("key", key), ("token", token), ("hashed", hashed))
        if secret in log
    ]
    assert not leaked, [ln[:160] for ln in log.splitlines() if key in ln or token in ln]
    assert_masked_dump(log)
    assert "given on the command line" not in log


@pytest.mark.parametrize("app", ["server", "lab"])
def test_command_line_key_never_reaches_the_debug_log_and_is_warned_about(server_factory, app):
    key = canary("cli-key")
    server = server_factory(
        app=app, args=["--debug", f"--OpenNotebookApp.encryption_key={key}"]
    ).start(timeout=120)
    assert server.api("GET", "credentials/status").json["key_source"] == "config"
    server.stop()
    log = server.log
    assert key not in log, [ln[:160] for ln in log.splitlines() if key in ln]
    assert_masked_dump(log)
    warnings = [ln for ln in log.splitlines() if "given on the command line" in ln]
    assert len(warnings) == 1, log
    assert "OpenNotebookApp.encryption_key" in warnings[0]
    assert (
        "/proc/<pid>/cmdline" in warnings[0] and "OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE" in warnings[0]
    )


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
