"""The database and key file can never be read back through Jupyter's own file APIs.

jupyter-ai keeps its keys in a plain .env under the server root, which anyone
with the UI can download; we keep ours outside the root by default, and refuse to
start when configuration puts a secret file where the contents API can reach it
(inside the root and not hidden, or hidden with ContentsManager.allow_hidden on),
unless OpenNotebookApp.allow_secrets_in_root says to start anyway, with a warning.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
