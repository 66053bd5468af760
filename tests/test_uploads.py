"""File uploads: streamed to disk under generated names, capped, and never left behind."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from content_helpers import (
    StreamedUpload,
    files_in,
    multipart,
    multipart_of_size,
    multipart_parts,
)
from dbtools import count
from open_notebook_ext.app import OpenNotebookApp
from open_notebook_ext.uploads import UploadArea, display_name

ORIGIN = "https://lab.example.org"
CAP_MB = 0.0625  # 64 KiB keeps the boundary tests fast
CAP = 64 * 1024


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def extension_config():
    return {"max_upload_mb": CAP_MB, "max_body_bytes": 4096, "allowed_origins": [ORIGIN]}


async def upload(api, fields, file, **kw):
    body, ctype = multipart(fields, file)
    return await api.post(
        "sources", raw=body, headers={"Content-Type": ctype, **kw.pop("headers", {})}, **kw
    )


async def test_text_file_round_trip(api, ext, logs):
    nb = (await api.post("notebooks", {"name": "N"})).json
    data = b"# Wombats\n\nWombats have cube-shaped droppings.\n"
    r = await upload(
        api,
        {"type": "upload", "notebooks": json.dumps([nb["id"]])},
        ("wombats.md", "text/markdown", data),
    )
    assert r.status == 200, r
    src = r.json
    assert src["type"] == "upload" and src["title"] == "wombats.md"
    assert src["asset"] == {"file_path": "wombats.md", "url": None}  # never a server path
    assert src["full_text"] == data.decode() and src["file_size"] == len(data)
    assert src["file_available"] is True and src["notebooks"] == [nb["id"]]
    assert str(ext.uploads.path) not in r.text

    uploads = ext.uploads.path
    assert mode(uploads) == 0o700
    (stored,) = files_in(uploads)
    assert len(stored) == 32 and all(c in "0123456789abcdef" for c in stored)
    assert mode(uploads / stored) == 0o600
    assert (uploads / stored).read_bytes() == data
    found = (await api.post("search", {"query": "cube shaped"})).json["results"]
    assert [x["id"] for x in found] == [src["id"]]

    r = await api.delete(f"sources/{src['id']}")
    assert r.status == 200
    assert files_in(uploads) == []
    assert "cube-shaped" not in logs.text


async def test_binary_and_hostile_names(api, ext):
    r = await upload(
        api,
        {"type": "upload", "title": "Scan"},
        ("../../../etc/cron.d/evil.pdf", "application/pdf", b"%PDF\x00\x01\x02"),
    )
    assert r.status == 200, r
    assert r.json["title"] == "Scan" and r.json["full_text"] is None
    assert r.json["asset"]["file_path"] == "evil.pdf"
    r = await upload(api, {"type": "upload"}, ("..\\..\\win.txt", None, b"plain words"))
    assert r.status == 200 and r.json["asset"]["file_path"] == "win.txt"
    assert r.json["full_text"] == "plain words"  # text by its name's suffix
    assert len(files_in(ext.uploads.path)) == 2
    data_dir = ext.uploads.path.parent
    assert not (data_dir.parent / "etc").exists() and not (data_dir / "etc").exists()
    assert display_name("..") == "upload" and display_name("a/b\x00c") == "bc"


async def test_cap_boundary_with_cors(api, ext):
    body, ctype = multipart_of_size(CAP, {"type": "upload"})
    r = await api.post("sources", raw=body, headers={"Content-Type": ctype, "Origin": ORIGIN})
    assert r.status == 200, r
    assert 0 < r.json["file_size"] < CAP
    body, ctype = multipart_of_size(CAP + 1, {"type": "upload"})
    r = await api.post("sources", raw=body, headers={"Content-Type": ctype, "Origin": ORIGIN})
    assert r.status == 413, r
    assert r.json == {"detail": f"Upload too large (limit {CAP} bytes, {CAP_MB:g} MiB)"}
    assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert count(ext, "on_sources") == 1
    assert len(files_in(ext.uploads.path)) == 1
    # The JSON routes keep their own (smaller) limit.
    r = await api.post("sources", {"type": "text", "content": "x" * 5000})
    assert r.status == 413 and "limit 4096 bytes" in r.json["detail"]


async def test_chunked_upload_over_the_cap_is_cut_off(api, ext, jp_base_url):
    head, ctype = multipart({"type": "upload"}, ("big.bin", None, b""))
    seen_part = []

    async def producer(write):
        await write(head[: head.rindex(b"\r\n--")])
        for _ in range(CAP // 4096):  # no Content-Length; the last chunk passes the cap
            await write(b"y" * 4096)
            await asyncio.sleep(0.005)
            seen_part.extend(p for p in files_in(ext.uploads.path) if p.endswith(".part"))

    r = await api.http.fetch(
        f"{jp_base_url}open-notebook/api/sources",
        method="POST",
        raise_error=False,
        body_producer=producer,
        headers={"Authorization": f"token {api.token}", "Content-Type": ctype, "Origin": ORIGIN},
    )
    assert r.code == 413
    assert json.loads(r.body)["detail"].startswith("Upload too large")
    assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert seen_part, "the file should have been streaming to a .part file"
    assert files_in(ext.uploads.path) == []
    assert count(ext, "on_sources") == 0


@pytest.mark.parametrize(
    "case",
    [
        "missing-notebook",
        "validation",
        "no-file",
        "two-files",
        "truncated",
        "fields-too-large",
        "bad-utf8",
        "store-fails",
        "no-boundary",
    ],
)
async def test_failed_uploads_leave_nothing(api, ext, monkeypatch, case):
    file = ("a.txt", "text/plain", b"hello " * 100)
    fields = {"type": "upload"}
    headers = {}
    raw = None
    if case == "missing-notebook":
        fields["notebooks"] = json.dumps(["notebook:nope"])
        want = 404
    elif case == "validation":
        fields["title"] = "t" * 600
        want = 422
    elif case == "no-file":
        file = None
        want = 422
    elif case == "two-files":
        a_file = 'Content-Disposition: form-data; name="file"; filename="a.txt"'
        raw, headers["Content-Type"] = multipart_parts(
            [
                ('Content-Disposition: form-data; name="type"', b"upload"),
                (a_file, b"one"),
                (a_file, b"two"),
            ]
        )
        want = 422
    elif case == "truncated":
        body, ctype = multipart(fields, file)
        raw, headers["Content-Type"] = body[:-40], ctype
        want = 400
    elif case == "fields-too-large":
        fields["content"] = "c" * 5000
        want = 413
    elif case == "bad-utf8":
        raw, headers["Content-Type"] = multipart_parts(
            [
                ('Content-Disposition: form-data; name="type"', b"upload"),
                ('Content-Disposition: form-data; name="title"', b"\xff\xfe"),
                ('Content-Disposition: form-data; name="file"; filename="a.txt"', b"data"),
            ]
        )
        want = 422
    elif case == "store-fails":

        def boom(*args, **kwargs):
            raise RuntimeError("injected")

        monkeypatch.setattr(ext.sources, "create", boom)
        want = 500
    else:  # no-boundary
        body, _ = multipart(fields, file)
        raw, headers["Content-Type"] = body, "multipart/form-data"
        want = 400
    if raw is None:
        raw, ctype = multipart(fields, file)
        headers["Content-Type"] = ctype
    r = await api.post("sources", raw=raw, headers=headers)
    assert r.status == want, r
    assert r.headers["Content-Type"].startswith("application/json")
    assert isinstance(r.json["detail"], str)
    assert files_in(ext.uploads.path) == []
    assert count(ext, "on_sources") == 0


async def test_client_going_away_mid_upload_leaves_no_file(ext, jp_http_port, jp_base_url, api):
    body, ctype = multipart({"type": "upload"}, ("gone.bin", None, b"g" * 40000))
    with socket.create_connection(("127.0.0.1", jp_http_port)) as sock:
        path = urlsplit(jp_base_url).path
        head = (
            f"POST {path}open-notebook/api/sources "
            f"HTTP/1.1\r\nHost: 127.0.0.1:{jp_http_port}\r\n"
            f"Authorization: token {api.token}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        sock.sendall(head + body[:20000])
        for _ in range(100):
            await asyncio.sleep(0.02)
            if files_in(ext.uploads.path):
                break
        assert [p for p in files_in(ext.uploads.path) if p.endswith(".part")]
    for _ in range(200):
        await asyncio.sleep(0.02)
        if not files_in(ext.uploads.path):
            break
    assert files_in(ext.uploads.path) == []
    assert count(ext, "on_sources") == 0


class TestNothingBeforeAuth:
    @pytest.fixture
    def jp_server_config(self):
        return {
            "ServerApp": {
                "jpserver_extensions": {"open_notebook_ext": True},
                # Jupyter's default: handlers, not prepare(), refuse the unauthenticated.
                "allow_unauthenticated_access": True,
                "authorizer_class": "helpers.HeaderDenyAuthorizer",
            },
            "OpenNotebookApp": {"max_upload_mb": CAP_MB},
        }

    async def test_unauthenticated_and_unauthorized_uploads_write_nothing(
        self, api, ext, monkeypatch
    ):
        opened = []
        original = ext.uploads.open_part
        monkeypatch.setattr(ext.uploads, "open_part", lambda: opened.append(1) or original())
        body, ctype = multipart({"type": "upload"}, ("a.bin", None, b"a" * 30000))
        r = await api.post("sources", raw=body, headers={"Content-Type": ctype}, auth=None)
        assert r.status == 401 and r.headers["WWW-Authenticate"] == "Bearer"
        r = await api.post(
            "sources",
            raw=body,
            headers={"Content-Type": ctype, "Authorization": "token wrong"},
            auth=None,
        )
        assert r.status == 401
        r = await api.post("sources", raw=body, headers={"Content-Type": ctype, "X-Test-Deny": "1"})
        assert r.status == 403
        assert opened == [] and files_in(ext.uploads.path) == []
        r = await api.post("sources", raw=body, headers={"Content-Type": ctype})
        assert r.status == 200 and opened == [1]


def test_max_upload_mb_from_environment(monkeypatch):
    monkeypatch.setenv("OPEN_NOTEBOOK_MAX_UPLOAD_SIZE_MB", "250")
    assert OpenNotebookApp().max_upload_mb == 250
    assert OpenNotebookApp().max_upload_bytes == 250 * 1024 * 1024
    monkeypatch.setenv("OPEN_NOTEBOOK_MAX_UPLOAD_SIZE_MB", "0.5")
    assert OpenNotebookApp().max_upload_bytes == 512 * 1024
    for bad in ("lots", "0", "-3", ""):
        monkeypatch.setenv("OPEN_NOTEBOOK_MAX_UPLOAD_SIZE_MB", bad)
        assert OpenNotebookApp().max_upload_mb == 100
    monkeypatch.delenv("OPEN_NOTEBOOK_MAX_UPLOAD_SIZE_MB")
    assert OpenNotebookApp().max_upload_mb == 100


def test_upload_area_sweeps_only_stale_parts(tmp_path):
    area = UploadArea(tmp_path / "uploads")
    area.path.mkdir(mode=0o755)
    old = area.path / ("a" * 32 + ".part")
    new = area.path / ("b" * 32 + ".part")
    kept = area.path / ("c" * 32)
    for p in (old, new, kept):
        p.write_bytes(b"x")
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    area.prepare()
    assert files_in(area.path) == [new.name, kept.name]
    assert mode(area.path) == 0o700
    for bad in ("../x", "a" * 31, "A" * 32, "/etc/passwd", ""):
        with pytest.raises(ValueError, match="not a stored upload name"):
            area.path_of(bad)


@pytest.mark.subprocess
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


@pytest.mark.parametrize("exclusive", [False, True])
async def test_notebook_delete_removes_files_of_deleted_sources_only(api, ext, exclusive):
    nb = (await api.post("notebooks", {"name": "N"})).json
    keep = (await api.post("notebooks", {"name": "K"})).json
    mine = await upload(api, {"type": "upload", "notebook_id": nb["id"]}, ("a.txt", None, b"a"))
    shared = await upload(
        api,
        {"type": "upload", "notebooks": json.dumps([nb["id"], keep["id"]])},
        ("b.txt", None, b"b"),
    )
    assert mine.status == shared.status == 200
    assert len(files_in(ext.uploads.path)) == 2
    flag = "true" if exclusive else "false"
    r = await api.delete(f"notebooks/{nb['id']}?delete_exclusive_sources={flag}")
    assert r.status == 200 and r.json["deleted_sources"] == (1 if exclusive else 0)
    assert len(files_in(ext.uploads.path)) == (1 if exclusive else 2)
    r = await api.get(f"sources/{shared.json['id']}")
    assert r.json["file_available"] is True


@pytest.mark.subprocess
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


async def test_nothing_users_wrote_reaches_the_log(api, ext, logs, monkeypatch):
    """Content, titles, URLs, file names and queries stay out of the log (any level)."""
    from open_notebook_ext import netguard

    monkeypatch.setattr(netguard, "system_resolve", lambda host, port: ["93.184.216.34"])
    marks = {
        k: f"mark{k}{os.urandom(4).hex()}"
        for k in (
            "nbname",
            "nbdesc",
            "note",
            "notetitle",
            "text",
            "srctitle",
            "url",
            "file",
            "filedata",
            "query",
        )
    }
    nb = (
        await api.post("notebooks", {"name": marks["nbname"], "description": marks["nbdesc"]})
    ).json
    await api.post(
        "notes", {"title": marks["notetitle"], "content": marks["note"], "notebook_id": nb["id"]}
    )
    await api.post(
        "sources", {"type": "text", "content": marks["text"], "title": marks["srctitle"]}
    )
    ext.fetch_links = False
    r = await api.post(
        "sources", {"type": "link", "url": f"https://{marks['url']}.example/{marks['url']}"}
    )
    assert r.status == 200, r
    r = await upload(
        api, {"type": "upload"}, (f"{marks['file']}.txt", "text/plain", marks["filedata"].encode())
    )
    assert r.status == 200, r
    await api.post("search", {"query": marks["query"]})
    await api.post("notes", {"content": marks["note"], "note_type": "bad"})  # an error path
    await api.post("sources", {"type": "link", "url": f"ftp://{marks['url']}/"})
    assert "Created source" in logs.text
    for name, mark in marks.items():
        assert mark not in logs.text, name
