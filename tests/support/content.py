"""Helpers for the notebook/source tests: multipart bodies and a local web site."""

from __future__ import annotations

import gzip
import http.server
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BOUNDARY = "----on-test-boundary-7d1f"


def multipart(
    fields: dict[str, str] | None = None,
    file: tuple[str, str | None, bytes] | None = None,
    boundary: str = BOUNDARY,
) -> tuple[bytes, str]:
    """(body, content type) of a multipart/form-data request; file = (name, type, data)."""
    out = bytearray()
    for name, value in (fields or {}).items():
        out += (
            (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n').encode()
            + value.encode()
            + b"\r\n"
        )
    if file is not None:
        filename, ctype, data = file
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\n'
        ).encode()
        if ctype:
            out += f"Content-Type: {ctype}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def multipart_parts(parts: list[tuple[str, bytes]], boundary: str = BOUNDARY) -> tuple[bytes, str]:
    """A multipart body from (header lines, data) pairs, for bodies ``multipart`` won't make."""
    out = bytearray()
    for headers, data in parts:
        out += f"--{boundary}\r\n{headers}\r\n\r\n".encode() + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def multipart_of_size(
    total: int,
    fields: dict[str, str],
    filename: str = "blob.bin",
    ctype: str = "application/octet-stream",
) -> tuple[bytes, str]:
    """A multipart upload whose whole body is exactly ``total`` bytes."""
    empty, content_type = multipart(fields, (filename, ctype, b""))
    body, _ = multipart(fields, (filename, ctype, b"x" * (total - len(empty))))
    assert len(body) == total
    return body, content_type


class StreamedUpload:
    """A multipart body produced chunk by chunk (never whole in memory), with a length."""

    def __init__(
        self, size: int, fields: dict[str, str], chunk: int = 1024 * 1024, filename: str = "big.bin"
    ) -> None:
        head, self.content_type = multipart(fields, (filename, "application/octet-stream", b""))
        cut = head.rindex(b"\r\n--")
        self.head, self.tail = head[:cut], head[cut:]
        self.size, self.chunk = size, chunk

    def __len__(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        block = b"z" * self.chunk
        left = self.size
        while left > 0:
            n = min(left, self.chunk)
            yield block if n == self.chunk else block[:n]
            left -= n
        yield self.tail


def files_in(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


# -- a local web site for link sources (loopback only) ---------------------------

PAGE = (
    b"<html><head><title>Quokka facts</title><style>.x{}</style></head>"
    b"<body><h1>Quokkas</h1><p>The quokka is a small marsupial.</p>"
    b"<script>var hidden = 'not text';</script></body></html>"
)


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, Any] = {}
    hits: list[str] = []

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.hits.append(self.path)
        route = self.routes.get(self.path)
        if route is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        route(self)


def _send(
    handler: Any,
    status: int,
    body: bytes,
    ctype: str = "text/html; charset=utf-8",
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", ctype)
    handler.send_header("Content-Length", str(len(body)))
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.end_headers()
    handler.wfile.write(body)


@contextmanager
def local_site() -> Iterator[dict[str, Any]]:
    """A threaded HTTP server on 127.0.0.1 with a few pages; yields {url, hits}."""
    bomb = gzip.compress(b"a" * (20 * 1024 * 1024))
    routes = {
        "/page": lambda h: _send(h, 200, PAGE),
        "/text": lambda h: _send(h, 200, b"Plain wombat notes.\n", "text/plain"),
        "/json": lambda h: _send(
            h, 200, json.dumps({"animal": "numbat"}).encode(), "application/json"
        ),
        "/pdf": lambda h: _send(h, 200, b"%PDF-1.4 binary\x00\x01", "application/pdf"),
        "/missing": lambda h: _send(h, 404, b"nope"),
        "/big": lambda h: _send(h, 200, b"b" * (3 * 1024 * 1024), "text/plain"),
        "/bomb": lambda h: _send(h, 200, bomb, "text/plain", {"Content-Encoding": "gzip"}),
        "/to-metadata": lambda h: _send(
            h, 302, b"", headers={"Location": "http://169.254.169.254/latest/meta-data/"}
        ),
        "/to-page": lambda h: _send(h, 301, b"", headers={"Location": "/page"}),
        "/loop": lambda h: _send(h, 302, b"", headers={"Location": "/loop"}),
        "/slow": lambda h: (time.sleep(3), _send(h, 200, b"late")),
    }
    handler = type("Handler", (_Handler,), {"routes": routes, "hits": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield {
            "url": f"http://127.0.0.1:{server.server_address[1]}",
            "hits": handler.hits,
            "port": server.server_address[1],
        }
    finally:
        server.shutdown()
        server.server_close()


def random_word() -> str:
    return "w" + secrets.token_hex(4)
