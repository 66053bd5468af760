"""The JSON body cap: exactly the limit passes, one byte more is 413, streamed or not."""

from __future__ import annotations

import json

import pytest

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
    r = await api.post("credentials", raw=body_of_size(LIMIT + 1),
                       headers={"Origin": "https://lab.example.org"})
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
        f"{jp_base_url}open-notebook/api/credentials", method="POST", raise_error=False,
        body_producer=producer,
        headers={"Authorization": f"token {api.token}", "Content-Type": "application/json",
                 "Origin": "https://lab.example.org"},
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
            conn.request("POST", "/open-notebook/api/credentials", body=body,
                         headers={"Content-Type": "application/json", **headers})
            sockets.add(id(conn.sock))
            r = conn.getresponse()
            r.read()
            assert r.status in (status, 409), (headers, r.status)
    assert len(sockets) == 1  # one connection served all twelve requests
