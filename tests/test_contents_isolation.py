"""The database and key file can never be read back through Jupyter's own file APIs.

jupyter-ai keeps its keys in a plain .env under the server root, which anyone
with the UI can download; we keep ours outside the root by default, and refuse to
start when configuration puts a secret file where the contents API can reach it
(inside the root and not hidden, or hidden with ContentsManager.allow_hidden on),
unless OpenNotebookApp.allow_secrets_in_root says to start anyway, with a warning.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
import requests

from helpers import refused

# SQLite only: the SQLite file and key file paths.
pytestmark = pytest.mark.sqlite_only


async def fetch_file(api, root: Path, path: Path):
    rel = os.path.relpath(path, root)
    contents = await api.request("GET", f"contents/{rel}", prefix="api")
    files = await api.request("GET", rel, prefix="files")
    # /view answers an HTML page framing /files/<path> for any file that exists,
    # hidden or not: the content must come only from /files, never from /view.
    view = await api.request("GET", rel, prefix="view")
    head = path.read_bytes()[:32].decode("latin-1")
    assert view.status in (200, 403, 404) and head not in view.text, view
    return contents, files


async def test_default_paths_are_outside_the_root(api, ext, jp_root_dir):
    await api.create_credential()
    key_file = Path(ext.key_material.path)
    for path in (ext.db.path, key_file):
        assert path.exists()
        assert not path.resolve().is_relative_to(Path(jp_root_dir).resolve())
        contents, files = await fetch_file(api, jp_root_dir, path)
        assert contents.status in (403, 404), contents
        assert files.status in (403, 404), files


class TestHiddenDataDirInsideRoot:
    @pytest.fixture
    def extension_config(self, jp_root_dir):
        return {"data_dir": str(Path(jp_root_dir) / ".open_notebook")}

    async def test_contents_api_refuses_hidden_files(self, logs, api, ext, jp_root_dir):
        await api.create_credential()
        assert ext.db.path.is_relative_to(Path(jp_root_dir).resolve())
        for path in (ext.db.path, Path(ext.key_material.path)):
            contents, files = await fetch_file(api, jp_root_dir, path)
            assert contents.status == 404, contents
            assert files.status == 404, files
        listing = await api.request("GET", "contents/", prefix="api")
        assert ".open_notebook" not in listing.text
        assert "lies inside the Jupyter root directory" not in logs.text


class TestVisibleDataDirInsideRootAllowed:
    """With the explicit opt-out the server starts, and says plainly what is exposed."""

    @pytest.fixture
    def extension_config(self, jp_root_dir):
        return {"data_dir": str(Path(jp_root_dir) / "on-data"), "allow_secrets_in_root": True}

    async def test_start_up_warns(self, logs, api, ext, jp_root_dir):
        await api.create_credential()
        warnings = [ln for ln in logs.lines if "contents API" in ln and "could serve" in ln]
        assert len(warnings) == 1, logs.text
        for what in (
            "the data directory",
            "the database",
            "the generated key file",
            "the audit log",
            "the uploads directory",
            "-wal/-shm",
            "not hidden",
            "allow_secrets_in_root",
        ):
            assert what in warnings[0], what
        # ...and the warning is true: the key file is served
        rel = os.path.relpath(ext.key_material.path, jp_root_dir)
        served = await api.request("GET", rel, prefix="files")
        assert served.status == 200, served


# -- real servers: the configurations that must not start ------------------------------


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
