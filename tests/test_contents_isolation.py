"""The database and key file can never be read back through Jupyter's own file APIs.

jupyter-ai keeps its keys in a plain .env under the server root, which anyone
with the UI can download; we keep ours outside the root by default, and warn
when configuration puts them somewhere the contents API can reach.
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


class TestVisibleDataDirInsideRoot:
    @pytest.fixture
    def extension_config(self, jp_root_dir):
        return {"data_dir": str(Path(jp_root_dir) / "on-data")}

    async def test_start_up_warns(self, logs, api, ext):
        await api.get("credentials/status")
        warnings = [ln for ln in logs.lines if "lies inside the Jupyter root directory" in ln]
        assert any("database" in ln for ln in warnings)
        assert any("encryption key file" in ln for ln in warnings)
