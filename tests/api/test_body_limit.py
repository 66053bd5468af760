"""The JSON body cap: exactly the limit passes, one byte more is 413, streamed or not."""

from __future__ import annotations

import json

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
