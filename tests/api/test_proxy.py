"""The provider proxy over HTTP, in-process: what it forwards, what it drops, what it refuses.

The caller here is a Jupyter token holder (no grant needed, as for ``secrets.get``);
kernels and the official SDKs are in test_proxy_sdk.py. The provider is a fake on
loopback (tests/support/fake_provider.py) that records every request it gets.
"""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlsplit

import pytest

from support.fake_provider import FakeProvider
from support.leaks import random_api_key

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def extension_config():
    return {"allow_private_targets": True}  # the fake provider is on loopback


@pytest.fixture
def key():
    return random_api_key()


@pytest.fixture
def fake(key):
    provider = FakeProvider(key, hold=10.0)
    yield provider
    provider.release_event.set()
    provider.close()


async def openai_credential(api, fake) -> dict:
    return await api.create_credential(
        name="OA", provider="openai", api_key=fake.expect_key, base_url=f"{fake.url}/v1"
    )


def proxy(cred: dict, path: str) -> str:
    return f"proxy/{cred['id']}/{path}"


CHAT = {"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]}


async def test_forwards_with_the_real_key_and_drops_the_callers_headers(api, fake, key):
    openai_cred = await openai_credential(api, fake)
    r = await api.post(
        proxy(openai_cred, "chat/completions"),
        CHAT,
        headers={
            "Cookie": "_xsrf=abc; session=def",
            "X-Forwarded-For": "203.0.113.9",
            "Connection": "keep-alive, X-Hop",
            "X-Hop": "1",
            "X-Api-Key": "caller-junk",
            "X-Custom": "kept",
            "OpenAI-Organization": "org-other",
        },
    )
    assert r.status == 200, r
    assert r.json["choices"][0]["message"]["content"] == "hello from openai"
    (seen,) = fake.seen
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == f"Bearer {key}"
    assert json.loads(seen.body) == CHAT
    assert seen.headers["x-custom"] == "kept"
    for dropped in ("cookie", "x-forwarded-for", "x-hop", "x-api-key", "openai-organization"):
        assert dropped not in seen.headers, dropped
    assert seen.headers["host"] == urlsplit(fake.url).netloc
    assert api.token not in json.dumps(seen.headers)  # the caller's token stays here
    # the answer: the provider's headers minus cookies; never CORS
    # (Jupyter's own login cookie for a server-token caller is Jupyter's business)
    assert not [c for c in r.headers.get_list("Set-Cookie") if "provider_session" in c]
    assert r.headers["x-request-id"] == "req_fake_1"
    assert not [h for h in r.headers if h.lower().startswith("access-control-")]


async def test_only_the_providers_model_paths_are_forwarded(api, fake):
    openai_cred = await openai_credential(api, fake)
    for path, status in (
        ("files", 404),
        ("fine_tuning/jobs", 404),
        ("organization/x", 404),
        ("chat/../files", 400),
        ("chat/%2e%2e/files", 400),
        ("chat%2Fcompletions", 400),
        ("chat//completions", 400),
        ("", 400),
    ):
        r = await api.post(proxy(openai_cred, path), CHAT)
        assert r.status == status, (path, r)
        assert r.json["error"]["message"] == r.json["detail"]  # the SDKs' shape too
        assert r.headers["x-should-retry"] == "false"
    assert fake.seen == []
    r = await api.get(proxy(openai_cred, "models"))
    assert r.status == 200 and r.json["data"][0]["id"] == "fake-model"


async def test_browsers_are_refused_like_the_secret_routes(api, fake):
    openai_cred = await openai_credential(api, fake)
    for headers in (
        {"Origin": "http://localhost:8888"},
        {"Sec-Fetch-Mode": "cors"},
        {"Sec-Fetch-Site": "same-origin"},
    ):
        r = await api.post(proxy(openai_cred, "chat/completions"), CHAT, headers=headers)
        assert r.status == 403, (headers, r)
        assert "browser" in r.json["detail"]
        assert not [h for h in r.headers if h.lower().startswith("access-control-")]
    r = await api.post(proxy(openai_cred, "chat/completions"), CHAT, auth=None)
    assert r.status == 401
    assert fake.seen == []


async def test_redirects_are_not_followed(api, fake, key):
    openai_cred = await openai_credential(api, fake)
    fake.models_redirect = True
    r = await api.get(proxy(openai_cred, "models"))
    assert r.status == 302  # passed back as is; the key went nowhere else
    assert r.headers["Location"].startswith("http://169.254.169.254/")
    assert len(fake.seen) == 1


async def test_the_ssrf_guard_applies(api, ext, fake):
    openai_cred = await openai_credential(api, fake)
    ext.allow_private_targets = False
    r = await api.post(proxy(openai_cred, "chat/completions"), CHAT)
    assert r.status == 502
    assert "loopback" in r.json["detail"] and fake.url not in r.text
    assert fake.seen == []
    cred = await api.create_credential(
        name="Meta", provider="openai_compatible", base_url="http://169.254.169.254/v1"
    )
    ext.allow_private_targets = True  # metadata addresses stay refused even so
    r = await api.post(proxy(cred, "chat/completions"), CHAT)
    assert r.status == 502 and "metadata" in r.json["detail"]


async def test_an_error_body_echoing_the_key_is_scrubbed(api, fake, key, logs):
    openai_cred = await openai_credential(api, fake)
    r = await api.post(proxy(openai_cred, "chat/completions"), {**CHAT, "model": "bad-key"})
    assert r.status == 401
    assert r.json["error"]["code"] == "invalid_api_key"  # the provider's own answer
    message = r.json["error"]["message"]
    assert message.startswith("Incorrect API key provided: [REDACTED].")
    assert key[:5] not in r.text and key[-4:] not in r.text
    assert key not in logs.text


async def test_unsupported_provider_and_unknown_credential(api, fake):
    cred = await api.create_credential(
        name="Voice", provider="elevenlabs", api_key=random_api_key()
    )
    r = await api.post(proxy(cred, "v1/text-to-speech/x"), {})
    assert r.status == 400 and "does not support provider elevenlabs" in r.json["detail"]
    r = await api.post("proxy/credential:nope/chat/completions", CHAT)
    assert r.status == 404
    assert fake.seen == []


async def raw_stream(
    port: int, path: str, token: str, body: dict
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = json.dumps(body).encode()
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n".encode()
        + data
    )
    await writer.drain()
    return reader, writer


async def test_streams_pass_through_and_a_disconnect_cancels_the_call(
    api, fake, jp_http_port, jp_base_url
):
    openai_cred = await openai_credential(api, fake)
    path = f"{jp_base_url}open-notebook/api/{proxy(openai_cred, 'chat/completions')}"
    reader, writer = await raw_stream(jp_http_port, path, api.token, {**CHAT, "stream": True})
    received = b""
    # The provider sends one event, then waits for /release: the first event arrives
    # here while the provider holds the rest, so the proxy did not buffer the answer.
    while b"data: " not in received:
        received += await asyncio.wait_for(reader.read(4096), 5)
    assert received.startswith(b"HTTP/1.1 200")
    assert b"text/event-stream" in received and b"Transfer-Encoding: chunked" in received
    assert b"provider_session" not in received
    (seen,) = fake.seen
    assert seen.completed is None  # still holding
    writer.close()  # the client goes away mid-stream
    await asyncio.sleep(0.3)
    fake.release_event.set()
    deadline = time.monotonic() + 10
    while seen.completed is None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert seen.completed is False  # the provider's writes failed: the proxy hung up


async def test_a_full_stream_arrives_in_order(api, fake):
    openai_cred = await openai_credential(api, fake)
    fake.release_event.set()
    r = await api.post(
        proxy(openai_cred, "chat/completions"),
        {**CHAT, "stream": True, "stream_options": {"include_usage": True}},
    )
    assert r.status == 200
    events = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    words = [json.loads(e)["choices"][0]["delta"]["content"] for e in events[:3]]
    assert words == ["one ", "two ", "three"]
    assert fake.wait_done(fake.seen[0]) is True


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"model": "a\\ud800b", "messages": []}',
        b'{"model": "\xed\xa0\x80"}',
    ],
)
async def test_a_hostile_body_is_the_providers_to_judge(api, fake, logs, body):
    """The API's own routes refuse these (400, test_fuzz_regressions.py); the proxy reads a
    body only for its model and forwards it byte for byte, whatever it holds."""
    openai_cred = await openai_credential(api, fake)
    r = await api.post(proxy(openai_cred, "chat/completions"), raw=body)
    assert r.status == 200, r
    (seen,) = fake.seen
    assert seen.body == body
    for _ in range(200):  # the usage row is written just after the answer went out
        rows = (await api.get("usage?group_by=model")).json["rows"]
        if rows:
            break
        await asyncio.sleep(0.02)
    assert [(row["model"], row["requests"]) for row in rows] == [(None, 1)]  # not readable
    assert "Traceback" not in logs.text and "RecursionError" not in logs.text


