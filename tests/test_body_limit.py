"""The JSON body cap: exactly the limit passes, one byte more is 413, streamed or not."""

from __future__ import annotations

import json
import time

import pytest

# SQLite only: request body limits; the database plays no part.
pytestmark = pytest.mark.sqlite_only

LIMIT = 1000


@pytest.fixture
def extension_config():
    return {"max_body_bytes": LIMIT, "allowed_origins": ["https://lab.example.org"]}


def body_of_size(size: int) -> bytes:
    base = {"name": "n", "provider": "openai", "api_key": "sk-" + "k" * 20, "pad": ""}
    raw = json.dumps(base).encode()
    base["pad"] = "p" * (size - len(raw))
    out = json.dumps(base).encode()
    assert len(out) == size
    return out


async def test_boundary(api):
    r = await api.post("credentials", raw=body_of_size(LIMIT))
    assert r.status == 201, r
    r = await api.post(
        "credentials", raw=body_of_size(LIMIT + 1), headers={"Origin": "https://lab.example.org"}
    )
    assert r.status == 413, r
    assert r.json == {"detail": f"Request body too large (limit {LIMIT} bytes)"}
    assert r.headers["Access-Control-Allow-Origin"] == "https://lab.example.org"
    assert len((await api.get("credentials")).json) == 1


async def test_chunked_body_without_length_is_cut_off(api, jp_base_url):
    sent = []

    async def producer(write):
        for _ in range(50):  # 50 x 100 bytes, no Content-Length
            sent.append(100)
            await write(b"x" * 100)

    r = await api.http.fetch(
        f"{jp_base_url}open-notebook/api/credentials",
        method="POST",
        raise_error=False,
        body_producer=producer,
        headers={
            "Authorization": f"token {api.token}",
            "Content-Type": "application/json",
            "Origin": "https://lab.example.org",
        },
    )
    assert r.code == 413
    assert json.loads(r.body)["detail"].startswith("Request body too large")
    assert r.headers["Access-Control-Allow-Origin"] == "https://lab.example.org"
    assert (await api.get("credentials")).json == []


def test_errors_before_the_body_keep_the_connection_alive(server_factory):
    """401/403/429 answered in prepare() must not drop a keep-alive connection: the
    next request on it would fail with 'connection reset'."""
    import http.client

    server = server_factory(args=["--OpenNotebookApp.allowed_origins=https://ok.example"]).start()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    body = json.dumps({"name": "x", "provider": "openai", "api_key": "sk-" + "k" * 30})
    cases = [
        ({"Authorization": "token wrong"}, 401),
        ({"Authorization": f"token {server.token}", "Origin": "https://evil.example"}, 403),
        ({}, 401),
        ({"Authorization": f"token {server.token}"}, 201),
    ]
    sockets = set()
    for _ in range(3):
        for headers, status in cases:
            conn.request(
                "POST",
                "/open-notebook/api/credentials",
                body=body,
                headers={"Content-Type": "application/json", **headers},
            )
            sockets.add(id(conn.sock))
            r = conn.getresponse()
            r.read()
            assert r.status in (status, 409), (headers, r.status)
    assert len(sockets) == 1  # one connection served all twelve requests


# -- issue 15, finding 14: no waiting for bodies that will be refused, and not forever ---


def _exchange(port: int, head: str, body: bytes = b"", wait: float = 10.0) -> tuple[bytes, float]:
    """Send a request head (and maybe part of a body) on a raw socket; return what the
    server sent until it closed the connection (or ``wait`` passed), and how long that took."""
    import socket
    import time

    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(head.encode() + b"\r\n" + body)
        received = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                received += chunk
        except TimeoutError:
            pass
    return received, time.monotonic() - started


def _head(method: str, path: str, headers: dict[str, str]) -> str:
    lines = [f"{method} /open-notebook/api/{path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.subprocess
def test_unauthenticated_body_is_not_waited_for(server_factory):
    """Headers announcing a 1 MB body and no (valid) token: the answer is 401 at once,
    before a byte of the body is sent. It used to wait for the whole body first."""
    server = server_factory().start()
    for path, headers in [
        ("credentials", {"Content-Type": "application/json"}),
        ("credentials", {"Content-Type": "application/json", "Authorization": "token wrong"}),
        ("secrets/get", {"Content-Type": "application/json"}),  # authenticated by the route
        ("secrets/get", {"Content-Type": "application/json", "Authorization": "Bearer onk_bogus"}),
        ("sources", {"Content-Type": "multipart/form-data; boundary=x"}),
    ]:
        head = _head("POST", path, {**headers, "Content-Length": "1000000"})
        received, took = _exchange(server.port, head, wait=10)
        assert received.startswith(b"HTTP/1.1 401"), (path, headers, received[:200])
        assert took < 5, (path, headers, took)
        assert b'"detail"' in received and b"www-authenticate: bearer" in received.lower()


@pytest.mark.subprocess
def test_a_slow_body_is_cut_off_after_body_timeout(server_factory):
    """An authenticated client that sends its body a few bytes at a time (or never)
    used to hold the connection for as long as it liked: Tornado has no body timeout
    unless one is set. Now 408 after OpenNotebookApp.body_timeout seconds, and the
    connection closed."""
    server = server_factory(args=["--OpenNotebookApp.body_timeout=1.5"]).start()
    head = _head(
        "POST",
        "credentials",
        {
            "Content-Type": "application/json",
            "Authorization": f"token {server.token}",
            "Content-Length": "1000",
        },
    )
    received, took = _exchange(server.port, head, b'{"name": "slo', wait=10)
    assert received.startswith(b"HTTP/1.1 408"), received[:300]
    assert b'{"detail": "Request body not received within 1.5 seconds"}' in received
    assert 1.4 < took < 6, took  # ...and the server closed the connection
    assert server.api("GET", "credentials").json == []


@pytest.mark.subprocess
def test_a_slow_upload_is_cut_off_after_upload_timeout(server_factory):
    server = server_factory(args=["--OpenNotebookApp.upload_timeout=1.5"]).start()
    head = _head(
        "POST",
        "sources",
        {
            "Content-Type": "multipart/form-data; boundary=b0undary",
            "Authorization": f"token {server.token}",
            "Content-Length": "5000000",
        },
    )
    part = (
        b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="a.txt"'
        b"\r\nContent-Type: text/plain\r\n\r\n" + b"x" * 1000
    )
    received, took = _exchange(server.port, head, part, wait=10)
    assert received.startswith(b"HTTP/1.1 408"), received[:300]
    assert 1.4 < took < 6, took
    # nothing left behind (Tornado may close the socket a moment before on_finish runs)
    deadline = time.monotonic() + 5
    while list((server.data_dir / "uploads").iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not list((server.data_dir / "uploads").iterdir())
