"""The database and key file can never be read back through Jupyter's own file APIs.

jupyter-ai keeps its keys in a plain .env under the server root, which anyone
with the UI can download; we keep ours outside the root by default, and refuse to
start when configuration puts a secret file where the contents API can reach it
(inside the root and not hidden, or hidden with ContentsManager.allow_hidden on),
unless OpenNotebookApp.allow_secrets_in_root says to start anyway, with a warning.
"""

from __future__ import annotations

import secrets

import pytest
import requests

from support.servers import refused

# SQLite only: the SQLite file and key file paths.
pytestmark = pytest.mark.sqlite_only


def test_allow_hidden_with_the_data_dir_hidden_inside_the_root_is_refused(server_factory):
    """Attack (issue 15, finding 9): with ContentsManager.allow_hidden the recommended
    hidden data directory was served by /files, /api/contents and /view: the key file
    and the database, i.e. every stored key, to anyone who may read files."""
    server = server_factory(args=["--ContentsManager.allow_hidden=True"])
    data = server.root / ".open_notebook"
    server.args.append(f"--OpenNotebookApp.data_dir={data}")
    log = refused(server, probe="files/.open_notebook/encryption.key")
    lines = [ln for ln in log.splitlines() if "open_notebook_ext cannot start" in ln]
    assert len(lines) == 1, log
    for what in (
        f"the data directory {data}",
        f"the database {data / 'open_notebook.db'}",
        f"the generated key file {data / 'encryption.key'}",
        f"the audit log {data / 'audit.jsonl'}",
        f"the uploads directory {data / 'uploads'}",
        "ContentsManager.allow_hidden is on",
        "allow_secrets_in_root",
    ):
        assert what in lines[0], what
    assert not data.exists()  # refused before anything was written inside the root


def test_visible_data_dir_inside_the_root_is_refused(server_factory):
    server = server_factory()
    data = server.root / "on-data"
    server.args.append(f"--OpenNotebookApp.data_dir={data}")
    log = refused(server, probe="files/on-data/encryption.key")
    assert f"could serve the data directory {data}" in log and "not hidden" in log, log
    assert not data.exists()


@pytest.mark.parametrize(
    "where", ["key file", "keys file", "token file", "db url file", "audit log", "database"]
)
def test_a_single_secret_file_inside_the_root_is_refused(server_factory, tmp_path, where):
    server = server_factory(args=["--ContentsManager.allow_hidden=True"])
    hidden = server.root / ".secrets"
    hidden.mkdir()
    env, args, words = {}, [], ""
    if where in ("key file", "keys file"):
        var = (
            "OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE"
            if where == "key file"
            else "OPEN_NOTEBOOK_ENCRYPTION_KEYS_FILE"
        )
        (hidden / "key").write_text("a passphrase kept in the root\n")
        env[var], words = str(hidden / "key"), f"the encryption key file ({var})"
    elif where == "token file":
        (hidden / "token").write_text(server.token)
        env = {"JUPYTER_TOKEN_FILE": str(hidden / "token")}
        words = "the Jupyter token file (JUPYTER_TOKEN_FILE)"
    elif where == "db url file":
        (hidden / "db_url").write_text(f"sqlite:///{tmp_path / 'outside.db'}\n")
        env = {"OPEN_NOTEBOOK_DB_URL_FILE": str(hidden / "db_url")}
        words = "the database URL file (OPEN_NOTEBOOK_DB_URL_FILE)"
    elif where == "audit log":
        args, words = [f"--OpenNotebookApp.audit_log={hidden / 'audit.jsonl'}"], "the audit log"
    else:
        args = [f"--OpenNotebookApp.db_url=sqlite:///{hidden / 'on.db'}"]
        words = f"the database {hidden / 'on.db'} (and its -wal/-shm/-journal files)"
    server.env.update(env)
    if where == "token file":
        server.env["JUPYTER_TOKEN"] = ""  # the file alone
    server.args += args
    log = refused(server)
    assert words in log, log
    assert "the data directory" not in log  # the default one is outside the root


def test_allow_hidden_with_the_default_data_dir_starts(server_factory):
    """allow_hidden alone is fine: the default data directory is outside the root."""
    server = server_factory(args=["--ContentsManager.allow_hidden=True"]).start()
    assert (
        server.api(
            "POST",
            "credentials",
            {"name": "x", "provider": "openai", "api_key": "sk-" + secrets.token_hex(8)},
        ).status
        == 201
    )
    assert "could serve" not in server.log
    listing = server.request("GET", "api/contents/").json
    assert not [c for c in listing["content"] if c["name"].startswith(".")]  # nothing of ours


def test_opting_out_starts_with_a_warning_and_the_file_is_then_served(server_factory):
    server = server_factory(
        args=["--ContentsManager.allow_hidden=True", "--OpenNotebookApp.allow_secrets_in_root=True"]
    )
    data = server.root / ".open_notebook"
    server.args.append(f"--OpenNotebookApp.data_dir={data}")
    server.start()
    warnings = [ln for ln in server.log.splitlines() if "could serve" in ln]
    assert len(warnings) == 1 and "ContentsManager.allow_hidden is on" in warnings[0]
    r = requests.get(
        server.url + "files/.open_notebook/encryption.key",
        headers={"Authorization": f"token {server.token}"},
        timeout=30,
    )
    assert r.status_code == 200 and r.text.strip() == (data / "encryption.key").read_text().strip()


def test_a_data_dir_named_through_a_link_inside_the_root_is_refused(server_factory, tmp_path):
    """Jupyter follows links inside the root: root/shared -> elsewhere is served."""
    server = server_factory()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (server.root / "shared").symlink_to(elsewhere, target_is_directory=True)
    data = server.root / "shared" / "open_notebook"
    server.args.append(f"--OpenNotebookApp.data_dir={data}")
    log = refused(server, probe="files/shared/open_notebook/encryption.key")
    assert f"could serve the data directory {data}" in log, log
