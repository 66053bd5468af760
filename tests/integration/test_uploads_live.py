"""Uploads to a subprocess server: memory stays flat, Jupyter's max_body_size does not cut
them short (see api/test_uploads.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from support.content import StreamedUpload, files_in, multipart, multipart_of_size

ORIGIN = "https://lab.example.org"


CAP_MB = 0.0625  # 64 KiB keeps the boundary tests fast


CAP = 64 * 1024


@pytest.fixture
def extension_config():
    return {"max_upload_mb": CAP_MB, "max_body_bytes": 4096, "allowed_origins": [ORIGIN]}


async def upload(api, fields, file, **kw):
    body, ctype = multipart(fields, file)
    return await api.post(
        "sources", raw=body, headers={"Content-Type": ctype, **kw.pop("headers", {})}, **kw
    )


def test_large_upload_memory_stays_flat(server_factory):
    """A 256 MiB upload: the server's peak RSS grows by a few MiB, not by the file."""
    size = 256 * 1024 * 1024
    server = server_factory(args=["--OpenNotebookApp.max_upload_mb=300"]).start()
    pid = server.proc.pid

    def status(field: str) -> int:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise AssertionError(field)

    # warm up the route (imports, first request) before measuring
    r = server.api("GET", "sources")
    assert r.status == 200
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak (VmHWM) to now
    before = status("VmRSS")
    body = StreamedUpload(size, {"type": "upload"})
    started = time.monotonic()
    r = requests.post(
        server.url + "open-notebook/api/sources",
        data=body,
        timeout=300,
        headers={"Authorization": f"token {server.token}", "Content-Type": body.content_type},
    )
    elapsed = time.monotonic() - started
    assert r.status_code == 200, r.text
    assert r.json()["file_size"] == size
    peak = status("VmHWM")
    growth = peak - before
    print(
        f"upload {size >> 20} MiB in {elapsed:.1f}s; RSS before {before >> 20} MiB, "
        f"peak {peak >> 20} MiB, growth {growth / 2**20:.1f} MiB"
    )
    assert growth < 32 * 1024 * 1024, growth
    stored = server.data_dir / "uploads"
    (name,) = files_in(stored)
    assert (stored / name).stat().st_size == size


def test_jupyters_max_body_size_does_not_cut_uploads_short(server_factory):
    """ServerApp.max_body_size (Tornado's limit) is lifted for the upload route only."""
    server = server_factory(
        args=["--ServerApp.max_body_size=8192", f"--OpenNotebookApp.max_upload_mb={CAP_MB}"]
    ).start()
    body, ctype = multipart({"type": "upload"}, ("big.bin", None, b"q" * 40_000))
    r = server.api("POST", "sources", raw=body, headers={"Content-Type": ctype})
    assert r.status == 200, r.text
    assert r.json["file_size"] == 40_000
    body, ctype = multipart_of_size(CAP + 1, {"type": "upload"})
    r = server.api("POST", "sources", raw=body, headers={"Content-Type": ctype})
    assert r.status == 413 and r.json["detail"].startswith("Upload too large")