async def test_calls_to_one_provider_reuse_a_kept_alive_connection(api, fake, ext):
    cred = await openai_credential(api, fake)
    for _ in range(3):
        r = await api.post(proxy(cred, "chat/completions"), CHAT)
        assert r.status == 200, r
    assert len(fake.seen) == 3
    assert len({s.peer for s in fake.seen}) == 1  # one connection for the three calls
    assert "keep-alive" in fake.seen[0].headers["connection"].lower()
    # the provider drops it while idle: the next call gets a new one, and its answer
    fake.drop_connections()
    await asyncio.sleep(0.2)
    r = await api.post(proxy(cred, "chat/completions"), CHAT)
    assert r.status == 200, r
    assert fake.seen[-1].peer != fake.seen[0].peer
    assert len(ext.provider_proxy.connections()) == 1  # kept again after that answer


@pytest.mark.parametrize(
    "extension_config",
    [{"allow_private_targets": True, "ProviderProxy": {"keep_alive_seconds": 0}}],
)
async def test_keep_alive_seconds_zero_opens_a_connection_per_call(api, fake, extension_config):
    cred = await openai_credential(api, fake)
    for _ in range(2):
        r = await api.post(proxy(cred, "chat/completions"), CHAT)
        assert r.status == 200, r
    assert len({s.peer for s in fake.seen}) == 2
    assert all(s.headers["connection"].lower() == "close" for s in fake.seen)
